package asset

import (
	"math"
	"strconv"
	"strings"
)

// TransformParams are the raw transformation parameters of a request or a
// profile, by name (w, h, fit, g, format, q, r, f, filter, blur, pad, pad-c,
// dpr). A missing name is absent.
type TransformParams map[string]string

// TransformParamNames lists every transformation parameter, profile
// included.
var TransformParamNames = []string{"w", "h", "fit", "g", "format", "q", "r", "f", "filter", "blur", "pad", "pad-c", "dpr", "profile"}

// Limits bound a rendered variant: the path's output limits (0 is none)
// and the global limits on a side and on pixels. An animated output counts
// the pixels of all its frames against MaxPixels, so that a small animation
// cannot be blown up into gigabytes.
type Limits struct {
	MaxWidth, MaxHeight int
	MaxSide             int
	MaxPixels           int64
}

// TransformRequest is a request for a variant, before normalisation.
type TransformRequest struct {
	Params TransformParams
	// Accept is the request's Accept header, used by format=auto only.
	Accept string
}

// Normalized is a TransformRequest resolved against an original.
type Normalized struct {
	Transformation Transformation
	// Identity is true when the rendering would reproduce the original,
	// which is then served instead.
	Identity bool
	// Negotiated is true when the format was chosen from Accept.
	Negotiated bool
}

// Normalize validates p and resolves it against the original's attributes
// into a Transformation with every field filled in. Errors are CodeInvalid
// with a detail that names the parameter: a bad value, fill/stretch/crop
// without both sides, or an output over limits.
func Normalize(req TransformRequest, orig Attributes, limits Limits) (Normalized, error) {
	p := req.Params
	var n Normalized
	t := &n.Transformation

	// Orientation: r (or EXIF with auto), then f.
	rotate := 1
	switch r := p["r"]; r {
	case "", "0":
	case "90":
		rotate = 6
	case "180":
		rotate = 3
	case "270":
		rotate = 8
	case "auto":
		if orig.Orientation >= 1 && orig.Orientation <= 8 {
			rotate = orig.Orientation
		}
	default:
		return n, badParam("r", r, "0, 90, 180, 270 or auto")
	}
	flip := 1
	switch f := p["f"]; f {
	case "", "none":
	case "h":
		flip = 2
	case "v":
		flip = 4
	default:
		return n, badParam("f", f, "h, v or none")
	}
	t.Orientation = composeOrientation(rotate, flip)
	srcW, srcH := orig.Width, orig.Height
	if swapsSides(t.Orientation) {
		srcW, srcH = srcH, srcW
	}

	// Size.
	w, err := intParam(p, "w", 1, 8192)
	if err != nil {
		return n, err
	}
	h, err := intParam(p, "h", 1, 8192)
	if err != nil {
		return n, err
	}
	dpr := 1.0
	if v, ok := p["dpr"]; ok {
		if dpr, err = strconv.ParseFloat(v, 64); err != nil || !(dpr >= 1 && dpr <= 4) {
			return n, badParam("dpr", v, "a number from 1 to 4")
		}
	}
	if w > 0 {
		w = int(math.Round(float64(w) * dpr))
	}
	if h > 0 {
		h = int(math.Round(float64(h) * dpr))
	}
	t.Fit = FitFit
	if v, ok := p["fit"]; ok {
		switch Fit(v) {
		case FitFit, FitFill, FitStretch, FitCrop:
			t.Fit = Fit(v)
		default:
			return n, badParam("fit", v, "fit, fill, stretch or crop")
		}
	}
	if t.Fit != FitFit && (w == 0 || h == 0) {
		return n, Errorf(CodeInvalid, "The parameter fit=%s needs both w and h.", t.Fit)
	}
	t.Gravity = GravityCenter
	if v, ok := p["g"]; ok {
		switch Gravity(v) {
		case GravityCenter, GravityEntropy, GravityAttention:
			t.Gravity = Gravity(v)
		default:
			return n, badParam("g", v, "center, entropy or attention")
		}
	}
	if t.Fit != FitFill && t.Fit != FitCrop {
		t.Gravity = GravityCenter
	}
	t.Width, t.Height = outputSize(t.Fit, w, h, srcW, srcH)

	// Pixels.
	t.Filter = FilterNone
	if v, ok := p["filter"]; ok {
		switch v {
		case "none":
		case "greyscale", "grayscale":
			t.Filter = FilterGreyscale
		case "black_white":
			t.Filter = FilterBlackWhite
		case "sepia":
			t.Filter = FilterSepia
		default:
			return n, badParam("filter", v, "none, greyscale, black_white or sepia")
		}
	}
	if t.Blur, err = intParam(p, "blur", 0, 150); err != nil {
		return n, err
	}

	// Format and quality.
	t.Format = orig.Format
	switch v := p["format"]; v {
	case "":
	case "auto":
		n.Negotiated = true
		t.Format = negotiate(req.Accept, orig.Format)
	case "jpeg":
		t.Format = FormatJPEG
	default:
		if Format(v).ContentType() == "" {
			return n, badParam("format", v, "jpg, jpeg, png, webp, avif, heic, jxl, gif or auto")
		}
		t.Format = Format(v)
	}
	q, err := intParam(p, "q", 1, 100)
	if err != nil {
		return n, err
	}
	t.Quality = 0
	if def := defaultQuality[t.Format]; def > 0 {
		t.Quality = cmpOrInt(q, def)
	}
	qualityMatters := q > 0 && defaultQuality[t.Format] > 0

	// Padding.
	if t.Pad, err = intParam(p, "pad", 0, 8192); err != nil {
		return n, err
	}
	if v, ok := p["pad-c"]; ok {
		c, ok := parseColor(v)
		if !ok {
			return n, badParam("pad-c", v, "#RGB, #RGBA, #RRGGBB or #RRGGBBAA")
		}
		t.PadColor = c
	} else if hasAlpha[t.Format] {
		t.PadColor = RGBA{}
	} else {
		t.PadColor = RGBA{255, 255, 255, 255}
	}
	if t.Pad == 0 {
		t.PadColor = RGBA{}
	}

	n.Identity = t.Orientation == 1 && t.Width == orig.Width && t.Height == orig.Height &&
		t.Filter == FilterNone && t.Blur == 0 && t.Pad == 0 && t.Format == orig.Format && !qualityMatters
	if n.Identity {
		// The original is always served, whatever the output limits.
		return n, nil
	}
	outW, outH := t.OutputSize()
	frames := int64(1)
	if orig.PageCount > 1 && (t.Format == FormatGIF || t.Format == FormatWebP) {
		frames = int64(orig.PageCount)
	}
	switch {
	case limits.MaxWidth > 0 && outW > limits.MaxWidth, limits.MaxHeight > 0 && outH > limits.MaxHeight:
		return n, Errorf(CodeInvalid, "The output would be %d×%d; this path allows at most %d×%d.", outW, outH, limits.MaxWidth, limits.MaxHeight)
	case limits.MaxSide > 0 && (outW > limits.MaxSide || outH > limits.MaxSide):
		return n, Errorf(CodeInvalid, "The output would be %d×%d; at most %d pixels a side are allowed.", outW, outH, limits.MaxSide)
	case limits.MaxPixels > 0 && int64(outW)*int64(outH)*frames > limits.MaxPixels:
		return n, Errorf(CodeInvalid, "The output would be %d×%d pixels in %d frames; at most %d pixels in all are allowed.", outW, outH, frames, limits.MaxPixels)
	}
	return n, nil
}

