package sqldb

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"gorm.io/gorm"

	"assetd/internal/asset"
)

// Update replaces Alt, Labels, Tags, ExpiresAt and ModifiedAt of the entry
// (a.Path, a.EntryID), in one transaction, provided its stored ModifiedAt
// still equals ifModifiedAt (compared to the microsecond, as stored). The
// comparison is part of the UPDATE's condition, so of two updates from the
// same read exactly one succeeds. On success a.ID is set and a's
// ModifiedAt and ExpiresAt are set to what was stored; the other fields of a
// (class, source, variants, CreatedAt) are neither written nor read.
//
// Errors: asset.ErrNotFound itself when no entry (a.Path, a.EntryID) exists
// that has not expired at a.ModifiedAt; asset.ErrModified itself when it
// exists but its ModifiedAt is not ifModifiedAt; database failures are
// classified as the package says. Nothing changes when Update fails.
func (db *DB) Update(ctx context.Context, a *asset.Asset, ifModifiedAt time.Time) error {
	var assetID int64
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		visible := `path = ? AND entry_id = ? AND (expires_at IS NULL OR expires_at > ?)`
		args := []any{string(a.Path), a.EntryID, timeArg(a.ModifiedAt)}
		found := false
		err := each(tx, `UPDATE assets SET alt = ?, expires_at = ?, modified_at = ?
			WHERE `+visible+` AND modified_at = ? RETURNING id`,
			append([]any{a.Alt, nullTimeArg(a.ExpiresAt), timeArg(a.ModifiedAt)}, append(args, timeArg(ifModifiedAt))...),
			func(rows *sql.Rows) error {
				found = true
				return rows.Scan(&assetID)
			})
		if err != nil {
			return err
		}
		if !found {
			// Tell a stale read from a missing entry. The answer may be
			// out of date as soon as it is read, but either way the update
			// did not happen.
			exists := false
			if err := each(tx, `SELECT id FROM assets WHERE `+visible, args, func(*sql.Rows) error {
				exists = true
				return nil
			}); err != nil {
				return err
			}
			if exists {
				return asset.ErrModified
			}
			return asset.ErrNotFound
		}

		for _, table := range []string{"labels", "tags"} {
			if err := tx.Exec(`DELETE FROM `+table+` WHERE asset_id = ?`, assetID).Error; err != nil {
				return err
			}
		}
		return insertLabelsAndTags(tx, assetID, a.Labels, a.Tags)
	})
	if err != nil {
		return classify(err)
	}
	a.ID = assetID
	a.ModifiedAt = storedTime(a.ModifiedAt)
	if a.ExpiresAt != nil {
		t := storedTime(*a.ExpiresAt)
		a.ExpiresAt = &t
	}
	return nil
}

// Delete removes the entries that sel selects, with their variants, labels
// and tags, and in the same transaction puts every variant's object into the
// trash. It returns how many entries it deleted; none is not an error.
//
// What is selected: the entries at sel.Path, or with sel.Recursive at
// sel.Path and every path below it on segment boundaries ("a/b" selects
// "a/b" and "a/b/c", never "a/bc" or "a"); of those, the entry sel.EntryID
// when set, only those carrying every label of sel.Labels, only those after
// sel.After when set; and without sel.Recursive only the first sel.Limit of
// them in sel.Order (0 means 1, a negative limit all), as List would return
// them. Entries that expired at or before sel.Now are invisible here as
// everywhere, and are not deleted: they are left to DeleteExpired, so a
// Delete never reports an entry that a List just before could not see.
//
// Each selected row is locked before its variants are read, so of concurrent
// deletes of one entry exactly one counts it and its objects enter the trash
// once.
//
// Errors: an unknown sel.Order is asset.CodeInternal; database failures are
// classified as the package says. Nothing is deleted when Delete fails.
func (db *DB) Delete(ctx context.Context, sel asset.Selection) (int, error) {
	col, err := orderColumn(sel.Order)
	if err != nil {
		return 0, err
	}
	w := selectionWhere(sel, col)
	query := `SELECT id FROM assets WHERE ` + w.sql()
	args := w.args
	if limit := limitOf(sel.Limit); limit > 0 && !sel.Recursive {
		query += ` ORDER BY ` + col + ` DESC, entry_id DESC LIMIT ?`
		args = append(args, limit)
	}
	return db.deleteSelected(ctx, query, args)
}

// DeleteExpired deletes up to limit entries, at any path, whose ExpiresAt is
// at or before now, those that expired first first, exactly as Delete does
// (trash included), and returns how many it deleted. A limit below 1
// deletes none.
//
// Errors: database failures, classified as the package says.
func (db *DB) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, nil
	}
	return db.deleteSelected(ctx, `SELECT id FROM assets
		WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`,
		[]any{timeArg(now), limit})
}

// deleteSelected deletes, in one transaction, the assets whose ids query
// selects, and puts their variants' objects into the trash.
func (db *DB) deleteSelected(ctx context.Context, query string, args []any) (int, error) {
	var deleted int
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The no-op update locks the rows on PostgreSQL (SQLite's IMMEDIATE
		// transaction already holds the write lock), so the variants read
		// next are all there are, and a concurrent delete of the same rows
		// waits, then skips them as gone.
		var ids []int64
		err := each(tx, `UPDATE assets SET entry_id = entry_id WHERE id IN (`+query+`) RETURNING id`, args,
			func(rows *sql.Rows) error {
				var id int64
				if err := rows.Scan(&id); err != nil {
					return err
				}
				ids = append(ids, id)
				return nil
			})
		if err != nil || len(ids) == 0 {
			return err
		}
		slices.Sort(ids)

		now := timeArg(time.Now())
		var trash [][]any
		for chunk := range slices.Chunk(ids, batch) {
			err := each(tx, `SELECT id, bucket, object_key FROM variants WHERE asset_id IN ? ORDER BY id`,
				[]any{chunk}, func(rows *sql.Rows) error {
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
		}
		for chunk := range slices.Chunk(ids, batch) {
			if err := tx.Exec(`DELETE FROM assets WHERE id IN ?`, chunk).Error; err != nil {
				return err
			}
		}
		if err := insert(tx, "trash", []string{"id", "bucket", "object_key", "created_at"}, trash); err != nil {
			return err
		}
		deleted = len(ids)
		return nil
	})
	if err != nil {
		return 0, classify(err)
	}
	return deleted, nil
}
