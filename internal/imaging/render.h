#ifndef ASSETD_RENDER_H
#define ASSETD_RENDER_H

#include <stddef.h>

// The fits, gravities, filters and formats of a render job; render.go maps
// the domain's names onto these.
enum { FIT_FIT, FIT_FILL, FIT_STRETCH, FIT_CROP };
enum { FILTER_NONE, FILTER_GREY, FILTER_BW, FILTER_SEPIA };
enum { OUT_JPEG, OUT_PNG, OUT_WEBP, OUT_AVIF, OUT_HEIC, OUT_JXL, OUT_GIF };

// Failures that render.go turns into specific errors; anything else is
// RENDER_VIPS, with libvips' message in err.
enum { RENDER_OK, RENDER_VIPS, RENDER_LIMIT };

typedef struct {
	// Input.
	int animated;   // load every page and keep them
	int max_side, max_pixels, max_frames;
	int fit, interesting; // interesting is a VipsInteresting
	int box_w, box_h;     // the size after the resize, before the rotation
	int turns, flip;      // clockwise quarter turns, then a horizontal flip
	int filter;
	double sigma;         // Gaussian blur; 0 for none
	int pad;
	double pad_color[4]; // RGBA 0-255, already over white for opaque formats
	int format, quality;
	int want_preview, preview_side;

	// Output, valid when render returns RENDER_OK (err also otherwise).
	void *out;
	size_t out_len;
	int width, page_height, pages, loop;
	int src_width, src_height, src_pages; // the header, for RENDER_LIMIT
	unsigned char *preview;               // RGBA, preview_w*preview_h*4
	int preview_w, preview_h;
	char *err;
} RenderJob;

// render decodes buf (len bytes) with fail-on-error and applies job.
// The caller frees job->out, job->preview and job->err with g_free.
int render(const void *buf, size_t len, RenderJob *job);

#endif
