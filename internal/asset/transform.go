package asset

import (
	"fmt"
	"strconv"
	"strings"
)

// Fit says how an image is brought to a requested size.
type Fit string

// The fits.
const (
	FitFit     Fit = "fit"     // inside the box, aspect kept, never enlarged
	FitFill    Fit = "fill"    // cover the box, aspect kept, cut to exactly w×h by gravity
	FitStretch Fit = "stretch" // exactly w×h, aspect ignored
	FitCrop    Fit = "crop"    // a w×h region at native resolution, chosen by gravity
)

// Gravity chooses the region kept by FitFill and FitCrop.
type Gravity string

// The gravities.
const (
	GravityCenter    Gravity = "center"
	GravityEntropy   Gravity = "entropy"
	GravityAttention Gravity = "attention"
)

// Filter is a colour filter.
type Filter string

// The filters.
const (
	FilterNone       Filter = "none"
	FilterGreyscale  Filter = "greyscale"
	FilterBlackWhite Filter = "black_white"
	FilterSepia      Filter = "sepia"
)

// RGBA is a padding colour.
type RGBA struct{ R, G, B, A uint8 }

// String returns the colour as #RRGGBBAA.
func (c RGBA) String() string { return fmt.Sprintf("#%02x%02x%02x%02x", c.R, c.G, c.B, c.A) }

// Transformation is a normalised rendering of an original: every field is
// filled in, so two requests that mean the same thing have equal
// Transformations and equal Keys. A renderer applies it in this order:
// Orientation, then the resize to Width×Height by Fit and Gravity, then
// Filter, then Blur, then Pad, then encoding as Format with Quality.
type Transformation struct {
	// Orientation is how the source pixels are turned, in EXIF numbering
	// (1 upright … 8): the operation that EXIF orientation n asks a viewer
	// to apply. See OrientationOp.
	Orientation int
	// Width and Height are the size after the resize, before padding.
	Width, Height int
	Fit           Fit
	// Gravity is GravityCenter unless Fit is FitFill or FitCrop.
	Gravity Gravity
	Filter  Filter
	// Blur is the blur parameter, 0–150; the Gaussian sigma is Blur/2.
	Blur int
	// Pad is the border added on every side, in pixels.
	Pad int
	// PadColor is the border colour; zero when Pad is 0.
	PadColor RGBA
	Format   Format
	// Quality is the encoder quality, 1–100; 0 for formats without one.
	Quality int
}

// Key is the canonical form of t, unique per distinct rendering: the
// identity of a stored variant within its entry.
func (t Transformation) Key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "o%d.%dx%d.%s.%s.%s.b%d", t.Orientation, t.Width, t.Height, t.Fit, t.Gravity, t.Filter, t.Blur)
	if t.Pad > 0 {
		fmt.Fprintf(&b, ".p%d%s", t.Pad, t.PadColor)
	}
	b.WriteString("." + string(t.Format))
	if t.Quality > 0 {
		b.WriteString(".q" + strconv.Itoa(t.Quality))
	}
	return b.String()
}

// OutputSize is the size of the rendered image, padding included.
func (t Transformation) OutputSize() (width, height int) {
	return t.Width + 2*t.Pad, t.Height + 2*t.Pad
}

// KeepsPlaceholders reports whether a variant under t looks like its
// original at placeholder size, so that it reuses the original's LQIP: only
// resizing by FitFit and blurring qualify.
func (t Transformation) KeepsPlaceholders() bool {
	return t.Orientation == 1 && t.Fit == FitFit && t.Filter == FilterNone && t.Pad == 0
}

// OrientationOp decomposes an orientation (EXIF numbering) into a clockwise
// rotation in quarter turns followed by an optional horizontal flip.
func OrientationOp(o int) (quarterTurns int, flipH bool) {
	switch o {
	case 2:
		return 0, true
	case 3:
		return 2, false
	case 4:
		return 2, true
	case 5:
		return 1, true
	case 6:
		return 1, false
	case 7:
		return 3, true
	case 8:
		return 3, false
	}
	return 0, false
}

// orientationOf is the inverse of OrientationOp.
func orientationOf(quarterTurns int, flipH bool) int {
	quarterTurns = ((quarterTurns % 4) + 4) % 4
	table := [2][4]int{{1, 6, 3, 8}, {2, 5, 4, 7}}
	if flipH {
		return table[1][quarterTurns]
	}
	return table[0][quarterTurns]
}

// composeOrientation returns the orientation that applies a, then b.
func composeOrientation(a, b int) int {
	ka, fa := OrientationOp(a)
	kb, fb := OrientationOp(b)
	// A horizontal flip followed by a clockwise turn equals the
	// counter-clockwise turn followed by the flip.
	if fa {
		kb = -kb
	}
	return orientationOf(ka+kb, fa != fb)
}

// swapsSides reports whether orientation o turns the image by a quarter.
func swapsSides(o int) bool {
	k, _ := OrientationOp(o)
	return k%2 == 1
}
