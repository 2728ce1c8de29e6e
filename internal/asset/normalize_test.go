package asset

import "testing"

var jpeg800x600 = Attributes{Width: 800, Height: 600, Format: FormatJPEG, Orientation: 1}

func norm(t *testing.T, params TransformParams, orig Attributes) Normalized {
	t.Helper()
	n, err := Normalize(TransformRequest{Params: params}, orig, Limits{MaxSide: 16384})
	if err != nil {
		t.Fatalf("Normalize(%v) = %v", params, err)
	}
	return n
}

// TestNormalizeEquivalences: requests that mean the same rendering share one
// key, and requests that mean the original are the identity.
func TestNormalizeEquivalences(t *testing.T) {
	png := Attributes{Width: 100, Height: 75, Format: FormatPNG, Orientation: 1}
	identities := []struct {
		params TransformParams
		orig   Attributes
	}{
		{TransformParams{"w": "800", "h": "600"}, jpeg800x600},
		{TransformParams{"blur": "0"}, jpeg800x600},
		{TransformParams{"pad": "0", "pad-c": "#ff0000"}, jpeg800x600},
		{TransformParams{"r": "auto"}, jpeg800x600},
		{TransformParams{"format": "png", "q": "40"}, png},
		{TransformParams{"w": "2000"}, jpeg800x600}, // fit never enlarges
		{TransformParams{"format": "jpeg"}, jpeg800x600},
		{TransformParams{"r": "0", "f": "none", "filter": "none"}, jpeg800x600},
	}
	for _, c := range identities {
		if n := norm(t, c.params, c.orig); !n.Identity {
			t.Errorf("%v on %v: not the identity (%+v)", c.params, c.orig.Format, n.Transformation)
		}
	}
	same := [][2]TransformParams{
		{{"w": "400", "pad": "4", "pad-c": "#FF0000"}, {"w": "400", "pad": "4", "pad-c": "#FF0000FF"}},
		{{"w": "400", "pad": "4", "pad-c": "#f00"}, {"w": "400", "pad": "4", "pad-c": "#ff0000ff"}},
		{{"f": "v"}, {"r": "180", "f": "h"}},
		{{"w": "400"}, {"h": "300"}},
		{{"w": "400"}, {"w": "200", "dpr": "2"}},
		{{"w": "400", "g": "attention"}, {"w": "400"}}, // gravity only matters to fill and crop
		{{"filter": "grayscale"}, {"filter": "greyscale"}},
		{{"w": "400", "format": "webp"}, {"w": "400", "format": "webp", "q": "80"}},
		{{"r": "90", "f": "h"}, {"r": "270", "f": "v"}},
		{{"w": "400", "format": "png", "q": "10"}, {"w": "400", "format": "png"}},
	}
	for _, pair := range same {
		a, b := norm(t, pair[0], jpeg800x600), norm(t, pair[1], jpeg800x600)
		if a.Transformation.Key() != b.Transformation.Key() || a.Identity {
			t.Errorf("%v → %s\n%v → %s\nwant the same non-identity key", pair[0], a.Transformation.Key(), pair[1], b.Transformation.Key())
		}
	}
	different := [][2]TransformParams{
		{{"w": "400"}, {"w": "401"}},
		{{"r": "90"}, {"r": "270"}},
		{{"f": "h"}, {"f": "v"}},
		{{"w": "400", "h": "400", "fit": "fill"}, {"w": "400", "h": "400", "fit": "stretch"}},
		{{"q": "50"}, {"q": "60"}},
		{{"w": "400", "pad": "4"}, {"w": "400", "pad": "4", "pad-c": "#000"}},
	}
	for _, pair := range different {
		a, b := norm(t, pair[0], jpeg800x600), norm(t, pair[1], jpeg800x600)
		if a.Transformation.Key() == b.Transformation.Key() {
			t.Errorf("%v and %v share key %s", pair[0], pair[1], a.Transformation.Key())
		}
	}
}

