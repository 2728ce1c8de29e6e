package sqldb

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"gorm.io/gorm"

	"assetd/internal/asset"
)

// jobColumns are the columns of eager_jobs that a Job is read from, in
// ClaimJobs' scan order.
const jobColumns = `id, asset_id, path, entry_id, profile, attempts`

// CreateJobs records one eager-variant job per distinct profile for the
// entry a (its row id a.ID, and a.Path and a.EntryID, which are stored with
// the job), with no attempts yet. A job for a profile that the entry has a
// job for already is not added again. The jobs are due at a.CreatedAt, that
// is at once by the clock that made the entry, and oldest entries' jobs are
// claimed first. They are deleted with their entry. No profiles is nothing
// to do.
//
// Errors: asset.ErrNotFound itself when no entry has row id a.ID (nothing is
// recorded then); database failures are classified as the package says.
// Either all the jobs are recorded or none.
func (db *DB) CreateJobs(ctx context.Context, a *asset.Asset, profiles []string) error {
	var distinct []string
	for _, p := range profiles {
		if !slices.Contains(distinct, p) {
			distinct = append(distinct, p)
		}
	}
	if len(distinct) == 0 {
		return nil
	}
	last, err := db.allocate(ctx, idSequence, int64(len(distinct)))
	if err != nil {
		return err
	}
	first := last - int64(len(distinct)) + 1
	due, now := timeArg(a.CreatedAt), timeArg(time.Now())
	cols := []string{"id", "asset_id", "path", "entry_id", "profile", "attempts", "run_after", "created_at"}
	group := "(" + placeholders(len(cols)) + ")"
	err = db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		per := maxParams / len(cols)
		for start := 0; start < len(distinct); start += per {
			chunk := distinct[start:min(start+per, len(distinct))]
			values := make([]string, len(chunk))
			args := make([]any, 0, len(chunk)*len(cols))
			for j, p := range chunk {
				values[j] = group
				args = append(args, first+int64(start+j), a.ID, string(a.Path), a.EntryID, p, 0, due, now)
			}
			if err := tx.Exec(`INSERT INTO eager_jobs (`+joinColumns(cols)+`) VALUES `+joinColumns(values)+`
				ON CONFLICT (asset_id, profile) DO NOTHING`, args...).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if isForeignKeyViolation(err) {
		return asset.ErrNotFound
	}
	return classify(err)
}

// ClaimJobs returns up to limit jobs due at or before now, those due
// longest first (ties in the order they were created), and in the same
// transaction makes them due again at now+lease: a job whose worker dies is
// handed out again once the lease ends. Attempts is the number of failed
// attempts recorded by RetryJob before this claim. lease must be positive.
// None due, or a limit below 1, is an empty slice.
//
// Concurrent claimers, in this process or others, never get the same job
// within its lease: on PostgreSQL the due rows are locked with FOR UPDATE
// SKIP LOCKED, so claimers pass over each other's jobs instead of waiting
// (a row claimed while a claimer waited no longer qualifies when rechecked);
// on SQLite the IMMEDIATE transaction makes claims take turns.
//
// Errors: database failures, classified as the package says; no job is
// claimed then.
func (db *DB) ClaimJobs(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]asset.Job, error) {
	jobs := []asset.Job{}
	if limit < 1 {
		return jobs, nil
	}
	lock := ``
	if db.driver == DriverPostgres {
		lock = ` FOR UPDATE SKIP LOCKED`
	}
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		jobs = jobs[:0]
		err := each(tx, `SELECT `+jobColumns+` FROM eager_jobs WHERE run_after <= ?
			ORDER BY run_after, id LIMIT ?`+lock, []any{timeArg(now), limit}, func(rows *sql.Rows) error {
			var (
				j    asset.Job
				path string
			)
			if err := rows.Scan(&j.ID, &j.AssetID, &path, &j.EntryID, &j.Profile, &j.Attempts); err != nil {
				return err
			}
			j.Path = asset.Path(path)
			jobs = append(jobs, j)
			return nil
		})
		if err != nil || len(jobs) == 0 {
			return err
		}
		ids := make([]int64, len(jobs))
		for i, j := range jobs {
			ids[i] = j.ID
		}
		// limit is small (a worker's batch), so one IN list suffices; the
		// chunks only keep a huge limit within SQLite's parameter bound.
		for chunk := range slices.Chunk(ids, batch) {
			if err := tx.Exec(`UPDATE eager_jobs SET run_after = ? WHERE id IN ?`,
				timeArg(now.Add(lease)), chunk).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, classify(err)
	}
	return jobs, nil
}

// RetryJob records a failed attempt of job id (its Attempts grows by one)
// and makes it due at runAfter. A job that is gone, because it was deleted
// or its entry was, is not an error: there is nothing left to retry.
//
// Errors: database failures, classified as the package says.
func (db *DB) RetryJob(ctx context.Context, id int64, runAfter time.Time) error {
	return classify(db.gorm.WithContext(ctx).Exec(`UPDATE eager_jobs SET attempts = attempts + 1, run_after = ?
		WHERE id = ?`, timeArg(runAfter), id).Error)
}

// DeleteJob forgets job id, once it is done or abandoned. A missing job is
// not an error, so a retry is harmless.
//
// Errors: database failures, classified as the package says.
func (db *DB) DeleteJob(ctx context.Context, id int64) error {
	return classify(db.gorm.WithContext(ctx).Exec(`DELETE FROM eager_jobs WHERE id = ?`, id).Error)
}
