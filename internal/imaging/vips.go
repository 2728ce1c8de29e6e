package imaging

/*
#cgo pkg-config: vips
#include <vips/vips.h>

// block_loaders blocks every libvips loader, then unblocks the few that read
// the accepted formats. This is stricter than vips_block_untrusted_set: that
// would also block the JPEG XL loader (marked untrusted in 8.14) and the
// JPEG XL saver, and it would leave trusted-but-unwanted loaders such as
// TIFF, BMP via magick, SVG or PDF reachable through vips_foreign_find_load.
static void block_loaders(void) {
	vips_operation_block_set("VipsForeignLoad", TRUE);
	vips_operation_block_set("VipsForeignLoadJpeg", FALSE);
	vips_operation_block_set("VipsForeignLoadPng", FALSE);
	vips_operation_block_set("VipsForeignLoadNsgif", FALSE);
	vips_operation_block_set("VipsForeignLoadWebp", FALSE);
	vips_operation_block_set("VipsForeignLoadHeif", FALSE);
	vips_operation_block_set("VipsForeignLoadJxl", FALSE);
}
*/
import "C"

import (
	"log/slog"
	"sync"

	"github.com/davidbyttow/govips/v2/vips"
)

// startOnce guards libvips start-up. libvips is process-wide state: it can be
// started once, and govips panics on a restart after Shutdown, so a package
// value is the only honest owner. It is never shut down; the process exit
// releases it.
var startOnce sync.Once

// start initialises libvips for untrusted input:
//   - the operation cache is off, so no decoded image outlives its request;
//   - one libvips thread per operation, since the worker pool provides the
//     parallelism and bounds it;
//   - libvips and glib messages go to slog at debug level instead of stderr,
//     because a corrupt upload is routine and must not flood the logs;
//   - every loader except those of the accepted formats is blocked.
func start() {
	startOnce.Do(func() {
		vips.LoggingSettings(logVips, vips.LogLevelWarning)
		vips.Startup(&vips.Config{
			ConcurrencyLevel: 1,
			MaxCacheFiles:    0,
			MaxCacheMem:      0,
			MaxCacheSize:     0,
		})
		C.block_loaders()
	})
}

func logVips(domain string, level vips.LogLevel, message string) {
	slog.Debug("libvips", "domain", domain, "level", int(level), "message", message)
}
