package imaging

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/davidbyttow/govips/v2/vips"

	"assetd/internal/asset"
	"assetd/internal/imaging/imagingtest"
	"assetd/internal/testenv"
)

// defaults are the limits of config/assetd.yaml.
var defaults = Config{Workers: 2, MaxPixels: 50_000_000, MaxSide: 16384, MaxFrames: 256}

func newProcessor(t testing.TB, cfg Config) *Processor {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// writeTemp writes b to a file named name in a fresh directory.
func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantCode fails unless err is an *asset.Error with code.
func wantCode(t *testing.T, err error, code asset.Code) *asset.Error {
	t.Helper()
	var e *asset.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want an *asset.Error with code %s", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("code = %s (%v), want %s", e.Code, err, code)
	}
	return e
}

func TestNewRejectsBadLimits(t *testing.T) {
	for _, cfg := range []Config{
		{Workers: -1, MaxPixels: 1, MaxSide: 1, MaxFrames: 1},
		{MaxPixels: 0, MaxSide: 1, MaxFrames: 1},
		{MaxPixels: 1, MaxSide: 0, MaxFrames: 1},
		{MaxPixels: 1, MaxSide: 1, MaxFrames: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
}

func TestSniff(t *testing.T) {
	ftyp := func(major string, compatible ...string) []byte {
		body := []byte("ftyp" + major + "\x00\x00\x00\x00" + strings.Join(compatible, ""))
		return append([]byte{0, 0, 0, byte(4 + len(body))}, body...)
	}
	cases := []struct {
		name   string
		head   []byte
		format asset.Format
	}{
		{"jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE0}, asset.FormatJPEG},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00"), asset.FormatPNG},
		{"gif87a", []byte("GIF87a..."), asset.FormatGIF},
		{"gif89a", []byte("GIF89a..."), asset.FormatGIF},
		{"webp", []byte("RIFF\x10\x00\x00\x00WEBPVP8 "), asset.FormatWebP},
		{"jxl codestream", []byte{0xFF, 0x0A, 0x00}, asset.FormatJXL},
		{"jxl container", []byte("\x00\x00\x00\x0cJXL \r\n\x87\n"), asset.FormatJXL},
		{"avif", ftyp("avif", "mif1", "miaf"), asset.FormatAVIF},
		{"avis", ftyp("avis", "msf1"), asset.FormatAVIF},
		{"avif as compatible brand", ftyp("mif1", "avif"), asset.FormatAVIF},
		{"heic", ftyp("heic", "mif1"), asset.FormatHEIC},
		{"heix", ftyp("heix", "mif1"), asset.FormatHEIC},
		{"hevc sequence", ftyp("msf1", "hevc"), asset.FormatHEIC},
		{"generic heif", ftyp("mif1"), asset.FormatHEIC},
		{"mp4", ftyp("isom", "iso2", "mp41"), ""},
		{"quicktime", ftyp("qt  "), ""},
		{"short ftyp box", []byte("\x00\x00\x00\x08ftypheic"), ""},
		{"riff but wave", []byte("RIFF\x10\x00\x00\x00WAVEfmt "), ""},
		{"gif without version", []byte("GIF"), ""},
		{"truncated png signature", []byte("\x89PNG"), ""},
		{"pdf", []byte("%PDF-1.7\n"), ""},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), ""},
		{"tiff", []byte("II*\x00\x08\x00\x00\x00"), ""},
		{"bmp", []byte("BM\x36\x00\x00\x00\x00\x00"), ""},
		{"ico", []byte("\x00\x00\x01\x00\x01\x00"), ""},
		{"psd", []byte("8BPS\x00\x01"), ""},
		{"jpeg 2000", []byte("\x00\x00\x00\x0cjP  \r\n\x87\n"), ""},
		{"empty", nil, ""},
	}
	for _, c := range cases {
		got, ok := Sniff(c.head)
		if got != c.format || ok != (c.format != "") {
			t.Errorf("%s: Sniff = %q, %v; want %q", c.name, got, ok, c.format)
		}
	}
}

