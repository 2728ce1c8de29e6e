package imaging

import (
	"bytes"
	"encoding/binary"

	"assetd/internal/asset"
)

// SniffLen is how many leading bytes Sniff needs to recognise every format;
// fewer work when the file is shorter.
const SniffLen = 512

var (
	magicJPEG     = []byte{0xFF, 0xD8, 0xFF}
	magicPNG      = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}
	magicGIF87    = []byte("GIF87a")
	magicGIF89    = []byte("GIF89a")
	magicJXLCode  = []byte{0xFF, 0x0A}
	magicJXLBox   = []byte{0, 0, 0, 0x0C, 'J', 'X', 'L', ' ', '\r', '\n', 0x87, '\n'}
	magicRIFF     = []byte("RIFF")
	magicWEBP     = []byte("WEBP")
	magicFTYP     = []byte("ftyp")
	brandsAVIF    = []string{"avif", "avis"}
	brandsHEIC    = []string{"heic", "heix", "hevc", "hevx", "heim", "heis"}
	brandsGeneric = []string{"mif1", "msf1"}
)

// Sniff identifies one of the accepted image formats from the first bytes of
// a file (up to SniffLen; pass what there is). It is the allow-list in front of
// libvips: content for which it reports false must never reach libvips, even
// when libvips could read it (PDF, SVG, TIFF, BMP, ICO, PSD, …).
//
// ISO-BMFF files are classified by their ftyp brands: any AVIF brand makes
// AVIF; otherwise a HEVC brand, or the generic HEIF brands mif1/msf1, make
// HEIC.
func Sniff(head []byte) (asset.Format, bool) {
	switch {
	case bytes.HasPrefix(head, magicJPEG):
		return asset.FormatJPEG, true
	case bytes.HasPrefix(head, magicPNG):
		return asset.FormatPNG, true
	case bytes.HasPrefix(head, magicGIF87), bytes.HasPrefix(head, magicGIF89):
		return asset.FormatGIF, true
	case len(head) >= 12 && bytes.Equal(head[:4], magicRIFF) && bytes.Equal(head[8:12], magicWEBP):
		return asset.FormatWebP, true
	case bytes.HasPrefix(head, magicJXLCode), bytes.HasPrefix(head, magicJXLBox):
		return asset.FormatJXL, true
	case len(head) >= 12 && bytes.Equal(head[4:8], magicFTYP):
		return sniffFtyp(head)
	}
	return "", false
}

// sniffFtyp reads the brands of the ftyp box that starts head.
func sniffFtyp(head []byte) (asset.Format, bool) {
	size := int(binary.BigEndian.Uint32(head[:4]))
	// A box shorter than its header plus the major brand and minor version is
	// malformed; size 0 ("to the end of file") and 1 (64-bit size) are not
	// valid for ftyp either.
	if size < 16 {
		return "", false
	}
	size = min(size, len(head))
	brands := []string{string(head[8:12])}
	for i := 16; i+4 <= size; i += 4 {
		brands = append(brands, string(head[i:i+4]))
	}
	switch {
	case hasAny(brands, brandsAVIF):
		return asset.FormatAVIF, true
	case hasAny(brands, brandsHEIC), hasAny(brands, brandsGeneric):
		return asset.FormatHEIC, true
	}
	return "", false
}

func hasAny(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}
