// The render pipeline, in C so that it runs in one cgo call with the
// thumbnail options govips does not expose (no_rotate, option_string with
// fail-on-error) and the savers' speed settings, and so that every
// intermediate image is released in one place. libvips is lazy: the
// operations below only build a graph, and the saver pulls the pixels
// through it once.

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <vips/vips.h>

#include "render.h"

// keep takes ownership of img for the rest of the job; it returns img.
static VipsImage *keep(GPtrArray *bag, VipsImage *img) {
	if (img)
		g_ptr_array_add(bag, img);
	return img;
}

// The fields the savers turn into EXIF, XMP or IPTC, or that only describe
// the source: removed before encoding, because "strip" would also drop the
// ICC profile, and libvips 8.14's webpsave writes EXIF even with strip.
static gboolean is_private_field(const char *name) {
	return g_str_has_prefix(name, "exif-") || g_str_has_prefix(name, "xmp-") ||
	       g_str_has_prefix(name, "iptc-") || g_str_has_prefix(name, "ipct-") ||
	       strcmp(name, VIPS_META_ORIENTATION) == 0 || strstr(name, "comment") != NULL ||
	       strcmp(name, VIPS_META_RESOLUTION_UNIT) == 0;
}

// copy_without returns a copy of in whose metadata lacks the private fields,
// and the ICC profile as well when drop_icc is set.
static VipsImage *copy_without(GPtrArray *bag, VipsImage *in, gboolean drop_icc) {
	VipsImage *out;
	if (vips_copy(in, &out, NULL))
		return NULL;
	keep(bag, out);
	gchar **fields = vips_image_get_fields(out);
	for (int i = 0; fields[i]; i++)
		if (is_private_field(fields[i]) || (drop_icc && strcmp(fields[i], VIPS_META_ICC_NAME) == 0))
			vips_image_remove(out, fields[i]);
	g_strfreev(fields);
	return out;
}

static VipsImage *drop_icc(GPtrArray *bag, VipsImage *in) {
	VipsImage *out;
	if (vips_copy(in, &out, NULL))
		return NULL;
	keep(bag, out);
	vips_image_remove(out, VIPS_META_ICC_NAME);
	return out;
}

// to_srgb makes a greyscale image sRGB. Its profile, if any, describes grey
// and would be wrong on RGB pixels, so it goes.
static VipsImage *to_srgb(GPtrArray *bag, VipsImage *in) {
	VipsImage *out;
	if (in->Bands >= 3)
		return in;
	if (vips_colourspace(in, &out, VIPS_INTERPRETATION_sRGB, NULL))
		return NULL;
	return drop_icc(bag, keep(bag, out));
}

// normalise brings the pixels to 8-bit sRGB or 8-bit grey, which every
// later step and every saver expects. 16-bit and linear RGB keep their
// profile (it still describes the primaries); CMYK, Lab and the like are
// converted with their profile and then lose it.
static VipsImage *normalise(GPtrArray *bag, VipsImage *in) {
	VipsImage *out = in, *t;
	switch (vips_image_guess_interpretation(in)) {
	case VIPS_INTERPRETATION_sRGB:
	case VIPS_INTERPRETATION_B_W:
		break;
	case VIPS_INTERPRETATION_RGB16:
	case VIPS_INTERPRETATION_scRGB:
		if (vips_colourspace(in, &t, VIPS_INTERPRETATION_sRGB, NULL))
			return NULL;
		out = keep(bag, t);
		break;
	case VIPS_INTERPRETATION_GREY16:
		if (vips_colourspace(in, &t, VIPS_INTERPRETATION_B_W, NULL))
			return NULL;
		out = keep(bag, t);
		break;
	default:
		if (vips_colourspace(in, &t, VIPS_INTERPRETATION_sRGB, NULL))
			return NULL;
		if (!(out = drop_icc(bag, keep(bag, t))))
			return NULL;
	}
	if (out->BandFmt != VIPS_FORMAT_UCHAR) {
		if (vips_cast(out, &t, VIPS_FORMAT_UCHAR, NULL))
			return NULL;
		out = keep(bag, t);
	}
	return out;
}

