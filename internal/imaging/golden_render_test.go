package imaging

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"assetd/internal/asset"
)

// renderCases are the golden renderings: each parameter at least once, on
// the fixtures whose features it touches.
var renderCases = []struct{ name, fixture, query string }{
	{"cactus-fit", fixCactusJPEG, "w=200"},
	{"cactus-fill-entropy", fixCactusJPEG, "w=150&h=150&fit=fill&g=entropy&format=webp"},
	{"cactus-stretch", fixCactusJPEG, "w=200&h=80&fit=stretch&format=png"},
	{"cactus-crop-attention", fixCactusJPEG, "w=160&h=160&fit=crop&g=attention"},
	{"cactus-r90-flip", fixCactusJPEG, "w=160&r=90&f=h&format=png"},
	{"cactus-greyscale", fixCactusJPEG, "w=160&filter=greyscale&format=avif"},
	{"cactus-black-white", fixCactusJPEG, "w=160&filter=black_white&format=png"},
	{"cactus-sepia", fixCactusJPEG, "w=160&filter=sepia&format=heic"},
	{"cactus-blur", fixCactusJPEG, "w=160&blur=10&format=jxl"},
	{"rotated-auto", fixRotatedJPEG, "r=auto&w=120"},
	{"alpha-pad", fixAlphaPNG, "pad=8&pad-c=%23ff000080"},
	{"alpha-pad-jpg", fixAlphaPNG, "pad=8&format=jpg"},
	{"webp-to-gif", fixWebP, "w=100&format=gif"},
	{"spinner-webp", fixGIF, "w=48&format=webp"},
	{"spinner-r180", fixGIF, "r=180"},
}

// TestGoldenRender compares the attributes of each rendering exactly, and
// its first page with a tolerance, against testdata/golden/render; -update
// rewrites them.
func TestGoldenRender(t *testing.T) {
	p := newProcessor(t, defaults)
	dir := filepath.Join(goldenDir, "render")
	got := map[string]asset.Attributes{}
	for _, c := range renderCases {
		r := render(t, p, load(t, p, c.fixture), c.query)
		got[c.name] = r.Attributes
		img := decoded(t, r.Data)
		path := filepath.Join(dir, c.name+".png")
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, pngOf(t, img), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		want, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if mean, worst := pixelDiff(img, want); mean > 2 || worst > 48 {
			t.Errorf("%s: differs from the golden rendering: mean %.2f, worst %d", c.name, mean, worst)
		}
	}

	goldenJSON(t, filepath.Join(dir, "render.json"), got)
}

// goldenJSON compares got, as indented JSON, with the golden file at path,
// or rewrites the file under -update. Attributes and LQIP strings are
// compared exactly.
func goldenJSON(t *testing.T, path string, got any) {
	t.Helper()
	gotJSON, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	gotJSON = append(gotJSON, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, gotJSON, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	wantJSON, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("%s differs; got:\n%s", filepath.Base(path), gotJSON)
	}
}
