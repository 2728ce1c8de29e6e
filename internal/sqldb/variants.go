package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"gorm.io/gorm"

	"assetd/internal/asset"
)

// variantColumns are the columns of variants that scanVariant reads, in its
// order.
const variantColumns = `asset_id, id, is_original, transform_key, bucket, object_key, width, height, format,
	page_count, loop, orientation, size, content_type, blurhash, thumbhash, created_at, transformation`

// variantInsertColumns are the columns that variantRow gives values for.
var variantInsertColumns = []string{"id", "asset_id", "is_original", "transform_key", "bucket", "object_key",
	"width", "height", "format", "page_count", "loop", "orientation", "size", "content_type",
	"blurhash", "thumbhash", "created_at", "transformation"}

// variantRow is the row of v, with row id id, for the entry assetID, in the
// order of variantInsertColumns; transformation is transformationArg of
// v.Transformation.
func variantRow(id, assetID int64, v *asset.Variant, transformation any) []any {
	at := v.Attributes
	return []any{id, assetID, v.IsOriginal, v.TransformKey, v.Bucket, v.Key,
		at.Width, at.Height, string(at.Format), at.PageCount, at.Loop, at.Orientation, at.Size, at.ContentType,
		v.LQIP.Blurhash, v.LQIP.Thumbhash, timeArg(v.CreatedAt), transformation}
}

// storedVariant is a variant row with the entry it belongs to.
type storedVariant struct {
	assetID int64
	asset.Variant
}

// scanVariant reads the variantColumns of the current row.
func scanVariant(rows *sql.Rows) (storedVariant, error) {
	var (
		v              storedVariant
		format         string
		created        dbTime
		transformation sql.NullString
	)
	at := &v.Attributes
	if err := rows.Scan(&v.assetID, &v.ID, &v.IsOriginal, &v.TransformKey, &v.Bucket, &v.Key,
		&at.Width, &at.Height, &format, &at.PageCount, &at.Loop, &at.Orientation, &at.Size,
		&at.ContentType, &v.LQIP.Blurhash, &v.LQIP.Thumbhash, &created, &transformation); err != nil {
		return v, err
	}
	at.Format, v.CreatedAt = asset.Format(format), created.t
	t, err := parseTransformation(transformation.String)
	if err != nil {
		return v, fmt.Errorf("sqldb: variant %d: %w", v.ID, err)
	}
	v.Transformation = t
	return v, nil
}

