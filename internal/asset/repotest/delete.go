package repotest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"assetd/internal/asset"
)

// trashKeys returns the sorted object keys in the trash.
func trashKeys(t *testing.T, r asset.Repository) []string {
	t.Helper()
	_, objects := listTrash(t, r, 10000)
	keys := make([]string, len(objects))
	for i, o := range objects {
		keys[i] = o.key
	}
	slices.Sort(keys)
	return keys
}

func testDeleteNewest(t *testing.T, r asset.Repository) {
	for i := range 5 {
		createAt(t, r, "n", fmt.Sprint(i), at(i), at(i))
	}
	update(t, r, &asset.Asset{Path: "n", EntryID: 1, ModifiedAt: at(10)}, at(1))
	// Neighbours that a non-recursive delete must never touch.
	createAt(t, r, "n/x", "x", at(20), at(20))
	createAt(t, r, "nn", "x", at(20), at(20))
	all := asset.Selection{Path: "n", Limit: -1}

	if n := remove(t, r, asset.Selection{Path: "n", Order: asset.OrderNew, Limit: 2}); n != 2 {
		t.Fatalf("Delete newest 2 = %d; want 2", n)
	}
	wantEntries(t, r, all, 2, 1, 0)
	if n := remove(t, r, asset.Selection{Path: "n", Order: asset.OrderModified, Limit: 1}); n != 1 {
		t.Fatalf("Delete most recently modified = %d; want 1", n)
	}
	wantEntries(t, r, all, 2, 0) // entry 1 was modified last
	if n := remove(t, r, asset.Selection{Path: "n"}); n != 1 {
		t.Fatalf("Delete with limit 0 = %d; want 1", n)
	}
	wantEntries(t, r, all, 0)
	if n := remove(t, r, asset.Selection{Path: "n", Limit: -1}); n != 1 {
		t.Fatalf("Delete all = %d; want 1", n)
	}
	wantEntries(t, r, all)
	wantEntries(t, r, asset.Selection{Path: "n/x"}, 0)
	wantEntries(t, r, asset.Selection{Path: "nn"}, 0)
	if keys := trashKeys(t, r); len(keys) != 5 {
		t.Fatalf("trash = %v; want the 5 deleted entries' objects", keys)
	}
}

func testDeleteLabels(t *testing.T, r asset.Repository) {
	for i, labels := range []map[string]string{{"k": "v"}, {"k": "v", "x": "y"}, {"k": "w"}, nil} {
		a := newAsset("l", fmt.Sprint(i))
		a.Labels = labels
		create(t, r, a)
	}
	sub := newAsset("l/sub", "s")
	sub.Labels = map[string]string{"k": "w"}
	create(t, r, sub)
	create(t, r, newAsset("l/sub2", "s"))
	all := asset.Selection{Path: "l", Limit: -1}

	// The newest entry that matches, not the newest entry.
	if n := remove(t, r, asset.Selection{Path: "l", Labels: map[string]string{"k": "v"}}); n != 1 {
		t.Fatalf("Delete newest k=v = %d; want 1", n)
	}
	wantEntries(t, r, all, 3, 2, 0)
	if n := remove(t, r, asset.Selection{Path: "l", EntryID: ptr[int64](3), Labels: map[string]string{"k": "v"}}); n != 0 {
		t.Fatalf("Delete of entry 3 with a label it lacks = %d; want 0", n)
	}
	if n := remove(t, r, asset.Selection{Path: "l", Labels: map[string]string{"k": "v"}, Limit: -1}); n != 1 {
		t.Fatalf("Delete all k=v = %d; want 1", n)
	}
	wantEntries(t, r, all, 3, 2)
	if n := remove(t, r, asset.Selection{Path: "l", Recursive: true, Labels: map[string]string{"k": "w"}}); n != 2 {
		t.Fatalf("recursive Delete of k=w = %d; want 2 (l/2 and l/sub/0)", n)
	}
	wantEntries(t, r, all, 3)
	wantEntries(t, r, asset.Selection{Path: "l/sub"})
	wantEntries(t, r, asset.Selection{Path: "l/sub2"}, 0)
}

