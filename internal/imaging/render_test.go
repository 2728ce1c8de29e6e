package imaging

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/davidbyttow/govips/v2/vips"

	"assetd/internal/asset"
)

// source is an image to render, with its attributes as Inspect reports them.
type source struct {
	data  []byte
	attrs asset.Attributes
}

func inspectBytes(t testing.TB, p *Processor, name string, data []byte) asset.Attributes {
	t.Helper()
	ins, err := p.Inspect(context.Background(), writeTemp(t, name, data), false)
	if err != nil {
		t.Fatalf("Inspect %s: %v", name, err)
	}
	if ins.Class != asset.ClassImage {
		t.Fatalf("Inspect %s: class %s", name, ins.Class)
	}
	return ins.Attributes
}

func load(t testing.TB, p *Processor, fixture string) source {
	t.Helper()
	data := readFixture(t, fixture)
	return source{data, inspectBytes(t, p, fixture, data)}
}

// transformation normalises query, a URL query of transformation
// parameters, against src as the HTTP layer does.
func transformation(t testing.TB, src source, query string) asset.Transformation {
	t.Helper()
	v, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	params := asset.TransformParams{}
	for k := range v {
		params[k] = v.Get(k)
	}
	n, err := asset.Normalize(asset.TransformRequest{Params: params}, src.attrs, asset.Limits{})
	if err != nil {
		t.Fatalf("Normalize(%s): %v", query, err)
	}
	return n.Transformation
}

func render(t testing.TB, p *Processor, src source, query string) *asset.Rendering {
	t.Helper()
	r, err := p.Render(context.Background(), src.data, src.attrs, transformation(t, src, query), asset.RenderOptions{})
	if err != nil {
		t.Fatalf("Render(%s): %v", query, err)
	}
	return r
}

// decoded is the first page of an encoded image as 8-bit NRGBA, decoded by
// libvips for the formats Go cannot read.
func decoded(t testing.TB, data []byte) *image.NRGBA {
	t.Helper()
	var img image.Image
	var err error
	switch f, _ := Sniff(data); f {
	case asset.FormatJPEG:
		img, err = jpeg.Decode(bytes.NewReader(data))
	case asset.FormatPNG:
		img, err = png.Decode(bytes.NewReader(data))
	case asset.FormatGIF:
		img, err = gif.Decode(bytes.NewReader(data))
	default:
		var ref *vips.ImageRef
		if ref, err = vips.LoadImageFromBuffer(data, vips.NewImportParams()); err == nil {
			img, err = ref.ToImage(&vips.ExportParams{Format: vips.ImageTypePNG})
			ref.Close()
		}
	}
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return toNRGBA(img)
}

func toNRGBA(img image.Image) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			out.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}

// oriented applies orientation o (EXIF numbering) to img in Go: the
// reference for libvips' turns and flips.
func oriented(img *image.NRGBA, o int) *image.NRGBA {
	turns, flip := asset.OrientationOp(o)
	out := img
	for range turns { // clockwise: (x, y) goes to (h-1-y, x)
		w, h := out.Bounds().Dx(), out.Bounds().Dy()
		r := image.NewNRGBA(image.Rect(0, 0, h, w))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r.SetNRGBA(h-1-y, x, out.NRGBAAt(x, y))
			}
		}
		out = r
	}
	if flip {
		w, h := out.Bounds().Dx(), out.Bounds().Dy()
		r := image.NewNRGBA(out.Bounds())
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r.SetNRGBA(w-1-x, y, out.NRGBAAt(x, y))
			}
		}
		out = r
	}
	return out
}

// mapPixels applies f to every pixel of img.
func mapPixels(img *image.NRGBA, f func(c color.NRGBA) color.NRGBA) *image.NRGBA {
	out := image.NewNRGBA(img.Bounds())
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			out.SetNRGBA(x, y, f(img.NRGBAAt(x, y)))
		}
	}
	return out
}

func wantClose(t *testing.T, what string, got, want image.Image, maxMean float64) {
	t.Helper()
	if g, w := got.Bounds().Size(), want.Bounds().Size(); g != w {
		t.Errorf("%s: %v, want %v", what, g, w)
		return
	}
	if mean, worst := pixelDiff(got, want); mean > maxMean {
		t.Errorf("%s: mean difference %.2f (worst %d), want at most %.1f", what, mean, worst, maxMean)
	}
}

