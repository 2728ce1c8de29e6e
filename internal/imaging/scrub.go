package imaging

import (
	"bytes"
	"encoding/binary"

	"assetd/internal/asset"
)

// libvips 8.14's JPEG, WebP and HEIF savers write an EXIF block even when
// the image has no EXIF at all: they make one up from the resolution and
// the size. Their "strip" option would prevent that but drops the ICC
// profile as well. So the encoded bytes are scrubbed instead: EXIF and XMP
// blocks are removed (JPEG, WebP) or disabled (HEIF), and everything else,
// the colour profile included, is left as it is.

// scrub returns a copy of data, encoded as f, without EXIF and XMP, or nil
// when data is not what the saver is expected to produce. data may be
// memory that libvips owns: the result never aliases it.
func scrub(f asset.Format, data []byte) []byte {
	switch f {
	case asset.FormatJPEG:
		return scrubJPEG(data)
	case asset.FormatWebP:
		return scrubWebP(data)
	case asset.FormatAVIF, asset.FormatHEIC:
		return scrubHEIF(data)
	}
	return bytes.Clone(data)
}

var (
	exifPrefix = []byte("Exif\x00\x00")
	xmpPrefix  = []byte("http://ns.adobe.com/xap/1.0/\x00")
)

// scrubJPEG drops the APP1 segments with EXIF or XMP and APP13 (IPTC)
// before the first scan.
func scrubJPEG(data []byte) []byte {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil
	}
	out := make([]byte, 0, len(data))
	out = append(out, data[:2]...)
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			return nil
		}
		marker := data[i+1]
		if marker == 0xDA { // start of scan: the rest is image data
			break
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		end := i + 2 + n
		if n < 2 || end > len(data) {
			return nil
		}
		payload := data[i+4 : end]
		drop := marker == 0xED ||
			marker == 0xE1 && (bytes.HasPrefix(payload, exifPrefix) || bytes.HasPrefix(payload, xmpPrefix))
		if !drop {
			out = append(out, data[i:end]...)
		}
		i = end
	}
	return append(out, data[i:]...)
}

// scrubWebP drops the EXIF and XMP chunks and clears their VP8X flags.
func scrubWebP(data []byte) []byte {
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
		return nil
	}
	out := make([]byte, 12, len(data))
	copy(out, data[:12])
	for i := 12; i < len(data); {
		if i+8 > len(data) {
			return nil
		}
		id := string(data[i : i+4])
		n := int(binary.LittleEndian.Uint32(data[i+4:]))
		end := i + 8 + n + n%2
		if n < 0 || end > len(data) {
			return nil
		}
		switch id {
		case "EXIF", "XMP ":
		case "VP8X":
			start := len(out)
			out = append(out, data[i:end]...)
			if n >= 1 {
				out[start+8] &^= 0x08 | 0x04 // EXIF and XMP present
			}
		default:
			out = append(out, data[i:end]...)
		}
		i = end
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}

// scrubHEIF disables the Exif and XMP items of a HEIF file in place of a
// copy: their item type becomes "skip", which readers ignore, and their
// data in the file is zeroed. Removing the items would mean rewriting
// every box that refers to them, for no gain to a reader.
func scrubHEIF(data []byte) []byte {
	meta := findBox(data, "meta")
	if meta == nil || len(meta) < 4 {
		return nil
	}
	children := meta[4:] // after version and flags
	iinf, iloc := findBox(children, "iinf"), findBox(children, "iloc")
	if iinf == nil || iloc == nil {
		return nil
	}
	ids := map[uint32][]byte{} // item → its item_type field in data
	entries := iinf[4:]
	if iinf[0] == 0 {
		entries = entries[2:]
	} else {
		entries = entries[4:]
	}
	forEachBox(entries, func(typ string, body []byte) {
		if typ != "infe" || len(body) < 4 || body[0] < 2 {
			return
		}
		var id uint32
		var rest []byte
		if body[0] == 2 && len(body) >= 12 {
			id, rest = uint32(binary.BigEndian.Uint16(body[4:])), body[8:]
		} else if body[0] == 3 && len(body) >= 14 {
			id, rest = binary.BigEndian.Uint32(body[4:]), body[10:]
		} else {
			return
		}
		itemType := rest[:4]
		switch {
		case string(itemType) == "Exif":
			ids[id] = itemType
		case string(itemType) == "mime" && bytes.Contains(rest[4:], []byte("application/rdf+xml")):
			ids[id] = itemType
		}
	})
	out := bytes.Clone(data)
	base := func(b []byte) int { return cap(data) - cap(b) } // offset of b, a subslice of data
	for id, itemType := range ids {
		copy(out[base(itemType):], "skip")
		for _, ext := range itemExtents(iloc, id) {
			if ext[0] < 0 || ext[1] < 0 || ext[0]+ext[1] > len(out) {
				return nil
			}
			clear(out[ext[0] : ext[0]+ext[1]])
		}
	}
	return out
}

// findBox returns the body of the first box of type typ in b, which must
// be a sequence of boxes; the body is a subslice of b.
func findBox(b []byte, typ string) []byte {
	var found []byte
	forEachBox(b, func(t string, body []byte) {
		if found == nil && t == typ {
			found = body
		}
	})
	return found
}

func forEachBox(b []byte, fn func(typ string, body []byte)) {
	for len(b) >= 8 {
		size := uint64(binary.BigEndian.Uint32(b))
		header := uint64(8)
		switch size {
		case 0:
			size = uint64(len(b))
		case 1:
			if len(b) < 16 {
				return
			}
			size, header = binary.BigEndian.Uint64(b[8:]), 16
		}
		if size < header || size > uint64(len(b)) {
			return
		}
		fn(string(b[4:8]), b[header:size])
		b = b[size:]
	}
}

// itemExtents reads the file extents (offset, length) of item id from the
// body of an iloc box; items stored elsewhere have none.
func itemExtents(iloc []byte, id uint32) [][2]int {
	if len(iloc) < 8 {
		return nil
	}
	version := iloc[0]
	r := reader{b: iloc[4:]}
	sizes := r.uint(2)
	offsetSize, lengthSize := int(sizes>>12&0xF), int(sizes>>8&0xF)
	baseSize, indexSize := int(sizes>>4&0xF), 0
	if version == 1 || version == 2 {
		indexSize = int(sizes & 0xF)
	}
	idSize := 2
	if version == 2 {
		idSize = 4
	}
	count := int(r.uint(idSize))
	var out [][2]int
	for range count {
		itemID := uint32(r.uint(idSize))
		method := uint64(0)
		if version == 1 || version == 2 {
			method = r.uint(2) & 0xF
		}
		r.uint(2) // data_reference_index
		base := r.uint(baseSize)
		extents := int(r.uint(2))
		for range extents {
			if indexSize > 0 {
				r.uint(indexSize)
			}
			off, n := r.uint(offsetSize), r.uint(lengthSize)
			if itemID == id && method == 0 {
				out = append(out, [2]int{int(base + off), int(n)})
			}
		}
		if r.bad {
			return nil
		}
	}
	return out
}

// reader reads big-endian unsigned integers of 0 to 8 bytes.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) uint(n int) uint64 {
	if n > len(r.b) || n > 8 {
		r.bad = true
		return 0
	}
	var v uint64
	for _, c := range r.b[:n] {
		v = v<<8 | uint64(c)
	}
	r.b = r.b[n:]
	return v
}
