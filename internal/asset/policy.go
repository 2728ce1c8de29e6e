package asset

// Policy is the effective per-path configuration for one asset path, after
// the path patterns of the configuration were matched and merged.
type Policy struct {
	// Bucket is the object-store bucket for entries at the path.
	Bucket string
	// AllowedContentTypes, when not empty, lists the only media types the
	// path accepts. A type that is not one of the image formats listed here
	// is stored as ClassFile. When empty, the path accepts the image formats.
	AllowedContentTypes []string
	// MaxUploadBytes bounds the upload body.
	MaxUploadBytes int64
	// LQIP lists the placeholder kinds computed for images at the path.
	LQIP []LQIPKind
}

// Policies resolves the Policy of a path. Implementation: config.
type Policies interface {
	// Resolve returns the merged policy for path. It never fails: the root
	// pattern supplies defaults for every field.
	Resolve(path Path) Policy
}