func wantSize(t *testing.T, what string, r *asset.Rendering, w, h int) {
	t.Helper()
	if r.Attributes.Width != w || r.Attributes.Height != h {
		t.Errorf("%s: attributes say %d×%d, want %d×%d", what, r.Attributes.Width, r.Attributes.Height, w, h)
	}
	if b := decoded(t, r.Data).Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s: decodes to %d×%d, want %d×%d", what, b.Dx(), b.Dy(), w, h)
	}
}

func TestRenderFits(t *testing.T) {
	p := newProcessor(t, defaults)
	src := load(t, p, fixCactusJPEG) // 640×480
	cases := []struct {
		query string
		w, h  int
	}{
		{"w=320", 320, 240},
		{"h=120", 160, 120},
		{"w=333&format=png", 333, 250},
		{"w=1000&format=png", 640, 480}, // never enlarged
		{"w=200&h=200&fit=fill", 200, 200},
		{"w=1000&h=100&fit=fill", 1000, 100}, // fill may enlarge
		{"w=300&h=100&fit=stretch", 300, 100},
		{"w=200&h=150&fit=crop", 200, 150},
		{"w=2000&h=150&fit=crop", 640, 150}, // no larger than the source
		{"w=100&h=50&fit=fill&r=90", 100, 50},
		{"w=100&h=50&fit=stretch&r=270", 100, 50},
		{"w=100&h=50&fit=crop&r=90", 100, 50},
		{"w=120&r=90", 120, 160},
	}
	for _, c := range cases {
		r := render(t, p, src, c.query)
		wantSize(t, c.query, r, c.w, c.h)
	}
}

// TestRenderResizeContent checks that fill keeps the centre and that
// stretch and fit keep the whole picture, against Go's own resampling of
// the decoded source (nearest neighbour, so a loose tolerance).
func TestRenderResizeContent(t *testing.T) {
	p := newProcessor(t, defaults)
	src := load(t, p, fixCactusJPEG)
	full := decoded(t, src.data)
	shrink := func(img *image.NRGBA, r image.Rectangle, w, h int) *image.NRGBA {
		out := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				sx := r.Min.X + (2*x+1)*r.Dx()/(2*w)
				sy := r.Min.Y + (2*y+1)*r.Dy()/(2*h)
				out.SetNRGBA(x, y, img.NRGBAAt(sx, sy))
			}
		}
		return out
	}
	cases := []struct {
		query  string
		region image.Rectangle
		w, h   int
	}{
		{"w=160&format=png", full.Bounds(), 160, 120},
		{"w=160&h=60&fit=stretch&format=png", full.Bounds(), 160, 60},
		{"w=120&h=120&fit=fill&format=png", image.Rect(80, 0, 560, 480), 120, 120},
		{"w=200&h=100&fit=crop&format=png", image.Rect(220, 190, 420, 290), 200, 100},
	}
	for _, c := range cases {
		got := decoded(t, render(t, p, src, c.query).Data)
		wantClose(t, c.query, got, shrink(full, c.region, c.w, c.h), 12)
	}
}