static VipsImage *orient(GPtrArray *bag, VipsImage *in, int turns, int flip) {
	static const VipsAngle angles[] = {VIPS_ANGLE_D0, VIPS_ANGLE_D90, VIPS_ANGLE_D180, VIPS_ANGLE_D270};
	VipsImage *t;
	if (turns & 3) {
		if (vips_rot(in, &t, angles[turns & 3], NULL))
			return NULL;
		in = keep(bag, t);
	}
	if (flip) {
		if (vips_flip(in, &t, VIPS_DIRECTION_HORIZONTAL, NULL))
			return NULL;
		in = keep(bag, t);
	}
	return in;
}

// alpha_of returns the last band of in, or NULL with *ok set when in has
// no alpha.
static VipsImage *alpha_of(GPtrArray *bag, VipsImage *in, gboolean *ok) {
	VipsImage *t;
	*ok = TRUE;
	if (!vips_image_hasalpha(in))
		return NULL;
	if (vips_extract_band(in, &t, in->Bands - 1, NULL)) {
		*ok = FALSE;
		return NULL;
	}
	return keep(bag, t);
}

// with_alpha joins alpha (if any) back onto in and labels the result.
static VipsImage *with_alpha(GPtrArray *bag, VipsImage *in, VipsImage *alpha, VipsInterpretation interp) {
	VipsImage *t;
	if (alpha) {
		if (vips_bandjoin2(in, alpha, &t, NULL))
			return NULL;
		in = keep(bag, t);
	}
	if (vips_copy(in, &t, "interpretation", interp, NULL))
		return NULL;
	return keep(bag, t);
}

static VipsImage *filter(GPtrArray *bag, VipsImage *in, int filter) {
	VipsImage *t, *alpha;
	gboolean ok;
	gboolean rgb = in->Bands >= 3;

	switch (filter) {
	case FILTER_GREY:
	case FILTER_BW: {
		VipsImage *grey = in;
		if (rgb) {
			if (vips_colourspace(in, &t, VIPS_INTERPRETATION_B_W, NULL))
				return NULL;
			grey = keep(bag, t);
		}
		if (filter == FILTER_BW) {
			alpha = alpha_of(bag, grey, &ok);
			if (!ok || vips_extract_band(grey, &t, 0, NULL))
				return NULL;
			VipsImage *luma = keep(bag, t);
			if (vips_relational_const1(luma, &t, VIPS_OPERATION_RELATIONAL_MOREEQ, 128, NULL))
				return NULL;
			if (!(grey = with_alpha(bag, keep(bag, t), alpha, VIPS_INTERPRETATION_B_W)))
				return NULL;
		}
		// Back to sRGB when the source was: its profile describes RGB.
		if (!rgb)
			return grey;
		if (vips_colourspace(grey, &t, VIPS_INTERPRETATION_sRGB, NULL))
			return NULL;
		return keep(bag, t);
	}
	case FILTER_SEPIA: {
		// The common sepia matrix (as in Microsoft's and CSS's sepia()).
		static double m[9] = {
			0.393, 0.769, 0.189,
			0.349, 0.686, 0.168,
			0.272, 0.534, 0.131,
		};
		if (!(in = to_srgb(bag, in)))
			return NULL;
		alpha = alpha_of(bag, in, &ok);
		if (!ok || vips_extract_band(in, &t, 0, "n", 3, NULL))
			return NULL;
		VipsImage *colour = keep(bag, t);
		VipsImage *matrix = keep(bag, vips_image_new_matrix_from_array(3, 3, m, 9));
		if (!matrix || vips_recomb(colour, &t, matrix, NULL))
			return NULL;
		VipsImage *toned = keep(bag, t);
		if (vips_cast(toned, &t, VIPS_FORMAT_UCHAR, NULL)) // clips at 255
			return NULL;
		return with_alpha(bag, keep(bag, t), alpha, VIPS_INTERPRETATION_sRGB);
	}
	}
	return in;
}