func TestInspectFixtures(t *testing.T) {
	p := newProcessor(t, defaults)
	type want struct {
		width, height, pages, loop, orientation int
		format                                  asset.Format
		previewW, previewH                      int
	}
	cases := map[string]want{
		fixCactusJPEG:  {640, 480, 1, 0, 1, asset.FormatJPEG, 100, 75},
		fixRotatedJPEG: {320, 240, 1, 0, 6, asset.FormatJPEG, 75, 100}, // preview upright
		fixAlphaPNG:    {100, 75, 1, 0, 1, asset.FormatPNG, 100, 75},
		fixWebP:        {320, 240, 1, 0, 1, asset.FormatWebP, 100, 75},
		fixGIF:         {64, 64, 3, 3, 1, asset.FormatGIF, 64, 64}, // loop: plays 3 times
		fixAVIF:        {160, 120, 1, 0, 1, asset.FormatAVIF, 100, 75},
		fixHEIC:        {160, 120, 1, 0, 1, asset.FormatHEIC, 100, 75},
		fixJXL:         {160, 120, 1, 0, 1, asset.FormatJXL, 100, 75},
	}
	for _, name := range fixtureNames {
		w := cases[name]
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(testdata, name)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			ins, err := p.Inspect(context.Background(), path, true)
			if err != nil {
				t.Fatal(err)
			}
			got := ins.Attributes
			want := asset.Attributes{
				Width: w.width, Height: w.height, Format: w.format, PageCount: w.pages, Loop: w.loop,
				Orientation: w.orientation, Size: st.Size(), ContentType: w.format.ContentType(),
			}
			if ins.Class != asset.ClassImage || got != want {
				t.Errorf("Inspect = %s %+v\nwant image %+v", ins.Class, got, want)
			}
			if ins.Preview == nil {
				t.Fatal("no preview")
			}
			if b := ins.Preview.Bounds(); b.Dx() != w.previewW || b.Dy() != w.previewH {
				t.Errorf("preview is %d×%d, want %d×%d", b.Dx(), b.Dy(), w.previewW, w.previewH)
			}

			ins, err = p.Inspect(context.Background(), path, false)
			if err != nil {
				t.Fatal(err)
			}
			if ins.Preview != nil || ins.Attributes != want {
				t.Errorf("without preview: %+v, preview %v", ins.Attributes, ins.Preview != nil)
			}
		})
	}
}

// TestPreviewContent checks what a user sees in the placeholder: the cactus
// upright, transparency kept, the first frame of an animation.
func TestPreviewContent(t *testing.T) {
	p := newProcessor(t, defaults)
	preview := func(name string) func(x, y int) (r, g, b, a uint32) {
		ins, err := p.Inspect(context.Background(), filepath.Join(testdata, name), true)
		if err != nil {
			t.Fatal(err)
		}
		return func(x, y int) (uint32, uint32, uint32, uint32) {
			r, g, b, a := ins.Preview.At(x, y).RGBA()
			return r >> 8, g >> 8, b >> 8, a >> 8
		}
	}

	// The stored picture has the sky at the top. Orientation 6 means "rotate
	// 90° clockwise to view", which puts the stored top on the right and the
	// sand on the left; the opposite rotation would swap them.
	at := preview(fixRotatedJPEG)
	if r, g, b, _ := at(72, 50); !(b > r+60 && b > g) {
		t.Errorf("rotated preview right = %d,%d,%d, want sky blue", r, g, b)
	}
	if r, g, b, _ := at(2, 50); !(r > b+60) {
		t.Errorf("rotated preview left = %d,%d,%d, want sand", r, g, b)
	}

	at = preview(fixAlphaPNG)
	if _, _, _, a := at(2, 2); a != 0 {
		t.Errorf("alpha.png preview sky alpha = %d, want 0", a)
	}
	if _, _, _, a := at(50, 72); a != 255 {
		t.Errorf("alpha.png preview ground alpha = %d, want 255", a)
	}

	// Frame 0 of the spinner has its red dot at angle 0, right of centre.
	at = preview(fixGIF)
	if r, g, b, _ := at(50, 32); !(r > 180 && g < 80 && b < 80) {
		t.Errorf("gif preview dot = %d,%d,%d, want the red of frame 0", r, g, b)
	}
}

