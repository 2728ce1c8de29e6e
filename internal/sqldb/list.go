package sqldb

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"gorm.io/gorm"

	"assetd/internal/asset"
)

// assetColumns are the columns of assets that scanAsset reads, in its order.
const assetColumns = `id, path, entry_id, class, alt, source, source_url, created_at, modified_at, expires_at`

// List returns the entries that sel selects: at sel.Path (sel.Recursive is
// ignored), not expired at sel.Now, with sel.EntryID when set, carrying every
// label of sel.Labels with exactly its value, and strictly after sel.After
// when set. They are ordered by sel.Order ("" is asset.OrderNew), newest
// first, ties broken by EntryID descending; at most sel.Limit of them (0
// means 1, a negative limit means all).
//
// Every entry comes with all its variants (the original first, then the
// others in the order they were created), a non-nil Labels map and a non-nil
// Tags slice in stored order. Related rows are loaded for all the entries at
// once, a few statements per batch of entries, not per entry.
//
// Errors: an unknown sel.Order is asset.CodeInternal (a caller bug); database
// failures are classified as the package says. Nothing selected is an empty
// slice and no error.
func (db *DB) List(ctx context.Context, sel asset.Selection) ([]*asset.Asset, error) {
	col, err := orderColumn(sel.Order)
	if err != nil {
		return nil, err
	}
	sel.Recursive = false
	w := selectionWhere(sel, col)
	query := `SELECT ` + assetColumns + ` FROM assets WHERE ` + w.sql() +
		` ORDER BY ` + col + ` DESC, entry_id DESC`
	args := w.args
	if limit := limitOf(sel.Limit); limit > 0 {
		query += ` LIMIT ?`
		args = append(args, limit)
	}

	g := db.gorm.WithContext(ctx)
	assets := []*asset.Asset{}
	err = each(g, query, args, func(rows *sql.Rows) error {
		a, err := scanAsset(rows)
		if err != nil {
			return err
		}
		assets = append(assets, a)
		return nil
	})
	if err != nil {
		return nil, classify(err)
	}
	// The statements below do not share a transaction with the one above:
	// on SQLite every transaction would take the write lock. An entry
	// deleted in between shows up without variants, and is left out.
	if err := load(g, assets, sel.ForDelivery); err != nil {
		return nil, classify(err)
	}
	return slices.DeleteFunc(assets, func(a *asset.Asset) bool {
		return len(a.Variants) == 0 || !a.Variants[0].IsOriginal
	}), nil
}

// orderColumn is the column that order ranks entries by.
func orderColumn(order asset.Order) (string, error) {
	switch order {
	case "", asset.OrderNew:
		return "created_at", nil
	case asset.OrderModified:
		return "modified_at", nil
	}
	return "", asset.Errorf(asset.CodeInternal, "Unknown order %q of entries.", order)
}

// limitOf is how many entries a selection's limit allows, with 0 meaning
// all: the limit 0 selects one entry and a negative limit all of them.
func limitOf(limit int) int {
	switch {
	case limit == 0:
		return 1
	case limit < 0:
		return 0
	}
	return limit
}

// where is a conjunction of SQL conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) sql() string {
	return strings.Join(w.conds, " AND ")
}

// selectionWhere is the condition on assets rows for everything sel selects
// except its order and limit; col is the order's column, for sel.After.
//
// A recursive selection compares the path's prefix with substr rather than
// LIKE: paths may contain '_', a LIKE wildcard, and substr means the same on
// both databases. Paths are ASCII, so characters are bytes.
func selectionWhere(sel asset.Selection, col string) where {
	var w where
	p := string(sel.Path)
	if sel.Recursive {
		w.add(`(path = ? OR substr(path, 1, ?) = ?)`, p, len(p)+1, p+"/")
	} else {
		w.add(`path = ?`, p)
	}
	w.add(`(expires_at IS NULL OR expires_at > ?)`, timeArg(sel.Now))
	if sel.EntryID != nil {
		w.add(`entry_id = ?`, *sel.EntryID)
	}
	keys := make([]string, 0, len(sel.Labels))
	for k := range sel.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same statement text for the same filter
	for _, k := range keys {
		w.add(`EXISTS (SELECT 1 FROM labels WHERE labels.asset_id = assets.id AND labels.key = ? AND labels.value = ?)`,
			k, sel.Labels[k])
	}
	if c := sel.After; c != nil {
		at := timeArg(c.At)
		w.add(`(`+col+` < ? OR (`+col+` = ? AND entry_id < ?))`, at, at, c.EntryID)
	}
	return w
}

// scanAsset reads the assetColumns of the current row. Labels and Tags are
// empty, Variants nil.
func scanAsset(rows *sql.Rows) (*asset.Asset, error) {
	var (
		a                   asset.Asset
		path, class, source string
		created, modified   dbTime
		expires             *dbTime
	)
	if err := rows.Scan(&a.ID, &path, &a.EntryID, &class, &a.Alt, &source, &a.SourceURL,
		&created, &modified, &expires); err != nil {
		return nil, err
	}
	a.Path, a.Class, a.Source = asset.Path(path), asset.Class(class), asset.Source(source)
	a.CreatedAt, a.ModifiedAt = created.t, modified.t
	if expires != nil {
		a.ExpiresAt = &expires.t
	}
	a.Labels, a.Tags = map[string]string{}, []string{}
	return &a, nil
}

// load fills in the variants, labels and tags of assets, with three
// statements per batch of assets; forDelivery loads the originals alone,
// with one statement.
func load(g *gorm.DB, assets []*asset.Asset, forDelivery bool) error {
	variantFilter := ``
	if forDelivery {
		variantFilter = ` AND is_original = ?`
	}
	for chunk := range slices.Chunk(assets, batch) {
		byID := make(map[int64]*asset.Asset, len(chunk))
		ids := make([]int64, len(chunk))
		for i, a := range chunk {
			byID[a.ID], ids[i] = a, a.ID
		}
		args := []any{ids}
		if forDelivery {
			args = append(args, true)
		}
		err := each(g, `SELECT `+variantColumns+` FROM variants WHERE asset_id IN ?`+variantFilter+`
			ORDER BY asset_id, is_original DESC, id`, args,
			func(rows *sql.Rows) error {
				v, err := scanVariant(rows)
				if err != nil {
					return err
				}
				a := byID[v.assetID]
				a.Variants = append(a.Variants, v.Variant)
				return nil
			})
		if err != nil {
			return err
		}
		if forDelivery {
			continue
		}
		err = each(g, `SELECT asset_id, key, value FROM labels WHERE asset_id IN ?`, []any{ids},
			func(rows *sql.Rows) error {
				var (
					assetID int64
					k, v    string
				)
				if err := rows.Scan(&assetID, &k, &v); err != nil {
					return err
				}
				byID[assetID].Labels[k] = v
				return nil
			})
		if err != nil {
			return err
		}
		err = each(g, `SELECT asset_id, tag FROM tags WHERE asset_id IN ? ORDER BY asset_id, position`, []any{ids},
			func(rows *sql.Rows) error {
				var (
					assetID int64
					t       string
				)
				if err := rows.Scan(&assetID, &t); err != nil {
					return err
				}
				a := byID[assetID]
				a.Tags = append(a.Tags, t)
				return nil
			})
		if err != nil {
			return err
		}
	}
	return nil
}
