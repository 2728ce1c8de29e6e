package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"assetd/internal/asset"
)

// idSequence names the row of the sequences table that numbers assets and
// variants (and, through the variants, trash rows).
const idSequence = "ids"

// trashBatch bounds the ids of one DELETE … IN statement, well under SQLite's
// limit on bound parameters.
const trashBatch = 500

// Create inserts a with its variants, labels and tags in one transaction and
// assigns a.ID, a.EntryID and every variant's ID. Times are stored truncated
// to the microsecond, in UTC, and a's times are set to what was stored, so a
// equals what Find returns.
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
		for i, v := range a.Variants {
			at := v.Attributes
			variants[i] = []any{assetID + 1 + int64(i), assetID, v.IsOriginal, v.TransformKey, v.Bucket, v.Key,
				at.Width, at.Height, string(at.Format), at.PageCount, at.Loop, at.Orientation, at.Size, at.ContentType,
				v.LQIP.Blurhash, v.LQIP.Thumbhash, timeArg(v.CreatedAt)}
		}
		if err := insert(tx, "variants", []string{"id", "asset_id", "is_original", "transform_key", "bucket", "object_key",
			"width", "height", "format", "page_count", "loop", "orientation", "size", "content_type",
			"blurhash", "thumbhash", "created_at"}, variants); err != nil {
			return err
		}
		labels := make([][]any, 0, len(a.Labels))
		for k, v := range a.Labels {
			labels = append(labels, []any{assetID, k, v})
		}
		if err := insert(tx, "labels", []string{"asset_id", "key", "value"}, labels); err != nil {
			return err
		}
		tags := make([][]any, len(a.Tags))
		for i, t := range a.Tags {
			tags[i] = []any{assetID, i, t}
		}
		return insert(tx, "tags", []string{"asset_id", "position", "tag"}, tags)
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

// insert inserts rows (each a value per column) into table in one statement.
func insert(tx *gorm.DB, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	group := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, strings.Join(columns, ", "))
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