func testDeleteRecursive(t *testing.T, r asset.Repository) {
	paths := []string{"a", "a/b", "a/b", "a/b/c", "a/b/c/d", "a/bc", "a/bc/d", "ab", "b/a/b", "a.b",
		"x_y", "x_y/z", "xay/z", "x_y_z", "x_yz/w"}
	for i, p := range paths {
		a := newAsset(p, fmt.Sprint(i))
		a.Variants[0].Key = fmt.Sprintf("%s#%d", p, i)
		create(t, r, a)
	}

	// Limit does not bound a recursive delete.
	if n := remove(t, r, asset.Selection{Path: "a/b", Recursive: true, Limit: 1}); n != 4 {
		t.Fatalf("recursive Delete of a/b = %d; want 4", n)
	}
	if n := remove(t, r, asset.Selection{Path: "x_y", Recursive: true}); n != 2 {
		t.Fatalf("recursive Delete of x_y = %d; want 2 ('_' is no wildcard)", n)
	}
	for _, c := range []struct {
		path string
		want int
	}{{"a", 1}, {"a/b", 0}, {"a/b/c", 0}, {"a/b/c/d", 0}, {"a/bc", 1}, {"a/bc/d", 1}, {"ab", 1},
		{"b/a/b", 1}, {"a.b", 1}, {"x_y", 0}, {"x_y/z", 0}, {"xay/z", 1}, {"x_y_z", 1}, {"x_yz/w", 1}} {
		if got := list(t, r, asset.Selection{Path: asset.Path(c.path), Limit: -1}); len(got) != c.want {
			t.Errorf("%s has %d entries left; want %d", c.path, len(got), c.want)
		}
	}
	want := []string{"a/b#1", "a/b#2", "a/b/c#3", "a/b/c/d#4", "x_y#10", "x_y/z#11"}
	if got := trashKeys(t, r); !reflect.DeepEqual(got, want) {
		t.Fatalf("trash = %v; want %v", got, want)
	}
}

func testDeleteSkipsExpired(t *testing.T, r asset.Repository) {
	expired := newAsset("e", "old")
	expired.ExpiresAt = ptr(base.Add(-time.Second))
	create(t, r, expired)
	create(t, r, newAsset("e", "live"))
	below := newAsset("e/sub", "old")
	below.ExpiresAt = ptr(base)
	create(t, r, below)

	// Expired entries are invisible to Delete as to List: a delete counts
	// only what a listing could show, and DeleteExpired removes the rest.
	if n := remove(t, r, asset.Selection{Path: "e", EntryID: ptr[int64](0)}); n != 0 {
		t.Fatalf("Delete of an expired entry = %d; want 0", n)
	}
	if n := remove(t, r, asset.Selection{Path: "e", Recursive: true}); n != 1 {
		t.Fatalf("recursive Delete over expired entries = %d; want 1 (the live one)", n)
	}
	if n, err := r.DeleteExpired(context.Background(), base, 10); err != nil || n != 2 {
		t.Fatalf("DeleteExpired = %d, %v; want 2", n, err)
	}
	if keys := trashKeys(t, r); len(keys) != 3 {
		t.Fatalf("trash = %v; want all three entries' objects", keys)
	}
}

func testDeleteExpired(t *testing.T, r asset.Repository) {
	for _, c := range []struct {
		path    string
		expires *time.Time
	}{
		// Not in order of expiry: the first created is not the first to go.
		{"z", ptr(base)},
		{"y", ptr(base.Add(-time.Hour))},
		{"z", ptr(base.Add(time.Hour))},
		{"x/1", ptr(base.Add(-2 * time.Hour))},
		{"z", nil},
	} {
		a := newAsset(c.path, "x")
		a.ExpiresAt = c.expires
		create(t, r, a)
	}
	before := base.Add(-3 * time.Hour) // when all entries were visible
	deleteExpired := func(limit, want int) {
		t.Helper()
		if n, err := r.DeleteExpired(context.Background(), base, limit); err != nil || n != want {
			t.Fatalf("DeleteExpired(limit %d) = %d, %v; want %d", limit, n, err, want)
		}
	}

	deleteExpired(0, 0)
	wantEntries(t, r, asset.Selection{Path: "x/1", Now: before}, 0)
	// The two that expired first go first.
	deleteExpired(2, 2)
	wantEntries(t, r, asset.Selection{Path: "x/1", Now: before})
	wantEntries(t, r, asset.Selection{Path: "y", Now: before})
	wantEntries(t, r, asset.Selection{Path: "z", Now: before, Limit: -1}, 2, 1, 0)
	// Expiring exactly now counts as expired.
	deleteExpired(10, 1)
	deleteExpired(10, 0)
	wantEntries(t, r, asset.Selection{Path: "z", Now: before, Limit: -1}, 2, 1)
	if keys := trashKeys(t, r); len(keys) != 3 {
		t.Fatalf("trash = %v; want the 3 expired entries' objects", keys)
	}
}
