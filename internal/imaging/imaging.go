// Package imaging inspects uploaded images and renders variants with libvips
// (through govips, and through its C API where govips lacks an option). It
// is the only package that uses libvips, and it treats every byte as
// hostile:
//
//  1. the format is allow-listed by magic bytes (Sniff) before libvips sees
//     anything; other content is a plain file and never reaches libvips;
//  2. width, page height and page count are read from the header, by this
//     package's own parser for JPEG, PNG, GIF and WebP and then by libvips
//     for every format, and checked against the limits before any pixel is
//     decoded;
//  3. the whole image, every page included, is decoded with fail-on-error, so
//     truncated or corrupt data is rejected instead of being grey-filled;
//  4. libvips runs with its operation cache off, one thread per operation,
//     and every loader but those of the accepted formats blocked;
//  5. concurrent work is bounded by a worker pool with a bounded wait queue,
//     in which background renders yield to foreground work.
package imaging

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"

	"github.com/davidbyttow/govips/v2/vips"

	"assetd/internal/asset"
)

// PreviewSide bounds both sides of Inspection.Preview.
const PreviewSide = 100

// Config sets the limits of a Processor.
type Config struct {
	// Workers bounds the concurrent libvips operations; 0 means one per CPU.
	Workers int
	// MaxPixels bounds width × height of one page (frame).
	MaxPixels int
	// MaxSide bounds the width and the page height.
	MaxSide int
	// MaxFrames bounds the page (frame) count.
	MaxFrames int
	// Queue bounds the renders that wait for a worker, for each priority
	// (foreground and background); past it Render answers CodeUnavailable
	// at once. 0 means 4 × Workers.
	Queue int
}

// Processor inspects and renders images with libvips. It is safe for
// concurrent use.
type Processor struct {
	cfg  Config
	pool *pool
}

var _ asset.Processor = (*Processor)(nil)

// New starts libvips (once per process) and returns a Processor with cfg's
// limits. It fails when Workers or Queue is negative or a limit is not
// positive.
func New(cfg Config) (*Processor, error) {
	if cfg.Workers < 0 || cfg.Queue < 0 {
		return nil, fmt.Errorf("imaging: workers and queue must be 0 or more, got %d and %d", cfg.Workers, cfg.Queue)
	}
	if cfg.MaxPixels <= 0 || cfg.MaxSide <= 0 || cfg.MaxFrames <= 0 {
		return nil, fmt.Errorf("imaging: max-pixels, max-side and max-frames must be positive, got %d, %d and %d",
			cfg.MaxPixels, cfg.MaxSide, cfg.MaxFrames)
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.NumCPU()
	}
	if cfg.Queue == 0 {
		cfg.Queue = 4 * cfg.Workers
	}
	start()
	return &Processor{cfg: cfg, pool: newPool(cfg.Workers, cfg.Queue)}, nil
}

// Inspect implements asset.Processor; see its contract there. Content that
// Sniff does not recognise is ClassFile with the type that
// http.DetectContentType gives its first 512 bytes ("application/octet-stream"
// for an empty file). Images over a limit, and undecodable images, are
// CodeUnprocessable; waiting for a worker past ctx is CodeUnavailable; a file
// that cannot be read is CodeInternal. Every error is an *asset.Error.
//
// Formats that libvips could read but assetd does not accept (PDF, SVG,
// TIFF, BMP, …) are ClassFile like any other content, never
// CodeUnsupportedMedia: they never reach libvips, and whether a path stores
// them or answers 415 is the Service's decision from the path's policy.
//
// Files are answered without a worker; images take one for the libvips
// work, after their header passed this package's own check.
func (p *Processor) Inspect(ctx context.Context, name string, wantPreview bool) (*asset.Inspection, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, asset.Wrap(asset.CodeInternal, err, "The upload could not be read.")
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, asset.Wrap(asset.CodeInternal, err, "The upload could not be read.")
	}
	head := make([]byte, SniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, asset.Wrap(asset.CodeInternal, err, "The upload could not be read.")
	}
	head = head[:n]

	format, ok := Sniff(head)
	if !ok {
		return &asset.Inspection{
			Class:      asset.ClassFile,
			Attributes: asset.Attributes{Size: st.Size(), ContentType: detectContentType(head)},
		}, nil
	}

	// The header is checked before the file is read whole or a worker is
	// taken: a hostile header costs almost nothing.
	if err := p.checkHeader(format, head, f); err != nil {
		return nil, err
	}

	// Inspect is foreground work with an unbounded wait: its contract is
	// to wait until ctx is done.
	if err := p.pool.acquire(ctx, foreground, false); err != nil {
		return nil, err
	}
	defer p.pool.release()

	buf, err := readAll(f, st.Size())
	if err != nil {
		return nil, asset.Wrap(asset.CodeInternal, err, "The upload could not be read.")
	}
	ins, err := p.inspect(buf, format, wantPreview)
	if err != nil {
		return nil, err
	}
	ins.Attributes.Size = st.Size()
	return ins, nil
}

