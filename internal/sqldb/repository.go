package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"assetd/internal/asset"
)

// idSequence names the row of the sequences table that numbers assets,
// variants (and, through the variants, trash rows) and eager jobs.
const idSequence = "ids"

// batch bounds the values of one IN list, and maxParams the bound values of
// one multi-row INSERT, so that a statement stays under the 999 bound
// parameters that the most conservative SQLite builds allow.
const (
	batch     = 400
	maxParams = 900
)

// Create inserts a with its variants, labels and tags in one transaction and
// assigns a.ID, a.EntryID and every variant's ID. Times are stored truncated
// to the microsecond, in UTC, and a's times are set to what was stored, so a
// equals what List returns.
//
// Errors: an asset without exactly one original variant is asset.CodeInternal
// (a caller bug); database failures are classified as the package says.
// Nothing is assigned to a when Create fails.
func (db *DB) Create(ctx context.Context, a *asset.Asset) error {
	originals := 0
	for i := range a.Variants {
		if a.Variants[i].IsOriginal {
			originals++
		}
	}
	if originals != 1 {
		return asset.Errorf(asset.CodeInternal, "An asset must have exactly one original variant, not %d.", originals)
	}

	transformations := make([]any, len(a.Variants))
	for i := range a.Variants {
		t, err := transformationArg(a.Variants[i].Transformation)
		if err != nil {
			return err
		}
		transformations[i] = t
	}

	last, err := db.allocate(ctx, idSequence, int64(1+len(a.Variants)))
	if err != nil {
		return err
	}
	assetID := last - int64(len(a.Variants))
	var entryID int64
	err = db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Raw(`INSERT INTO entry_counters (path, next_entry_id) VALUES (?, 1)
			ON CONFLICT (path) DO UPDATE SET next_entry_id = entry_counters.next_entry_id + 1
			RETURNING next_entry_id - 1`, string(a.Path)).Row().Scan(&entryID); err != nil {
			return err
		}
		if err := tx.Exec(`INSERT INTO assets
			(id, path, entry_id, class, alt, source, source_url, created_at, modified_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			assetID, string(a.Path), entryID, string(a.Class), a.Alt, string(a.Source), a.SourceURL,
			timeArg(a.CreatedAt), timeArg(a.ModifiedAt), nullTimeArg(a.ExpiresAt)).Error; err != nil {
			return err
		}
		variants := make([][]any, len(a.Variants))
		for i := range a.Variants {
			variants[i] = variantRow(assetID+1+int64(i), assetID, &a.Variants[i], transformations[i])
		}
		if err := insert(tx, "variants", variantInsertColumns, variants); err != nil {
			return err
		}
		return insertLabelsAndTags(tx, assetID, a.Labels, a.Tags)
	})
	if err != nil {
		return classify(err)
	}

	a.ID, a.EntryID = assetID, entryID
	a.CreatedAt, a.ModifiedAt = storedTime(a.CreatedAt), storedTime(a.ModifiedAt)
	if a.ExpiresAt != nil {
		t := storedTime(*a.ExpiresAt)
		a.ExpiresAt = &t
	}
	for i := range a.Variants {
		a.Variants[i].ID = assetID + 1 + int64(i)
		a.Variants[i].CreatedAt = storedTime(a.Variants[i].CreatedAt)
	}
	return nil
}

// allocate reserves n ids of sequence name and returns the last of them; the
// ids are last-n+1 … last. It runs in a transaction of its own so that the
// sequence row is locked only for an instant.
func (db *DB) allocate(ctx context.Context, name string, n int64) (int64, error) {
	var last int64
	err := db.gorm.WithContext(ctx).Raw(`INSERT INTO sequences (name, last_value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET last_value = sequences.last_value + excluded.last_value
		RETURNING last_value`, name, n).Row().Scan(&last)
	if err != nil {
		return 0, classify(err)
	}
	return last, nil
}

// insert inserts rows (each a value per column) into table, as many rows
// per statement as maxParams allows.
func insert(tx *gorm.DB, table string, columns []string, rows [][]any) error {
	if per := max(1, maxParams/len(columns)); len(rows) > per {
		for chunk := range slices.Chunk(rows, per) {
			if err := insert(tx, table, columns, chunk); err != nil {
				return err
			}
		}
		return nil
	}
	if len(rows) == 0 {
		return nil
	}
	group := "(" + placeholders(len(columns)) + ")"
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, joinColumns(columns))
	args := make([]any, 0, len(rows)*len(columns))
	for i, row := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(group)
		args = append(args, row...)
	}
	return tx.Exec(b.String(), args...).Error
}

// placeholders is n comma-separated parameter markers.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// joinColumns is columns as a column list.
func joinColumns(columns []string) string {
	return strings.Join(columns, ", ")
}

// each runs query and calls scan for every row.
func each(g *gorm.DB, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := g.Raw(query, args...).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// insertLabelsAndTags stores an entry's labels and its tags in order.
func insertLabelsAndTags(tx *gorm.DB, assetID int64, labels map[string]string, tags []string) error {
	labelRows := make([][]any, 0, len(labels))
	for k, v := range labels {
		labelRows = append(labelRows, []any{assetID, k, v})
	}
	if err := insert(tx, "labels", []string{"asset_id", "key", "value"}, labelRows); err != nil {
		return err
	}
	tagRows := make([][]any, len(tags))
	for i, t := range tags {
		tagRows[i] = []any{assetID, i, t}
	}
	return insert(tx, "tags", []string{"asset_id", "position", "tag"}, tagRows)
}