func TestInspectFiles(t *testing.T) {
	p := newProcessor(t, Config{Workers: 1, MaxPixels: 1000, MaxSide: 100, MaxFrames: 2})
	random := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	random[0] = 0x42 // not a magic byte
	cases := []struct {
		name, contentType string
		data              []byte
	}{
		{"empty.jpg", "application/octet-stream", nil},
		{"random.png", "application/octet-stream", random},
		{"document.jpg", "application/pdf", []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")},
		{"drawing.svg", "text/xml; charset=utf-8", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>`)},
		{"image.bmp", "image/bmp", append([]byte("BM"), make([]byte, 60)...)},
		{"image.tiff", "application/octet-stream", append([]byte("II*\x00\x08\x00\x00\x00"), make([]byte, 60)...)},
		{"favicon.ico", "image/x-icon", append([]byte{0, 0, 1, 0, 1, 0, 16, 16}, make([]byte, 60)...)},
		{"notes.txt", "text/plain; charset=utf-8", []byte("hello\n")},
	}
	// With the only worker taken and the context already done, files must
	// still be answered: they never take the libvips path.
	mustAcquire(t, p)
	defer p.pool.release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range cases {
		ins, err := p.Inspect(ctx, writeTemp(t, c.name, c.data), true)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		want := asset.Attributes{Size: int64(len(c.data)), ContentType: c.contentType}
		if ins.Class != asset.ClassFile || ins.Attributes != want || ins.Preview != nil {
			t.Errorf("%s: %s %+v, want file %+v", c.name, ins.Class, ins.Attributes, want)
		}
	}
}

// TestLoadersBlocked checks the second line of defence: even if content got
// past Sniff, libvips itself refuses every loader but the accepted ones.
func TestLoadersBlocked(t *testing.T) {
	newProcessor(t, defaults)
	ref, err := vips.NewImageFromBuffer(readFixture(t, fixAlphaPNG))
	if err != nil {
		t.Fatal(err)
	}
	tiff, _, err := ref.ExportTiff(vips.NewTiffExportParams())
	ref.Close()
	if err != nil {
		t.Fatal(err)
	}
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>`)
	for name, b := range map[string][]byte{"tiff": tiff, "svg": svg} {
		if ref, err := vips.NewImageFromBuffer(b); err == nil {
			ref.Close()
			t.Errorf("libvips loaded a %s", name)
		} else if !strings.Contains(err.Error(), "blocked") {
			t.Errorf("%s: %v, want a blocked-operation error", name, err)
		}
	}
}

// vmHWM returns the process's peak resident set in KiB.
func vmHWM(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("CI runs on Linux, which has /proc: %v", err)
		}
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

func TestHugeHeaders(t *testing.T) {
	p := newProcessor(t, defaults)
	cases := []struct {
		name   string
		data   []byte
		format asset.Format
	}{
		{"huge.png", imagingtest.HugePNG(65535, 65535), asset.FormatPNG},
		{"huge.jpg", imagingtest.HugeJPEG(65535, 65535), asset.FormatJPEG},
		{"big.jpg", imagingtest.HugeJPEG(60000, 60000), asset.FormatJPEG}, // within libjpeg's 65500
		{"big.gif", imagingtest.HugeGIF(20000, 20000), asset.FormatGIF},
		{"huge.gif", imagingtest.HugeGIF(65535, 65535), asset.FormatGIF},
		{"huge-canvas.webp", imagingtest.HugeWebPCanvas(65535, 65535), asset.FormatWebP},
		{"huge-lossless.webp", imagingtest.HugeWebPLossless(16384, 16384), asset.FormatWebP},
		{"tall.png", imagingtest.HugePNG(1, 20000), asset.FormatPNG},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := vmHWM(t)
			_, err := p.Inspect(context.Background(), writeTemp(t, c.name, c.data), true)
			e := wantCode(t, err, asset.CodeUnprocessable)
			if !strings.Contains(e.Detail, "limit") {
				t.Errorf("detail %q does not name the limit", e.Detail)
			}

			// The same bytes past this package's own header check: the
			// libvips header must refuse them as well, before decoding.
			buf := append([]byte(nil), c.data...)
			_, err = p.inspect(buf, c.format, true)
			var ve *asset.Error
			if errors.As(err, &ve) && ve.Code == asset.CodeUnprocessable {
				t.Logf("libvips path: %s", ve.Detail)
			} else {
				t.Errorf("libvips path: %v, want unprocessable", err)
			}
			t.Logf("peak RSS %d KiB before, %d KiB after", before, vmHWM(t))
		})
	}
}