func detectContentType(head []byte) string {
	if len(head) == 0 {
		// DetectContentType says text/plain for nothing at all, which is
		// not what an empty upload is.
		return "application/octet-stream"
	}
	return http.DetectContentType(head)
}

// readAll reads f from its start; size is a hint.
func readAll(f *os.File, size int64) ([]byte, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, size+1)
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// overLimits rejects a width, page height and page count over the limits.
func (p *Processor) overLimits(width, pageHeight, pages int) error {
	switch {
	case width > p.cfg.MaxSide || pageHeight > p.cfg.MaxSide:
		return asset.Errorf(asset.CodeUnprocessable,
			"The image is %d×%d pixels; the limit is %d pixels a side.", width, pageHeight, p.cfg.MaxSide)
	case int64(width)*int64(pageHeight) > int64(p.cfg.MaxPixels):
		return asset.Errorf(asset.CodeUnprocessable,
			"The image is %d×%d pixels; the limit is %d pixels per frame.", width, pageHeight, p.cfg.MaxPixels)
	case pages > p.cfg.MaxFrames:
		return asset.Errorf(asset.CodeUnprocessable,
			"The image has more than %d frames, the limit.", p.cfg.MaxFrames)
	}
	return nil
}

// inspect probes, checks and decodes buf, whose format Sniff recognised.
func (p *Processor) inspect(buf []byte, format asset.Format, wantPreview bool) (*asset.Inspection, error) {
	if format == asset.FormatHEIC || format == asset.FormatAVIF {
		normaliseBrand(buf)
	}
	multiPage := format == asset.FormatGIF || format == asset.FormatWebP ||
		format == asset.FormatHEIC || format == asset.FormatAVIF

	params := vips.NewImportParams() // FailOnError is set
	if multiPage {
		params.NumPages.Set(-1)
	}
	attrs, err := p.probe(buf, format, params)
	if err != nil {
		return nil, err
	}
	preview, err := decode(buf, params, attrs.PageCount, wantPreview)
	if err != nil {
		return nil, err
	}
	ins := &asset.Inspection{Class: asset.ClassImage, Attributes: attrs}
	if wantPreview {
		ins.Preview = preview
	}
	return ins, nil
}

// normaliseBrand makes an ISO-BMFF major brand that govips does not know
// (it only knows heic, mif1, msf1 and avif) one it does, so that heix, avis
// and the like reach the HEIF loader. Sniff has already checked the brands,
// and libheif reads the compatible brands, not the major one. buf is this
// package's copy of the file; the stored bytes are not changed.
func normaliseBrand(buf []byte) {
	switch string(buf[8:12]) {
	case "heic", "mif1", "msf1", "avif":
	default:
		copy(buf[8:12], "mif1")
	}
}

