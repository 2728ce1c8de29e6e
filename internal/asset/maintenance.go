package asset

import (
	"context"
	"errors"
	"io/fs"
	"time"
)

// Names of the locks that keep replicas from running one job at once.
const (
	lockReaper  = "assetd-reaper"
	lockSweeper = "assetd-sweeper"
)

// batchSize is how many rows or objects a maintenance step handles at once.
const batchSize = 100

// Reap deletes expired entries (their objects go to the trash) and then
// empties the trash. Only one process sharing the database reaps at a time;
// the others return at once with zero counts. It is safe to retry.
func (s *Service) Reap(ctx context.Context) (expired, deleted int, err error) {
	release, ok, err := s.repo.TryLock(ctx, lockReaper)
	if err != nil || !ok {
		return 0, 0, err
	}
	defer release()
	for {
		n, err := s.repo.DeleteExpired(ctx, s.now().UTC(), batchSize)
		expired += n
		if err != nil {
			return expired, 0, err
		}
		if n < batchSize {
			break
		}
	}
	deleted, err = s.EmptyTrash(ctx)
	return expired, deleted, err
}

// EmptyTrash deletes the objects in the trash and then their trash rows, until
// the trash is empty or an error occurs. It returns how many objects it
// deleted. It is idempotent and safe to run concurrently: deleting an object
// twice is harmless.
func (s *Service) EmptyTrash(ctx context.Context) (int, error) {
	total := 0
	for {
		items, err := s.repo.ListTrash(ctx, batchSize)
		if err != nil || len(items) == 0 {
			return total, err
		}
		done := make([]int64, 0, len(items))
		var firstErr error
		for _, it := range items {
			if err := s.store.Delete(ctx, it.Bucket, it.Key); err != nil {
				firstErr = cmpOr(firstErr, err)
				continue
			}
			done = append(done, it.ID)
		}
		if len(done) > 0 {
			if err := s.repo.DeleteTrash(ctx, done); err != nil {
				return total, err
			}
		}
		total += len(done)
		if firstErr != nil {
			return total, firstErr
		}
	}
}

// Sweep removes what a crash can leave behind, when it is older than grace:
// objects that no row references (the process died between writing an
// object and its row), the store's unfinished temporary files, and upload
// spool files. grace must exceed the longest upload, or the sweeper could
// delete an object whose row is about to be written. Only one process
// sharing the database sweeps at a time. A store that cannot list is not
// swept for orphans. It returns how many orphan objects it deleted.
func (s *Service) Sweep(ctx context.Context, grace time.Duration) (int, error) {
	release, ok, err := s.repo.TryLock(ctx, lockSweeper)
	if err != nil || !ok {
		return 0, err
	}
	defer release()
	if n, err := s.sweepSpool(grace); err != nil {
		s.log.Warn("upload spool not swept", "err", err)
	} else if n > 0 {
		s.log.Info("removed stale upload spool files", "files", n)
	}
	if temp, ok := s.store.(TempSweeper); ok {
		for _, bucket := range s.buckets {
			if _, err := temp.SweepTemp(ctx, bucket, grace); err != nil {
				return 0, err
			}
		}
	}
	lister, ok := s.store.(ObjectLister)
	if !ok {
		return 0, nil
	}
	cutoff := s.now().Add(-grace)
	deleted := 0
	for _, bucket := range s.buckets {
		orphans, err := s.unreferenced(ctx, lister, bucket, cutoff)
		if err != nil {
			return deleted, err
		}
		for _, key := range orphans {
			if err := s.store.Delete(ctx, bucket, key); err != nil {
				return deleted, err
			}
			deleted++
		}
	}
	return deleted, nil
}

// unreferenced lists the keys in bucket, last modified before cutoff, that
// no variant or trash row references.
func (s *Service) unreferenced(ctx context.Context, lister ObjectLister, bucket string, cutoff time.Time) ([]string, error) {
	var orphans, batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		refs, err := s.repo.Referenced(ctx, bucket, batch)
		if err != nil {
			return err
		}
		for _, key := range batch {
			if !refs[key] {
				orphans = append(orphans, key)
			}
		}
		batch = batch[:0]
		return nil
	}
	err := lister.List(ctx, bucket, func(key string, modTime time.Time) error {
		if modTime.After(cutoff) {
			return nil
		}
		batch = append(batch, key)
		if len(batch) == batchSize {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return orphans, err
}

// CheckReport is the result of Check: rows whose object is missing, and
// objects no row references. Both are empty when storage is consistent.
type CheckReport struct {
	Missing []ObjectRef
	Orphans []ObjectRef
}

// Check verifies the consistency rule over everything stored: every variant
// row's object exists, and every object is referenced by a row (objects in
// the trash count as referenced until the reaper removes them). It reads
// everything and is meant for operators and tests, not for request paths.
func (s *Service) Check(ctx context.Context) (*CheckReport, error) {
	report := &CheckReport{}
	for after := int64(0); ; {
		refs, err := s.repo.ListObjects(ctx, after, batchSize)
		if err != nil {
			return nil, err
		}
		if len(refs) == 0 {
			break
		}
		for _, ref := range refs {
			obj, err := s.store.Open(ctx, ref.Bucket, ref.Key)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				report.Missing = append(report.Missing, ref)
			case err != nil:
				return nil, err
			default:
				obj.Close()
			}
			after = ref.ID
		}
	}
	if lister, ok := s.store.(ObjectLister); ok {
		for _, bucket := range s.buckets {
			orphans, err := s.unreferenced(ctx, lister, bucket, s.now().Add(time.Hour))
			if err != nil {
				return nil, err
			}
			for _, key := range orphans {
				report.Orphans = append(report.Orphans, ObjectRef{Bucket: bucket, Key: key})
			}
		}
	}
	return report, nil
}
