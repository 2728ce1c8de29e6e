package imaging

import (
	"bytes"
	"context"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"assetd/internal/asset"
	"assetd/internal/lqip"
)

// Regenerate the golden files, never edit them by hand:
//
//	go test ./internal/imaging -update
var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

var goldenDir = filepath.Join(testdata, "golden")

// goldenEntry is what Inspect reports for one fixture, with the placeholders
// of its preview.
type goldenEntry struct {
	Attributes    asset.Attributes `json:"attributes"`
	PreviewWidth  int              `json:"previewWidth"`
	PreviewHeight int              `json:"previewHeight"`
	Blurhash      string           `json:"blurhash"`
	Thumbhash     string           `json:"thumbhash"`
}

// TestGolden compares attributes and placeholder strings exactly, and the
// preview pixels with a tolerance, against testdata/golden.
func TestGolden(t *testing.T) {
	p := newProcessor(t, defaults)
	enc := lqip.New()
	got := map[string]goldenEntry{}
	previews := map[string]image.Image{}
	for _, name := range fixtureNames {
		ins, err := p.Inspect(context.Background(), filepath.Join(testdata, name), true)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		l, err := enc.Encode(ins.Preview, []asset.LQIPKind{asset.LQIPBlurhash, asset.LQIPThumbhash})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b := ins.Preview.Bounds()
		got[name] = goldenEntry{ins.Attributes, b.Dx(), b.Dy(), l.Blurhash, l.Thumbhash}
		previews[name] = ins.Preview
	}
	goldenJSON(t, filepath.Join(goldenDir, "inspect.json"), got)
	if *update {
		for name, img := range previews {
			var b bytes.Buffer
			if err := png.Encode(&b, img); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(previewPath(name), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	for name, img := range previews {
		f, err := os.Open(previewPath(name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if mean, worst := pixelDiff(img, want); mean > 2 || worst > 32 {
			t.Errorf("%s: preview differs from the golden one: mean %.2f, worst %d (of 255)", name, mean, worst)
		}
	}
}

func previewPath(fixture string) string {
	return filepath.Join(goldenDir, "preview-"+fixture+".png")
}

// pixelDiff returns the mean and the largest absolute difference per channel
// of non-premultiplied 8-bit values; different sizes are a total mismatch.
func pixelDiff(a, b image.Image) (mean float64, worst int) {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 255, 255
	}
	var sum, n int
	for y := 0; y < a.Bounds().Dy(); y++ {
		for x := 0; x < a.Bounds().Dx(); x++ {
			ca := nrgba(a, x, y)
			cb := nrgba(b, x, y)
			for i := range ca {
				d := max(ca[i]-cb[i], cb[i]-ca[i])
				sum += d
				worst = max(worst, d)
				n++
			}
		}
	}
	return float64(sum) / float64(n), worst
}

func nrgba(img image.Image, x, y int) [4]int {
	b := img.Bounds()
	c := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	c.Set(0, 0, img.At(b.Min.X+x, b.Min.Y+y))
	return [4]int{int(c.Pix[0]), int(c.Pix[1]), int(c.Pix[2]), int(c.Pix[3])}
}