func TestRenderOrientation(t *testing.T) {
	p := newProcessor(t, defaults)
	src := load(t, p, fixCactusJPEG)
	full := decoded(t, src.data) // Go's decoder: an independent reference
	queries := map[int]string{
		1: "format=png&f=none",
		2: "format=png&f=h",
		3: "format=png&r=180",
		4: "format=png&f=v",
		5: "format=png&r=90&f=h",
		6: "format=png&r=90",
		7: "format=png&r=270&f=h",
		8: "format=png&r=270",
	}
	for o := 1; o <= 8; o++ {
		tr := transformation(t, src, queries[o])
		if tr.Orientation != o {
			t.Fatalf("%s normalises to orientation %d, want %d", queries[o], tr.Orientation, o)
		}
		r, err := p.Render(context.Background(), src.data, src.attrs, tr, asset.RenderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Attributes.Orientation != 1 {
			t.Errorf("orientation %d: the rendering says orientation %d", o, r.Attributes.Orientation)
		}
		wantClose(t, queries[o], decoded(t, r.Data), oriented(full, o), 3)
	}
	// Resized and turned: the resize happens in the source's orientation.
	r := render(t, p, src, "w=240&r=90&format=png")
	half := decoded(t, render(t, p, src, "w=320&format=png").Data)
	wantClose(t, "w=240&r=90", decoded(t, r.Data), oriented(half, 6), 3)
}

// TestRenderEXIFOrientation: EXIF orientation is applied only when asked.
func TestRenderEXIFOrientation(t *testing.T) {
	p := newProcessor(t, defaults)
	src := load(t, p, fixRotatedJPEG) // 320×240 stored, orientation 6
	stored := decoded(t, src.data)

	r := render(t, p, src, "r=auto&format=png")
	wantSize(t, "r=auto", r, 240, 320)
	wantClose(t, "r=auto", decoded(t, r.Data), oriented(stored, 6), 3)
	// The sky (stored at the top) is on the right once upright.
	if c := decoded(t, r.Data).NRGBAAt(230, 160); !(c.B > c.R+60) {
		t.Errorf("r=auto: right edge is %v, want sky blue", c)
	}

	r = render(t, p, src, "w=160&r=auto")
	wantSize(t, "w=160&r=auto", r, 160, 213)

	r = render(t, p, src, "format=png")
	wantSize(t, "no rotation", r, 320, 240)
	wantClose(t, "no rotation", decoded(t, r.Data), stored, 3)
	r = render(t, p, src, "w=160&format=jpg&q=90")
	wantSize(t, "no rotation, resized", r, 160, 120)
}

func TestRenderFilters(t *testing.T) {
	p := newProcessor(t, defaults)
	src := load(t, p, fixCactusJPEG)
	full := decoded(t, src.data)
	// Rec. 709 luma on the sRGB values; libvips weighs in linear light, so
	// the tolerance allows for the difference on this scene.
	luma := func(c color.NRGBA) float64 {
		return 0.2126*float64(c.R) + 0.7152*float64(c.G) + 0.0722*float64(c.B)
	}

	grey := decoded(t, render(t, p, src, "filter=greyscale&format=png").Data)
	for y := 0; y < 480; y += 7 {
		for x := 0; x < 640; x += 7 {
			if c := grey.NRGBAAt(x, y); c.R != c.G || c.G != c.B {
				t.Fatalf("greyscale pixel (%d,%d) = %v is not grey", x, y, c)
			}
		}
	}
	wantClose(t, "greyscale", grey, mapPixels(full, func(c color.NRGBA) color.NRGBA {
		l := uint8(math.Round(luma(c)))
		return color.NRGBA{l, l, l, 255}
	}), 8)

	bw := decoded(t, render(t, p, src, "filter=black_white&format=png").Data)
	var mismatched, total int
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			c := bw.NRGBAAt(x, y)
			if (c.R != 0 && c.R != 255) || c.R != c.G || c.G != c.B {
				t.Fatalf("black_white pixel (%d,%d) = %v is neither black nor white", x, y, c)
			}
			if want := luma(full.NRGBAAt(x, y)) >= 128; want != (c.R == 255) {
				mismatched++
			}
			total++
		}
	}
	if mismatched*100 > total*5 {
		t.Errorf("black_white: %d of %d pixels differ from a threshold at 128", mismatched, total)
	}

	sepia := decoded(t, render(t, p, src, "filter=sepia&format=png").Data)
	wantClose(t, "sepia", sepia, mapPixels(full, func(c color.NRGBA) color.NRGBA {
		r, g, b := float64(c.R), float64(c.G), float64(c.B)
		return color.NRGBA{
			clamp8(int(math.Round(0.393*r + 0.769*g + 0.189*b))),
			clamp8(int(math.Round(0.349*r + 0.686*g + 0.168*b))),
			clamp8(int(math.Round(0.272*r + 0.534*g + 0.131*b))),
			255,
		}
	}), 3)

	// Transparency survives the filters.
	alpha := load(t, p, fixAlphaPNG)
	for _, f := range []string{"greyscale", "black_white", "sepia"} {
		img := decoded(t, render(t, p, alpha, "filter="+f).Data)
		if a := img.NRGBAAt(2, 2).A; a != 0 {
			t.Errorf("%s: transparent sky has alpha %d", f, a)
		}
		if a := img.NRGBAAt(50, 72).A; a != 255 {
			t.Errorf("%s: opaque ground has alpha %d", f, a)
		}
	}
}

