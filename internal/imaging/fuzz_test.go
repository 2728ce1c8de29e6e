package imaging

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"assetd/internal/asset"
	"assetd/internal/imaging/imagingtest"
)

func FuzzSniff(f *testing.F) {
	for _, name := range fixtureNames {
		b, err := os.ReadFile(filepath.Join(testdata, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), SniffLen)])
	}
	f.Add([]byte("\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00avif"))
	f.Add([]byte("%PDF-1.7"))
	f.Fuzz(func(t *testing.T, head []byte) {
		format, ok := Sniff(head)
		if ok != (format != "") {
			t.Fatalf("Sniff = %q, %v", format, ok)
		}
		if ok && format.ContentType() == "" {
			t.Fatalf("Sniff returned %q, which is not an asset format", format)
		}
		// Inspect sniffs at most SniffLen bytes: more must not change the answer.
		if len(head) > SniffLen {
			if f2, _ := Sniff(head[:SniffLen]); f2 != format {
				t.Fatalf("Sniff of %d bytes = %q, of the first %d = %q", len(head), format, SniffLen, f2)
			}
		}
	})
}

// FuzzInspect feeds small inputs through the whole of Inspect: it must never
// panic (or crash in libvips), and every failure is unprocessable content.
func FuzzInspect(f *testing.F) {
	for _, name := range []string{fixAlphaPNG, fixGIF, fixWebP, fixAVIF, fixHEIC, fixJXL, fixRotatedJPEG} {
		b, err := os.ReadFile(filepath.Join(testdata, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(imagingtest.HugePNG(65535, 65535))
	f.Add(imagingtest.HugeGIF(300, 300))
	f.Add(imagingtest.HugeWebPCanvas(1000, 1000))
	f.Add(imagingtest.HugeWebPLossless(64, 64))
	p := newProcessor(f, Config{Workers: 1, MaxPixels: 512 * 512, MaxSide: 512, MaxFrames: 8})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "input")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		ins, err := p.Inspect(context.Background(), path, len(data)%2 == 0)
		if err != nil {
			var e *asset.Error
			if !errors.As(err, &e) || e.Code != asset.CodeUnprocessable {
				t.Fatalf("error %v, want unprocessable", err)
			}
			return
		}
		a := ins.Attributes
		if a.Size != int64(len(data)) {
			t.Fatalf("size %d, want %d", a.Size, len(data))
		}
		if ins.Class == asset.ClassImage {
			if a.Width <= 0 || a.Height <= 0 || a.Width > 512 || a.Height > 512 || a.PageCount < 1 || a.PageCount > 8 {
				t.Fatalf("accepted %+v", a)
			}
			if ins.Preview != nil {
				if b := ins.Preview.Bounds(); b.Dx() > PreviewSide || b.Dy() > PreviewSide || b.Empty() {
					t.Fatalf("preview %v", b)
				}
			}
		}
	})
}
