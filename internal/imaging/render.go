package imaging

/*
#cgo LDFLAGS: -ljpeg
#include <stdlib.h>
#include <glib.h>
#include <vips/vips.h>
#include "render.h"
*/
import "C"

import (
	"bytes"
	"context"
	"errors"
	"image"
	"runtime"
	"strings"
	"unsafe"

	"assetd/internal/asset"
)

var outFormats = map[asset.Format]C.int{
	asset.FormatJPEG: C.OUT_JPEG,
	asset.FormatPNG:  C.OUT_PNG,
	asset.FormatWebP: C.OUT_WEBP,
	asset.FormatAVIF: C.OUT_AVIF,
	asset.FormatHEIC: C.OUT_HEIC,
	asset.FormatJXL:  C.OUT_JXL,
	asset.FormatGIF:  C.OUT_GIF,
}

var fits = map[asset.Fit]C.int{
	asset.FitFit:     C.FIT_FIT,
	asset.FitFill:    C.FIT_FILL,
	asset.FitStretch: C.FIT_STRETCH,
	asset.FitCrop:    C.FIT_CROP,
}

var gravities = map[asset.Gravity]C.int{
	asset.GravityCenter:    C.VIPS_INTERESTING_CENTRE,
	asset.GravityEntropy:   C.VIPS_INTERESTING_ENTROPY,
	asset.GravityAttention: C.VIPS_INTERESTING_ATTENTION,
}

var filters = map[asset.Filter]C.int{
	asset.FilterNone:       C.FILTER_NONE,
	asset.FilterGreyscale:  C.FILTER_GREY,
	asset.FilterBlackWhite: C.FILTER_BW,
	asset.FilterSepia:      C.FILTER_SEPIA,
}

// Render implements asset.Processor; see its contract there. In detail:
//
//   - fit and stretch resize through libvips' thumbnail path, which shrinks
//     on load, to exactly t.Width×t.Height (in the source's orientation when
//     t.Orientation turns by a quarter); fit at the source's size does not
//     resize. fill is the thumbnail path cropping by gravity (centre,
//     entropy, attention). crop cuts a region at native resolution (libvips
//     smartcrop). EXIF orientation is never applied by itself: only
//     t.Orientation turns the image.
//   - An animated GIF or WebP rendered as gif or webp keeps every frame,
//     the frame delays and the loop count; orientation, filter, blur and
//     padding apply to each frame, and fill and crop cut the centre of every
//     frame whatever the gravity (a region chosen per frame would jump
//     about).
//     Other sources and outputs use the first page.
//   - filters: greyscale is libvips' B_W colourspace and back to sRGB (the
//     alpha band kept); black_white is greyscale thresholded at 128; sepia
//     is the usual sepia matrix. Blur is a Gaussian of sigma t.Blur/2 on
//     premultiplied alpha. Padding uses t.PadColor, with an alpha band added
//     when the colour is translucent and the format has alpha; for jpg, the
//     image is flattened on white and the colour composed over white.
//   - Metadata: EXIF, XMP, IPTC, comments and the orientation tag are
//     removed from the image; the ICC profile is kept (dropped only when the
//     pixels leave its colour space, as CMYK converted to sRGB does). Since
//     libvips 8.14 makes up an EXIF block for JPEG, WebP and HEIF anyway,
//     the encoded bytes are scrubbed of it (see scrub).
//   - Encoders favour speed as imgproxy does: jpg with optimised Huffman
//     tables, baseline; webp effort 2; avif (AV1) and heic (HEVC) 8-bit at
//     effort 0; jxl effort 4; png and gif at libvips' defaults.
//
// Before it takes a worker, Render checks the bytes with Sniff and this
// package's own header parser, and orig, against the limits; libvips' header
// is checked again before any pixel is decoded. Errors: CodeUnprocessable
// for content that is not an accepted image, an image over a limit, a
// transformation out of range or corrupt data; CodeUnavailable when ctx is
// done before a worker is free or when Config.Queue renders of the same
// priority already wait. Background renders (opts.Background) take a worker
// only when no foreground work waits for one.
func (p *Processor) Render(ctx context.Context, src []byte, orig asset.Attributes, t asset.Transformation, opts asset.RenderOptions) (*asset.Rendering, error) {
	job, src, err := p.prepare(src, orig, t)
	if err != nil {
		return nil, err
	}
	job.want_preview = cBool(opts.Preview)
	job.preview_side = PreviewSide

	pr := foreground
	if opts.Background {
		pr = background
	}
	if err := p.pool.acquire(ctx, pr, true); err != nil {
		return nil, err
	}
	defer p.pool.release()
	return p.render(src, job, t, opts.Preview)
}