func TestNormalizeSizes(t *testing.T) {
	cases := []struct {
		params TransformParams
		orig   Attributes
		w, h   int
	}{
		{TransformParams{"w": "400"}, jpeg800x600, 400, 300},
		{TransformParams{"h": "150"}, jpeg800x600, 200, 150},
		{TransformParams{"w": "400", "h": "100"}, jpeg800x600, 133, 100},
		{TransformParams{"w": "100", "h": "100", "fit": "fill"}, jpeg800x600, 100, 100},
		{TransformParams{"w": "100", "h": "50", "fit": "stretch"}, jpeg800x600, 100, 50},
		{TransformParams{"w": "1000", "h": "100", "fit": "crop"}, jpeg800x600, 800, 100},
		{TransformParams{"w": "300", "r": "90"}, jpeg800x600, 300, 400},
		{TransformParams{"w": "300", "r": "auto"}, Attributes{Width: 800, Height: 600, Format: FormatJPEG, Orientation: 6}, 300, 400},
		{TransformParams{"w": "100", "dpr": "1.5"}, jpeg800x600, 150, 113},
	}
	for _, c := range cases {
		n := norm(t, c.params, c.orig)
		if n.Transformation.Width != c.w || n.Transformation.Height != c.h {
			t.Errorf("%v: %d×%d, want %d×%d", c.params, n.Transformation.Width, n.Transformation.Height, c.w, c.h)
		}
	}
}

func TestNormalizeDefaults(t *testing.T) {
	n := norm(t, TransformParams{"w": "10", "format": "webp", "pad": "2"}, jpeg800x600)
	if tr := n.Transformation; tr.Quality != 80 || tr.PadColor != (RGBA{}) || tr.Fit != FitFit || tr.Gravity != GravityCenter {
		t.Errorf("webp defaults: %+v", tr)
	}
	n = norm(t, TransformParams{"w": "10", "pad": "2"}, jpeg800x600)
	if tr := n.Transformation; tr.Quality != 80 || tr.PadColor != (RGBA{255, 255, 255, 255}) {
		t.Errorf("jpg defaults: %+v, want q80 and a white pad", tr)
	}
	for format, q := range map[string]int{"avif": 50, "heic": 50, "jxl": 90, "png": 0, "gif": 0} {
		if got := norm(t, TransformParams{"format": format}, jpeg800x600).Transformation.Quality; got != q {
			t.Errorf("format %s: quality %d, want %d", format, got, q)
		}
	}
}

func TestNormalizeNegotiation(t *testing.T) {
	cases := map[string]Format{
		"image/avif,image/webp,*/*": FormatAVIF,
		"image/webp,*/*":            FormatWebP,
		"image/avif;q=0,image/webp": FormatWebP,
		"text/html,*/*":             FormatJPEG,
		"":                          FormatJPEG,
	}
	for accept, want := range cases {
		n, err := Normalize(TransformRequest{Params: TransformParams{"format": "auto"}, Accept: accept}, jpeg800x600, Limits{})
		if err != nil || n.Transformation.Format != want || !n.Negotiated {
			t.Errorf("Accept %q: %v %v, want %s negotiated", accept, n.Transformation.Format, err, want)
		}
	}
	n := norm(t, TransformParams{"w": "10"}, jpeg800x600)
	if n.Negotiated {
		t.Error("a request without format=auto was negotiated")
	}
}

