// Package imagingtest builds hostile images for tests: tiny files that claim
// to be huge, or that are cut short or are not images at all. They are made
// by code rather than stored, so the repository holds no large files and the
// intent of each byte is written down.
package imagingtest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
)

var pngSignature = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}

// Hostile returns named hostile inputs that an upload must refuse with a 4xx
// and without decoding pixels: headers declaring 65535×65535 in GIF, PNG,
// JPEG and WebP, a truncated JPEG, a zero-byte file, random bytes, a PDF and
// an SVG. validJPEG is a real JPEG used to build the truncated one.
func Hostile(validJPEG []byte) map[string][]byte {
	return map[string][]byte{
		"huge.gif":       HugeGIF(65535, 65535),
		"huge.png":       HugePNG(65535, 65535),
		"huge.jpg":       HugeJPEG(65535, 65535),
		"huge.webp":      HugeWebPCanvas(65535, 65535),
		"huge-vp8l.webp": HugeWebPLossless(16384, 16384),
		"truncated.jpg":  validJPEG[:len(validJPEG)*7/10],
		"empty.jpg":      {},
		"random.jpg":     Random(4096),
		"document.jpg":   []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"),
		"drawing.svg":    []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="65535" height="65535"><rect width="10" height="10"/></svg>`),
	}
}

// PNGChunk encodes one PNG chunk with its CRC.
func PNGChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// HugePNG declares width×height RGBA with a tiny, valid-looking IDAT.
func HugePNG(width, height uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], width)
	binary.BigEndian.PutUint32(ihdr[4:], height)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	out := append([]byte{}, pngSignature...)
	out = append(out, PNGChunk("IHDR", ihdr)...)
	out = append(out, PNGChunk("IDAT", []byte{0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01})...)
	return append(out, PNGChunk("IEND", nil)...)
}

// HugeJPEG is a real 16×16 JPEG whose SOF0 claims width×height.
func HugeJPEG(width, height uint16) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 16, 16)), nil); err != nil {
		panic(err) // encoding to memory cannot fail
	}
	out := b.Bytes()
	i := bytes.Index(out, []byte{0xFF, 0xC0})
	binary.BigEndian.PutUint16(out[i+5:], height)
	binary.BigEndian.PutUint16(out[i+7:], width)
	return out
}

// HugeGIF declares a width×height screen and one width×height frame.
func HugeGIF(width, height uint16) []byte {
	var b bytes.Buffer
	b.WriteString("GIF89a")
	_ = binary.Write(&b, binary.LittleEndian, width)
	_ = binary.Write(&b, binary.LittleEndian, height)
	b.Write([]byte{0x80, 0, 0})             // global colour table of 2 entries
	b.Write([]byte{0, 0, 0, 255, 255, 255}) // black, white
	b.WriteByte(0x2C)
	_ = binary.Write(&b, binary.LittleEndian, [2]uint16{0, 0})
	_ = binary.Write(&b, binary.LittleEndian, width)
	_ = binary.Write(&b, binary.LittleEndian, height)
	b.WriteByte(0)                       // no local colour table
	b.Write([]byte{2, 2, 0x4C, 0x01, 0}) // LZW: clear, 0, end
	b.WriteByte(0x3B)
	return b.Bytes()
}

// ManyFramesGIF is a 4×4 GIF with n frames.
func ManyFramesGIF(n int) []byte {
	anim := &gif.GIF{}
	for i := 0; i < n; i++ {
		frame := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White})
		frame.SetColorIndex(i%4, 0, 1)
		anim.Image = append(anim.Image, frame)
		anim.Delay = append(anim.Delay, 5)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, anim); err != nil {
		panic(err) // encoding to memory cannot fail
	}
	return b.Bytes()
}

// RIFF wraps chunks into a WebP RIFF container.
func RIFF(chunks ...[]byte) []byte {
	body := []byte("WEBP")
	for _, c := range chunks {
		body = append(body, c...)
	}
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...)
}

// RIFFChunk encodes one RIFF chunk, padded to an even length.
func RIFFChunk(fourcc string, data []byte) []byte {
	out := append([]byte(fourcc), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
	out = append(out, data...)
	if len(data)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

// VP8LHeader is a lossless bitstream header claiming width×height (at most
// 16384 a side, the VP8L maximum), followed by a few bytes of junk.
func VP8LHeader(width, height uint32) []byte {
	v := (width - 1) | (height-1)<<14
	data := []byte{0x2F}
	data = binary.LittleEndian.AppendUint32(data, v)
	return append(data, 0x00, 0x00, 0x00, 0x00)
}

// HugeWebPCanvas is an extended WebP whose VP8X canvas is width×height (at
// most 2^24 a side), holding a 1×1 lossless image.
func HugeWebPCanvas(width, height uint32) []byte {
	x := make([]byte, 10)
	w, h := width-1, height-1
	x[4], x[5], x[6] = byte(w), byte(w>>8), byte(w>>16)
	x[7], x[8], x[9] = byte(h), byte(h>>8), byte(h>>16)
	return RIFF(RIFFChunk("VP8X", x), RIFFChunk("VP8L", VP8LHeader(1, 1)))
}

// HugeWebPLossless is a simple-format WebP whose VP8L header claims
// width×height.
func HugeWebPLossless(width, height uint32) []byte {
	return RIFF(RIFFChunk("VP8L", VP8LHeader(width, height)))
}

// Random returns n deterministic pseudo-random bytes that start like no
// known format.
func Random(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	b[0] = 0x00
	return b
}
