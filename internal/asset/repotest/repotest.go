// Package repotest is the contract suite that every asset.Repository passes.
// An implementation's test calls Run with a constructor of fresh, empty
// repositories.
package repotest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"assetd/internal/asset"
)

// Concurrency is how many Creates to one path the concurrency test runs at
// once.
const Concurrency = 200

// Run runs the contract as subtests of t. newRepo must return a fresh, empty
// repository each time it is called; it may register cleanups on its t.
func Run(t *testing.T, newRepo func(t *testing.T) asset.Repository) {
	t.Run("CreateThenListNewestAndByID", func(t *testing.T) { testCreateList(t, newRepo(t)) })
	t.Run("RoundTripEveryField", func(t *testing.T) { testRoundTrip(t, newRepo(t)) })
	t.Run("EmptyLabelsAndTagsAreNotNil", func(t *testing.T) { testEmpty(t, newRepo(t)) })
	t.Run("EntryIDsCountPerPath", func(t *testing.T) { testEntryIDs(t, newRepo(t)) })
	t.Run("PathsAreCaseSensitive", func(t *testing.T) { testCaseSensitive(t, newRepo(t)) })
	t.Run("EntryIDsAreNeverReused", func(t *testing.T) { testNeverReused(t, newRepo(t)) })
	t.Run("ConcurrentCreatesToOnePath", func(t *testing.T) { testConcurrent(t, newRepo(t)) })
	t.Run("ExpiredEntriesAreInvisible", func(t *testing.T) { testExpiry(t, newRepo(t)) })
	t.Run("NothingSelected", func(t *testing.T) { testNotFound(t, newRepo(t)) })
	t.Run("DeleteMovesObjectsToTrash", func(t *testing.T) { testDeleteTrash(t, newRepo(t)) })
	t.Run("TrashIsOldestFirstAndLimited", func(t *testing.T) { testTrashOrder(t, newRepo(t)) })
	t.Run("DeleteMissingEntry", func(t *testing.T) { testDeleteMissing(t, newRepo(t)) })
	t.Run("ConcurrentDeletesOfOneEntry", func(t *testing.T) { testConcurrentDelete(t, newRepo(t)) })
	t.Run("ListOrdersNewAndModified", func(t *testing.T) { testListOrders(t, newRepo(t)) })
	t.Run("ListLimits", func(t *testing.T) { testListLimits(t, newRepo(t)) })
	t.Run("CursorPaginationIsStable", func(t *testing.T) { testCursor(t, newRepo(t)) })
	t.Run("LabelFilters", func(t *testing.T) { testLabelFilters(t, newRepo(t)) })
	t.Run("UpdateReplacesFields", func(t *testing.T) { testUpdate(t, newRepo(t)) })
	t.Run("UpdateStaleIsModified", func(t *testing.T) { testUpdateStale(t, newRepo(t)) })
	t.Run("UpdateNotFound", func(t *testing.T) { testUpdateNotFound(t, newRepo(t)) })
	t.Run("ConcurrentUpdatesFromOneRead", func(t *testing.T) { testConcurrentUpdate(t, newRepo(t)) })
	t.Run("DeleteNewestByOrder", func(t *testing.T) { testDeleteNewest(t, newRepo(t)) })
	t.Run("DeleteWithLabels", func(t *testing.T) { testDeleteLabels(t, newRepo(t)) })
	t.Run("DeleteRecursiveOnSegmentBoundaries", func(t *testing.T) { testDeleteRecursive(t, newRepo(t)) })
	t.Run("DeleteLeavesExpiredToDeleteExpired", func(t *testing.T) { testDeleteSkipsExpired(t, newRepo(t)) })
	t.Run("DeleteExpired", func(t *testing.T) { testDeleteExpired(t, newRepo(t)) })
	t.Run("ListObjectsPages", func(t *testing.T) { testListObjects(t, newRepo(t)) })
	t.Run("Referenced", func(t *testing.T) { testReferenced(t, newRepo(t)) })
	t.Run("TryLock", func(t *testing.T) { testTryLock(t, newRepo(t)) })
	t.Run("ConcurrentTryLock", func(t *testing.T) { testConcurrentTryLock(t, newRepo(t)) })
	t.Run("CreateVariant", func(t *testing.T) { testCreateVariant(t, newRepo(t)) })
	t.Run("ConcurrentCreateVariant", func(t *testing.T) { testConcurrentCreateVariant(t, newRepo(t)) })
	t.Run("CreateVariantOfDeletedEntry", func(t *testing.T) { testCreateVariantGoneEntry(t, newRepo(t)) })
	t.Run("DeleteTrashesEveryVariant", func(t *testing.T) { testDeleteTrashesVariants(t, newRepo(t)) })
	t.Run("JobsClaimAndLease", func(t *testing.T) { testJobsClaimAndLease(t, newRepo(t)) })
	t.Run("JobsOldestFirst", func(t *testing.T) { testJobsOldestFirst(t, newRepo(t)) })
	t.Run("JobsRetryAndDelete", func(t *testing.T) { testJobsRetryAndDelete(t, newRepo(t)) })
	t.Run("JobsGoWithTheirEntry", func(t *testing.T) { testJobsGoWithEntry(t, newRepo(t)) })
	t.Run("ConcurrentClaimJobs", func(t *testing.T) { testConcurrentClaims(t, newRepo(t)) })
	t.Run("Ping", func(t *testing.T) {
		if err := newRepo(t).Ping(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

// base is a fixed time with microseconds, in a zone other than UTC, so that
// a repository that drops the fraction or the zone conversion is caught.
var base = time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.FixedZone("UTC+5", 5*3600))

// newAsset returns a minimal valid image asset at path with one original.
func newAsset(path, alt string) *asset.Asset {
	return &asset.Asset{
		Class:      asset.ClassImage,
		Path:       asset.Path(path),
		Alt:        alt,
		Source:     asset.SourceUpload,
		CreatedAt:  base,
		ModifiedAt: base,
		Variants: []asset.Variant{{
			IsOriginal: true,
			Bucket:     "bucket",
			Key:        "objects/" + path + "/" + alt,
			Attributes: asset.Attributes{Width: 10, Height: 20, Format: asset.FormatPNG, PageCount: 1, Orientation: 1, Size: 100, ContentType: "image/png"},
			CreatedAt:  base,
		}},
	}
}

func create(t *testing.T, r asset.Repository, a *asset.Asset) *asset.Asset {
	t.Helper()
	if err := r.Create(context.Background(), a); err != nil {
		t.Fatalf("Create(%s): %v", a.Path, err)
	}
	return a
}

// list returns what sel selects, with Now defaulting to base.
func list(t *testing.T, r asset.Repository, sel asset.Selection) []*asset.Asset {
	t.Helper()
	if sel.Now.IsZero() {
		sel.Now = base
	}
	got, err := r.List(context.Background(), sel)
	if err != nil {
		t.Fatalf("List(%+v): %v", sel, err)
	}
	if got == nil {
		t.Fatalf("List(%+v) = nil; want a non-nil slice", sel)
	}
	return got
}

// find returns the one entry that sel (with Limit 1) selects.
func find(t *testing.T, r asset.Repository, sel asset.Selection) *asset.Asset {
	t.Helper()
	sel.Limit = 1
	got := list(t, r, sel)
	if len(got) != 1 {
		t.Fatalf("List(%s, entry %v) = %d entries; want 1", sel.Path, entryText(sel.EntryID), len(got))
	}
	return got[0]
}

// wantNotFound checks that sel selects nothing.
func wantNotFound(t *testing.T, r asset.Repository, sel asset.Selection) {
	t.Helper()
	if got := list(t, r, sel); len(got) != 0 {
		t.Fatalf("List(%s, entry %v) = entries %v; want none", sel.Path, entryText(sel.EntryID), entryIDs(got))
	}
}

// remove deletes what sel selects, with Now defaulting to base.
func remove(t *testing.T, r asset.Repository, sel asset.Selection) int {
	t.Helper()
	if sel.Now.IsZero() {
		sel.Now = base
	}
	n, err := r.Delete(context.Background(), sel)
	if err != nil {
		t.Fatalf("Delete(%+v): %v", sel, err)
	}
	return n
}

// entryIDs returns the entry ids of assets, in order.
func entryIDs(assets []*asset.Asset) []int64 {
	ids := make([]int64, len(assets))
	for i, a := range assets {
		ids[i] = a.EntryID
	}
	return ids
}

func entryText(id *int64) string {
	if id == nil {
		return "newest"
	}
	return fmt.Sprint(*id)
}

func ptr[T any](v T) *T { return &v }

// update calls Update and fails the test on an error.
func update(t *testing.T, r asset.Repository, a *asset.Asset, ifModifiedAt time.Time) {
	t.Helper()
	if err := r.Update(context.Background(), a, ifModifiedAt); err != nil {
		t.Fatalf("Update(%s, entry %d): %v", a.Path, a.EntryID, err)
	}
}

func testCreateList(t *testing.T, r asset.Repository) {
	first := create(t, r, newAsset("users/42/avatar", "first"))
	second := create(t, r, newAsset("users/42/avatar", "second"))
	if first.ID == second.ID {
		t.Fatalf("two entries got the same row id %d", first.ID)
	}

	newest := find(t, r, asset.Selection{Path: "users/42/avatar"})
	if newest.EntryID != 1 || newest.Alt != "second" || newest.ID != second.ID {
		t.Fatalf("newest = entry %d %q (row %d); want entry 1 \"second\" (row %d)", newest.EntryID, newest.Alt, newest.ID, second.ID)
	}
	byID := find(t, r, asset.Selection{Path: "users/42/avatar", EntryID: ptr[int64](0)})
	if byID.EntryID != 0 || byID.Alt != "first" || byID.ID != first.ID {
		t.Fatalf("entry 0 = entry %d %q (row %d); want entry 0 \"first\" (row %d)", byID.EntryID, byID.Alt, byID.ID, first.ID)
	}
	if o := byID.Original(); o == nil || o.Key != first.Variants[0].Key || o.ID != first.Variants[0].ID {
		t.Fatalf("entry 0 original = %+v; want key %q id %d", o, first.Variants[0].Key, first.Variants[0].ID)
	}
}

func testRoundTrip(t *testing.T, r asset.Repository) {
	utc := base.UTC()
	expires := base.Add(72*time.Hour + 654321*time.Microsecond)
	a := &asset.Asset{
		Class:      asset.ClassImage,
		Path:       "products/shoe-1",
		Alt:        "A red shoe, seen from the side",
		Labels:     map[string]string{"color": "red", "sku": "A-1", "empty": ""},
		Tags:       []string{"zeta", "alpha", "mid", "alpha"},
		Source:     asset.SourceURL,
		SourceURL:  "https://example.com/shoe.png?x=1",
		CreatedAt:  base,
		ModifiedAt: base.Add(90*time.Second + 1*time.Microsecond),
		ExpiresAt:  &expires,
		Variants: []asset.Variant{
			// The original is given second: List must still return it first.
			{
				TransformKey: "f=webp&w=100",
				Bucket:       "derived",
				Key:          "v/transformed",
				Attributes:   asset.Attributes{Width: 100, Height: 50, Format: asset.FormatWebP, PageCount: 3, Loop: 2, Orientation: 1, Size: 4321, ContentType: "image/webp"},
				LQIP:         asset.LQIP{Blurhash: "LKO2?U%2Tw=w]~RBVZRi};RPxuwH", Thumbhash: "1QcSHQRnh493V4dIh4eXh1h4kJUI"},
				CreatedAt:    base.Add(time.Second),
			},
			{
				IsOriginal: true,
				Bucket:     "originals",
				Key:        "o/original",
				Attributes: asset.Attributes{Width: 4000, Height: 2000, Format: asset.FormatGIF, PageCount: 12, Loop: 0, Orientation: 6, Size: 9876543210, ContentType: "image/gif"},
				LQIP:       asset.LQIP{Blurhash: "blur", Thumbhash: "thumb"},
				CreatedAt:  base.Add(-time.Microsecond),
			},
		},
	}
	create(t, r, a)
	if a.Variants[0].ID == a.Variants[1].ID {
		t.Fatalf("variant ids not assigned distinctly: %d, %d", a.Variants[0].ID, a.Variants[1].ID)
	}

	want := asset.Asset{
		ID:         a.ID,
		Class:      asset.ClassImage,
		Path:       "products/shoe-1",
		EntryID:    0,
		Alt:        "A red shoe, seen from the side",
		Labels:     map[string]string{"color": "red", "sku": "A-1", "empty": ""},
		Tags:       []string{"zeta", "alpha", "mid", "alpha"},
		Source:     asset.SourceURL,
		SourceURL:  "https://example.com/shoe.png?x=1",
		CreatedAt:  utc,
		ModifiedAt: utc.Add(90*time.Second + 1*time.Microsecond),
		ExpiresAt:  ptr(expires.UTC()),
		Variants:   []asset.Variant{a.Variants[1], a.Variants[0]},
	}
	want.Variants[0].CreatedAt = utc.Add(-time.Microsecond)
	want.Variants[1].CreatedAt = utc.Add(time.Second)

	got := find(t, r, asset.Selection{Path: "products/shoe-1"})
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", *got, want)
	}
	for name, tm := range map[string]time.Time{"CreatedAt": got.CreatedAt, "ModifiedAt": got.ModifiedAt,
		"ExpiresAt": *got.ExpiresAt, "Variants[0].CreatedAt": got.Variants[0].CreatedAt} {
		if tm.Location() != time.UTC {
			t.Errorf("%s is in %v; want UTC", name, tm.Location())
		}
	}
}

func testEmpty(t *testing.T, r asset.Repository) {
	a := newAsset("empty", "x")
	a.Labels, a.Tags = nil, nil
	create(t, r, a)
	got := find(t, r, asset.Selection{Path: "empty"})
	if got.Labels == nil || len(got.Labels) != 0 {
		t.Errorf("Labels = %#v; want an empty, non-nil map", got.Labels)
	}
	if got.Tags == nil || len(got.Tags) != 0 {
		t.Errorf("Tags = %#v; want an empty, non-nil slice", got.Tags)
	}
	if got.ExpiresAt != nil {
		t.Errorf("ExpiresAt = %v; want nil", got.ExpiresAt)
	}
}

func testEntryIDs(t *testing.T, r asset.Repository) {
	for _, step := range []struct {
		path string
		want int64
	}{{"a", 0}, {"a", 1}, {"b", 0}, {"a/b", 0}, {"a", 2}, {"b", 1}, {"a/b", 1}} {
		a := create(t, r, newAsset(step.path, fmt.Sprint(step.want)))
		if a.EntryID != step.want {
			t.Fatalf("Create at %q assigned entry %d; want %d", step.path, a.EntryID, step.want)
		}
	}
	for path, newest := range map[string]int64{"a": 2, "b": 1, "a/b": 1} {
		if got := find(t, r, asset.Selection{Path: asset.Path(path)}); got.EntryID != newest || got.Path != asset.Path(path) {
			t.Errorf("newest at %q = %s entry %d; want entry %d", path, got.Path, got.EntryID, newest)
		}
	}
}

func testCaseSensitive(t *testing.T, r asset.Repository) {
	upper := create(t, r, newAsset("Users/X", "upper"))
	lower := create(t, r, newAsset("users/x", "lower"))
	if upper.EntryID != 0 || lower.EntryID != 0 {
		t.Fatalf("entry ids %d and %d; want 0 for both paths", upper.EntryID, lower.EntryID)
	}
	if got := find(t, r, asset.Selection{Path: "Users/X"}); got.Alt != "upper" {
		t.Errorf("List(Users/X) = %q; want \"upper\"", got.Alt)
	}
	if got := find(t, r, asset.Selection{Path: "users/x"}); got.Alt != "lower" {
		t.Errorf("List(users/x) = %q; want \"lower\"", got.Alt)
	}
	wantNotFound(t, r, asset.Selection{Path: "USERS/X"})
}

func testNeverReused(t *testing.T, r asset.Repository) {
	for range 3 {
		create(t, r, newAsset("reuse", "x"))
	}
	if n := remove(t, r, asset.Selection{Path: "reuse", EntryID: ptr[int64](2)}); n != 1 {
		t.Fatalf("Delete(reuse, entry 2) = %d; want 1", n)
	}
	if got := find(t, r, asset.Selection{Path: "reuse"}); got.EntryID != 1 {
		t.Fatalf("newest after deleting entry 2 = %d; want 1", got.EntryID)
	}
	if a := create(t, r, newAsset("reuse", "y")); a.EntryID != 3 {
		t.Fatalf("entry id after deleting the newest = %d; want 3 (ids are never reused)", a.EntryID)
	}
	wantNotFound(t, r, asset.Selection{Path: "reuse", EntryID: ptr[int64](2)})
}

func testConcurrent(t *testing.T, r asset.Repository) {
	ids := make([]int64, Concurrency)
	errs := make([]error, Concurrency)
	atOnce(Concurrency, func(i int) {
		a := newAsset("hot/path", fmt.Sprint(i))
		errs[i] = r.Create(context.Background(), a)
		ids[i] = a.EntryID
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Create %d: %v", i, err)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for i, id := range ids {
		if id != int64(i) {
			t.Fatalf("entry ids of %d concurrent creates = %v; want exactly 0..%d", Concurrency, ids, Concurrency-1)
		}
	}
	if got := find(t, r, asset.Selection{Path: "hot/path"}); got.EntryID != Concurrency-1 {
		t.Fatalf("newest = %d; want %d", got.EntryID, Concurrency-1)
	}
}

func testExpiry(t *testing.T, r asset.Repository) {
	now := base
	never := newAsset("exp", "never")
	later := newAsset("exp", "in an hour")
	later.ExpiresAt = ptr(now.Add(time.Hour))
	atNow := newAsset("exp", "at now")
	atNow.ExpiresAt = ptr(now)
	for _, a := range []*asset.Asset{never, later, atNow} {
		create(t, r, a)
	}

	// Entry 2 expires exactly now: at or before Now is invisible.
	wantNotFound(t, r, asset.Selection{Path: "exp", EntryID: ptr[int64](2), Now: now})
	if got := find(t, r, asset.Selection{Path: "exp", Now: now}); got.EntryID != 1 {
		t.Fatalf("newest visible = entry %d; want 1 (entry 2 has expired)", got.EntryID)
	}
	if got := find(t, r, asset.Selection{Path: "exp", Now: now.Add(-time.Microsecond)}); got.EntryID != 2 {
		t.Fatalf("newest a microsecond before entry 2 expires = entry %d; want 2", got.EntryID)
	}
	later2 := now.Add(2 * time.Hour)
	wantNotFound(t, r, asset.Selection{Path: "exp", EntryID: ptr[int64](1), Now: later2})
	if got := find(t, r, asset.Selection{Path: "exp", Now: later2}); got.EntryID != 0 {
		t.Fatalf("newest visible two hours later = entry %d; want 0", got.EntryID)
	}

	if got := entryIDs(list(t, r, asset.Selection{Path: "exp", Now: now, Limit: -1})); !slices.Equal(got, []int64{1, 0}) {
		t.Fatalf("all visible entries = %v; want [1 0] (entry 2 has expired)", got)
	}
	if got := entryIDs(list(t, r, asset.Selection{Path: "exp", Now: now, Order: asset.OrderModified, Limit: -1})); !slices.Equal(got, []int64{1, 0}) {
		t.Fatalf("all visible entries by modification = %v; want [1 0] (entry 2 has expired)", got)
	}

	only := newAsset("exp-only", "gone")
	only.ExpiresAt = ptr(now.Add(-time.Second))
	create(t, r, only)
	wantNotFound(t, r, asset.Selection{Path: "exp-only", Now: now})
}

func testNotFound(t *testing.T, r asset.Repository) {
	// Nothing selected is an empty slice, not an error (list checks both).
	wantNotFound(t, r, asset.Selection{Path: "nothing/here"})
	create(t, r, newAsset("something", "x"))
	wantNotFound(t, r, asset.Selection{Path: "something", EntryID: ptr[int64](1)})
	wantNotFound(t, r, asset.Selection{Path: "something", EntryID: ptr[int64](-1)})
	wantNotFound(t, r, asset.Selection{Path: "somethin"})
	wantNotFound(t, r, asset.Selection{Path: "something/else"})
}

type object struct{ bucket, key string }

func listTrash(t *testing.T, r asset.Repository, limit int) ([]asset.ObjectRef, []object) {
	t.Helper()
	trash, err := r.ListTrash(context.Background(), limit)
	if err != nil {
		t.Fatalf("ListTrash(%d): %v", limit, err)
	}
	objects := make([]object, len(trash))
	for i, o := range trash {
		objects[i] = object{o.Bucket, o.Key}
	}
	return trash, objects
}

func testDeleteTrash(t *testing.T, r asset.Repository) {
	a := newAsset("del", "x")
	a.Labels = map[string]string{"k": "v"}
	a.Tags = []string{"t"}
	a.Variants = append(a.Variants,
		asset.Variant{TransformKey: "w=10", Bucket: "b2", Key: "k2", CreatedAt: base},
		asset.Variant{TransformKey: "w=20", Bucket: "b3", Key: "k3", CreatedAt: base})
	create(t, r, a)
	keep := create(t, r, newAsset("del", "keep"))

	if trash, _ := listTrash(t, r, 100); len(trash) != 0 {
		t.Fatalf("trash before any delete = %+v; want empty", trash)
	}
	if n := remove(t, r, asset.Selection{Path: "del", EntryID: ptr[int64](0)}); n != 1 {
		t.Fatalf("Delete(del, entry 0) = %d; want 1", n)
	}
	wantNotFound(t, r, asset.Selection{Path: "del", EntryID: ptr[int64](0)})
	if got := find(t, r, asset.Selection{Path: "del"}); got.ID != keep.ID {
		t.Fatalf("the other entry at the path is gone or changed: %+v", got)
	}

	trash, objects := listTrash(t, r, 100)
	want := []object{{"bucket", a.Variants[0].Key}, {"b2", "k2"}, {"b3", "k3"}}
	sortObjects(objects)
	sortObjects(want)
	if !reflect.DeepEqual(objects, want) {
		t.Fatalf("trash = %v; want %v", objects, want)
	}
	ids := make([]int64, len(trash))
	for i, o := range trash {
		ids[i] = o.ID
	}
	if slices.Sort(ids); len(slices.Compact(ids)) != len(trash) {
		t.Fatalf("trash ids are not distinct: %+v", trash)
	}

	if err := r.DeleteTrash(context.Background(), ids[:1]); err != nil {
		t.Fatalf("DeleteTrash: %v", err)
	}
	if rest, _ := listTrash(t, r, 100); len(rest) != 2 {
		t.Fatalf("trash after deleting one row = %+v; want 2 rows", rest)
	}
	// Deleting again, with an id already gone, must be harmless (a retry).
	if err := r.DeleteTrash(context.Background(), ids); err != nil {
		t.Fatalf("DeleteTrash again: %v", err)
	}
	if rest, _ := listTrash(t, r, 100); len(rest) != 0 {
		t.Fatalf("trash after DeleteTrash = %+v; want empty", rest)
	}
	if err := r.DeleteTrash(context.Background(), nil); err != nil {
		t.Fatalf("DeleteTrash(nil): %v", err)
	}
}

func sortObjects(o []object) {
	sort.Slice(o, func(i, j int) bool { return o[i].bucket+"/"+o[i].key < o[j].bucket+"/"+o[j].key })
}

func testTrashOrder(t *testing.T, r asset.Repository) {
	first := newAsset("order/first", "x")
	first.Variants = append(first.Variants, asset.Variant{TransformKey: "w=1", Bucket: "b", Key: "first-2", CreatedAt: base})
	second := newAsset("order/second", "y")
	create(t, r, first)
	create(t, r, second)
	for _, p := range []asset.Path{"order/first", "order/second"} {
		if n := remove(t, r, asset.Selection{Path: p, EntryID: ptr[int64](0)}); n != 1 {
			t.Fatalf("Delete(%s, entry 0) = %d; want 1", p, n)
		}
	}
	_, objects := listTrash(t, r, 100)
	if len(objects) != 3 || objects[2].key != second.Variants[0].Key {
		t.Fatalf("trash = %v; want the first entry's two objects, then %q", objects, second.Variants[0].Key)
	}
	_, limited := listTrash(t, r, 2)
	sortObjects(limited)
	want := []object{{"b", "first-2"}, {"bucket", first.Variants[0].Key}}
	if !reflect.DeepEqual(limited, want) {
		t.Fatalf("ListTrash(2) = %v; want the first entry's objects %v", limited, want)
	}
}

func testDeleteMissing(t *testing.T, r asset.Repository) {
	if n := remove(t, r, asset.Selection{Path: "missing", EntryID: ptr[int64](0)}); n != 0 {
		t.Fatalf("Delete of a missing entry = %d; want 0", n)
	}
	if n := remove(t, r, asset.Selection{Path: "missing", Limit: -1, Recursive: true}); n != 0 {
		t.Fatalf("recursive Delete of a missing path = %d; want 0", n)
	}
	create(t, r, newAsset("once", "x"))
	for i, want := range []int{1, 0} {
		if n := remove(t, r, asset.Selection{Path: "once", EntryID: ptr[int64](0)}); n != want {
			t.Fatalf("Delete #%d of once/0 = %d; want %d", i+1, n, want)
		}
	}
	if trash, _ := listTrash(t, r, 100); len(trash) != 1 {
		t.Fatalf("trash after deleting one single-variant entry twice = %+v; want 1 object", trash)
	}
}

func testConcurrentDelete(t *testing.T, r asset.Repository) {
	const n = 8
	create(t, r, newAsset("race", "x"))
	results := make([]int, n)
	errs := make([]error, n)
	atOnce(n, func(i int) {
		results[i], errs[i] = r.Delete(context.Background(), asset.Selection{Path: "race", EntryID: ptr[int64](0), Now: base})
	})
	deleted := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("concurrent Delete %d: %v", i, errs[i])
		}
		deleted += results[i]
	}
	if deleted != 1 {
		t.Fatalf("%d of %d concurrent deletes of one entry counted it; want exactly 1", deleted, n)
	}
	if trash, _ := listTrash(t, r, 100); len(trash) != 1 {
		t.Fatalf("trash = %+v; want the entry's one object once", trash)
	}
}

// atOnce runs fn(0) … fn(n-1) in n goroutines released together, to make
// them race, and returns when all are done.
func atOnce(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}