// gaussian blurs img with sigma in Go, extending the edges: the reference
// for libvips' gaussblur, whose kernel stops where it falls below 0.2 of
// its peak (its min_ampl).
func gaussian(img *image.NRGBA, sigma float64) *image.NRGBA {
	radius := int(math.Floor(sigma * math.Sqrt(-2*math.Log(0.2))))
	kernel := make([]float64, 2*radius+1)
	var sum float64
	for i := range kernel {
		d := float64(i - radius)
		kernel[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += kernel[i]
	}
	for i := range kernel {
		kernel[i] /= sum
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	pass := func(in *image.NRGBA, dx, dy int) *image.NRGBA {
		out := image.NewNRGBA(in.Bounds())
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var acc [3]float64
				for i, k := range kernel {
					sx := min(max(x+(i-radius)*dx, 0), w-1)
					sy := min(max(y+(i-radius)*dy, 0), h-1)
					c := in.NRGBAAt(sx, sy)
					acc[0] += k * float64(c.R)
					acc[1] += k * float64(c.G)
					acc[2] += k * float64(c.B)
				}
				out.SetNRGBA(x, y, color.NRGBA{uint8(math.Round(acc[0])), uint8(math.Round(acc[1])), uint8(math.Round(acc[2])), 255})
			}
		}
		return out
	}
	return pass(pass(img, 1, 0), 0, 1)
}

func TestRenderBlur(t *testing.T) {
	p := newProcessor(t, defaults)
	src := load(t, p, fixCactusJPEG)
	small := decoded(t, render(t, p, src, "w=160&format=png").Data)
	blurred := decoded(t, render(t, p, src, "w=160&blur=6&format=png").Data) // sigma 3
	interior := image.Rect(10, 10, 150, 110)
	wantClose(t, "blur=6 (interior)", blurred.SubImage(interior), gaussian(small, 3).SubImage(interior), 1.5)
	if mean, _ := pixelDiff(blurred.SubImage(interior), small.SubImage(interior)); mean < 1 {
		t.Errorf("blur=6 changed the image by only %.2f on average", mean)
	}
	heavy := decoded(t, render(t, p, src, "w=160&blur=40&format=png").Data) // sigma 20
	wantClose(t, "blur=40 (interior)", heavy.SubImage(image.Rect(60, 40, 100, 80)),
		gaussian(small, 20).SubImage(image.Rect(60, 40, 100, 80)), 3)
}

func TestRenderPad(t *testing.T) {
	p := newProcessor(t, defaults)
	src := load(t, p, fixCactusJPEG)
	inner := decoded(t, render(t, p, src, "w=100&format=png").Data)

	corners := func(img *image.NRGBA) []color.NRGBA {
		b := img.Bounds()
		return []color.NRGBA{img.NRGBAAt(0, 0), img.NRGBAAt(b.Dx()-1, 0), img.NRGBAAt(0, b.Dy()-1), img.NRGBAAt(b.Dx()-1, b.Dy()-1)}
	}
	cases := []struct {
		query string
		want  color.NRGBA
		tol   uint8
	}{
		{"w=100&pad=10&pad-c=%23ff000080&format=png", color.NRGBA{255, 0, 0, 128}, 0},
		{"w=100&pad=10&format=png", color.NRGBA{0, 0, 0, 0}, 0}, // default: transparent
		{"w=100&pad=10&format=webp&pad-c=%2300ff00", color.NRGBA{0, 255, 0, 255}, 12},
		{"w=100&pad=10&format=jpg", color.NRGBA{255, 255, 255, 255}, 8}, // default: white, within JPEG ringing
		{"w=100&pad=10&format=jpg&pad-c=%23ff000080", color.NRGBA{255, 127, 127, 255}, 6},
		{"w=100&pad=10&format=gif&pad-c=%230000ff", color.NRGBA{0, 0, 255, 255}, 10},
	}
	near := func(a, b uint8, tol uint8) bool { return max(a, b)-min(a, b) <= tol }
	for _, c := range cases {
		r := render(t, p, src, c.query)
		wantSize(t, c.query, r, 120, 95)
		img := decoded(t, r.Data)
		for _, got := range corners(img) {
			if got.A == 0 && c.want.A == 0 {
				continue
			}
			if !near(got.R, c.want.R, c.tol) || !near(got.G, c.want.G, c.tol) || !near(got.B, c.want.B, c.tol) || !near(got.A, c.want.A, c.tol) {
				t.Errorf("%s: corner %v, want %v", c.query, got, c.want)
				break
			}
		}
		if strings.Contains(c.query, "png") {
			wantClose(t, c.query+" (inside)", img.SubImage(image.Rect(10, 10, 110, 85)), inner, 0.5)
		}
	}

	// An image with alpha as jpg: transparency becomes white.
	alpha := load(t, p, fixAlphaPNG)
	img := decoded(t, render(t, p, alpha, "format=jpg&q=95").Data)
	if c := img.NRGBAAt(3, 3); c.R < 245 || c.G < 245 || c.B < 245 {
		t.Errorf("transparent sky as jpg is %v, want white", c)
	}
}

