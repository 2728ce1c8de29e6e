package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"assetd/internal/asset"
)

// Profile is a named transformation with the parameters of API.md's
// transformation table. A field left out of the file is nil or "", and the
// request (or the parameter's default) decides it; explicit request
// parameters override the profile's fields.
type Profile struct {
	Width    *int     `yaml:"w,omitempty"`      // 1–8192
	Height   *int     `yaml:"h,omitempty"`      // 1–8192
	Fit      string   `yaml:"fit,omitempty"`    // fit | fill | stretch | crop
	Gravity  string   `yaml:"g,omitempty"`      // center | entropy | attention
	Format   string   `yaml:"format,omitempty"` // jpg | jpeg | png | webp | avif | heic | jxl | gif | auto
	Quality  *int     `yaml:"q,omitempty"`      // 1–100
	Rotate   string   `yaml:"r,omitempty"`      // 0 | 90 | 180 | 270 | auto
	Flip     string   `yaml:"f,omitempty"`      // h | v | none
	Filter   string   `yaml:"filter,omitempty"` // none | greyscale | grayscale | black_white | sepia
	Blur     *int     `yaml:"blur,omitempty"`   // 0–150
	Pad      *int     `yaml:"pad,omitempty"`    // ≥ 0
	PadColor string   `yaml:"pad-c,omitempty"`  // #RGB, #RGBA, #RRGGBB, #RRGGBBAA
	DPR      *float64 `yaml:"dpr,omitempty"`    // 1–4
}

// The accepted values of the enumerated transformation parameters.
var (
	fitValues     = []string{"fit", "fill", "stretch", "crop"}
	gravityValues = []string{"center", "entropy", "attention"}
	formatValues  = []string{"jpg", "jpeg", "png", "webp", "avif", "heic", "jxl", "gif", "auto"}
	rotateValues  = []string{"0", "90", "180", "270", "auto"}
	flipValues    = []string{"h", "v", "none"}
	filterValues  = []string{"none", "greyscale", "grayscale", "black_white", "sepia"}
)

var (
	padColorPattern    = regexp.MustCompile(`^#([0-9A-Fa-f]{3,4}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$`)
	profileNamePattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,64}$`)
)

// problems returns one message per invalid field of p, each starting with
// the field's key under prefix.
func (p Profile) problems(prefix string) []string {
	var out []string
	add := func(key, format string, args ...any) {
		out = append(out, prefix+"."+key+": "+fmt.Sprintf(format, args...))
	}
	intRange := func(key string, v *int, lo, hi int) {
		if v != nil && (*v < lo || *v > hi) {
			add(key, "must be %d–%d, not %d", lo, hi, *v)
		}
	}
	enum := func(key, v string, values []string) {
		if v != "" && !slices.Contains(values, v) {
			add(key, "must be one of %s, not %q", orList(values), v)
		}
	}
	intRange("w", p.Width, 1, 8192)
	intRange("h", p.Height, 1, 8192)
	enum("fit", p.Fit, fitValues)
	if (p.Fit == "fill" || p.Fit == "stretch" || p.Fit == "crop") && (p.Width == nil || p.Height == nil) {
		add("fit", "%s needs both w and h", p.Fit)
	}
	enum("g", p.Gravity, gravityValues)
	enum("format", p.Format, formatValues)
	intRange("q", p.Quality, 1, 100)
	enum("r", p.Rotate, rotateValues)
	enum("f", p.Flip, flipValues)
	enum("filter", p.Filter, filterValues)
	intRange("blur", p.Blur, 0, 150)
	if p.Pad != nil && *p.Pad < 0 {
		add("pad", "must be ≥ 0, not %d", *p.Pad)
	}
	if p.PadColor != "" && !padColorPattern.MatchString(p.PadColor) {
		add("pad-c", "must be #RGB, #RGBA, #RRGGBB or #RRGGBBAA (quote it in YAML), not %q", p.PadColor)
	}
	if p.DPR != nil && !(*p.DPR >= 1 && *p.DPR <= 4) {
		add("dpr", "must be 1–4, not %v", *p.DPR)
	}
	return out
}

func orList(values []string) string {
	s := ""
	for i, v := range values {
		switch {
		case i == 0:
		case i == len(values)-1:
			s += " or "
		default:
			s += ", "
		}
		s += v
	}
	return s
}

// Params returns the profile as transformation parameters, as a request
// would spell them; fields left out are absent.
func (p Profile) Params() asset.TransformParams {
	out := asset.TransformParams{}
	setInt := func(k string, v *int) {
		if v != nil {
			out[k] = strconv.Itoa(*v)
		}
	}
	setString := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	setInt("w", p.Width)
	setInt("h", p.Height)
	setString("fit", p.Fit)
	setString("g", p.Gravity)
	setString("format", p.Format)
	setInt("q", p.Quality)
	setString("r", p.Rotate)
	setString("f", p.Flip)
	setString("filter", p.Filter)
	setInt("blur", p.Blur)
	setInt("pad", p.Pad)
	setString("pad-c", p.PadColor)
	if p.DPR != nil {
		out["dpr"] = strconv.FormatFloat(*p.DPR, 'f', -1, 64)
	}
	return out
}