// prepare checks src, orig and t and translates t into a job. It returns
// the bytes to decode: src, or a copy with a normalised ISO-BMFF brand.
func (p *Processor) prepare(src []byte, orig asset.Attributes, t asset.Transformation) (*C.RenderJob, []byte, error) {
	format, ok := Sniff(src[:min(len(src), SniffLen)])
	if !ok {
		return nil, nil, asset.Errorf(asset.CodeUnprocessable, "The content is not an image that can be rendered.")
	}
	if err := p.checkHeader(format, src[:min(len(src), SniffLen)], bytes.NewReader(src)); err != nil {
		return nil, nil, err
	}
	if err := p.overLimits(orig.Width, orig.Height, orig.PageCount); err != nil {
		return nil, nil, err
	}
	outFormat, okFormat := outFormats[t.Format]
	fit, okFit := fits[t.Fit]
	gravity, okGravity := gravities[t.Gravity]
	filter, okFilter := filters[t.Filter]
	outW, outH := t.OutputSize()
	switch {
	case !okFormat || !okFit || !okGravity || !okFilter:
		return nil, nil, asset.Errorf(asset.CodeUnprocessable, "The transformation %s is not one this renderer knows.", t.Key())
	case t.Width < 1 || t.Height < 1 || t.Pad < 0 || t.Blur < 0 || t.Blur > 150 || t.Orientation < 1 || t.Orientation > 8:
		return nil, nil, asset.Errorf(asset.CodeUnprocessable, "The transformation %s is out of range.", t.Key())
	case outW > p.cfg.MaxSide || outH > p.cfg.MaxSide || int64(outW)*int64(outH) > int64(p.cfg.MaxPixels):
		return nil, nil, asset.Errorf(asset.CodeUnprocessable,
			"The output would be %d×%d pixels; the limits are %d pixels a side and %d per frame.", outW, outH, p.cfg.MaxSide, p.cfg.MaxPixels)
	}

	if (format == asset.FormatHEIC || format == asset.FormatAVIF) && len(src) >= 12 {
		switch string(src[8:12]) {
		case "heic", "mif1", "msf1", "avif":
		default:
			src = bytes.Clone(src)
			normaliseBrand(src)
		}
	}

	turns, flip := asset.OrientationOp(t.Orientation)
	boxW, boxH := t.Width, t.Height
	if turns%2 == 1 {
		// The resize happens before the turn.
		boxW, boxH = boxH, boxW
	}
	animated := orig.PageCount > 1 &&
		(format == asset.FormatGIF || format == asset.FormatWebP) &&
		(t.Format == asset.FormatGIF || t.Format == asset.FormatWebP)

	c := t.PadColor
	colour := [4]float64{float64(c.R), float64(c.G), float64(c.B), float64(c.A)}
	if t.Format == asset.FormatJPEG {
		// No alpha in the output: the colour as it looks over white.
		a := float64(c.A) / 255
		for i := range 3 {
			colour[i] = colour[i]*a + 255*(1-a)
		}
		colour[3] = 255
	}

	job := (*C.RenderJob)(C.calloc(1, C.size_t(unsafe.Sizeof(C.RenderJob{}))))
	job.animated = cBool(animated)
	job.max_side = C.int(p.cfg.MaxSide)
	job.max_pixels = C.int(min(p.cfg.MaxPixels, 1<<31-1))
	job.max_frames = C.int(p.cfg.MaxFrames)
	job.fit = fit
	job.interesting = gravity
	job.box_w, job.box_h = C.int(boxW), C.int(boxH)
	job.turns, job.flip = C.int(turns), cBool(flip)
	job.filter = filter
	job.sigma = C.double(float64(t.Blur) / 2)
	job.pad = C.int(t.Pad)
	for i, v := range colour {
		job.pad_color[i] = C.double(v)
	}
	job.format = outFormat
	job.quality = C.int(t.Quality)
	return job, src, nil
}

// render runs job on src and frees it.
func (p *Processor) render(src []byte, job *C.RenderJob, t asset.Transformation, wantPreview bool) (*asset.Rendering, error) {
	defer func() {
		C.g_free(C.gpointer(job.out))
		C.g_free(C.gpointer(job.preview))
		C.g_free(C.gpointer(job.err))
		C.free(unsafe.Pointer(job))
	}()
	rc := C.render(unsafe.Pointer(unsafe.SliceData(src)), C.size_t(len(src)), job)
	runtime.KeepAlive(src)
	switch rc {
	case C.RENDER_OK:
	case C.RENDER_LIMIT:
		return nil, p.overLimits(int(job.src_width), int(job.src_height), int(job.src_pages))
	default:
		return nil, asset.Wrap(asset.CodeUnprocessable, vipsError(job.err), "The image could not be rendered; its data may be corrupt.")
	}

	width, height := int(job.width), int(job.page_height)
	if wantW, wantH := t.OutputSize(); width != wantW || height != wantH {
		return nil, asset.Errorf(asset.CodeInternal, "The rendering is %d×%d, not the %d×%d asked for.", width, height, wantW, wantH)
	}
	data := scrub(t.Format, unsafe.Slice((*byte)(job.out), int(job.out_len)))
	if data == nil {
		return nil, asset.Errorf(asset.CodeInternal, "The %s encoder wrote something this renderer cannot read back.", t.Format)
	}
	r := &asset.Rendering{
		Data: data,
		Attributes: asset.Attributes{
			Width:       width,
			Height:      height,
			Format:      t.Format,
			PageCount:   int(job.pages),
			Loop:        int(job.loop),
			Orientation: 1,
			Size:        int64(len(data)),
			ContentType: t.Format.ContentType(),
		},
	}
	if wantPreview {
		w, h := int(job.preview_w), int(job.preview_h)
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		copy(img.Pix, unsafe.Slice((*byte)(unsafe.Pointer(job.preview)), w*h*4))
		r.Preview = img
	}
	return r, nil
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// vipsError is libvips' message, one line.
func vipsError(msg *C.char) error {
	s := strings.TrimSpace(C.GoString(msg))
	if s == "" {
		s = "libvips failed without a message"
	}
	return errors.New(strings.ReplaceAll(s, "\n", "; "))
}