// metadataSource is cactus.jpg with EXIF (orientation 1), XMP and an ICC
// profile, all of which a rendering must drop except the profile.
func metadataSource(t *testing.T, p *Processor) source {
	t.Helper()
	iccPath, err := vips.GetSRGBIEC6196621ICCProfilePath()
	if err != nil {
		t.Fatal(err)
	}
	icc, err := os.ReadFile(iccPath)
	if err != nil {
		t.Fatal(err)
	}
	segment := func(marker byte, payload []byte) []byte {
		n := len(payload) + 2
		return append([]byte{0xFF, marker, byte(n >> 8), byte(n)}, payload...)
	}
	xmp := "http://ns.adobe.com/xap/1.0/\x00" + `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
		`<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="assetd test"/></rdf:RDF></x:xmpmeta>`
	jpg := withOrientation(t, readFixture(t, fixCactusJPEG), 1) // SOI, APP1 EXIF, …
	var b bytes.Buffer
	b.Write(jpg[:2])
	b.Write(segment(0xE1, []byte(xmp)))
	b.Write(segment(0xE2, append([]byte("ICC_PROFILE\x00\x01\x01"), icc...)))
	b.Write(jpg[2:])
	data := b.Bytes()

	ref, err := vips.NewImageFromBuffer(data)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	if !ref.HasICCProfile() || !ref.HasExif() || len(ref.GetBlob("xmp-data")) == 0 {
		t.Fatalf("the metadata source lacks metadata: %v", ref.GetFields())
	}
	return source{data, inspectBytes(t, p, "meta.jpg", data)}
}

func TestRenderFormatsAndMetadata(t *testing.T) {
	p := newProcessor(t, defaults)
	src := metadataSource(t, p)
	for _, f := range []asset.Format{asset.FormatJPEG, asset.FormatPNG, asset.FormatWebP, asset.FormatAVIF, asset.FormatHEIC, asset.FormatJXL, asset.FormatGIF} {
		t.Run(string(f), func(t *testing.T) {
			r := render(t, p, src, "w=160&format="+string(f))
			want := asset.Attributes{
				Width: 160, Height: 120, Format: f, PageCount: 1, Orientation: 1,
				Size: int64(len(r.Data)), ContentType: f.ContentType(),
			}
			if r.Attributes != want {
				t.Errorf("attributes %+v, want %+v", r.Attributes, want)
			}
			if got := inspectBytes(t, p, "out", r.Data); got != want {
				t.Errorf("Inspect of the output: %+v, want %+v", got, want)
			}
			for _, marker := range []string{"Exif\x00\x00", "http://ns.adobe.com/xap"} {
				if bytes.Contains(r.Data, []byte(marker)) {
					t.Errorf("the output contains %q", marker)
				}
			}
			ref, err := vips.NewImageFromBuffer(r.Data)
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			for _, field := range ref.GetFields() {
				if strings.HasPrefix(field, "exif-") || strings.HasPrefix(field, "xmp-") || strings.HasPrefix(field, "iptc-") {
					t.Errorf("the output has the metadata field %s", field)
				}
			}
			if f != asset.FormatGIF && !ref.HasICCProfile() {
				t.Error("the output lost the ICC profile")
			}
			// The picture survived the trip.
			wantClose(t, "content", decoded(t, r.Data), decoded(t, render(t, p, src, "w=160&format=png").Data), 12)
		})
	}
}

// frames decodes every frame of an animated GIF, composed.
func frames(t *testing.T, data []byte) (*gif.GIF, []*image.NRGBA) {
	t.Helper()
	g, err := gif.DecodeAll(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	canvas := image.NewNRGBA(image.Rect(0, 0, g.Config.Width, g.Config.Height))
	var out []*image.NRGBA
	for _, f := range g.Image {
		for y := f.Rect.Min.Y; y < f.Rect.Max.Y; y++ {
			for x := f.Rect.Min.X; x < f.Rect.Max.X; x++ {
				if _, _, _, a := f.At(x, y).RGBA(); a > 0 {
					canvas.Set(x, y, f.At(x, y))
				}
			}
		}
		out = append(out, toNRGBA(canvas))
	}
	return g, out
}

func TestRenderAnimation(t *testing.T) {
	p := newProcessor(t, defaults)
	spin := load(t, p, fixGIF) // 64×64, 3 frames, loop 3
	anim := func(r *asset.Rendering, w, h int) {
		t.Helper()
		want := asset.Attributes{Width: w, Height: h, Format: r.Attributes.Format, PageCount: 3, Loop: spin.attrs.Loop,
			Orientation: 1, Size: int64(len(r.Data)), ContentType: r.Attributes.Format.ContentType()}
		if r.Attributes != want {
			t.Errorf("attributes %+v, want %+v", r.Attributes, want)
		}
		if got := inspectBytes(t, p, "anim", r.Data); got != want {
			t.Errorf("Inspect of the output: %+v, want %+v", got, want)
		}
	}

	webp := render(t, p, spin, "format=webp&w=32")
	anim(webp, 32, 32)
	gifAgain := render(t, p, source{webp.Data, inspectBytes(t, p, "a.webp", webp.Data)}, "format=gif")
	anim(gifAgain, 32, 32)
	resized := render(t, p, spin, "w=48")
	anim(resized, 48, 48)

	// Every frame turned: frame 0's red dot, right of centre, goes below
	// it; frame 1's green dot, lower left, goes to the upper left.
	turned := render(t, p, spin, "r=90&w=32&h=64&fit=stretch")
	anim(turned, 32, 64)
	_, fs := frames(t, turned.Data)
	if c := fs[0].NRGBAAt(16, 50); !(c.R > 150 && c.G < 100) {
		t.Errorf("turned frame 0 below centre is %v, want red", c)
	}
	if c := fs[1].NRGBAAt(8, 20); !(c.G > 120 && c.R < 100) {
		t.Errorf("turned frame 1 upper left is %v, want green", c)
	}

	padded := render(t, p, spin, "pad=4&pad-c=%23000000")
	anim(padded, 72, 72)
	_, fs = frames(t, padded.Data)
	for i, f := range fs {
		if c := f.NRGBAAt(1, 70); c.R > 10 || c.G > 10 || c.B > 10 {
			t.Errorf("padded frame %d corner is %v, want black", i, c)
		}
	}
	cropped := render(t, p, spin, "w=40&h=40&fit=crop&format=webp")
	anim(cropped, 40, 40)
	anim(render(t, p, spin, "w=32&h=20&fit=fill&g=attention"), 32, 20)
	anim(render(t, p, spin, "w=40&h=20&fit=stretch&filter=sepia&blur=2&format=webp"), 40, 20)

	// Other outputs take the first frame.
	png1 := render(t, p, spin, "format=png")
	if png1.Attributes.PageCount != 1 || png1.Attributes.Loop != 0 {
		t.Errorf("gif→png: %+v, want one page, no loop", png1.Attributes)
	}
	if c := decoded(t, png1.Data).NRGBAAt(50, 32); !(c.R > 180 && c.G < 80 && c.B < 80) {
		t.Errorf("gif→png at the dot is %v, want frame 0's red", c)
	}
}

// gravityScene is flat grey with a small, busy, colourful patch near the
// right edge: attention and entropy must find it, centre must not.
func gravityScene(t *testing.T, p *Processor) source {
	img := image.NewNRGBA(image.Rect(0, 0, 400, 200))
	rng := rand.New(rand.NewPCG(5, 6))
	for y := 0; y < 200; y++ {
		for x := 0; x < 400; x++ {
			c := color.NRGBA{128, 128, 128, 255}
			if x >= 310 && x < 390 && y >= 60 && y < 140 {
				c = color.NRGBA{uint8(200 + rng.IntN(56)), uint8(rng.IntN(120)), uint8(rng.IntN(80)), 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	data := pngOf(t, img)
	return source{data, inspectBytes(t, p, "gravity.png", data)}
}

// redness is the share of clearly red pixels.
func redness(img *image.NRGBA) float64 {
	var n int
	b := img.Bounds()
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			if c := img.NRGBAAt(x, y); c.R > 180 && c.G < 140 {
				n++
			}
		}
	}
	return float64(n) / float64(b.Dx()*b.Dy())
}

func TestRenderGravity(t *testing.T) {
	p := newProcessor(t, defaults)
	src := gravityScene(t, p)
	// At most 64% of a 100×100 crop can be patch, and 16% of a fill (the
	// scene halved to 200×100 first).
	for fit, least := range map[string]float64{"crop": 0.5, "fill": 0.12} {
		query := "w=100&h=100&format=png&fit=" + fit
		if r := redness(decoded(t, render(t, p, src, query).Data)); r > 0 {
			t.Errorf("%s, centre: %.0f%% red, want the grey middle", fit, 100*r)
		}
		for _, g := range []string{"entropy", "attention"} {
			if r := redness(decoded(t, render(t, p, src, query+"&g="+g).Data)); r < least {
				t.Errorf("%s, %s: %.0f%% red, want the busy patch", fit, g, 100*r)
			}
		}
	}
}

func TestRenderPreview(t *testing.T) {
	p := newProcessor(t, defaults)
	src := load(t, p, fixCactusJPEG)
	tr := transformation(t, src, "w=320&r=90")
	r, err := p.Render(context.Background(), src.data, src.attrs, tr, asset.RenderOptions{Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	img, ok := r.Preview.(*image.NRGBA)
	if !ok {
		t.Fatalf("preview is %T, want *image.NRGBA", r.Preview)
	}
	if b := img.Bounds(); b.Dx() != 75 || b.Dy() != 100 {
		t.Fatalf("preview is %v, want 75×100", b.Size())
	}
	// The preview is of the rendering: turned, sky on the right.
	if c := img.NRGBAAt(72, 50); !(c.B > c.R+60) {
		t.Errorf("preview right edge is %v, want sky blue", c)
	}
	if c := img.NRGBAAt(3, 50); !(c.R > c.B+60) {
		t.Errorf("preview left edge is %v, want sand", c)
	}

	spin := load(t, p, fixGIF)
	r, err = p.Render(context.Background(), spin.data, spin.attrs, transformation(t, spin, "format=webp"), asset.RenderOptions{Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	if b := r.Preview.Bounds(); b.Dx() != 64 || b.Dy() != 64 {
		t.Errorf("animated preview is %v, want the first frame, 64×64", b.Size())
	}
	if r, err = p.Render(context.Background(), src.data, src.attrs, tr, asset.RenderOptions{}); err != nil || r.Preview != nil {
		t.Errorf("without Preview: preview %v, err %v", r.Preview != nil, err)
	}
}

func TestRenderRejects(t *testing.T) {
	p := newProcessor(t, defaults)
	src := load(t, p, fixCactusJPEG)
	tr := transformation(t, src, "w=100")
	cases := map[string]struct {
		data  []byte
		attrs asset.Attributes
	}{
		"truncated":            {src.data[:len(src.data)*6/10], src.attrs},
		"not an image":         {[]byte("%PDF-1.4\n"), src.attrs},
		"empty":                {nil, src.attrs},
		"orig over the limits": {src.data, asset.Attributes{Width: 20000, Height: 10, PageCount: 1}},
		"huge header":          {readFixtureHuge(), src.attrs},
	}
	for name, c := range cases {
		_, err := p.Render(context.Background(), c.data, c.attrs, tr, asset.RenderOptions{})
		if e := wantCode(t, err, asset.CodeUnprocessable); e.Detail == "" {
			t.Errorf("%s: no detail", name)
		}
	}
	// libvips' header is checked again: a limit that only it can see.
	small := newProcessor(t, Config{Workers: 1, MaxPixels: 1000, MaxSide: 100, MaxFrames: 2})
	heic := load(t, p, fixHEIC)
	_, err := small.Render(context.Background(), heic.data, asset.Attributes{Width: 10, Height: 10, PageCount: 1},
		transformation(t, heic, "w=10"), asset.RenderOptions{})
	if e := wantCode(t, err, asset.CodeUnprocessable); !strings.Contains(e.Detail, "limit") {
		t.Errorf("detail %q does not name the limit", e.Detail)
	}
	// A transformation no renderer knows.
	bad := tr
	bad.Format = "bmp"
	_, err = p.Render(context.Background(), src.data, src.attrs, bad, asset.RenderOptions{})
	wantCode(t, err, asset.CodeUnprocessable)
}

func readFixtureHuge() []byte {
	b, _ := os.ReadFile(filepath.Join(testdata, fixCactusJPEG))
	// Patch the SOF0 size to 60000×60000.
	out := bytes.Clone(b)
	if i := bytes.Index(out, []byte{0xFF, 0xC0}); i > 0 {
		out[i+5], out[i+6], out[i+7], out[i+8] = 0xEA, 0x60, 0xEA, 0x60
	}
	return out
}

// TestRenderUncommonBrand renders an ISO-BMFF file whose major brand
// libvips' sniffing may not know, without changing the caller's bytes.
func TestRenderUncommonBrand(t *testing.T) {
	p := newProcessor(t, defaults)
	src := load(t, p, fixHEIC)
	src.data = bytes.Clone(src.data)
	copy(src.data[8:12], "heix")
	kept := bytes.Clone(src.data)
	r := render(t, p, src, "w=80&format=png")
	wantSize(t, "heix", r, 80, 60)
	if !bytes.Equal(src.data, kept) {
		t.Error("Render changed the source bytes")
	}
}

// benchPhoto returns a 4000×3000 JPEG with the detail of a photo: the
// scene's shapes under fine texture and grain. It is made once and kept in
// the temporary directory, not committed.
func benchPhoto(b *testing.B) []byte {
	b.Helper()
	path := filepath.Join(os.TempDir(), "assetd-imaging-bench-4000x3000.jpg")
	if data, err := os.ReadFile(path); err == nil {
		return data
	}
	const w, h = 4000, 3000
	base := scene(w/8, h/8, false)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(7, 8))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := base.NRGBAAt(x/8, y/8)
			tex := 14*math.Sin(float64(x)/5.3)*math.Sin(float64(y)/3.7) + float64(rng.IntN(17)-8)
			img.Set(x, y, color.RGBA{clamp8(int(float64(c.R) + tex)), clamp8(int(float64(c.G) + tex)), clamp8(int(float64(c.B) + tex)), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 88}); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkRender is a cold transform of a 4000×3000 JPEG to width 800,
// the job compared with imgproxy.
func BenchmarkRender(b *testing.B) {
	p := newProcessor(b, defaults)
	data := benchPhoto(b)
	src := source{data, inspectBytes(b, p, "bench.jpg", data)}
	for _, f := range []string{"jpg", "webp", "avif"} {
		b.Run(f, func(b *testing.B) {
			tr := transformation(b, src, "w=800&format="+f)
			b.ReportAllocs()
			var size int64
			for b.Loop() {
				r, err := p.Render(context.Background(), src.data, src.attrs, tr, asset.RenderOptions{})
				if err != nil {
					b.Fatal(err)
				}
				size = r.Attributes.Size
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}

func TestScrub(t *testing.T) {
	p := newProcessor(t, defaults)
	src := metadataSource(t, p)
	out := scrub(asset.FormatJPEG, src.data)
	if bytes.Contains(out, []byte("Exif\x00\x00")) || bytes.Contains(out, []byte("http://ns.adobe.com/xap")) {
		t.Error("scrubbed JPEG still has EXIF or XMP")
	}
	if !bytes.Contains(out, []byte("ICC_PROFILE")) {
		t.Error("scrubbed JPEG lost its ICC profile")
	}
	if len(src.data)-len(out) < 100 {
		t.Errorf("scrubbing removed only %d bytes", len(src.data)-len(out))
	}
	wantClose(t, "scrubbed JPEG", decoded(t, out), decoded(t, src.data), 0)

	for _, f := range []asset.Format{asset.FormatJPEG, asset.FormatWebP, asset.FormatAVIF} {
		if got := scrub(f, []byte("not an image at all")); got != nil {
			t.Errorf("%s: scrubbing garbage gave %d bytes, want nil", f, len(got))
		}
	}
}

// TestRenderRefusesDamagedJPEG: the in-memory JPEG decoder of the resize
// path fails on damage as libvips' fail-on-error loader does, rather than
// rendering grey. Originals are inspected at upload, so this is defence in
// depth for objects damaged in the store.
func TestRenderRefusesDamagedJPEG(t *testing.T) {
	p := newProcessor(t, defaults)
	good := load(t, p, "cactus.jpg")
	for _, query := range []string{"w=100", "w=320&format=webp", "w=200&r=90"} {
		damaged := source{data: good.data[:len(good.data)*7/10], attrs: good.attrs}
		_, err := p.Render(context.Background(), damaged.data, damaged.attrs, transformation(t, good, query), asset.RenderOptions{})
		wantCode(t, err, asset.CodeUnprocessable)
	}
	// The same request on the whole file renders.
	if r := render(t, p, good, "w=100"); r.Attributes.Width != 100 {
		t.Fatalf("w=100 rendered %d wide", r.Attributes.Width)
	}
}
