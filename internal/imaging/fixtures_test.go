package imaging

import (
	"bytes"
	"encoding/binary"
	"flag"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/davidbyttow/govips/v2/vips"
)

// The fixture images in testdata/ are committed. Regenerate them with
//
//	go test ./internal/imaging -run TestGenerateFixtures -fixtures
//
// and then the golden files with -update. JPEG, PNG and GIF are encoded by
// the Go standard library (deterministic); WebP, AVIF, HEIC and JPEG XL by
// libvips, whose bytes may differ between library versions.
var regenerate = flag.Bool("fixtures", false, "regenerate the fixture images in testdata/")

const testdata = "../../testdata"

// fixture names, with the attributes they are made to have.
const (
	fixCactusJPEG  = "cactus.jpg"         // 640×480 photo-like JPEG
	fixRotatedJPEG = "cactus-rotated.jpg" // 320×240 stored, EXIF orientation 6
	fixAlphaPNG    = "alpha.png"          // 100×75 with transparency
	fixWebP        = "cactus.webp"        // 320×240 lossy WebP
	fixGIF         = "spinner.gif"        // 64×64, 3 frames, loop count 2
	fixAVIF        = "cactus.avif"        // 160×120
	fixHEIC        = "cactus.heic"        // 160×120, HEVC
	fixJXL         = "cactus.jxl"         // 160×120
)

var fixtureNames = []string{fixCactusJPEG, fixRotatedJPEG, fixAlphaPNG, fixWebP, fixGIF, fixAVIF, fixHEIC, fixJXL}

