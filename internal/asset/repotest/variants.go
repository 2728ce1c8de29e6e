package repotest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"assetd/internal/asset"
)

// transformation returns a normalised-looking transformation of width w,
// every field set, so that a field the repository drops is noticed.
func transformation(w int) asset.Transformation {
	return asset.Transformation{
		Orientation: 6, Width: w, Height: 77, Fit: asset.FitFill, Gravity: asset.GravityAttention,
		Filter: asset.FilterSepia, Blur: 13, Pad: 4, PadColor: asset.RGBA{R: 1, G: 128, B: 254, A: 255},
		Format: asset.FormatWebP, Quality: 81,
	}
}

// newVariant returns a rendition under t whose object is key.
func newVariant(t asset.Transformation, key string) *asset.Variant {
	return &asset.Variant{
		TransformKey:   t.Key(),
		Transformation: &t,
		Bucket:         "derived",
		Key:            key,
		Attributes: asset.Attributes{Width: t.Width + 2*t.Pad, Height: t.Height + 2*t.Pad, Format: t.Format,
			PageCount: 1, Orientation: 1, Size: 321, ContentType: t.Format.ContentType()},
		LQIP:      asset.LQIP{Blurhash: "LEHV6nWB2yk8", Thumbhash: "3OcRJYB4d3h"},
		CreatedAt: base.Add(time.Second),
	}
}

// createVariant calls CreateVariant and fails the test on an error.
func createVariant(t *testing.T, r asset.Repository, assetID int64, v *asset.Variant) (*asset.Variant, bool) {
	t.Helper()
	stored, created, err := r.CreateVariant(context.Background(), assetID, v)
	if err != nil {
		t.Fatalf("CreateVariant(%d, %s): %v", assetID, v.TransformKey, err)
	}
	if stored == nil {
		t.Fatalf("CreateVariant(%d, %s) returned no stored variant", assetID, v.TransformKey)
	}
	return stored, created
}

func testCreateVariant(t *testing.T, r asset.Repository) {
	a := create(t, r, newAsset("variants/one", "x"))
	v := newVariant(transformation(100), "v-100")
	stored, created := createVariant(t, r, a.ID, v)
	if !created || stored != v {
		t.Fatalf("first CreateVariant = %p, created %v; want v itself, created", stored, created)
	}
	if v.ID == 0 || v.ID == a.ID || v.ID == a.Variants[0].ID {
		t.Fatalf("variant ID = %d; want a fresh id (asset %d, original %d)", v.ID, a.ID, a.Variants[0].ID)
	}
	if v.CreatedAt != base.Add(time.Second).UTC() || v.CreatedAt.Location() != time.UTC {
		t.Fatalf("variant CreatedAt = %v; want %v in UTC, as stored", v.CreatedAt, base.Add(time.Second).UTC())
	}

	// Another renderer of the same transformation lost the race: it gets
	// the first variant, and its own object is not recorded.
	dup := newVariant(transformation(100), "v-100-dup")
	stored, created = createVariant(t, r, a.ID, dup)
	if created || stored.ID != v.ID || stored.Key != "v-100" {
		t.Fatalf("second CreateVariant of one key = id %d key %q created %v; want id %d key \"v-100\", not created",
			stored.ID, stored.Key, created, v.ID)
	}
	if !reflect.DeepEqual(*stored, *v) {
		t.Fatalf("the variant that was there first differs from what was stored:\n got %+v\nwant %+v", *stored, *v)
	}

	// A different transformation is a different variant.
	other := newVariant(transformation(200), "v-200")
	if _, created := createVariant(t, r, a.ID, other); !created || other.ID == v.ID {
		t.Fatalf("CreateVariant of another key: created %v, id %d; want created with an id other than %d", created, other.ID, v.ID)
	}

	got := find(t, r, asset.Selection{Path: "variants/one"})
	want := []asset.Variant{a.Variants[0], *v, *other}
	if !reflect.DeepEqual(got.Variants, want) {
		t.Fatalf("variants listed =\n%+v\nwant the original, then the renditions in creation order:\n%+v", got.Variants, want)
	}
	if got.Variants[0].Transformation != nil {
		t.Fatalf("the original's Transformation = %+v; want nil", got.Variants[0].Transformation)
	}

	// Delivery reads only what it needs: the original alone, then the one
	// rendition by its key.
	orig := find(t, r, asset.Selection{Path: "variants/one", ForDelivery: true})
	if len(orig.Variants) != 1 || !orig.Variants[0].IsOriginal {
		t.Fatalf("ForDelivery listed %d variants; want the original alone", len(orig.Variants))
	}
	if orig.Alt != a.Alt || orig.EntryID != a.EntryID || orig.Labels == nil || orig.Tags == nil {
		t.Fatalf("ForDelivery = %+v; want the entry's row with empty, non-nil labels and tags", orig)
	}
	byKey, err := r.FindVariant(context.Background(), a.ID, other.TransformKey)
	if err != nil || !reflect.DeepEqual(*byKey, *other) {
		t.Fatalf("FindVariant(%q) = %+v, %v; want %+v", other.TransformKey, byKey, err, *other)
	}
	if _, err := r.FindVariant(context.Background(), a.ID, "no-such-key"); !errors.Is(err, asset.ErrNotFound) {
		t.Fatalf("FindVariant of an unknown key = %v; want ErrNotFound", err)
	}
	if _, err := r.FindVariant(context.Background(), a.ID+1000000, other.TransformKey); !errors.Is(err, asset.ErrNotFound) {
		t.Fatalf("FindVariant of another entry = %v; want ErrNotFound", err)
	}

	// The sweeper must see a rendition's object as referenced.
	refs, err := r.Referenced(context.Background(), "derived", []string{"v-100", "v-200", "v-100-dup"})
	if err != nil {
		t.Fatalf("Referenced: %v", err)
	}
	if !refs["v-100"] || !refs["v-200"] || refs["v-100-dup"] {
		t.Fatalf("Referenced = %v; want v-100 and v-200 only", refs)
	}
}