// blur blurs with premultiplied alpha, so that transparent pixels, whose
// colour is meaningless, do not bleed into the visible ones.
static VipsImage *blur(GPtrArray *bag, VipsImage *in, double sigma) {
	VipsImage *t;
	if (!vips_image_hasalpha(in)) {
		if (vips_gaussblur(in, &t, sigma, NULL))
			return NULL;
		return keep(bag, t);
	}
	if (vips_premultiply(in, &t, NULL))
		return NULL;
	VipsImage *pre = keep(bag, t);
	if (vips_gaussblur(pre, &t, sigma, NULL))
		return NULL;
	VipsImage *blurred = keep(bag, t);
	if (vips_unpremultiply(blurred, &t, NULL))
		return NULL;
	VipsImage *un = keep(bag, t);
	if (vips_cast(un, &t, VIPS_FORMAT_UCHAR, NULL))
		return NULL;
	return keep(bag, t);
}

static VipsImage *flatten_white(GPtrArray *bag, VipsImage *in) {
	VipsImage *t;
	if (!vips_image_hasalpha(in))
		return in;
	double white[] = {255};
	VipsArrayDouble *bg = vips_array_double_new(white, 1);
	int rc = vips_flatten(in, &t, "background", bg, NULL);
	vips_area_unref(VIPS_AREA(bg));
	if (rc)
		return NULL;
	return keep(bag, t);
}

static VipsImage *pad(GPtrArray *bag, VipsImage *in, int pad, const double c[4], gboolean format_alpha) {
	VipsImage *t;
	if (in->Bands < 3 && !(c[0] == c[1] && c[1] == c[2]))
		if (!(in = to_srgb(bag, in)))
			return NULL;
	if (format_alpha && c[3] < 255 && !vips_image_hasalpha(in)) {
		if (vips_addalpha(in, &t, NULL))
			return NULL;
		in = keep(bag, t);
	}
	double ink[4];
	int n = 0;
	ink[n++] = c[0];
	if (in->Bands >= 3) {
		ink[n++] = c[1];
		ink[n++] = c[2];
	}
	if (vips_image_hasalpha(in))
		ink[n++] = c[3];
	VipsArrayDouble *bg = vips_array_double_new(ink, n);
	int rc = vips_embed(in, &t, pad, pad, in->Xsize + 2 * pad, in->Ysize + 2 * pad,
			    "extend", VIPS_EXTEND_BACKGROUND, "background", bg, NULL);
	vips_area_unref(VIPS_AREA(bg));
	if (rc)
		return NULL;
	return keep(bag, t);
}

static gboolean format_has_alpha(int format) {
	return format != OUT_JPEG;
}

// frame applies the per-frame steps after the resize: orientation, filter,
// blur, pad (with the flattening that an opaque format needs before it).
static VipsImage *frame(GPtrArray *bag, VipsImage *in, RenderJob *j) {
	if (!(in = orient(bag, in, j->turns, j->flip)))
		return NULL;
	if (j->filter != FILTER_NONE && !(in = filter(bag, in, j->filter)))
		return NULL;
	if (j->sigma > 0 && !(in = blur(bag, in, j->sigma)))
		return NULL;
	if (!format_has_alpha(j->format) && !(in = flatten_white(bag, in)))
		return NULL;
	if (j->pad > 0 && !(in = pad(bag, in, j->pad, j->pad_color, format_has_alpha(j->format))))
		return NULL;
	return in;
}

// is_jpeg reports whether the JPEG loader read hdr.
static int is_jpeg(VipsImage *hdr) {
	const char *loader;
	return !vips_image_get_string(hdr, "vips-loader", &loader) && vips_isprefix("jpegload", loader);
}

// jpegDecoder is libjpeg's error manager with the jump out of a failed
// decode.
typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jmp;
} jpegDecoder;

static void jpeg_fail(j_common_ptr cinfo) {
	jpegDecoder *d = (jpegDecoder *)cinfo->err;
	char msg[JMSG_LENGTH_MAX];
	d->pub.format_message(cinfo, msg);
	vips_error("VipsJpeg", "%s", msg);
	longjmp(d->jmp, 1);
}