// Find returns the entry q selects: q.EntryID when set, else the one with the
// highest entry id, among the entries at q.Path that have not expired at
// q.Now. Labels and tags are never nil; tags keep their stored order; the
// original variant comes first, then the others in the order they were
// created.
//
// Errors: asset.ErrNotFound itself when nothing matches; database failures
// are classified as the package says.
func (db *DB) Find(ctx context.Context, q asset.FindQuery) (*asset.Asset, error) {
	g := db.gorm.WithContext(ctx)
	query := `SELECT id, path, entry_id, class, alt, source, source_url, created_at, modified_at, expires_at
		FROM assets WHERE path = ? AND (expires_at IS NULL OR expires_at > ?)`
	args := []any{string(q.Path), timeArg(q.Now)}
	if q.EntryID != nil {
		query += ` AND entry_id = ?`
		args = append(args, *q.EntryID)
	}
	query += ` ORDER BY entry_id DESC LIMIT 1`

	var (
		a                   asset.Asset
		path, class, source string
		created, modified   dbTime
		expires             *dbTime
		found               bool
	)
	err := each(g, query, args, func(rows *sql.Rows) error {
		found = true
		return rows.Scan(&a.ID, &path, &a.EntryID, &class, &a.Alt, &source, &a.SourceURL, &created, &modified, &expires)
	})
	if err != nil {
		return nil, classify(err)
	}
	if !found {
		return nil, asset.ErrNotFound
	}
	a.Path, a.Class, a.Source = asset.Path(path), asset.Class(class), asset.Source(source)
	a.CreatedAt, a.ModifiedAt = created.t, modified.t
	if expires != nil {
		a.ExpiresAt = &expires.t
	}

	// The statements below do not share a transaction with the one above:
	// on SQLite every transaction would take the write lock. An entry deleted
	// in between shows as one without variants, and is not found.
	err = each(g, `SELECT id, is_original, transform_key, bucket, object_key, width, height, format,
		page_count, loop, orientation, size, content_type, blurhash, thumbhash, created_at
		FROM variants WHERE asset_id = ? ORDER BY is_original DESC, id`, []any{a.ID}, func(rows *sql.Rows) error {
		var (
			v       asset.Variant
			format  string
			created dbTime
		)
		at := &v.Attributes
		if err := rows.Scan(&v.ID, &v.IsOriginal, &v.TransformKey, &v.Bucket, &v.Key, &at.Width, &at.Height, &format,
			&at.PageCount, &at.Loop, &at.Orientation, &at.Size, &at.ContentType,
			&v.LQIP.Blurhash, &v.LQIP.Thumbhash, &created); err != nil {
			return err
		}
		at.Format, v.CreatedAt = asset.Format(format), created.t
		a.Variants = append(a.Variants, v)
		return nil
	})
	if err != nil {
		return nil, classify(err)
	}
	if len(a.Variants) == 0 || !a.Variants[0].IsOriginal {
		return nil, asset.ErrNotFound
	}

	a.Labels = map[string]string{}
	err = each(g, `SELECT key, value FROM labels WHERE asset_id = ?`, []any{a.ID}, func(rows *sql.Rows) error {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		a.Labels[k] = v
		return nil
	})
	if err != nil {
		return nil, classify(err)
	}

	a.Tags = []string{}
	err = each(g, `SELECT tag FROM tags WHERE asset_id = ? ORDER BY position`, []any{a.ID}, func(rows *sql.Rows) error {
		var t string
		if err := rows.Scan(&t); err != nil {
			return err
		}
		a.Tags = append(a.Tags, t)
		return nil
	})
	if err != nil {
		return nil, classify(err)
	}
	return &a, nil
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

// Delete removes the entry (path, entryID), expired or not, with its
// variants, labels and tags, and in the same transaction puts every variant's
// object into the trash. It reports whether it deleted an entry; of two
// concurrent deletes of one entry exactly one reports true.
//
// Errors: database failures, classified as the package says.
func (db *DB) Delete(ctx context.Context, path asset.Path, entryID int64) (bool, error) {
	deleted := false
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The no-op update locks the row on PostgreSQL (SQLite's IMMEDIATE
		// transaction already holds the write lock), so the variants read
		// next are all there are and a concurrent delete waits, then finds
		// nothing.
		var assetID int64
		found := false
		err := each(tx, `UPDATE assets SET entry_id = entry_id WHERE path = ? AND entry_id = ? RETURNING id`,
			[]any{string(path), entryID}, func(rows *sql.Rows) error {
				found = true
				return rows.Scan(&assetID)
			})
		if err != nil || !found {
			return err
		}
		now := timeArg(time.Now())
		var trash [][]any
		err = each(tx, `SELECT id, bucket, object_key FROM variants WHERE asset_id = ? ORDER BY id`,
			[]any{assetID}, func(rows *sql.Rows) error {
				var (
					id          int64
					bucket, key string
				)
				if err := rows.Scan(&id, &bucket, &key); err != nil {
					return err
				}
				trash = append(trash, []any{id, bucket, key, now})
				return nil
			})
		if err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM assets WHERE id = ?`, assetID).Error; err != nil {
			return err
		}
		if err := insert(tx, "trash", []string{"id", "bucket", "object_key", "created_at"}, trash); err != nil {
			return err
		}
		deleted = true
		return nil
	})
	if err != nil {
		return false, classify(err)
	}
	return deleted, nil
}

// ListTrash returns up to limit trashed objects, the longest trashed first.
// A limit below 1 returns none.
//
// Errors: database failures, classified as the package says.
func (db *DB) ListTrash(ctx context.Context, limit int) ([]asset.TrashedObject, error) {
	objects := []asset.TrashedObject{}
	if limit < 1 {
		return objects, nil
	}
	err := each(db.gorm.WithContext(ctx), `SELECT id, bucket, object_key FROM trash ORDER BY created_at, id LIMIT ?`,
		[]any{limit}, func(rows *sql.Rows) error {
			var o asset.TrashedObject
			if err := rows.Scan(&o.ID, &o.Bucket, &o.Key); err != nil {
				return err
			}
			objects = append(objects, o)
			return nil
		})
	if err != nil {
		return nil, classify(err)
	}
	return objects, nil
}

// DeleteTrash removes the trash rows with the given ids; ids that are not in
// the trash are ignored, so a retry is harmless.
//
// Errors: database failures, classified as the package says. Batches deleted
// before a failure stay deleted.
func (db *DB) DeleteTrash(ctx context.Context, ids []int64) error {
	g := db.gorm.WithContext(ctx)
	for len(ids) > 0 {
		n := min(len(ids), trashBatch)
		if err := g.Exec(`DELETE FROM trash WHERE id IN ?`, ids[:n]).Error; err != nil {
			return classify(err)
		}
		ids = ids[n:]
	}
	return nil
}
