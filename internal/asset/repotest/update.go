package repotest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"assetd/internal/asset"
)

func testUpdate(t *testing.T, r asset.Repository) {
	a := newAsset("u", "old")
	a.Labels = map[string]string{"a": "1", "b": "2"}
	a.Tags = []string{"x", "y"}
	a.Variants = append(a.Variants, asset.Variant{TransformKey: "w=1", Bucket: "b", Key: "u-w1", CreatedAt: base})
	create(t, r, a)
	sibling := create(t, r, newAsset("u", "sibling"))
	// Another path with the same entry id and the same ModifiedAt.
	create(t, r, newAsset("v", "other"))
	before := find(t, r, asset.Selection{Path: "u", EntryID: ptr[int64](0)})
	siblingBefore := find(t, r, asset.Selection{Path: "u", EntryID: ptr(sibling.EntryID)})
	otherBefore := find(t, r, asset.Selection{Path: "v"})

	modified := base.Add(time.Minute + time.Microsecond)
	expires := base.Add(time.Hour)
	up := &asset.Asset{Path: "u", EntryID: 0, Alt: "new", Labels: map[string]string{"b": "3", "c": ""},
		Tags: []string{"z", "z", "a"}, ModifiedAt: modified, ExpiresAt: &expires}
	// The stored time, given in another zone, is still the same instant.
	update(t, r, up, before.ModifiedAt.In(time.FixedZone("UTC-3", -3*3600)))

	want := *before
	want.Alt, want.Labels, want.Tags = "new", map[string]string{"b": "3", "c": ""}, []string{"z", "z", "a"}
	want.ModifiedAt, want.ExpiresAt = modified.UTC(), ptr(expires.UTC())
	got := find(t, r, asset.Selection{Path: "u", EntryID: ptr[int64](0)})
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("after Update:\n got %+v\nwant %+v", *got, want)
	}
	if got := find(t, r, asset.Selection{Path: "u", EntryID: ptr(sibling.EntryID)}); !reflect.DeepEqual(got, siblingBefore) {
		t.Fatalf("Update changed another entry at the path:\n got %+v\nwant %+v", got, siblingBefore)
	}
	if got := find(t, r, asset.Selection{Path: "v"}); !reflect.DeepEqual(got, otherBefore) {
		t.Fatalf("Update changed entry 0 of another path:\n got %+v\nwant %+v", got, otherBefore)
	}

	// Clearing everything.
	update(t, r, &asset.Asset{Path: "u", EntryID: 0, ModifiedAt: base.Add(2 * time.Minute)}, got.ModifiedAt)
	got = find(t, r, asset.Selection{Path: "u", EntryID: ptr[int64](0)})
	if got.Alt != "" || got.Labels == nil || len(got.Labels) != 0 || got.Tags == nil || len(got.Tags) != 0 || got.ExpiresAt != nil {
		t.Fatalf("after clearing: alt %q, labels %#v, tags %#v, expires %v; want all empty and non-nil",
			got.Alt, got.Labels, got.Tags, got.ExpiresAt)
	}
	if len(got.Variants) != 2 || got.Class != before.Class || !got.CreatedAt.Equal(before.CreatedAt) {
		t.Fatalf("Update touched what it must not: %+v", got)
	}
}

func testUpdateStale(t *testing.T, r asset.Repository) {
	create(t, r, newAsset("stale", "orig"))
	update(t, r, &asset.Asset{Path: "stale", Alt: "first", ModifiedAt: base.Add(time.Second)}, base)

	for _, ifModifiedAt := range []time.Time{base, base.Add(time.Second + time.Microsecond), base.Add(time.Second - time.Microsecond)} {
		err := r.Update(context.Background(), &asset.Asset{Path: "stale", Alt: "second", ModifiedAt: base.Add(time.Hour)}, ifModifiedAt)
		if !errors.Is(err, asset.ErrModified) || asset.CodeOf(err) != asset.CodePrecondition {
			t.Fatalf("Update if modified at %v = %v; want asset.ErrModified", ifModifiedAt, err)
		}
	}
	got := find(t, r, asset.Selection{Path: "stale"})
	if got.Alt != "first" || !got.ModifiedAt.Equal(base.Add(time.Second)) {
		t.Fatalf("after stale updates: alt %q, modified %v; want \"first\", %v", got.Alt, got.ModifiedAt, base.Add(time.Second))
	}
}

func testUpdateNotFound(t *testing.T, r asset.Repository) {
	a := newAsset("nf", "x")
	a.ExpiresAt = ptr(base.Add(time.Hour))
	create(t, r, a)
	create(t, r, newAsset("gone", "x"))
	remove(t, r, asset.Selection{Path: "gone"})

	for _, c := range []struct {
		name string
		a    *asset.Asset
	}{
		{"unknown entry", &asset.Asset{Path: "nf", EntryID: 1, ModifiedAt: base.Add(time.Second)}},
		{"unknown path", &asset.Asset{Path: "nf/x", EntryID: 0, ModifiedAt: base.Add(time.Second)}},
		{"prefix of the path", &asset.Asset{Path: "n", EntryID: 0, ModifiedAt: base.Add(time.Second)}},
		{"deleted entry", &asset.Asset{Path: "gone", EntryID: 0, ModifiedAt: base.Add(time.Second)}},
		{"expired as of ModifiedAt", &asset.Asset{Path: "nf", EntryID: 0, ModifiedAt: base.Add(time.Hour)}},
	} {
		// ErrNotFound also when ifModifiedAt is wrong: the entry is not there.
		for _, ifModifiedAt := range []time.Time{base, base.Add(time.Minute)} {
			if err := r.Update(context.Background(), c.a, ifModifiedAt); !errors.Is(err, asset.ErrNotFound) {
				t.Errorf("Update of %s (if modified at %v) = %v; want asset.ErrNotFound", c.name, ifModifiedAt, err)
			}
		}
	}
	// A microsecond before it expires, the entry can still be updated.
	update(t, r, &asset.Asset{Path: "nf", Alt: "late", ModifiedAt: base.Add(time.Hour - time.Microsecond)}, base)
	if got := find(t, r, asset.Selection{Path: "nf"}); got.Alt != "late" || got.ExpiresAt != nil {
		t.Fatalf("after the last-moment update: alt %q, expires %v; want \"late\", never", got.Alt, got.ExpiresAt)
	}
}

func testConcurrentUpdate(t *testing.T, r asset.Repository) {
	const n = 8
	create(t, r, newAsset("upd-race", "orig"))
	errs := make([]error, n)
	atOnce(n, func(i int) {
		errs[i] = r.Update(context.Background(), &asset.Asset{Path: "upd-race", Alt: fmt.Sprint(i),
			ModifiedAt: base.Add(time.Duration(i+1) * time.Second)}, base)
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("updates %d and %d from the same read both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, asset.ErrModified):
			t.Fatalf("concurrent Update %d = %v; want nil or asset.ErrModified", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d concurrent updates succeeded: %v", n, errs)
	}
	if got := find(t, r, asset.Selection{Path: "upd-race"}); got.Alt != fmt.Sprint(winner) {
		t.Fatalf("stored alt %q; want the winner's %q", got.Alt, fmt.Sprint(winner))
	}
}