func testConcurrentCreateVariant(t *testing.T, r asset.Repository) {
	const n = 20
	a := create(t, r, newAsset("variants/race", "x"))
	stored := make([]*asset.Variant, n)
	created := make([]bool, n)
	errs := make([]error, n)
	atOnce(n, func(i int) {
		stored[i], created[i], errs[i] = r.CreateVariant(context.Background(), a.ID,
			newVariant(transformation(300), fmt.Sprint("race-", i)))
	})
	winners := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("concurrent CreateVariant %d: %v", i, errs[i])
		}
		if created[i] {
			winners++
		}
	}
	if winners != 1 {
		t.Fatalf("%d of %d concurrent CreateVariants of one key were created; want exactly 1", winners, n)
	}
	for i := range n {
		if stored[i].ID != stored[0].ID || stored[i].Key != stored[0].Key {
			t.Fatalf("CreateVariant %d stored id %d key %q, CreateVariant 0 id %d key %q; want one variant for all",
				i, stored[i].ID, stored[i].Key, stored[0].ID, stored[0].Key)
		}
	}
	got := find(t, r, asset.Selection{Path: "variants/race"})
	if len(got.Variants) != 2 || got.Variants[1].Key != stored[0].Key {
		t.Fatalf("variants after the race = %+v; want the original and %q", got.Variants, stored[0].Key)
	}
}

func testCreateVariantGoneEntry(t *testing.T, r asset.Repository) {
	a := create(t, r, newAsset("variants/gone", "x"))
	if n := remove(t, r, asset.Selection{Path: "variants/gone"}); n != 1 {
		t.Fatalf("Delete = %d; want 1", n)
	}
	_, created, err := r.CreateVariant(context.Background(), a.ID, newVariant(transformation(100), "orphan"))
	if !errors.Is(err, asset.ErrNotFound) || created {
		t.Fatalf("CreateVariant for a deleted entry = created %v, %v; want ErrNotFound", created, err)
	}
	if refs, err := r.Referenced(context.Background(), "derived", []string{"orphan"}); err != nil || refs["orphan"] {
		t.Fatalf("Referenced(orphan) = %v, %v; want unreferenced (nothing was recorded)", refs, err)
	}
}

func testDeleteTrashesVariants(t *testing.T, r asset.Repository) {
	a := create(t, r, newAsset("variants/del", "x"))
	createVariant(t, r, a.ID, newVariant(transformation(100), "del-100"))
	createVariant(t, r, a.ID, newVariant(transformation(200), "del-200"))
	exp := newAsset("variants/exp", "x")
	exp.ExpiresAt = ptr(base.Add(time.Minute))
	create(t, r, exp)
	createVariant(t, r, exp.ID, newVariant(transformation(100), "exp-100"))

	if n := remove(t, r, asset.Selection{Path: "variants/del"}); n != 1 {
		t.Fatalf("Delete = %d; want 1", n)
	}
	want := []string{"del-100", "del-200", a.Variants[0].Key}
	slices.Sort(want)
	if got := trashKeys(t, r); !reflect.DeepEqual(got, want) {
		t.Fatalf("trash after Delete = %v; want every variant's object %v", got, want)
	}
	if n, err := r.DeleteExpired(context.Background(), base.Add(time.Minute), 10); err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want 1", n, err)
	}
	want = append(want, "exp-100", exp.Variants[0].Key)
	slices.Sort(want)
	if got := trashKeys(t, r); !reflect.DeepEqual(got, want) {
		t.Fatalf("trash after DeleteExpired = %v; want every variant's object %v", got, want)
	}
}
