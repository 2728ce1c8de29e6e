package repotest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"assetd/internal/asset"
)

// at is base plus minutes.
func at(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }

// createAt creates an entry at path, created at created and modified at
// modified, with an object key unique to its path and alt.
func createAt(t *testing.T, r asset.Repository, path, alt string, created, modified time.Time) *asset.Asset {
	t.Helper()
	a := newAsset(path, alt)
	a.CreatedAt, a.ModifiedAt = created, modified
	return create(t, r, a)
}

func wantEntries(t *testing.T, r asset.Repository, sel asset.Selection, want ...int64) {
	t.Helper()
	if want == nil {
		want = []int64{}
	}
	if got := entryIDs(list(t, r, sel)); !slices.Equal(got, want) {
		t.Fatalf("List(%s, order %q, limit %d, labels %v) = entries %v; want %v",
			sel.Path, sel.Order, sel.Limit, sel.Labels, got, want)
	}
}

func testListOrders(t *testing.T, r asset.Repository) {
	for i, m := range []int{0, 1, 2, 2} {
		createAt(t, r, "o", fmt.Sprint(i), at(m), at(m))
	}
	// Other paths, newer, must not show up.
	createAt(t, r, "o/x", "x", at(5), at(5))
	createAt(t, r, "oo", "x", at(5), at(5))

	all := asset.Selection{Path: "o", Limit: -1}
	wantEntries(t, r, all, 3, 2, 1, 0) // entries 2 and 3 tie: the higher entry id first
	byNew := all
	byNew.Order = asset.OrderNew
	wantEntries(t, r, byNew, 3, 2, 1, 0)

	// Modify entry 0 last, and entry 1 at the time entries 2 and 3 were made.
	update(t, r, &asset.Asset{Path: "o", EntryID: 0, Alt: "0", ModifiedAt: at(10)}, at(0))
	update(t, r, &asset.Asset{Path: "o", EntryID: 1, Alt: "1", ModifiedAt: at(2)}, at(1))

	byModified := all
	byModified.Order = asset.OrderModified
	wantEntries(t, r, byModified, 0, 3, 2, 1)
	wantEntries(t, r, byNew, 3, 2, 1, 0)
	if got := list(t, r, byModified)[0]; !got.ModifiedAt.Equal(at(10)) || !got.CreatedAt.Equal(at(0)) {
		t.Fatalf("most recently modified entry has created %v, modified %v; want %v, %v",
			got.CreatedAt, got.ModifiedAt, at(0), at(10))
	}
}

func testListLimits(t *testing.T, r asset.Repository) {
	for i := range 4 {
		createAt(t, r, "lim", fmt.Sprint(i), at(i), at(i))
	}
	for _, c := range []struct {
		limit int
		want  []int64
	}{{0, []int64{3}}, {1, []int64{3}}, {2, []int64{3, 2}}, {-1, []int64{3, 2, 1, 0}}, {10, []int64{3, 2, 1, 0}}} {
		wantEntries(t, r, asset.Selection{Path: "lim", Limit: c.limit}, c.want...)
		wantEntries(t, r, asset.Selection{Path: "lim", Order: asset.OrderModified, Limit: c.limit}, c.want...)
	}
}

func testCursor(t *testing.T, r asset.Repository) {
	// Times by entry id, not in entry order, with ties that straddle pages.
	minutes := []int{3, 1, 3, 1, 0, 2, 1}
	want := []int64{2, 0, 5, 6, 3, 1, 4}
	for _, order := range []asset.Order{asset.OrderNew, asset.OrderModified} {
		t.Run(string(order), func(t *testing.T) {
			path := "cursor/" + string(order)
			for i, m := range minutes {
				created, modified := at(m), base
				if order == asset.OrderModified {
					created, modified = base, at(m)
				}
				createAt(t, r, path, fmt.Sprint(i), created, modified)
			}
			var (
				got   []int64
				after *asset.Cursor
			)
			for page := 0; ; page++ {
				if page > len(minutes) {
					t.Fatalf("pagination does not end; entries so far %v", got)
				}
				entries := list(t, r, asset.Selection{Path: asset.Path(path), Order: order, Limit: 2, After: after})
				if len(entries) == 0 {
					break
				}
				got = append(got, entryIDs(entries)...)
				last := entries[len(entries)-1]
				after = &asset.Cursor{At: last.CreatedAt, EntryID: last.EntryID}
				if order == asset.OrderModified {
					after.At = last.ModifiedAt
				}
				// Entries added between pages are newer than the cursor: they
				// neither shift the pages still to come nor show up in them.
				createAt(t, r, path, fmt.Sprint("new", page), at(10+page), at(10+page))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("entries over all pages = %v; want %v exactly once each, in order", got, want)
			}
		})
	}
}

func testLabelFilters(t *testing.T, r asset.Repository) {
	for i, labels := range []map[string]string{
		{"color": "red", "size": "L"},
		{"color": "red"},
		{"color": "blue", "size": "L"},
		nil,
		{"color": "Red"},
		{"note": ""},
	} {
		a := newAsset("lab", fmt.Sprint(i))
		a.Labels = labels
		create(t, r, a)
	}
	other := newAsset("lab/other", "x")
	other.Labels = map[string]string{"color": "red"}
	create(t, r, other)

	for _, c := range []struct {
		labels map[string]string
		entry  *int64
		want   []int64
	}{
		{map[string]string{"color": "red"}, nil, []int64{1, 0}},
		{map[string]string{"color": "red", "size": "L"}, nil, []int64{0}},
		{map[string]string{"size": "L"}, nil, []int64{2, 0}},
		{map[string]string{"color": "Red"}, nil, []int64{4}},
		{map[string]string{"color": "re"}, nil, nil},
		{map[string]string{"color": "red "}, nil, nil},
		{map[string]string{"Color": "red"}, nil, nil},
		{map[string]string{"note": ""}, nil, []int64{5}},
		{map[string]string{"size": ""}, nil, nil},
		{map[string]string{"color": "red", "size": "M"}, nil, nil},
		{map[string]string{}, nil, []int64{5, 4, 3, 2, 1, 0}},
		{map[string]string{"size": "L"}, ptr[int64](0), []int64{0}},
		{map[string]string{"size": "L"}, ptr[int64](1), nil},
	} {
		sel := asset.Selection{Path: "lab", Labels: c.labels, EntryID: c.entry, Limit: -1}
		got := entryIDs(list(t, r, sel))
		if c.want == nil {
			c.want = []int64{}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("labels %v, entry %s: entries %v; want %v", c.labels, entryText(c.entry), got, c.want)
		}
	}
	// A filtered listing returns every label of an entry, not just the
	// filtered ones.
	got := list(t, r, asset.Selection{Path: "lab", Labels: map[string]string{"size": "L"}})
	if want := map[string]string{"color": "blue", "size": "L"}; !reflect.DeepEqual(got[0].Labels, want) {
		t.Errorf("labels of a filtered entry = %v; want %v", got[0].Labels, want)
	}
}