// jpeg_warn fails on any warning (corrupt data, a premature end), as
// libvips' "fail" does; trace messages are ignored.
static void jpeg_warn(j_common_ptr cinfo, int level) {
	if (level < 0)
		jpeg_fail(cinfo);
}

static void free_pixels(VipsImage *img, void *pixels) {
	g_free(pixels);
}

// The largest decode jpeg_decode does into memory; bigger ones stream
// through libvips' loader, which holds a few strips at a time.
#define MAX_DECODE_BYTES (32 << 20)

// jpeg_decode decodes the YCbCr JPEG buf, shrunk by shrink, into memory,
// with the resolution and colour profile of hdr, libvips' header of the same
// bytes. The pixels are exactly those of vips_jpegload_buffer with the same
// shrink (the same libjpeg with the same settings): libvips reads through a
// 4 KB window of its source, so libjpeg's Huffman decoder, which needs room
// for a whole MCU in its input, falls back to its slow path much of the
// time; a memory source holds the whole file and stays on the fast one.
// It returns NULL without an error when the image is not a plain YCbCr JPEG
// or too big to hold, and the caller loads it through libvips instead.
static VipsImage *jpeg_decode(GPtrArray *bag, const void *buf, size_t len, VipsImage *hdr, int shrink, gboolean *failed) {
	struct jpeg_decompress_struct cinfo;
	jpegDecoder err;
	// Set before the jump target, so volatile: the jump may come back here.
	unsigned char *volatile pixels = NULL;
	*failed = FALSE;

	cinfo.err = jpeg_std_error(&err.pub);
	err.pub.error_exit = jpeg_fail;
	err.pub.emit_message = jpeg_warn;
	if (setjmp(err.jmp)) {
		jpeg_destroy_decompress(&cinfo);
		g_free(pixels);
		*failed = TRUE;
		return NULL;
	}
	jpeg_create_decompress(&cinfo);
	jpeg_mem_src(&cinfo, (const unsigned char *)buf, len);
	jpeg_read_header(&cinfo, TRUE);
	if (cinfo.num_components != 3 || cinfo.jpeg_color_space != JCS_YCbCr ||
	    hdr->Bands != 3 || hdr->Type != VIPS_INTERPRETATION_sRGB) {
		jpeg_destroy_decompress(&cinfo);
		return NULL;
	}
	cinfo.scale_num = 1;
	cinfo.scale_denom = shrink;
	cinfo.out_color_space = JCS_RGB;
	jpeg_calc_output_dimensions(&cinfo);
	size_t row = (size_t)cinfo.output_width * 3;
	if (row * cinfo.output_height > MAX_DECODE_BYTES) {
		jpeg_destroy_decompress(&cinfo);
		return NULL;
	}
	jpeg_start_decompress(&cinfo);
	pixels = g_malloc(row * cinfo.output_height);
	while (cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW rows[8];
		int n = MIN(8, (int)(cinfo.output_height - cinfo.output_scanline));
		for (int i = 0; i < n; i++)
			rows[i] = pixels + (cinfo.output_scanline + i) * row;
		jpeg_read_scanlines(&cinfo, rows, n);
	}
	int w = cinfo.output_width, h = cinfo.output_height;
	// No jpeg_finish_decompress: libvips does not read past the last
	// scanline either.
	jpeg_destroy_decompress(&cinfo);

	unsigned char *p = pixels;
	VipsImage *mem = vips_image_new_from_memory(p, row * h, w, h, 3, VIPS_FORMAT_UCHAR);
	if (!mem) {
		g_free(p);
		*failed = TRUE;
		return NULL;
	}
	g_signal_connect(mem, "postclose", G_CALLBACK(free_pixels), p);
	keep(bag, mem);
	VipsImage *out;
	if (vips_copy(mem, &out, "interpretation", VIPS_INTERPRETATION_sRGB,
		      "xres", hdr->Xres, "yres", hdr->Yres, NULL)) {
		*failed = TRUE;
		return NULL;
	}
	keep(bag, out);
	const void *icc;
	size_t icc_len;
	if (vips_image_get_typeof(hdr, VIPS_META_ICC_NAME) &&
	    !vips_image_get_blob(hdr, VIPS_META_ICC_NAME, &icc, &icc_len)) {
		void *copy = g_memdup2(icc, icc_len);
		vips_image_set_blob(out, VIPS_META_ICC_NAME, (VipsCallbackFn)g_free, copy, icc_len);
	}
	return out;
}

