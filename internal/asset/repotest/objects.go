package repotest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"

	"assetd/internal/asset"
)

func testListObjects(t *testing.T, r asset.Repository) {
	var want []asset.ObjectRef
	for i, n := range []int{2, 1, 3} {
		a := newAsset(fmt.Sprint("obj/", i), "x")
		for j := 1; j < n; j++ {
			a.Variants = append(a.Variants, asset.Variant{TransformKey: fmt.Sprint("w=", j), Bucket: "derived",
				Key: fmt.Sprintf("obj-%d-%d", i, j), CreatedAt: base})
		}
		create(t, r, a)
		for _, v := range a.Variants {
			want = append(want, asset.ObjectRef{ID: v.ID, Bucket: v.Bucket, Key: v.Key})
		}
	}
	// Pages of 4 walk every object once, in ID order.
	var got []asset.ObjectRef
	after := int64(0)
	for range 10 {
		page, err := r.ListObjects(context.Background(), after, 4)
		if err != nil {
			t.Fatalf("ListObjects(%d, 4): %v", after, err)
		}
		if len(page) > 4 {
			t.Fatalf("ListObjects(%d, 4) returned %d objects", after, len(page))
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		after = page[len(page)-1].ID
	}
	sortRefs(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("objects over all pages = %v; want %v", got, want)
	}

	if n := remove(t, r, asset.Selection{Path: "obj/1"}); n != 1 {
		t.Fatalf("Delete(obj/1) = %d; want 1", n)
	}
	rest, err := r.ListObjects(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 5 {
		t.Fatalf("objects after deleting a one-variant entry = %v; want 5 (trashed objects are not listed)", rest)
	}
	for _, o := range rest {
		if o.Key == "objects/obj/1/x" {
			t.Fatalf("ListObjects still lists the deleted entry's object: %v", rest)
		}
	}
	if none, err := r.ListObjects(context.Background(), 0, 0); err != nil || len(none) != 0 {
		t.Fatalf("ListObjects(limit 0) = %v, %v; want none", none, err)
	}
}

func sortRefs(refs []asset.ObjectRef) {
	slices.SortFunc(refs, func(a, b asset.ObjectRef) int { return cmp.Compare(a.ID, b.ID) })
}

func testReferenced(t *testing.T, r asset.Repository) {
	ctx := context.Background()
	a := newAsset("ref", "kept")
	a.Variants[0].Bucket, a.Variants[0].Key = "b1", "k1"
	a.Variants = append(a.Variants, asset.Variant{TransformKey: "w=1", Bucket: "b2", Key: "k2", CreatedAt: base})
	create(t, r, a)
	d := newAsset("ref/deleted", "gone")
	d.Variants[0].Bucket, d.Variants[0].Key = "b1", "k3"
	create(t, r, d)
	remove(t, r, asset.Selection{Path: "ref/deleted"})

	// Many keys, so that an implementation has to split them.
	keys := []string{"k1", "k2", "nope"}
	for i := range 1500 {
		keys = append(keys, fmt.Sprint("filler-", i))
	}
	keys = append(keys, "k3")
	refs, err := r.Referenced(ctx, "b1", keys)
	if err != nil {
		t.Fatalf("Referenced: %v", err)
	}
	for key, want := range map[string]bool{"k1": true, "k3": true, "k2": false, "nope": false, "filler-700": false} {
		if refs[key] != want {
			t.Errorf("Referenced(b1)[%s] = %v; want %v", key, refs[key], want)
		}
	}
	if refs, err := r.Referenced(ctx, "b2", []string{"k2", "k1"}); err != nil || !refs["k2"] || refs["k1"] {
		t.Errorf("Referenced(b2, k2 k1) = %v, %v; want only k2", refs, err)
	}

	trash, _ := listTrash(t, r, 10)
	if len(trash) != 1 {
		t.Fatalf("trash = %v; want k3 alone", trash)
	}
	if err := r.DeleteTrash(ctx, []int64{trash[0].ID}); err != nil {
		t.Fatal(err)
	}
	if refs, err := r.Referenced(ctx, "b1", []string{"k3"}); err != nil || refs["k3"] {
		t.Errorf("Referenced(k3) after its trash row is gone = %v, %v; want false", refs, err)
	}
	if _, err := r.Referenced(ctx, "b1", nil); err != nil {
		t.Errorf("Referenced(no keys): %v", err)
	}
}

func tryLock(t *testing.T, r asset.Repository, name string) (func(), bool) {
	t.Helper()
	release, ok, err := r.TryLock(context.Background(), name)
	if err != nil {
		t.Fatalf("TryLock(%s): %v", name, err)
	}
	if ok == (release == nil) {
		t.Fatalf("TryLock(%s) = acquired %v with release %v", name, ok, release != nil)
	}
	return release, ok
}

func testTryLock(t *testing.T, r asset.Repository) {
	release, ok := tryLock(t, r, "sweep")
	if !ok {
		t.Fatalf("TryLock(sweep) on a fresh repository was not acquired")
	}
	if _, ok := tryLock(t, r, "sweep"); ok {
		t.Fatalf("TryLock(sweep) while held was acquired again")
	}
	other, ok := tryLock(t, r, "reap")
	if !ok {
		t.Fatalf("TryLock(reap) was not acquired while only sweep is held")
	}
	defer other()
	release()
	again, ok := tryLock(t, r, "sweep")
	if !ok {
		t.Fatalf("TryLock(sweep) after release was not acquired")
	}
	// A second call of the old release must not free the new holder's lock.
	release()
	if _, ok := tryLock(t, r, "sweep"); ok {
		t.Fatalf("an old release freed the lock of its next holder")
	}
	again()
}

func testConcurrentTryLock(t *testing.T, r asset.Repository) {
	const n = 16
	releases := make([]func(), n)
	errs := make([]error, n)
	atOnce(n, func(i int) {
		releases[i], _, errs[i] = r.TryLock(context.Background(), "job")
	})
	var held []func()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("TryLock %d: %v", i, errs[i])
		}
		if releases[i] != nil {
			held = append(held, releases[i])
		}
	}
	if len(held) != 1 {
		t.Fatalf("%d of %d concurrent TryLocks acquired the lock; want exactly 1", len(held), n)
	}
	held[0]()
	if release, ok := tryLock(t, r, "job"); !ok {
		t.Fatalf("TryLock after the holder released was not acquired")
	} else {
		release()
	}
}
