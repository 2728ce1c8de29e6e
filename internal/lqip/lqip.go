// Package lqip computes low-quality image placeholders (blurhash and
// thumbhash) from a small preview image.
//
// Blurhash: the longer side of the image gets 4 components and the shorter
// side round(4 × short/long), at least 2, so a portrait image is not
// described with more horizontal than vertical detail. Blurhash has no
// alpha: transparent pixels are composited over white, the usual page
// background, rather than the black that premultiplied colour would give.
//
// Thumbhash: the binary hash of thumbhash.js, in standard base64 with
// padding, which is what thumbhash.js's own examples produce and what
// browsers decode with atob. Alpha is kept.
package lqip

import (
	"encoding/base64"
	"fmt"
	"image"
	"image/draw"
	"math"

	"github.com/buckket/go-blurhash"
	"github.com/galdor/go-thumbhash"

	"assetd/internal/asset"
)

// MaxSide bounds both sides of an image given to Encode; thumbhash is
// defined for images of at most 100×100.
const MaxSide = 100

// Encoder computes placeholders. It holds no state and is safe for
// concurrent use.
type Encoder struct{}

var _ asset.Placeholders = (*Encoder)(nil)

// New returns an Encoder.
func New() *Encoder { return &Encoder{} }

// Encode returns the placeholders of the given kinds for img; kinds not asked
// for stay "". It fails for an unknown kind, an empty image, or an image
// larger than MaxSide on a side.
func (*Encoder) Encode(img image.Image, kinds []asset.LQIPKind) (asset.LQIP, error) {
	var out asset.LQIP
	if len(kinds) == 0 {
		return out, nil
	}
	for _, k := range kinds {
		if k != asset.LQIPBlurhash && k != asset.LQIPThumbhash {
			return asset.LQIP{}, fmt.Errorf("lqip: unknown placeholder kind %q", k)
		}
	}
	b := img.Bounds()
	if b.Empty() {
		return asset.LQIP{}, fmt.Errorf("lqip: the image is empty")
	}
	if b.Dx() > MaxSide || b.Dy() > MaxSide {
		return asset.LQIP{}, fmt.Errorf("lqip: the image is %d×%d, larger than %d×%d", b.Dx(), b.Dy(), MaxSide, MaxSide)
	}
	// Both libraries assume bounds that start at (0, 0).
	src := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(src, src.Rect, img, b.Min, draw.Src)

	for _, k := range kinds {
		var err error
		switch k {
		case asset.LQIPBlurhash:
			out.Blurhash, err = encodeBlurhash(src)
		case asset.LQIPThumbhash:
			out.Thumbhash = encodeThumbhash(src)
		}
		if err != nil {
			return asset.LQIP{}, err
		}
	}
	return out, nil
}

// components returns the blurhash component counts for a w×h image.
func components(w, h int) (x, y int) {
	long, short := max(w, h), min(w, h)
	s := int(math.Round(4 * float64(short) / float64(long)))
	s = min(max(s, 2), 4)
	if w >= h {
		return 4, s
	}
	return s, 4
}

func encodeBlurhash(src *image.NRGBA) (string, error) {
	flat := image.NewNRGBA(src.Rect)
	draw.Draw(flat, flat.Rect, image.White, image.Point{}, draw.Src)
	draw.Draw(flat, flat.Rect, src, image.Point{}, draw.Over)
	x, y := components(src.Rect.Dx(), src.Rect.Dy())
	h, err := blurhash.Encode(x, y, flat)
	if err != nil {
		return "", fmt.Errorf("lqip: blurhash: %w", err)
	}
	return h, nil
}

func encodeThumbhash(src *image.NRGBA) string {
	// thumbhash.js reads unpremultiplied RGBA. go-thumbhash copies its input
	// into an *image.RGBA and then reads the bytes as unpremultiplied, so
	// handing it the NRGBA bytes as an *image.RGBA (copied byte for byte)
	// gives the thumbhash.js result; a real *image.RGBA would darken
	// translucent pixels twice.
	raw := &image.RGBA{Pix: src.Pix, Stride: src.Stride, Rect: src.Rect}
	return base64.StdEncoding.EncodeToString(thumbhash.EncodeImage(raw))
}
