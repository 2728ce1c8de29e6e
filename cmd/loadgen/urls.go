package main

import (
	"fmt"
	"net/url"
)

// coldWidth is the target width of the i-th cold request (i ≥ 0): 800,
// 801, 799, 802, 798, … Every width is new, so every request renders, and
// the widths stay centred on 800 however many requests a run makes, so the
// two services do the same work on average even when one completes more
// requests than the other.
func coldWidth(i int) int {
	step := (i + 1) / 2
	if i%2 == 1 {
		return 800 + step
	}
	return 800 - step
}

// maxColdRequests is how many distinct widths coldWidth yields before its
// widths would leave 400..1200, far enough from 800 to change the job.
const maxColdRequests = 801

// assetdContent is assetd's content URL for the asset at path resized to
// width w (0: no resize) in format (a format name of API.md; "" keeps the
// original's).
func assetdContent(base, path string, w int, format string) string {
	q := url.Values{}
	if w > 0 {
		q.Set("w", fmt.Sprint(w))
	}
	if format != "" {
		q.Set("format", format)
	}
	u := base + "/assets/" + path + "/-/content"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// imgproxyResize is imgproxy 3's unsigned URL for the same job as
// assetdContent: fit within width w with the height free, never enlarging
// (rs:fit:W:0:0), of file (a name under IMGPROXY_LOCAL_FILESYSTEM_ROOT),
// saved as ext (jpg, webp, avif).
func imgproxyResize(base, file string, w int, ext string) string {
	return fmt.Sprintf("%s/insecure/rs:fit:%d:0:0/plain/local:///%s@%s", base, w, file, ext)
}
