package asset

import "time"

// Class says how an entry is treated: images get attributes, LQIP and
// variants; files are stored and served as they are.
type Class string

// The classes of entries.
const (
	ClassImage Class = "image"
	ClassFile  Class = "file"
)

// Source says where an entry's bytes came from.
type Source string

// The sources of entries.
const (
	SourceUpload Source = "upload"
	SourceURL    Source = "url"
)

// Format is an image format, detected from the bytes.
type Format string

// The image formats assetd stores and renders.
const (
	FormatJPEG Format = "jpg"
	FormatPNG  Format = "png"
	FormatWebP Format = "webp"
	FormatAVIF Format = "avif"
	FormatHEIC Format = "heic"
	FormatJXL  Format = "jxl"
	FormatGIF  Format = "gif"
)

var formatContentTypes = map[Format]string{
	FormatJPEG: "image/jpeg",
	FormatPNG:  "image/png",
	FormatWebP: "image/webp",
	FormatAVIF: "image/avif",
	FormatHEIC: "image/heic",
	FormatJXL:  "image/jxl",
	FormatGIF:  "image/gif",
}

// ContentType returns the media type of f, or "" for an unknown format.
func (f Format) ContentType() string { return formatContentTypes[f] }

// Extension returns the file extension of f with its dot, such as ".jpg".
func (f Format) Extension() string {
	if f == "" {
		return ""
	}
	return "." + string(f)
}

// LQIPKind names a low-quality image placeholder algorithm.
type LQIPKind string

// The placeholder kinds.
const (
	LQIPBlurhash  LQIPKind = "blurhash"
	LQIPThumbhash LQIPKind = "thumbhash"
)

// LQIP holds the placeholders of a variant; a kind that was not asked for is "".
type LQIP struct {
	Blurhash  string
	Thumbhash string
}

// Attributes describe a variant's bytes. For an animated image Height is the
// height of one page (frame).
type Attributes struct {
	Width       int
	Height      int
	Format      Format // "" for class file
	PageCount   int
	Loop        int
	Orientation int // EXIF orientation 1–8; 1 when absent
	Size        int64
	ContentType string
}

// Variant is one stored rendition of an entry: the original, or the original
// under one normalised transformation, identified by TransformKey.
type Variant struct {
	ID           int64
	IsOriginal   bool
	TransformKey string // "" for the original
	// Transformation is the normalised transformation of a rendition; nil
	// for the original.
	Transformation *Transformation
	Bucket         string
	Key            string
	Attributes     Attributes
	LQIP           LQIP
	CreatedAt      time.Time
}

// Asset is one entry at a path, with its variants (the original first).
type Asset struct {
	ID         int64 // the repository's row id; never shown to clients
	Class      Class
	Path       Path
	EntryID    int64
	Alt        string
	Labels     map[string]string
	Tags       []string
	Source     Source
	SourceURL  string
	Variants   []Variant
	CreatedAt  time.Time
	ModifiedAt time.Time
	ExpiresAt  *time.Time
}

// Original returns the original variant. Every stored asset has one.
func (a *Asset) Original() *Variant {
	for i := range a.Variants {
		if a.Variants[i].IsOriginal {
			return &a.Variants[i]
		}
	}
	return nil
}
