package sqldb

import (
	"context"
	"database/sql"
	"slices"

	"assetd/internal/asset"
)

// ListTrash returns up to limit trashed objects, the longest trashed first.
// A limit below 1 returns none.
//
// Errors: database failures, classified as the package says.
func (db *DB) ListTrash(ctx context.Context, limit int) ([]asset.ObjectRef, error) {
	if limit < 1 {
		return []asset.ObjectRef{}, nil
	}
	return db.objects(ctx, `SELECT id, bucket, object_key FROM trash ORDER BY created_at, id LIMIT ?`, limit)
}

// DeleteTrash removes the trash rows with the given ids; ids that are not in
// the trash are ignored, so a retry is harmless.
//
// Errors: database failures, classified as the package says. Batches deleted
// before a failure stay deleted.
func (db *DB) DeleteTrash(ctx context.Context, ids []int64) error {
	g := db.gorm.WithContext(ctx)
	for chunk := range slices.Chunk(ids, batch) {
		if err := g.Exec(`DELETE FROM trash WHERE id IN ?`, chunk).Error; err != nil {
			return classify(err)
		}
	}
	return nil
}

// ListObjects returns up to limit objects that variants reference, those of
// variants with an ID greater than after, in ID order: passing the last ID
// seen as after walks every stored object once. A limit below 1 returns
// none. Objects in the trash are not listed.
//
// Errors: database failures, classified as the package says.
func (db *DB) ListObjects(ctx context.Context, after int64, limit int) ([]asset.ObjectRef, error) {
	if limit < 1 {
		return []asset.ObjectRef{}, nil
	}
	return db.objects(ctx, `SELECT id, bucket, object_key FROM variants WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
}

// objects runs query, which selects id, bucket and object_key.
func (db *DB) objects(ctx context.Context, query string, args ...any) ([]asset.ObjectRef, error) {
	objects := []asset.ObjectRef{}
	err := each(db.gorm.WithContext(ctx), query, args, func(rows *sql.Rows) error {
		var o asset.ObjectRef
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

// Referenced reports which of keys in bucket a variant or a trash row still
// references: the map holds every key of keys, true when referenced. The
// sweeper must not delete an object that is referenced; a trashed object is
// the reaper's to delete.
//
// Errors: database failures, classified as the package says.
func (db *DB) Referenced(ctx context.Context, bucket string, keys []string) (map[string]bool, error) {
	refs := make(map[string]bool, len(keys))
	for _, k := range keys {
		refs[k] = false
	}
	g := db.gorm.WithContext(ctx)
	for chunk := range slices.Chunk(keys, batch) {
		err := each(g, `SELECT object_key FROM variants WHERE bucket = ? AND object_key IN ?
			UNION SELECT object_key FROM trash WHERE bucket = ? AND object_key IN ?`,
			[]any{bucket, chunk, bucket, chunk}, func(rows *sql.Rows) error {
				var k string
				if err := rows.Scan(&k); err != nil {
					return err
				}
				refs[k] = true
				return nil
			})
		if err != nil {
			return nil, classify(err)
		}
	}
	return refs, nil
}
