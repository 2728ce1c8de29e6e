package asset

import (
	"context"
	"errors"
	"time"
)

// Job is a pending eager variant: render Profile for the entry (Path,
// EntryID), whose row id is AssetID.
type Job struct {
	ID       int64
	AssetID  int64
	Path     Path
	EntryID  int64
	Profile  string
	Attempts int
}

// Eager-variant scheduling.
const (
	jobLease       = 5 * time.Minute  // a claimed job is hidden from other workers this long
	jobMaxAttempts = 3                // then it is left for on-demand rendering
	jobRetryDelay  = 30 * time.Second // doubled after each failed attempt
	jobPoll        = 10 * time.Second // how often the queue is polled without a wake-up
)

// enqueueEager records the path's eager variants of a as jobs. A failure is
// logged, not returned: the upload is durable already, and a variant that
// is never rendered eagerly is rendered on demand.
func (s *Service) enqueueEager(ctx context.Context, a *Asset, profiles []string) {
	if len(profiles) == 0 || a.Class != ClassImage {
		return
	}
	if err := s.repo.CreateJobs(ctx, a, profiles); err != nil {
		s.log.Warn("eager variants not queued; they will render on demand", "path", a.Path, "entry", a.EntryID, "err", err)
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// RunJobs renders eager variants until ctx is done: jobs recorded by this
// process or any other, including those left by a process that died. Renders
// run as background work, which yields to on-demand requests.
func (s *Service) RunJobs(ctx context.Context) {
	t := time.NewTicker(jobPoll)
	defer t.Stop()
	for {
		for ctx.Err() == nil && s.runDueJobs(ctx) > 0 {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// runDueJobs claims and runs one batch of due jobs and returns its size.
func (s *Service) runDueJobs(ctx context.Context) int {
	jobs, err := s.repo.ClaimJobs(ctx, s.now().UTC(), jobLease, 4)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("eager jobs not claimed", "err", err)
		}
		return 0
	}
	for _, job := range jobs {
		err := s.runJob(ctx, job)
		switch {
		case err == nil || CodeOf(err) == CodeNotFound || CodeOf(err) == CodeInvalid:
			// Done, the entry is gone, or the profile cannot apply to it.
			if err != nil {
				s.log.Info("eager variant skipped", "path", job.Path, "entry", job.EntryID, "profile", job.Profile, "err", err)
			}
			err = s.repo.DeleteJob(ctx, job.ID)
		case job.Attempts+1 >= jobMaxAttempts:
			s.log.Warn("eager variant abandoned; it will render on demand", "path", job.Path, "entry", job.EntryID, "profile", job.Profile, "err", err)
			err = s.repo.DeleteJob(ctx, job.ID)
		default:
			delay := jobRetryDelay << job.Attempts
			err = s.repo.RetryJob(ctx, job.ID, s.now().UTC().Add(delay))
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn("eager job state not saved", "job", job.ID, "err", err)
		}
	}
	return len(jobs)
}

// runJob renders one eager variant unless it exists already.
func (s *Service) runJob(ctx context.Context, job Job) error {
	entryID := job.EntryID
	a, err := s.Find(ctx, Selection{Path: job.Path, EntryID: &entryID, ForDelivery: true})
	if err != nil {
		return err
	}
	n, transform, err := s.transformationFor(a, TransformRequest{Params: TransformParams{"profile": job.Profile}})
	if err != nil || !transform {
		return err
	}
	if _, err := s.repo.FindVariant(ctx, a.ID, n.Transformation.Key()); !errors.Is(err, ErrNotFound) {
		return err // stored already, or the database failed
	}
	rctx, cancel := context.WithTimeout(ctx, renderTimeout)
	defer cancel()
	_, err = s.renderVariant(rctx, a, n.Transformation, RenderOptions{Background: true})
	return err
}