// jpeg_resize brings a w×h JPEG to exactly bw×bh the way imgproxy does: the
// largest DCT shrink-on-load (1, 2, 4 or 8) that stays at or above the box,
// then a Lanczos3 resize. libvips' thumbnail keeps a further factor of two
// in reserve, which decodes four times the pixels for a 5× reduction; the
// Lanczos3 resize after a DCT shrink does not need it.
static VipsImage *jpeg_resize(GPtrArray *bag, const void *buf, size_t len, VipsImage *hdr, int w, int h, int bw, int bh) {
	int shrink = 1;
	while (shrink < 8 && w / (shrink * 2) >= bw && h / (shrink * 2) >= bh)
		shrink *= 2;
	VipsImage *in, *t;
	gboolean failed;
	if (!(in = jpeg_decode(bag, buf, len, hdr, shrink, &failed))) {
		if (failed)
			return NULL;
		if (vips_jpegload_buffer((void *)buf, len, &in, "shrink", shrink, "fail", TRUE,
					 "access", VIPS_ACCESS_SEQUENTIAL, NULL))
			return NULL;
		in = keep(bag, in);
	}
	if (in->Xsize == bw && in->Ysize == bh)
		return in;
	if (vips_resize(in, &t, (double)bw / in->Xsize, "vscale", (double)bh / in->Ysize,
			"kernel", VIPS_KERNEL_LANCZOS3, NULL))
		return NULL;
	return keep(bag, t);
}

// resize brings hdr, the loaded source, to box_w×box_h by fit. Crops of
// animations are done per frame in render.
static VipsImage *resize(GPtrArray *bag, const void *buf, size_t len, const char *opts, VipsImage *hdr, RenderJob *j) {
	VipsImage *t;
	int w = hdr->Xsize, h = vips_image_get_page_height(hdr);
	int bw = j->box_w, bh = j->box_h;

	if (j->fit == FIT_CROP) {
		bw = MIN(bw, w);
		bh = MIN(bh, h);
		if (hdr->Ysize != h)
			return hdr; // an animation: render crops each frame

		if (j->interesting == VIPS_INTERESTING_CENTRE) {
			if (vips_extract_area(hdr, &t, (w - bw) / 2, (h - bh) / 2, bw, bh, NULL))
				return NULL;
		} else if (vips_smartcrop(hdr, &t, bw, bh, "interesting", j->interesting, NULL))
			return NULL;
		return keep(bag, t);
	}
	if (j->fit != FIT_FILL && bw == w && bh == h)
		return hdr;
	if (j->fit == FIT_FILL && hdr->Ysize != h) {
		// libvips' thumbnail crops an animation as one tall image:
		// cover the box instead, and render crops the centre of each
		// frame.
		double scale = MAX((double)bw / w, (double)bh / h);
		bw = MAX(bw, (int)(w * scale + 0.5));
		bh = MAX(bh, (int)(h * scale + 0.5));
		if (vips_thumbnail_buffer((void *)buf, len, &t, bw, "height", bh, "size", VIPS_SIZE_FORCE,
					  "no_rotate", TRUE, "option_string", opts, NULL))
			return NULL;
		return keep(bag, t);
	}
	if (j->fit != FIT_FILL && is_jpeg(hdr))
		return jpeg_resize(bag, buf, len, hdr, w, h, bw, bh);
	// Thumbnail shrinks on load (JPEG DCT scaling, WebP scaled decode),
	// then resizes with Lanczos3; "force" gives exactly the box, whose
	// aspect for FIT_FIT is already the source's.
	int fill = j->fit == FIT_FILL;
	if (vips_thumbnail_buffer((void *)buf, len, &t, bw,
				  "height", bh,
				  "size", fill ? VIPS_SIZE_BOTH : VIPS_SIZE_FORCE,
				  "crop", fill ? j->interesting : VIPS_INTERESTING_NONE,
				  "no_rotate", TRUE,
				  "option_string", opts,
				  NULL))
		return NULL;
	return keep(bag, t);
}

