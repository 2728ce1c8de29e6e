package main

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// photo returns a w×h JPEG at quality q that compresses like a photograph:
// smooth gradients and soft shapes carry the low frequencies, per-pixel
// noise stands in for sensor grain and texture. A flat or purely synthetic
// pattern would compress to a fraction of a real photo's size and make
// decoding look cheaper than it is. The same seed gives the same bytes.
func photo(w, h, q int, seed uint64) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	// A few soft blobs of colour at random places, sized to the image.
	type blob struct{ x, y, r, cr, cg, cb float64 }
	blobs := make([]blob, 12)
	for i := range blobs {
		blobs[i] = blob{
			x: rng.Float64() * float64(w), y: rng.Float64() * float64(h),
			r:  (0.05 + 0.2*rng.Float64()) * float64(min(w, h)),
			cr: rng.Float64()*160 - 80, cg: rng.Float64()*160 - 80, cb: rng.Float64()*160 - 80,
		}
	}
	for y := range h {
		fy := float64(y) / float64(h)
		for x := range w {
			fx := float64(x) / float64(w)
			// Sky-to-ground gradient with a gentle wave for texture.
			r := 90 + 100*fy + 20*math.Sin(fx*9+fy*4)
			g := 120 + 60*fx - 30*fy + 15*math.Sin(fy*13)
			b := 200 - 120*fy + 10*math.Cos(fx*7)
			for _, bl := range blobs {
				dx, dy := float64(x)-bl.x, float64(y)-bl.y
				d2 := (dx*dx + dy*dy) / (bl.r * bl.r)
				if d2 < 4 {
					k := math.Exp(-d2)
					r, g, b = r+k*bl.cr, g+k*bl.cg, b+k*bl.cb
				}
			}
			n := rng.NormFloat64() * 7
			i := img.PixOffset(x, y)
			img.Pix[i] = clamp8(r + n + rng.NormFloat64()*3)
			img.Pix[i+1] = clamp8(g + n + rng.NormFloat64()*3)
			img.Pix[i+2] = clamp8(b + n + rng.NormFloat64()*3)
			img.Pix[i+3] = 255
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// clamp8 rounds v into a byte.
func clamp8(v float64) uint8 {
	return uint8(max(0, min(255, math.Round(v))))
}