func TestGenerateFixtures(t *testing.T) {
	if !*regenerate {
		t.Skip("run with -fixtures to regenerate testdata/")
	}
	start()
	write := func(name string, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(testdata, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", name, len(b))
	}

	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, scene(640, 480, false), &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	write(fixCactusJPEG, jb.Bytes())

	jb.Reset()
	if err := jpeg.Encode(&jb, scene(320, 240, false), &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	write(fixRotatedJPEG, withOrientation(t, jb.Bytes(), 6))

	var pb bytes.Buffer
	if err := png.Encode(&pb, scene(100, 75, true)); err != nil {
		t.Fatal(err)
	}
	write(fixAlphaPNG, pb.Bytes())

	write(fixGIF, spinner(t))

	small := pngOf(t, scene(160, 120, false))
	write(fixWebP, viaVips(t, pngOf(t, scene(320, 240, false)), func(r *vips.ImageRef) ([]byte, error) {
		p := vips.NewWebpExportParams()
		p.Quality = 75
		p.StripMetadata = true
		b, _, err := r.ExportWebp(p)
		return b, err
	}))
	write(fixAVIF, viaVips(t, small, func(r *vips.ImageRef) ([]byte, error) {
		p := vips.NewAvifExportParams()
		p.Quality = 50
		p.StripMetadata = true
		b, _, err := r.ExportAvif(p)
		return b, err
	}))
	write(fixHEIC, viaVips(t, small, func(r *vips.ImageRef) ([]byte, error) {
		p := vips.NewHeifExportParams() // HEVC compression
		p.Quality = 50
		b, _, err := r.ExportHeif(p)
		return b, err
	}))
	write(fixJXL, viaVips(t, small, func(r *vips.ImageRef) ([]byte, error) {
		p := vips.NewJxlExportParams()
		p.Quality = 75
		b, _, err := r.ExportJxl(p)
		return b, err
	}))
}

// scene draws a desert with a cactus under a sky with a sun, with a little
// deterministic noise so that it compresses like a photo. With alpha the sky
// is transparent and the sun translucent.
func scene(w, h int, alpha bool) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	sx, sy := float64(w), float64(h)
	horizon := 0.62 * sy
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x), float64(y)
			var c color.NRGBA
			if fy < horizon {
				t := fy / horizon
				c = color.NRGBA{uint8(70 + 90*t), uint8(130 + 70*t), uint8(220 + 25*t), 255}
				if alpha {
					c.A = 0
				}
			} else {
				t := (fy - horizon) / (sy - horizon)
				c = color.NRGBA{uint8(225 - 60*t), uint8(190 - 60*t), uint8(130 - 50*t), 255}
			}
			// The sun.
			if d := math.Hypot(fx-0.8*sx, fy-0.2*sy); d < 0.09*sx {
				c = color.NRGBA{255, 226, 90, 255}
				if alpha {
					c.A = 160
				}
			}
			// The cactus: a trunk and two arms, rounded.
			if inCapsule(fx, fy, 0.45*sx, 0.25*sy, 0.45*sx, 0.85*sy, 0.05*sx) ||
				inCapsule(fx, fy, 0.33*sx, 0.40*sy, 0.33*sx, 0.55*sy, 0.035*sx) ||
				inCapsule(fx, fy, 0.33*sx, 0.55*sy, 0.45*sx, 0.55*sy, 0.035*sx) ||
				inCapsule(fx, fy, 0.57*sx, 0.35*sy, 0.57*sx, 0.62*sy, 0.035*sx) ||
				inCapsule(fx, fy, 0.45*sx, 0.62*sy, 0.57*sx, 0.62*sy, 0.035*sx) {
				shade := 0.75 + 0.25*math.Sin(fx/sx*60)
				c = color.NRGBA{uint8(40 * shade), uint8(140 * shade), uint8(60 * shade), 255}
			}
			if c.A != 0 {
				n := rng.IntN(7) - 3
				c.R, c.G, c.B = clamp8(int(c.R)+n), clamp8(int(c.G)+n), clamp8(int(c.B)+n)
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// inCapsule reports whether (x, y) is within r of the segment (x0,y0)–(x1,y1).
func inCapsule(x, y, x0, y0, x1, y1, r float64) bool {
	dx, dy := x1-x0, y1-y0
	t := 0.0
	if l := dx*dx + dy*dy; l > 0 {
		t = math.Max(0, math.Min(1, ((x-x0)*dx+(y-y0)*dy)/l))
	}
	return math.Hypot(x-(x0+t*dx), y-(y0+t*dy)) <= r
}

func clamp8(v int) uint8 { return uint8(min(max(v, 0), 255)) }

// spinner is a 3-frame 64×64 GIF: a dot going round, red, green, blue.
func spinner(t *testing.T) []byte {
	t.Helper()
	anim := &gif.GIF{LoopCount: 2}
	colours := []color.RGBA{{220, 40, 40, 255}, {40, 180, 60, 255}, {40, 80, 220, 255}}
	for i, c := range colours {
		frame := image.NewPaletted(image.Rect(0, 0, 64, 64), palette.Plan9)
		for y := 0; y < 64; y++ {
			for x := 0; x < 64; x++ {
				frame.Set(x, y, color.White)
				a := float64(i) * 2 * math.Pi / 3
				if math.Hypot(float64(x)-32-18*math.Cos(a), float64(y)-32-18*math.Sin(a)) < 10 {
					frame.Set(x, y, c)
				}
			}
		}
		anim.Image = append(anim.Image, frame)
		anim.Delay = append(anim.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, anim); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngOf(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func viaVips(t *testing.T, pngBytes []byte, export func(*vips.ImageRef) ([]byte, error)) []byte {
	t.Helper()
	ref, err := vips.NewImageFromBuffer(pngBytes)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	b, err := export(ref)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withOrientation inserts, after the SOI marker of jpg, an APP1 segment with
// a minimal big-endian EXIF block whose only tag is Orientation.
func withOrientation(t *testing.T, jpg []byte, orientation uint16) []byte {
	t.Helper()
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00\x2A")
	_ = binary.Write(&tiff, binary.BigEndian, uint32(8)) // IFD0 offset
	_ = binary.Write(&tiff, binary.BigEndian, uint16(1)) // one entry
	_ = binary.Write(&tiff, binary.BigEndian, uint16(0x0112))
	_ = binary.Write(&tiff, binary.BigEndian, uint16(3)) // SHORT
	_ = binary.Write(&tiff, binary.BigEndian, uint32(1))
	_ = binary.Write(&tiff, binary.BigEndian, orientation)
	_ = binary.Write(&tiff, binary.BigEndian, uint16(0)) // value padding
	_ = binary.Write(&tiff, binary.BigEndian, uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)

	var out bytes.Buffer
	out.Write(jpg[:2])
	out.Write([]byte{0xFF, 0xE1})
	_ = binary.Write(&out, binary.BigEndian, uint16(len(payload)+2))
	out.Write(payload)
	out.Write(jpg[2:])
	return out.Bytes()
}
