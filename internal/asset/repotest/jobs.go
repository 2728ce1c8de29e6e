package repotest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"assetd/internal/asset"
)

// lease is the lease the job tests claim with.
const lease = time.Minute

// claim calls ClaimJobs and fails the test on an error.
func claim(t *testing.T, r asset.Repository, now time.Time, limit int) []asset.Job {
	t.Helper()
	jobs, err := r.ClaimJobs(context.Background(), now, lease, limit)
	if err != nil {
		t.Fatalf("ClaimJobs(%v, %d): %v", now, limit, err)
	}
	if jobs == nil {
		t.Fatalf("ClaimJobs(%v, %d) = nil; want a non-nil slice", now, limit)
	}
	return jobs
}

// createJobs calls CreateJobs and fails the test on an error.
func createJobs(t *testing.T, r asset.Repository, a *asset.Asset, profiles ...string) {
	t.Helper()
	if err := r.CreateJobs(context.Background(), a, profiles); err != nil {
		t.Fatalf("CreateJobs(%s, %v): %v", a.Path, profiles, err)
	}
}

// profiles returns the profiles of jobs, sorted.
func profiles(jobs []asset.Job) []string {
	p := make([]string, len(jobs))
	for i, j := range jobs {
		p[i] = j.Profile
	}
	slices.Sort(p)
	return p
}

func testJobsClaimAndLease(t *testing.T, r asset.Repository) {
	a := create(t, r, newAsset("jobs/a", "x"))
	create(t, r, newAsset("jobs/a", "y")) // entry 1, so that EntryID 0 is told apart
	createJobs(t, r, a, "thumb", "hero", "thumb")
	createJobs(t, r, a, "hero") // again, as a retried upload might

	jobs := claim(t, r, base, 10)
	if got := profiles(jobs); !slices.Equal(got, []string{"hero", "thumb"}) {
		t.Fatalf("claimed profiles = %v; want [hero thumb], once each", got)
	}
	for _, j := range jobs {
		if j.ID == 0 || j.AssetID != a.ID || j.Path != a.Path || j.EntryID != a.EntryID || j.Attempts != 0 {
			t.Fatalf("job = %+v; want an id, asset %d, %s entry %d, 0 attempts", j, a.ID, a.Path, a.EntryID)
		}
	}
	if jobs[0].ID == jobs[1].ID {
		t.Fatalf("two jobs share id %d", jobs[0].ID)
	}
	// Claimed jobs are hidden until the lease ends, then handed out again
	// (their worker may have died).
	if again := claim(t, r, base.Add(lease-time.Second), 10); len(again) != 0 {
		t.Fatalf("ClaimJobs within the lease = %+v; want none", again)
	}
	if again := claim(t, r, base.Add(lease), 10); !slices.Equal(profiles(again), []string{"hero", "thumb"}) {
		t.Fatalf("ClaimJobs when the lease ends = %+v; want both jobs again", again)
	}
	if none := claim(t, r, base.Add(10*lease), 0); len(none) != 0 {
		t.Fatalf("ClaimJobs(limit 0) = %+v; want none", none)
	}
}

func testJobsOldestFirst(t *testing.T, r asset.Repository) {
	newer := create(t, r, newAsset("jobs/newer", "x"))
	older := newAsset("jobs/older", "x")
	older.CreatedAt, older.ModifiedAt = base.Add(-time.Hour), base.Add(-time.Hour)
	create(t, r, older)
	createJobs(t, r, newer, "p")
	createJobs(t, r, older, "p")
	createJobs(t, r, newer, "q")

	// Jobs are due when their entry was created: the older entry's first,
	// then the newer's in the order they were recorded.
	var got []string
	for range 3 {
		jobs := claim(t, r, base, 1)
		if len(jobs) != 1 {
			t.Fatalf("ClaimJobs(limit 1) = %+v; want one job", jobs)
		}
		got = append(got, fmt.Sprint(jobs[0].Path, ":", jobs[0].Profile))
	}
	if want := []string{"jobs/older:p", "jobs/newer:p", "jobs/newer:q"}; !slices.Equal(got, want) {
		t.Fatalf("claim order = %v; want %v", got, want)
	}
}