// probe loads only the header (libvips loads lazily) and checks the limits.
func (p *Processor) probe(buf []byte, format asset.Format, params *vips.ImportParams) (asset.Attributes, error) {
	ref, err := vips.LoadImageFromBuffer(buf, params)
	if err != nil {
		return asset.Attributes{}, asset.Wrap(asset.CodeUnprocessable, trim(err), "The image header could not be read.")
	}
	defer ref.Close()

	width, pageHeight, pages := ref.Width(), ref.PageHeight(), max(ref.Pages(), 1)
	if err := p.overLimits(width, pageHeight, pages); err != nil {
		return asset.Attributes{}, err
	}
	if width <= 0 || pageHeight <= 0 {
		return asset.Attributes{}, asset.Errorf(asset.CodeUnprocessable, "The image header declares no pixels.")
	}
	orientation := ref.Orientation()
	if orientation < 1 || orientation > 8 {
		orientation = 1
	}
	loop := 0
	if format == asset.FormatGIF || format == asset.FormatWebP {
		loop = max(ref.GetInt("loop"), 0)
	}
	return asset.Attributes{
		Width:       width,
		Height:      pageHeight,
		Format:      format,
		PageCount:   pages,
		Loop:        loop,
		Orientation: orientation,
		ContentType: format.ContentType(),
	}, nil
}

// decode decodes every page of buf with fail-on-error through libvips'
// thumbnail path, which shrinks on load where the format allows and streams
// the rest, so memory stays near the size of the small result. It returns the
// first page as an sRGB preview when wantPreview is set.
//
// Reading every pixel of the thumbnail pulls every source pixel through the
// loader, which is what makes corrupt or truncated data fail here. The
// thumbnail is evaluated once only: its loader reads sequentially and cannot
// go back.
func decode(buf []byte, params *vips.ImportParams, pages int, wantPreview bool) (image.Image, error) {
	thumb, err := vips.LoadThumbnailFromBuffer(buf, PreviewSide, PreviewSide, vips.InterestingNone, vips.SizeDown, params)
	if err != nil {
		return nil, corrupt(err)
	}
	defer thumb.Close()

	if !wantPreview {
		if _, err := thumb.Average(); err != nil {
			return nil, corrupt(err)
		}
		return nil, nil
	}

	if err := thumb.ToColorSpace(vips.InterpretationSRGB); err != nil {
		return nil, corrupt(err)
	}
	if !thumb.HasAlpha() {
		if err := thumb.AddAlpha(); err != nil {
			return nil, corrupt(err)
		}
	}
	if thumb.BandFormat() != vips.BandFormatUchar {
		if err := thumb.Cast(vips.BandFormatUchar); err != nil {
			return nil, corrupt(err)
		}
	}
	w, h, bands := thumb.Width(), thumb.Height(), thumb.Bands()
	pageHeight := h
	if pages > 1 {
		pageHeight = thumb.PageHeight()
	}
	if bands != 4 || pageHeight <= 0 || pageHeight > h {
		return nil, asset.Errorf(asset.CodeInternal, "The preview has an unexpected shape %d×%d×%d.", w, pageHeight, bands)
	}
	pix, err := thumb.ToBytes() // evaluates the pipeline: this is the decode
	if err != nil {
		return nil, corrupt(err)
	}
	if len(pix) != w*h*4 {
		return nil, asset.Errorf(asset.CodeInternal, "The preview has %d bytes, not %d.", len(pix), w*h*4)
	}
	// libvips keeps alpha unpremultiplied, as NRGBA does; the first page is
	// the top of the strip.
	img := image.NewNRGBA(image.Rect(0, 0, w, pageHeight))
	copy(img.Pix, pix[:w*pageHeight*4])
	return img, nil
}

func corrupt(err error) error {
	return asset.Wrap(asset.CodeUnprocessable, trim(err), "The image data is corrupt or truncated.")
}

// trim drops the Go stack trace that govips appends to libvips' message: the
// cause is logged, and a stack per corrupt upload is noise.
func trim(err error) error {
	msg, _, found := strings.Cut(err.Error(), "\nStack:")
	if !found {
		return err
	}
	return errors.New(strings.TrimSpace(msg))
}