func TestTooManyFrames(t *testing.T) {
	p := newProcessor(t, Config{MaxPixels: 1 << 20, MaxSide: 1024, MaxFrames: 2})
	_, err := p.Inspect(context.Background(), filepath.Join(testdata, fixGIF), false)
	if e := wantCode(t, err, asset.CodeUnprocessable); !strings.Contains(e.Detail, "frames") {
		t.Errorf("detail %q does not name the frame limit", e.Detail)
	}
	_, err = p.Inspect(context.Background(), writeTemp(t, "many.gif", imagingtest.ManyFramesGIF(1000)), false)
	wantCode(t, err, asset.CodeUnprocessable)

	// libvips' frame count, behind this package's own.
	_, err = p.inspect(readFixture(t, fixGIF), asset.FormatGIF, false)
	if e := wantCode(t, err, asset.CodeUnprocessable); !strings.Contains(e.Detail, "frames") {
		t.Errorf("libvips path: detail %q does not name the frame limit", e.Detail)
	}
}

func TestCorruptImages(t *testing.T) {
	p := newProcessor(t, defaults)
	jpg := readFixture(t, fixCactusJPEG)
	png := readFixture(t, fixAlphaPNG)

	// Flip one byte inside the first IDAT's data, keeping the stale CRC.
	badData := append([]byte(nil), png...)
	idat := bytes.Index(badData, []byte("IDAT"))
	badData[idat+40] ^= 0xFF
	// Keep the data and break only the CRC.
	badCRC := append([]byte(nil), png...)
	n := int(badCRC[idat-1]) | int(badCRC[idat-2])<<8
	badCRC[idat+4+n] ^= 0xFF
	// Break the data but fix the CRC, so only the decoder can tell.
	badZlib := append([]byte(nil), badData...)
	crc := crc32.ChecksumIEEE(badZlib[idat : idat+4+n])
	badZlib[idat+4+n], badZlib[idat+5+n], badZlib[idat+6+n], badZlib[idat+7+n] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)

	cases := map[string][]byte{
		"truncated.jpg":       jpg[:len(jpg)*6/10],
		"truncated-tiny.jpg":  jpg[:200],
		"png-bad-idat.png":    badData,
		"png-bad-crc.png":     badCRC,
		"png-bad-zlib.png":    badZlib,
		"truncated.png":       png[:len(png)/2],
		"header-only.gif":     readFixture(t, fixGIF)[:40],
		"truncated.gif":       truncate(readFixture(t, fixGIF)),
		"last-frame-cut.gif":  readFixture(t, fixGIF)[:len(readFixture(t, fixGIF))-3],
		"truncated.webp":      truncate(readFixture(t, fixWebP)),
		"truncated.avif":      truncate(readFixture(t, fixAVIF)),
		"truncated.heic":      truncate(readFixture(t, fixHEIC)),
		"truncated.jxl":       truncate(readFixture(t, fixJXL)),
		"jpeg-magic-only.jpg": {0xFF, 0xD8, 0xFF},
	}
	for name, data := range cases {
		for _, preview := range []bool{false, true} {
			_, err := p.Inspect(context.Background(), writeTemp(t, name, data), preview)
			var e *asset.Error
			if !errors.As(err, &e) || e.Code != asset.CodeUnprocessable {
				t.Errorf("%s (preview %v): %v, want unprocessable", name, preview, err)
			}
		}
	}
}