func testJobsRetryAndDelete(t *testing.T, r asset.Repository) {
	ctx := context.Background()
	a := create(t, r, newAsset("jobs/retry", "x"))
	createJobs(t, r, a, "p", "q")
	jobs := claim(t, r, base, 10)
	if len(jobs) != 2 {
		t.Fatalf("claimed %+v; want 2 jobs", jobs)
	}
	p, q := jobs[0], jobs[1]
	if p.Profile != "p" {
		p, q = q, p
	}

	retryAt := base.Add(time.Hour)
	if err := r.RetryJob(ctx, p.ID, retryAt); err != nil {
		t.Fatalf("RetryJob: %v", err)
	}
	if err := r.DeleteJob(ctx, q.ID); err != nil {
		t.Fatalf("DeleteJob: %v", err)
	}
	// The retried job waits for its time, past the claim's lease.
	if got := claim(t, r, retryAt.Add(-time.Second), 10); len(got) != 0 {
		t.Fatalf("ClaimJobs before the retry time = %+v; want none (q is deleted, p not due)", got)
	}
	got := claim(t, r, retryAt, 10)
	if len(got) != 1 || got[0].ID != p.ID || got[0].Attempts != 1 {
		t.Fatalf("ClaimJobs at the retry time = %+v; want job %d with 1 attempt", got, p.ID)
	}
	if err := r.RetryJob(ctx, p.ID, retryAt); err != nil {
		t.Fatalf("second RetryJob: %v", err)
	}
	if got := claim(t, r, retryAt, 10); len(got) != 1 || got[0].Attempts != 2 {
		t.Fatalf("ClaimJobs after a second retry = %+v; want job %d with 2 attempts", got, p.ID)
	}

	// Forgetting a job, or a job that is gone, is harmless.
	for range 2 {
		if err := r.DeleteJob(ctx, p.ID); err != nil {
			t.Fatalf("DeleteJob: %v", err)
		}
	}
	if err := r.RetryJob(ctx, p.ID, retryAt); err != nil {
		t.Fatalf("RetryJob of a deleted job: %v", err)
	}
	if got := claim(t, r, retryAt.Add(24*time.Hour), 10); len(got) != 0 {
		t.Fatalf("ClaimJobs after deleting every job = %+v; want none", got)
	}
}

func testJobsGoWithEntry(t *testing.T, r asset.Repository) {
	ctx := context.Background()
	a := create(t, r, newAsset("jobs/gone", "x"))
	kept := create(t, r, newAsset("jobs/kept", "x"))
	createJobs(t, r, a, "p", "q")
	createJobs(t, r, kept, "p")
	if n := remove(t, r, asset.Selection{Path: "jobs/gone"}); n != 1 {
		t.Fatalf("Delete = %d; want 1", n)
	}
	// Recording jobs for an entry that is gone records nothing.
	if err := r.CreateJobs(ctx, a, []string{"r"}); err != nil && !errors.Is(err, asset.ErrNotFound) {
		t.Fatalf("CreateJobs for a deleted entry: %v; want nil or ErrNotFound", err)
	}
	got := claim(t, r, base.Add(time.Hour), 10)
	if len(got) != 1 || got[0].AssetID != kept.ID {
		t.Fatalf("jobs after deleting their entry = %+v; want only the other entry's job", got)
	}

	exp := newAsset("jobs/exp", "x")
	exp.ExpiresAt = ptr(base.Add(time.Minute))
	create(t, r, exp)
	createJobs(t, r, exp, "p")
	if n, err := r.DeleteExpired(ctx, base.Add(time.Minute), 10); err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want 1", n, err)
	}
	if got := claim(t, r, base.Add(time.Hour), 10); len(got) != 0 {
		t.Fatalf("jobs after DeleteExpired = %+v; want none (the other is leased)", got)
	}
}

func testConcurrentClaims(t *testing.T, r asset.Repository) {
	const (
		entries  = 4
		perEntry = 10
		workers  = 10
	)
	for i := range entries {
		a := create(t, r, newAsset(fmt.Sprint("jobs/many/", i), "x"))
		var p []string
		for j := range perEntry {
			p = append(p, fmt.Sprint("profile-", j))
		}
		createJobs(t, r, a, p...)
	}

	// Every worker claims small batches at the same now until none is due:
	// each job must be handed out exactly once.
	claimed := make([][]int64, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				jobs, err := r.ClaimJobs(context.Background(), base, lease, 3)
				if err != nil {
					errs[w] = err
					return
				}
				if len(jobs) == 0 {
					return
				}
				for _, j := range jobs {
					claimed[w] = append(claimed[w], j.ID)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	var all []int64
	for w := range workers {
		if errs[w] != nil {
			t.Fatalf("concurrent ClaimJobs %d: %v", w, errs[w])
		}
		all = append(all, claimed[w]...)
	}
	slices.Sort(all)
	if len(all) != entries*perEntry || len(slices.Compact(slices.Clone(all))) != len(all) {
		t.Fatalf("%d workers claimed %d jobs, %d distinct; want each of the %d jobs exactly once",
			workers, len(all), len(slices.Compact(slices.Clone(all))), entries*perEntry)
	}
}
