package lqip

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/buckket/go-blurhash"
	"github.com/galdor/go-thumbhash"

	"assetd/internal/asset"
)

// Regenerate with: go test ./internal/lqip -update
var update = flag.Bool("update", false, "rewrite testdata/golden/lqip.json")

var both = []asset.LQIPKind{asset.LQIPBlurhash, asset.LQIPThumbhash}

// goldenInputs are small images in testdata: a PNG with transparency, and
// the previews that internal/imaging made of the cactus photo, landscape and
// (from the EXIF-rotated JPEG) portrait.
var goldenInputs = []string{
	"alpha.png",
	"golden/preview-cactus.jpg.png",
	"golden/preview-cactus-rotated.jpg.png",
}

func load(t *testing.T, name string) image.Image {
	t.Helper()
	f, err := os.Open(filepath.Join("../../testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestGolden(t *testing.T) {
	got := map[string]asset.LQIP{}
	for _, name := range goldenInputs {
		l, err := New().Encode(load(t, name), both)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got[name] = l
	}
	gotJSON, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	gotJSON = append(gotJSON, '\n')
	path := "../../testdata/golden/lqip.json"
	if *update {
		if err := os.WriteFile(path, gotJSON, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(gotJSON, want) {
		t.Errorf("lqip.json differs; got:\n%s", gotJSON)
	}
}

func TestOnlyAskedKinds(t *testing.T) {
	img := load(t, "alpha.png")
	enc := New()
	l, err := enc.Encode(img, []asset.LQIPKind{asset.LQIPBlurhash})
	if err != nil || l.Blurhash == "" || l.Thumbhash != "" {
		t.Errorf("blurhash only: %+v, %v", l, err)
	}
	l, err = enc.Encode(img, []asset.LQIPKind{asset.LQIPThumbhash})
	if err != nil || l.Blurhash != "" || l.Thumbhash == "" {
		t.Errorf("thumbhash only: %+v, %v", l, err)
	}
	l, err = enc.Encode(img, nil)
	if err != nil || l != (asset.LQIP{}) {
		t.Errorf("no kinds: %+v, %v", l, err)
	}
}

func TestEncodeErrors(t *testing.T) {
	enc := New()
	small := image.NewNRGBA(image.Rect(0, 0, 10, 10))
	if _, err := enc.Encode(small, []asset.LQIPKind{asset.LQIPBlurhash, "pixelhash"}); err == nil {
		t.Error("an unknown kind was accepted")
	}
	if _, err := enc.Encode(image.NewNRGBA(image.Rect(0, 0, 101, 50)), both); err == nil {
		t.Error("a 101×50 image was accepted")
	}
	if _, err := enc.Encode(image.NewNRGBA(image.Rect(0, 0, 0, 0)), both); err == nil {
		t.Error("an empty image was accepted")
	}
}

func TestComponents(t *testing.T) {
	cases := []struct{ w, h, x, y int }{
		{100, 75, 4, 3}, {75, 100, 3, 4}, {100, 100, 4, 4}, {100, 10, 4, 2}, {1, 100, 2, 4},
	}
	for _, c := range cases {
		x, y := components(c.w, c.h)
		if x != c.x || y != c.y {
			t.Errorf("components(%d, %d) = %d, %d; want %d, %d", c.w, c.h, x, y, c.x, c.y)
		}
		l, err := New().Encode(image.NewNRGBA(image.Rect(0, 0, c.w, c.h)), []asset.LQIPKind{asset.LQIPBlurhash})
		if err != nil {
			t.Fatal(err)
		}
		if x, y, err := blurhash.Components(l.Blurhash); err != nil || x != c.x || y != c.y {
			t.Errorf("%d×%d: hash has %d×%d components (%v), want %d×%d", c.w, c.h, x, y, err, c.x, c.y)
		}
	}
}

// mean returns the average non-premultiplied colour of img, composited over
// white when over is set.
func mean(img image.Image, overWhite bool) [4]float64 {
	b := img.Bounds()
	c := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	if overWhite {
		draw.Draw(c, c.Rect, image.White, image.Point{}, draw.Src)
		draw.Draw(c, c.Rect, img, b.Min, draw.Over)
	} else {
		draw.Draw(c, c.Rect, img, b.Min, draw.Src)
	}
	var sum [4]float64
	for i := 0; i < len(c.Pix); i += 4 {
		for k := range 4 {
			sum[k] += float64(c.Pix[i+k])
		}
	}
	n := float64(len(c.Pix) / 4)
	for k := range sum {
		sum[k] /= n
	}
	return sum
}

func near(a, b [4]float64, channels int, tol float64) bool {
	for k := 0; k < channels; k++ {
		if d := a[k] - b[k]; d > tol || d < -tol {
			return false
		}
	}
	return true
}

// TestRoundTrip decodes the placeholders and checks that a user would see
// roughly the colours of the image.
func TestRoundTrip(t *testing.T) {
	for _, name := range goldenInputs {
		img := load(t, name)
		l, err := New().Encode(img, both)
		if err != nil {
			t.Fatal(err)
		}
		b := img.Bounds()

		bh, err := blurhash.Decode(l.Blurhash, b.Dx(), b.Dy(), 1)
		if err != nil {
			t.Fatalf("%s: blurhash.Decode: %v", name, err)
		}
		if want, got := mean(img, true), mean(bh, false); !near(want, got, 3, 12) {
			t.Errorf("%s: blurhash average %v, image over white %v", name, got, want)
		}

		raw, err := base64.StdEncoding.DecodeString(l.Thumbhash)
		if err != nil {
			t.Fatalf("%s: thumbhash is not standard base64: %v", name, err)
		}
		th, err := thumbhash.DecodeImage(raw)
		if err != nil {
			t.Fatalf("%s: thumbhash.DecodeImage: %v", name, err)
		}
		if want, got := mean(img, true), mean(th, true); !near(want, got, 3, 16) {
			t.Errorf("%s: thumbhash average %v, image %v", name, got, want)
		}
	}
}

// TestThumbhashTranslucent checks that translucent colour is not darkened:
// a uniform half-transparent orange must decode to orange, half-transparent.
func TestThumbhashTranslucent(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 32, 32))
	draw.Draw(img, img.Rect, image.NewUniform(color.NRGBA{200, 100, 50, 128}), image.Point{}, draw.Src)
	l, err := New().Encode(img, []asset.LQIPKind{asset.LQIPThumbhash})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(l.Thumbhash)
	th, err := thumbhash.DecodeImage(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := mean(th, false); !near(got, [4]float64{200, 100, 50, 128}, 4, 20) {
		t.Errorf("decoded %v, want about 200,100,50 at alpha 128", got)
	}
}

// TestBounds checks that an image whose bounds do not start at the origin
// (a sub-image) hashes like its copy at the origin.
func TestBounds(t *testing.T) {
	img := load(t, "alpha.png").(*image.NRGBA)
	sub := img.SubImage(image.Rect(10, 5, 90, 70))
	copied := image.NewNRGBA(image.Rect(0, 0, 80, 65))
	draw.Draw(copied, copied.Rect, sub, image.Pt(10, 5), draw.Src)
	a, err := New().Encode(sub, both)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New().Encode(copied, both)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("sub-image %+v, copy %+v", a, b)
	}
}