func truncate(b []byte) []byte { return b[:len(b)*7/10] }

// TestGIFWithoutTrailer accepts a GIF that lacks only its trailer byte, as
// browsers do: no pixel is missing.
func TestGIFWithoutTrailer(t *testing.T) {
	p := newProcessor(t, defaults)
	b := readFixture(t, fixGIF)
	if b[len(b)-1] != 0x3B {
		t.Fatal("the fixture does not end with a trailer")
	}
	ins, err := p.Inspect(context.Background(), writeTemp(t, "x.gif", b[:len(b)-1]), true)
	if err != nil {
		t.Fatal(err)
	}
	if ins.Attributes.PageCount != 3 {
		t.Errorf("%d pages, want 3", ins.Attributes.PageCount)
	}
}

func TestWaitForWorker(t *testing.T) {
	p := newProcessor(t, Config{Workers: 1, MaxPixels: 1 << 20, MaxSide: 1024, MaxFrames: 4})
	mustAcquire(t, p) // the only worker is busy
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Inspect(ctx, filepath.Join(testdata, fixAlphaPNG), false)
	wantCode(t, err, asset.CodeUnavailable)

	p.pool.release() // once it is free, the same request succeeds
	if _, err := p.Inspect(context.Background(), filepath.Join(testdata, fixAlphaPNG), false); err != nil {
		t.Fatal(err)
	}
}

func TestInspectMissingFile(t *testing.T) {
	p := newProcessor(t, defaults)
	_, err := p.Inspect(context.Background(), filepath.Join(t.TempDir(), "nope"), false)
	wantCode(t, err, asset.CodeInternal)
}

func BenchmarkInspect(b *testing.B) {
	p := newProcessor(b, defaults)
	path := filepath.Join(testdata, fixCactusJPEG)
	for _, preview := range []bool{false, true} {
		b.Run("preview="+strconv.FormatBool(preview), func(b *testing.B) {
			for b.Loop() {
				if _, err := p.Inspect(context.Background(), path, preview); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestUncommonBrands checks ISO-BMFF files whose major brand govips does not
// know, such as heix (10-bit HEIC) or avis (AVIF sequence), still load.
func TestUncommonBrands(t *testing.T) {
	p := newProcessor(t, defaults)
	for fixture, brand := range map[string]string{fixHEIC: "heix", fixAVIF: "avis"} {
		b := readFixture(t, fixture)
		copy(b[8:12], brand)
		ins, err := p.Inspect(context.Background(), writeTemp(t, "x", b), true)
		if err != nil {
			t.Errorf("%s as %s: %v", fixture, brand, err)
			continue
		}
		want, _ := Sniff(readFixture(t, fixture))
		if a := ins.Attributes; a.Format != want || a.Width != 160 || a.Height != 120 || ins.Preview == nil {
			t.Errorf("%s as %s: %+v", fixture, brand, a)
		}
	}
}

// TestConcurrentInspect runs more inspections than workers at once; each
// must get its own, correct answer.
func TestConcurrentInspect(t *testing.T) {
	p := newProcessor(t, Config{Workers: 2, MaxPixels: defaults.MaxPixels, MaxSide: defaults.MaxSide, MaxFrames: defaults.MaxFrames})
	want := map[string]asset.Format{}
	for _, name := range fixtureNames {
		want[name], _ = Sniff(readFixture(t, name))
	}
	errs := make(chan error, 4*len(fixtureNames))
	for i := 0; i < 4; i++ {
		for _, name := range fixtureNames {
			go func() {
				ins, err := p.Inspect(context.Background(), filepath.Join(testdata, name), i%2 == 0)
				if err == nil && ins.Attributes.Format != want[name] {
					err = errors.New(name + ": got format " + string(ins.Attributes.Format))
				}
				errs <- err
			}()
		}
	}
	for i := 0; i < cap(errs); i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
