package sqldb

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"assetd/internal/asset"
	"assetd/internal/testenv"
)

// Every field of asset.Transformation survives the database: a field added
// to the domain type but not to transformationJSON fails here.
func TestTransformationEveryField(t *testing.T) {
	var tr asset.Transformation
	v := reflect.ValueOf(&tr).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Int:
			f.SetInt(int64(10 + i))
		case reflect.String:
			f.SetString("s" + v.Type().Field(i).Name)
		case reflect.Struct: // RGBA
			for j := range f.NumField() {
				f.Field(j).SetUint(uint64(200 + j))
			}
		default:
			t.Fatalf("Transformation.%s has kind %s, which this test does not fill in", v.Type().Field(i).Name, f.Kind())
		}
	}
	arg, err := transformationArg(&tr)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseTransformation(arg.(string))
	if err != nil || got == nil || *got != tr {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, tr)
	}
	if arg, err := transformationArg(nil); arg != nil || err != nil {
		t.Fatalf("transformationArg(nil) = %v, %v; want NULL", arg, err)
	}
}

// Stored rows stay readable: the JSON names are a format on disk.
func TestTransformationStoredFormat(t *testing.T) {
	const stored = `{"orientation":6,"width":100,"height":50,"fit":"fill","gravity":"entropy","filter":"none",` +
		`"blur":3,"pad":2,"pad_color":[1,2,3,255],"format":"webp","quality":80}`
	want := asset.Transformation{Orientation: 6, Width: 100, Height: 50, Fit: asset.FitFill, Gravity: asset.GravityEntropy,
		Filter: asset.FilterNone, Blur: 3, Pad: 2, PadColor: asset.RGBA{R: 1, G: 2, B: 3, A: 255}, Format: asset.FormatWebP, Quality: 80}
	got, err := parseTransformation(stored)
	if err != nil || got == nil || *got != want {
		t.Fatalf("parseTransformation = %+v, %v; want %+v", got, err, want)
	}
	if arg, _ := transformationArg(&want); arg != stored {
		t.Fatalf("transformationArg = %s; want %s", arg, stored)
	}
	for _, bad := range []string{`{`, `{"pad_color":[0,0,0,256]}`} {
		if _, err := parseTransformation(bad); err == nil {
			t.Errorf("parseTransformation(%s) succeeded", bad)
		}
	}
}

// Create stores a rendition's Transformation too, not only CreateVariant,
// and the original's stays NULL.
func TestCreateStoresTransformation(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t, b.driver, b.dsn(t))
			tr := asset.Transformation{Orientation: 1, Width: 10, Height: 10, Fit: asset.FitFit, Gravity: asset.GravityCenter,
				Filter: asset.FilterNone, Format: asset.FormatPNG}
			a := &asset.Asset{Class: asset.ClassImage, Path: "p", Source: asset.SourceUpload, Variants: []asset.Variant{
				{IsOriginal: true, Bucket: "b", Key: "o"},
				{TransformKey: tr.Key(), Transformation: &tr, Bucket: "b", Key: "v"},
			}}
			if err := db.Create(ctx, a); err != nil {
				t.Fatalf("Create: %v", err)
			}
			list, err := db.List(ctx, asset.Selection{Path: "p", Now: time.Now()})
			if err != nil || len(list) != 1 {
				t.Fatalf("List = %v, %v", list, err)
			}
			if got := list[0].Variants; got[0].Transformation != nil || got[1].Transformation == nil || *got[1].Transformation != tr {
				t.Fatalf("transformations listed = %v, %v; want nil, %+v", got[0].Transformation, got[1].Transformation, tr)
			}
			var originals int
			if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM variants WHERE is_original AND transformation IS NULL`).
				Scan(&originals); err != nil || originals != 1 {
				t.Fatalf("originals with a NULL transformation = %d, %v; want 1", originals, err)
			}
		})
	}
}

// A CreateVariant that comes while a Delete of its entry is under way (the
// Delete has locked the entry, and read its variants) waits for it, then
// finds the entry gone. Were it to insert meanwhile, the cascade would drop
// the row and its object would never enter the trash.
func TestPostgresCreateVariantWaitsForDelete(t *testing.T) {
	ctx := context.Background()
	db := open(t, DriverPostgres, testenv.PostgresDSN(t))
	a := &asset.Asset{Class: asset.ClassImage, Path: "p", Source: asset.SourceUpload,
		Variants: []asset.Variant{{IsOriginal: true, Bucket: "b", Key: "o"}}}
	if err := db.Create(ctx, a); err != nil {
		t.Fatalf("Create: %v", err)
	}

	// The first steps of deleteSelected, on a connection of its own.
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE assets SET entry_id = entry_id WHERE id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}

	type result struct {
		created bool
		err     error
	}
	done := make(chan result, 1)
	go func() {
		tr := asset.Transformation{Width: 1}
		_, created, err := db.CreateVariant(ctx, a.ID, &asset.Variant{TransformKey: "k", Transformation: &tr, Bucket: "b", Key: "v"})
		done <- result{created, err}
	}()
	// Wait until CreateVariant either finished, which is the bug, or waits
	// for the entry's row lock.
	for waiting := false; !waiting; {
		select {
		case r := <-done:
			t.Fatalf("CreateVariant during a Delete of its entry returned created %v, %v; want it to wait", r.created, r.err)
		default:
		}
		if err := db.sql.QueryRowContext(ctx, `SELECT count(*) > 0 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM assets WHERE id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.created || !errors.Is(r.err, asset.ErrNotFound) {
		t.Fatalf("CreateVariant after the Delete committed = created %v, %v; want ErrNotFound", r.created, r.err)
	}
}