// outputSize resolves the size after the resize of a srcW×srcH image.
func outputSize(fit Fit, w, h, srcW, srcH int) (int, int) {
	switch fit {
	case FitFill, FitStretch:
		return w, h
	case FitCrop:
		return min(w, srcW), min(h, srcH)
	}
	// FitFit: inside the box, never enlarged; a missing side follows the
	// aspect ratio.
	scale := 1.0
	if w > 0 {
		scale = min(scale, float64(w)/float64(srcW))
	}
	if h > 0 {
		scale = min(scale, float64(h)/float64(srcH))
	}
	if scale >= 1 {
		return srcW, srcH
	}
	return max(1, int(math.Round(float64(srcW)*scale))), max(1, int(math.Round(float64(srcH)*scale)))
}

// negotiate picks avif, then webp, from an Accept header, else fallback.
func negotiate(accept string, fallback Format) Format {
	accepts := func(mediaType string) bool {
		for _, part := range strings.Split(accept, ",") {
			fields := strings.Split(part, ";")
			if !strings.EqualFold(strings.TrimSpace(fields[0]), mediaType) {
				continue
			}
			for _, f := range fields[1:] {
				if k, v, ok := strings.Cut(strings.TrimSpace(f), "="); ok && strings.TrimSpace(k) == "q" {
					if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q == 0 {
						return false
					}
				}
			}
			return true
		}
		return false
	}
	switch {
	case accepts("image/avif"):
		return FormatAVIF
	case accepts("image/webp"):
		return FormatWebP
	}
	return fallback
}

// defaultQuality is each format's quality when q is absent; formats
// without a quality are absent.
var defaultQuality = map[Format]int{FormatJPEG: 80, FormatWebP: 80, FormatAVIF: 50, FormatHEIC: 50, FormatJXL: 90}

// hasAlpha lists the formats that can be transparent.
var hasAlpha = map[Format]bool{FormatPNG: true, FormatWebP: true, FormatAVIF: true, FormatHEIC: true, FormatJXL: true, FormatGIF: true}

func intParam(p TransformParams, name string, lo, hi int) (int, error) {
	v, ok := p[name]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi || strconv.Itoa(n) != v {
		return 0, badParam(name, v, "an integer from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
	}
	return n, nil
}

func badParam(name, value, want string) error {
	return Errorf(CodeInvalid, "The parameter %s=%q is invalid; use %s.", name, value, want)
}

// parseColor reads #RGB, #RGBA, #RRGGBB or #RRGGBBAA.
func parseColor(s string) (RGBA, bool) {
	hex, ok := strings.CutPrefix(s, "#")
	if !ok {
		return RGBA{}, false
	}
	if len(hex) == 3 || len(hex) == 4 {
		var long strings.Builder
		for _, c := range hex {
			long.WriteRune(c)
			long.WriteRune(c)
		}
		hex = long.String()
	}
	if len(hex) == 6 {
		hex += "ff"
	}
	if len(hex) != 8 {
		return RGBA{}, false
	}
	v, err := strconv.ParseUint(hex, 16, 32)
	if err != nil {
		return RGBA{}, false
	}
	return RGBA{uint8(v >> 24), uint8(v >> 16), uint8(v >> 8), uint8(v)}, true
}

func cmpOrInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}
