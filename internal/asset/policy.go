package asset

import "time"

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
	// DefaultExpires is the lifetime of entries stored without an expires
	// value; 0 means they never expire.
	DefaultExpires time.Duration
	// CacheControl is the Cache-Control header of successful content
	// responses, or "" for none.
	CacheControl string
	// Redirect says how the redirect format answers.
	Redirect RedirectPolicy
	// OutputLimits bound rendered variants after dpr and padding; 0 is no
	// limit. They never refuse serving the original.
	OutputLimits OutputLimits
	// Preprocessing, when not nil, is applied to originals before they are
	// stored (downscale only).
	Preprocessing TransformParams
	// EagerVariants names the profiles rendered after each upload.
	EagerVariants []string
}

// OutputLimits bound the size of rendered variants.
type OutputLimits struct{ MaxWidth, MaxHeight int }

// The redirect strategies.
const (
	RedirectNone      = "none"      // answer like content
	RedirectPresigned = "presigned" // 307 to a presigned object-store URL
	RedirectTemplate  = "template"  // 307 to Template with {bucket} and {key}
)

// RedirectPolicy is the redirect configuration of a path.
type RedirectPolicy struct {
	Strategy string
	TTL      time.Duration // lifetime of presigned URLs
	Template string        // an http(s) URL with {bucket} and {key}
}

// Policies resolves the Policy of a path. Implementation: config.
type Policies interface {
	// Resolve returns the merged policy for path. It never fails: the root
	// pattern supplies defaults for every field.
	Resolve(path Path) Policy
	// Profile returns the parameters of a named profile.
	Profile(name string) (TransformParams, bool)
}
