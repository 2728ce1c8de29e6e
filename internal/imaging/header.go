package imaging

import (
	"bufio"
	"encoding/binary"
	"io"

	"assetd/internal/asset"
)

// checkHeader applies the limits to what the header of a JPEG, PNG, GIF or
// WebP declares, read by this package rather than by libvips, so that a
// hostile header is refused before any library parses it, and without
// trusting that a library's header read allocates nothing. A header this
// parser cannot make sense of passes: libvips reads it next, and its own
// numbers are checked again before any pixel is decoded.
func (p *Processor) checkHeader(format asset.Format, head []byte, r io.ReaderAt) error {
	var d dims
	var ok bool
	switch format {
	case asset.FormatPNG:
		d, ok = pngDims(head)
	case asset.FormatJPEG:
		d, ok = jpegDims(r)
	case asset.FormatGIF:
		d, ok = gifDims(r, p.cfg.MaxFrames)
	case asset.FormatWebP:
		d, ok = webpDims(r, p.cfg.MaxFrames)
	}
	if !ok {
		return nil
	}
	if err := p.overLimits(d.width, d.height, d.frames); err != nil {
		return err
	}
	if d.truncated {
		return asset.Errorf(asset.CodeUnprocessable, "The image data is corrupt or truncated.")
	}
	return nil
}

// dims is what a header declares: the canvas size and the frame count, and
// whether the file ends inside a block.
type dims struct {
	width, height, frames int
	truncated             bool
}

// pngDims reads IHDR, which the PNG specification puts first. Animated PNG
// is read as its first frame by libvips, so frames is 1.
func pngDims(head []byte) (dims, bool) {
	if len(head) < 24 || string(head[12:16]) != "IHDR" {
		return dims{}, false
	}
	w := binary.BigEndian.Uint32(head[16:20])
	h := binary.BigEndian.Uint32(head[20:24])
	return dims{width: int(w), height: int(h), frames: 1}, true
}

// jpegDims walks the marker segments up to the first SOFn.
func jpegDims(r io.ReaderAt) (dims, bool) {
	br := bufio.NewReader(io.NewSectionReader(r, 2, 1<<62))
	for {
		b, err := br.ReadByte()
		if err != nil || b != 0xFF {
			return dims{}, false
		}
		m, err := br.ReadByte()
		for err == nil && m == 0xFF { // fill bytes
			m, err = br.ReadByte()
		}
		if err != nil {
			return dims{}, false
		}
		switch {
		case m == 0x01 || 0xD0 <= m && m <= 0xD7: // standalone markers
			continue
		case m == 0xD9 || m == 0xDA: // EOI or SOS before any SOF
			return dims{}, false
		}
		var seg [2]byte
		if _, err := io.ReadFull(br, seg[:]); err != nil {
			return dims{}, false
		}
		n := int(binary.BigEndian.Uint16(seg[:]))
		if n < 2 {
			return dims{}, false
		}
		if 0xC0 <= m && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC {
			var sof [5]byte // precision, height, width
			if _, err := io.ReadFull(br, sof[:]); err != nil {
				return dims{}, false
			}
			h := binary.BigEndian.Uint16(sof[1:3])
			w := binary.BigEndian.Uint16(sof[3:5])
			return dims{width: int(w), height: int(h), frames: 1}, true
		}
		if _, err := br.Discard(n - 2); err != nil {
			return dims{}, false
		}
	}
}