static int save(VipsImage *in, RenderJob *j) {
	switch (j->format) {
	case OUT_JPEG:
		return vips_jpegsave_buffer(in, &j->out, &j->out_len, "Q", j->quality,
					    "optimize_coding", TRUE, NULL);
	case OUT_PNG:
		return vips_pngsave_buffer(in, &j->out, &j->out_len, NULL);
	case OUT_WEBP:
		return vips_webpsave_buffer(in, &j->out, &j->out_len, "Q", j->quality, "effort", 2, NULL);
	case OUT_AVIF:
		// imgproxy's speed 8 is effort 1; effort 0 is libaom's fastest
		// preset, for a little more size. 8 bits: 12-bit AVIF is slower
		// and many decoders reject it.
		return vips_heifsave_buffer(in, &j->out, &j->out_len, "Q", j->quality,
					    "compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1,
					    "effort", 0, "bitdepth", 8, NULL);
	case OUT_HEIC:
		return vips_heifsave_buffer(in, &j->out, &j->out_len, "Q", j->quality,
					    "compression", VIPS_FOREIGN_HEIF_COMPRESSION_HEVC,
					    "effort", 0, "bitdepth", 8, NULL);
	case OUT_JXL:
		return vips_jxlsave_buffer(in, &j->out, &j->out_len, "Q", j->quality, "effort", 4, NULL);
	case OUT_GIF:
		return vips_gifsave_buffer(in, &j->out, &j->out_len, NULL);
	}
	vips_error("render", "unknown output format %d", j->format);
	return -1;
}

// preview writes the first page of in, at most side×side, as 8-bit RGBA.
static int preview(GPtrArray *bag, VipsImage *in, int page_height, RenderJob *j) {
	VipsImage *t;
	if (page_height != in->Ysize) {
		if (vips_extract_area(in, &t, 0, 0, in->Xsize, page_height, NULL))
			return -1;
		in = keep(bag, t);
	}
	// Without page-height, thumbnail sees one page.
	if (vips_copy(in, &t, NULL))
		return -1;
	in = keep(bag, t);
	vips_image_remove(in, VIPS_META_PAGE_HEIGHT);
	vips_image_remove(in, VIPS_META_N_PAGES);
	if (vips_thumbnail_image(in, &t, j->preview_side, "height", j->preview_side, "size", VIPS_SIZE_DOWN, NULL))
		return -1;
	in = keep(bag, t);
	if (!(in = to_srgb(bag, in)))
		return -1;
	if (!vips_image_hasalpha(in)) {
		if (vips_addalpha(in, &t, NULL))
			return -1;
		in = keep(bag, t);
	}
	if (in->BandFmt != VIPS_FORMAT_UCHAR) {
		if (vips_cast(in, &t, VIPS_FORMAT_UCHAR, NULL))
			return -1;
		in = keep(bag, t);
	}
	if (in->Bands != 4) {
		vips_error("render", "preview has %d bands", in->Bands);
		return -1;
	}
	size_t size;
	j->preview = vips_image_write_to_memory(in, &size);
	if (!j->preview)
		return -1;
	j->preview_w = in->Xsize;
	j->preview_h = in->Ysize;
	return 0;
}