// transformationJSON is how a variant's transformation is stored. It is a
// type of its own, with names fixed here, so that renaming a field of
// asset.Transformation cannot make stored rows unreadable.
type transformationJSON struct {
	Orientation int    `json:"orientation"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Fit         string `json:"fit"`
	Gravity     string `json:"gravity"`
	Filter      string `json:"filter"`
	Blur        int    `json:"blur"`
	Pad         int    `json:"pad"`
	PadColor    [4]int `json:"pad_color"` // R, G, B, A
	Format      string `json:"format"`
	Quality     int    `json:"quality"`
}

// transformationArg is t as a statement argument: NULL for nil (the
// original), JSON otherwise.
func transformationArg(t *asset.Transformation) (any, error) {
	if t == nil {
		return nil, nil
	}
	b, err := json.Marshal(transformationJSON{
		Orientation: t.Orientation, Width: t.Width, Height: t.Height,
		Fit: string(t.Fit), Gravity: string(t.Gravity), Filter: string(t.Filter),
		Blur: t.Blur, Pad: t.Pad,
		PadColor: [4]int{int(t.PadColor.R), int(t.PadColor.G), int(t.PadColor.B), int(t.PadColor.A)},
		Format:   string(t.Format), Quality: t.Quality,
	})
	if err != nil {
		return nil, asset.Wrap(asset.CodeInternal, err, "The variant's transformation could not be encoded.")
	}
	return string(b), nil
}

// parseTransformation reads what transformationArg wrote; "" (NULL) is nil.
func parseTransformation(s string) (*asset.Transformation, error) {
	if s == "" {
		return nil, nil
	}
	var j transformationJSON
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return nil, fmt.Errorf("stored transformation: %w", err)
	}
	for _, c := range j.PadColor {
		if c < 0 || c > 255 {
			return nil, fmt.Errorf("stored transformation: pad colour component %d out of range", c)
		}
	}
	return &asset.Transformation{
		Orientation: j.Orientation, Width: j.Width, Height: j.Height,
		Fit: asset.Fit(j.Fit), Gravity: asset.Gravity(j.Gravity), Filter: asset.Filter(j.Filter),
		Blur: j.Blur, Pad: j.Pad,
		PadColor: asset.RGBA{R: uint8(j.PadColor[0]), G: uint8(j.PadColor[1]), B: uint8(j.PadColor[2]), A: uint8(j.PadColor[3])},
		Format:   asset.Format(j.Format), Quality: j.Quality,
	}, nil
}

// CreateVariant records v, a rendition (not an original), for the entry
// with row id assetID, unless the entry has a variant with v.TransformKey
// already. When it inserts v it assigns v.ID, truncates v.CreatedAt as
// stored, and returns v and created true. When another request or process
// stored that TransformKey first, v is left as it was and the stored
// variant, as List would return it, is returned with created false and no
// error; v's object is then the caller's to delete.
//
// The entry's row is share-locked first (on PostgreSQL; SQLite's IMMEDIATE
// transaction holds the write lock anyway): a concurrent Delete of the entry
// either finishes first, and then CreateVariant finds no entry, or waits,
// and then reads and trashes this variant with the others. Without the lock
// a variant inserted while the Delete runs would vanish by the cascade
// without its object entering the trash.
//
// Errors: asset.ErrNotFound itself when no entry has row id assetID (an
// expired entry that DeleteExpired has not yet removed still counts);
// asset.CodeInternal for an original or an empty TransformKey (a caller
// bug); database failures are classified as the package says.
func (db *DB) CreateVariant(ctx context.Context, assetID int64, v *asset.Variant) (stored *asset.Variant, created bool, err error) {
	if v.IsOriginal || v.TransformKey == "" {
		return nil, false, asset.Errorf(asset.CodeInternal, "CreateVariant records renditions only; an original comes with Create.")
	}
	transformation, err := transformationArg(v.Transformation)
	if err != nil {
		return nil, false, err
	}
	id, err := db.allocate(ctx, idSequence, 1)
	if err != nil {
		return nil, false, err
	}
	err = db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		stored, created = nil, false
		found := false
		if err := each(tx, `SELECT id FROM assets WHERE id = ?`+db.forShare(), []any{assetID}, func(*sql.Rows) error {
			found = true
			return nil
		}); err != nil {
			return err
		}
		if !found {
			return asset.ErrNotFound
		}
		cols := variantInsertColumns
		err := each(tx, `INSERT INTO variants (`+joinColumns(cols)+`) VALUES (`+placeholders(len(cols))+`)
			ON CONFLICT (asset_id, transform_key) DO NOTHING RETURNING id`,
			variantRow(id, assetID, v, transformation), func(*sql.Rows) error {
				created = true
				return nil
			})
		if err != nil || created {
			return err
		}
		// The conflicting row is committed (PostgreSQL waits for the
		// inserter before it reports a conflict) and stays while the entry
		// is locked, so this statement sees it.
		err = each(tx, `SELECT `+variantColumns+` FROM variants WHERE asset_id = ? AND transform_key = ?`,
			[]any{assetID, v.TransformKey}, func(rows *sql.Rows) error {
				sv, err := scanVariant(rows)
				stored = &sv.Variant
				return err
			})
		if err == nil && stored == nil {
			err = fmt.Errorf("sqldb: variant %q of asset %d conflicted but is not there", v.TransformKey, assetID)
		}
		return err
	})
	if err != nil {
		return nil, false, classify(err)
	}
	if created {
		v.ID = id
		v.CreatedAt = storedTime(v.CreatedAt)
		return v, true, nil
	}
	return stored, false, nil
}

// FindVariant returns the rendition of entry assetID with TransformKey key,
// or asset.ErrNotFound.
func (db *DB) FindVariant(ctx context.Context, assetID int64, key string) (*asset.Variant, error) {
	var found *asset.Variant
	err := each(db.gorm.WithContext(ctx), `SELECT `+variantColumns+` FROM variants WHERE asset_id = ? AND transform_key = ?`,
		[]any{assetID, key}, func(rows *sql.Rows) error {
			sv, err := scanVariant(rows)
			found = &sv.Variant
			return err
		})
	if err != nil {
		return nil, classify(err)
	}
	if found == nil {
		return nil, asset.ErrNotFound
	}
	return found, nil
}

// forShare is the clause that share-locks the rows a SELECT reads, so that
// they can be neither deleted nor updated until the transaction ends. It is
// empty on SQLite, whose IMMEDIATE transactions hold the database's write
// lock from their start.
func (db *DB) forShare() string {
	if db.driver == DriverPostgres {
		return ` FOR SHARE`
	}
	return ``
}