// gifDims reads the logical screen and walks the blocks, counting image
// descriptors and growing the canvas to frames that stick out of the screen
// (as libnsgif does). It stops counting past maxFrames.
//
// It also reports a file that ends inside a block: libvips 8.14 silently
// drops an incomplete last frame even with fail-on-error, so truncation is
// caught here. A file that ends cleanly without the trailer byte is
// accepted, as browsers do, since no pixel data is missing.
func gifDims(r io.ReaderAt, maxFrames int) (dims, bool) {
	br := bufio.NewReader(io.NewSectionReader(r, 0, 1<<62))
	var hdr [13]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return dims{}, false
	}
	d := dims{
		width:  int(binary.LittleEndian.Uint16(hdr[6:8])),
		height: int(binary.LittleEndian.Uint16(hdr[8:10])),
	}
	if hdr[10]&0x80 != 0 {
		if _, err := br.Discard(3 << (hdr[10]&7 + 1)); err != nil {
			d.truncated = true
			return d, true
		}
	}
	skipBlocks := func() error {
		for {
			n, err := br.ReadByte()
			if err != nil || n == 0 {
				return err
			}
			if _, err := br.Discard(int(n)); err != nil {
				return err
			}
		}
	}
	cut := func() (dims, bool) {
		d.truncated = true
		return d, true
	}
	// A malformed block stream ends the walk with what was counted so far;
	// the decoder judges the rest.
	for d.frames <= maxFrames {
		b, err := br.ReadByte()
		if err != nil {
			return d, true // no trailer, but nothing missing
		}
		switch b {
		case 0x21: // extension: label, then sub-blocks
			if _, err := br.ReadByte(); err != nil {
				return cut()
			}
			if skipBlocks() != nil {
				return cut()
			}
		case 0x2C: // image descriptor
			var desc [9]byte
			if _, err := io.ReadFull(br, desc[:]); err != nil {
				return cut()
			}
			d.frames++
			left := int(binary.LittleEndian.Uint16(desc[0:2]))
			top := int(binary.LittleEndian.Uint16(desc[2:4]))
			d.width = max(d.width, left+int(binary.LittleEndian.Uint16(desc[4:6])))
			d.height = max(d.height, top+int(binary.LittleEndian.Uint16(desc[6:8])))
			if desc[8]&0x80 != 0 {
				if _, err := br.Discard(3 << (desc[8]&7 + 1)); err != nil {
					return cut()
				}
			}
			if _, err := br.ReadByte(); err != nil { // LZW minimum code size
				return cut()
			}
			if skipBlocks() != nil {
				return cut()
			}
		default: // 0x3B trailer, or garbage
			return d, true
		}
	}
	return d, true
}

// webpDims reads the first chunk (VP8, VP8L or VP8X) and, for an animated
// VP8X file, counts the ANMF chunks, stopping past maxFrames.
func webpDims(r io.ReaderAt, maxFrames int) (dims, bool) {
	var b [30]byte
	if n, _ := r.ReadAt(b[:], 0); n < 30 {
		return dims{}, false
	}
	switch string(b[12:16]) {
	case "VP8 ": // key frame: tag (3), start code (3), 14-bit sizes
		if b[23] != 0x9D || b[24] != 0x01 || b[25] != 0x2A {
			return dims{}, false
		}
		w := binary.LittleEndian.Uint16(b[26:28]) & 0x3FFF
		h := binary.LittleEndian.Uint16(b[28:30]) & 0x3FFF
		return dims{width: int(w), height: int(h), frames: 1}, true
	case "VP8L": // signature, then 14-bit width-1 and height-1
		if b[20] != 0x2F {
			return dims{}, false
		}
		v := binary.LittleEndian.Uint32(b[21:25])
		return dims{width: int(v&0x3FFF) + 1, height: int(v>>14&0x3FFF) + 1, frames: 1}, true
	case "VP8X": // flags, reserved, 24-bit canvas width-1 and height-1
		d := dims{
			width:  int(uint32(b[24])|uint32(b[25])<<8|uint32(b[26])<<16) + 1,
			height: int(uint32(b[27])|uint32(b[28])<<8|uint32(b[29])<<16) + 1,
			frames: 1,
		}
		if b[20]&0x02 != 0 { // animation
			d.frames = countANMF(r, maxFrames)
		}
		return d, true
	}
	return dims{}, false
}

// countANMF walks the RIFF chunks after the VP8X chunk.
func countANMF(r io.ReaderAt, maxFrames int) int {
	frames := 0
	off := int64(12)
	for frames <= maxFrames {
		var ch [8]byte
		if n, _ := r.ReadAt(ch[:], off); n < 8 {
			break
		}
		if string(ch[:4]) == "ANMF" {
			frames++
		}
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		off += 8 + size + size&1
	}
	return frames
}