static int run(GPtrArray *bag, const void *buf, size_t len, RenderJob *j) {
	const char *opts = j->animated ? "fail=true,n=-1" : "fail=true";
	// Gravity other than centre makes smartcrop read the image several
	// times; everything else reads it once, in order.
	VipsAccess access = j->fit == FIT_CROP && j->interesting != VIPS_INTERESTING_CENTRE && !j->animated
				    ? VIPS_ACCESS_RANDOM
				    : VIPS_ACCESS_SEQUENTIAL;
	VipsImage *hdr = keep(bag, vips_image_new_from_buffer(buf, len, opts, "access", access, NULL));
	if (!hdr)
		return RENDER_VIPS;
	j->src_width = hdr->Xsize;
	j->src_height = vips_image_get_page_height(hdr);
	j->src_pages = MAX(vips_image_get_n_pages(hdr), 1);
	if (j->src_width > j->max_side || j->src_height > j->max_side ||
	    (gint64)j->src_width * j->src_height > j->max_pixels || j->src_pages > j->max_frames)
		return RENDER_LIMIT;

	VipsImage *img = resize(bag, buf, len, opts, hdr, j);
	if (!img || !(img = normalise(bag, img)))
		return RENDER_VIPS;

	int page_height = vips_image_get_page_height(img);
	int pages = img->Ysize / page_height;
	// Rotation reads its input out of order, which a sequential loader
	// cannot do: the (already resized) pixels go to memory first.
	if (j->turns & 3) {
		VipsImage *mem = keep(bag, vips_image_copy_memory(img));
		if (!mem)
			return RENDER_VIPS;
		img = mem;
	}

	if (pages > 1) {
		// Animation: every step after the resize works frame by frame,
		// and the frames are stacked again.
		int fw = img->Xsize, fh = page_height, x = 0, y = 0;
		if (j->fit == FIT_CROP || j->fit == FIT_FILL) {
			fw = MIN(j->box_w, img->Xsize);
			fh = MIN(j->box_h, page_height);
			x = (img->Xsize - fw) / 2;
			y = (page_height - fh) / 2;
		}
		VipsImage **frames = g_new0(VipsImage *, pages);
		int ok = 1;
		for (int p = 0; p < pages && ok; p++) {
			VipsImage *t;
			if (vips_extract_area(img, &t, x, p * page_height + y, fw, fh, NULL)) {
				ok = 0;
				break;
			}
			frames[p] = frame(bag, keep(bag, t), j);
			ok = frames[p] != NULL;
		}
		VipsImage *joined = NULL;
		if (ok && vips_arrayjoin(frames, &joined, pages, "across", 1, NULL))
			ok = 0;
		page_height = ok ? frames[0]->Ysize : 0;
		g_free(frames);
		if (!ok)
			return RENDER_VIPS;
		img = keep(bag, joined);
	} else if (!(img = frame(bag, img, j))) {
		return RENDER_VIPS;
	} else {
		page_height = img->Ysize;
	}

	if (!(img = copy_without(bag, img, FALSE)))
		return RENDER_VIPS;
	if (pages > 1)
		vips_image_set_int(img, VIPS_META_PAGE_HEIGHT, page_height);

	if (j->want_preview) {
		// The encoder and the preview read the same pixels: compute them
		// once.
		VipsImage *mem = keep(bag, vips_image_copy_memory(img));
		if (!mem || preview(bag, mem, page_height, j))
			return RENDER_VIPS;
		img = mem;
	}
	if (save(img, j))
		return RENDER_VIPS;

	j->width = img->Xsize;
	j->page_height = page_height;
	j->pages = pages;
	j->loop = 0;
	if (pages > 1 && vips_image_get_typeof(img, "loop"))
		vips_image_get_int(img, "loop", &j->loop);
	return RENDER_OK;
}

int render(const void *buf, size_t len, RenderJob *j) {
	GPtrArray *bag = g_ptr_array_new_with_free_func(g_object_unref);
	int rc = run(bag, buf, len, j);
	g_ptr_array_unref(bag);
	if (rc != RENDER_OK) {
		g_free(j->out);
		j->out = NULL;
		g_free(j->preview);
		j->preview = NULL;
		j->err = g_strdup(vips_error_buffer());
		vips_error_clear();
	}
	return rc;
}