func TestNormalizeRejects(t *testing.T) {
	bad := []TransformParams{
		{"w": "0"}, {"w": "8193"}, {"w": "abc"}, {"w": "1.5"}, {"w": "+5"}, {"h": "-1"},
		{"fit": "cover"}, {"fit": "fill", "w": "10"}, {"fit": "crop", "h": "10"}, {"fit": "stretch"},
		{"g": "north"}, {"format": "bmp"}, {"q": "0"}, {"q": "101"}, {"r": "45"}, {"f": "x"},
		{"filter": "blur"}, {"blur": "151"}, {"blur": "1.5"}, {"pad": "-1"}, {"pad-c": "red"},
		{"pad-c": "#12345"}, {"dpr": "5"}, {"dpr": "0.5"}, {"dpr": "x"},
	}
	for _, p := range bad {
		if _, err := Normalize(TransformRequest{Params: p}, jpeg800x600, Limits{}); CodeOf(err) != CodeInvalid {
			t.Errorf("%v: %v, want CodeInvalid", p, err)
		}
	}
	limits := Limits{MaxWidth: 500, MaxHeight: 500, MaxSide: 16384}
	if _, err := Normalize(TransformRequest{Params: TransformParams{"w": "490", "pad": "10"}}, jpeg800x600, limits); CodeOf(err) != CodeInvalid {
		t.Errorf("an output over the limits after padding: %v", err)
	}
	if _, err := Normalize(TransformRequest{Params: TransformParams{"w": "250", "dpr": "2"}}, jpeg800x600, limits); err != nil {
		t.Errorf("an output at the limit after dpr: %v", err)
	}
	// The original is served whatever the output limits.
	for _, p := range []TransformParams{{"w": "1000"}, {"format": "jpg"}, {"r": "0", "f": "none"}} {
		if n, err := Normalize(TransformRequest{Params: p}, jpeg800x600, limits); err != nil || !n.Identity {
			t.Errorf("%v on a path limited to 500×500: %v, identity %v; want the original", p, err, n.Identity)
		}
	}
	// The global pixel limit applies to the output too, and to all the
	// frames of an animation.
	pixels := Limits{MaxSide: 16384, MaxPixels: 50_000_000}
	if _, err := Normalize(TransformRequest{Params: TransformParams{"w": "8192", "h": "8192", "fit": "stretch"}}, jpeg800x600, pixels); CodeOf(err) != CodeInvalid {
		t.Errorf("an 8192×8192 output over 50 MP: %v, want CodeInvalid", err)
	}
	gif := Attributes{Width: 16, Height: 16, Format: FormatGIF, PageCount: 256, Orientation: 1}
	if _, err := Normalize(TransformRequest{Params: TransformParams{"w": "500", "h": "500", "fit": "stretch"}}, gif, pixels); CodeOf(err) != CodeInvalid {
		t.Errorf("256 frames of 500×500 (64 MP in all): %v, want CodeInvalid", err)
	}
	if _, err := Normalize(TransformRequest{Params: TransformParams{"w": "400", "h": "400", "fit": "stretch"}}, gif, pixels); err != nil {
		t.Errorf("256 frames of 400×400 (41 MP in all): %v", err)
	}
	if _, err := Normalize(TransformRequest{Params: TransformParams{"w": "500", "h": "500", "fit": "stretch", "format": "png"}}, gif, pixels); err != nil {
		t.Errorf("the first frame of an animation as png: %v", err)
	}
}

func TestComposeOrientation(t *testing.T) {
	for a := 1; a <= 8; a++ {
		if composeOrientation(a, 1) != a || composeOrientation(1, a) != a {
			t.Errorf("1 is not neutral for %d", a)
		}
		k, f := OrientationOp(a)
		if orientationOf(k, f) != a {
			t.Errorf("OrientationOp(%d) does not round-trip", a)
		}
	}
	// Four quarter turns and two flips are the identity.
	if o := composeOrientation(composeOrientation(6, 6), composeOrientation(6, 6)); o != 1 {
		t.Errorf("four quarter turns = %d", o)
	}
	if o := composeOrientation(2, 2); o != 1 {
		t.Errorf("two flips = %d", o)
	}
	if o := composeOrientation(3, 2); o != 4 {
		t.Errorf("180° then a horizontal flip = %d, want 4 (vertical flip)", o)
	}
}
