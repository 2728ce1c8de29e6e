package config

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"assetd/internal/asset"
)

// PathRule is the settings one path pattern sets, as written in the file.
// Every field is optional: nil means "inherit from the less specific
// patterns", so that an explicit zero, false or empty list still overrides.
// Nested objects merge key by key; lists replace.
type PathRule struct {
	Bucket              *string            `yaml:"bucket,omitempty"`
	AllowedContentTypes []string           `yaml:"allowed-content-types,omitempty"`
	MaxUploadBytes      *Size              `yaml:"max-upload-bytes,omitempty"`
	LQIP                []asset.LQIPKind   `yaml:"lqip,omitempty"`
	Preprocessing       *PreprocessingRule `yaml:"preprocessing,omitempty"`
	EagerVariants       []string           `yaml:"eager-variants,omitempty"`
	OutputLimits        *OutputLimitsRule  `yaml:"output-limits,omitempty"`
	CacheControl        *CacheControlRule  `yaml:"cache-control,omitempty"`
	Redirect            *RedirectRule      `yaml:"redirect,omitempty"`
	DefaultExpires      *Expiry            `yaml:"default-expires,omitempty"`
}

// PreprocessingRule is the preprocessing block of a PathRule.
type PreprocessingRule struct {
	MaxWidth  *int    `yaml:"max-width,omitempty"`
	MaxHeight *int    `yaml:"max-height,omitempty"`
	Format    *string `yaml:"format,omitempty"`
}

// OutputLimitsRule is the output-limits block of a PathRule.
type OutputLimitsRule struct {
	MaxWidth  *int `yaml:"max-width,omitempty"`
	MaxHeight *int `yaml:"max-height,omitempty"`
}

// CacheControlRule is the cache-control block of a PathRule. Its ages are
// Durations, so both 31536000 (seconds) and 365d work.
type CacheControlRule struct {
	Enabled              *bool     `yaml:"enabled,omitempty"`
	MaxAge               *Duration `yaml:"max-age,omitempty"`
	SMaxAge              *Duration `yaml:"s-maxage,omitempty"`
	Visibility           *string   `yaml:"visibility,omitempty"`
	Revalidate           *string   `yaml:"revalidate,omitempty"`
	StaleWhileRevalidate *Duration `yaml:"stale-while-revalidate,omitempty"`
	StaleIfError         *Duration `yaml:"stale-if-error,omitempty"`
	Immutable            *bool     `yaml:"immutable,omitempty"`
}

// RedirectRule is the redirect block of a PathRule.
type RedirectRule struct {
	Strategy *string   `yaml:"strategy,omitempty"`
	TTL      *Duration `yaml:"ttl,omitempty"`
	Template *string   `yaml:"template,omitempty"`
}

// The redirect strategies.
const (
	RedirectNone      = "none"
	RedirectPresigned = "presigned"
	RedirectTemplate  = "template"
)

// DefaultRedirectTTL is the lifetime of presigned redirect URLs when no
// pattern sets redirect.ttl.
const DefaultRedirectTTL = Duration(time.Hour)

// PathSettings is the effective configuration of one asset path: every
// matching pattern's PathRule merged, from the least specific to the most,
// over the defaults. Every field is filled in.
type PathSettings struct {
	Bucket string // DefaultBucket when no pattern sets one
	// AllowedContentTypes, when not empty, lists the only accepted types.
	AllowedContentTypes []string
	// MaxUploadBytes is the path's limit, else source.max-upload-bytes.
	MaxUploadBytes Size
	LQIP           []asset.LQIPKind
	Preprocessing  Preprocessing
	EagerVariants  []string // profile names rendered at upload
	OutputLimits   OutputLimits
	CacheControl   CacheControl
	Redirect       Redirect
	// DefaultExpires applies to uploads that do not say when they expire.
	DefaultExpires Expiry
}

// Preprocessing changes originals before they are stored. Zero fields change
// nothing.
type Preprocessing struct {
	MaxWidth  int
	MaxHeight int
	Format    asset.Format // "" keeps the format; "jpeg" is read as jpg
}

// OutputLimits bound rendered variants after dpr and padding; 0 is no limit.
type OutputLimits struct {
	MaxWidth  int
	MaxHeight int
}

// CacheControl is the effective Cache-Control of a path. A nil age is not
// sent.
type CacheControl struct {
	Enabled              bool
	MaxAge               *Duration
	SMaxAge              *Duration
	Visibility           string // "", public or private
	Revalidate           string // "", must-revalidate, proxy-revalidate or no-cache
	StaleWhileRevalidate *Duration
	StaleIfError         *Duration
	Immutable            bool
}

// Header returns the Cache-Control header value, or "" when c is disabled or
// says nothing. Ages are whole seconds.
func (c CacheControl) Header() string {
	if !c.Enabled {
		return ""
	}
	var parts []string
	age := func(name string, d *Duration) {
		if d != nil {
			parts = append(parts, name+"="+strconv.FormatInt(int64(d.Std()/time.Second), 10))
		}
	}
	if c.Visibility != "" {
		parts = append(parts, c.Visibility)
	}
	age("max-age", c.MaxAge)
	age("s-maxage", c.SMaxAge)
	if c.Revalidate != "" {
		parts = append(parts, c.Revalidate)
	}
	age("stale-while-revalidate", c.StaleWhileRevalidate)
	age("stale-if-error", c.StaleIfError)
	if c.Immutable {
		parts = append(parts, "immutable")
	}
	return strings.Join(parts, ", ")
}

// Redirect says how the redirect route answers.
type Redirect struct {
	Strategy string   // RedirectNone, RedirectPresigned or RedirectTemplate
	TTL      Duration // lifetime of presigned URLs
	// Template is an http(s) URL with {bucket} and {key} placeholders, for
	// RedirectTemplate.
	Template string
}

// PathSettings returns the merged settings of an asset path, given with or
// without its leading slash. Matching is case-insensitive. A path that no
// pattern matches gets the defaults.
func (c *Config) PathSettings(path string) PathSettings {
	m := c.matcher
	if m == nil {
		m = compile(c.Paths)
	}
	s := PathSettings{
		Bucket:         DefaultBucket,
		MaxUploadBytes: c.Source.MaxUploadBytes,
		Redirect:       Redirect{Strategy: RedirectNone, TTL: DefaultRedirectTTL},
	}
	for _, p := range m.match(splitPath(path)) {
		s.apply(p.rule)
	}
	return s
}

// Resolve implements asset.Policies with the PathSettings of path. It never
// fails.
func (c *Config) Resolve(path asset.Path) asset.Policy {
	s := c.PathSettings(string(path))
	return asset.Policy{
		Bucket:              s.Bucket,
		AllowedContentTypes: s.AllowedContentTypes,
		MaxUploadBytes:      int64(s.MaxUploadBytes),
		LQIP:                s.LQIP,
		DefaultExpires:      s.DefaultExpires.Std(),
		CacheControl:        s.CacheControl.Header(),
		Redirect: asset.RedirectPolicy{
			Strategy: s.Redirect.Strategy, TTL: s.Redirect.TTL.Std(), Template: s.Redirect.Template,
		},
		OutputLimits:  asset.OutputLimits{MaxWidth: s.OutputLimits.MaxWidth, MaxHeight: s.OutputLimits.MaxHeight},
		Preprocessing: s.Preprocessing.params(),
		EagerVariants: s.EagerVariants,
	}
}

// params expresses preprocessing as transformation parameters: a fit into
// the maximum box (which never enlarges) and a format; nil when p changes
// nothing.
func (p Preprocessing) params() asset.TransformParams {
	out := asset.TransformParams{}
	if p.MaxWidth > 0 {
		out["w"] = strconv.Itoa(p.MaxWidth)
	}
	if p.MaxHeight > 0 {
		out["h"] = strconv.Itoa(p.MaxHeight)
	}
	if p.Format != "" {
		out["format"] = string(p.Format)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Buckets lists every bucket that a path pattern names, and DefaultBucket,
// sorted and without duplicates.
func (c *Config) Buckets() []string {
	out := []string{DefaultBucket}
	for _, rule := range c.Paths {
		if rule.Bucket != nil {
			out = append(out, *rule.Bucket)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var _ asset.Policies = (*Config)(nil)

// apply merges r over s. Lists are cloned so that callers cannot change the
// configuration through the result.
func (s *PathSettings) apply(r PathRule) {
	setIf(&s.Bucket, r.Bucket)
	if r.AllowedContentTypes != nil {
		s.AllowedContentTypes = slices.Clone(r.AllowedContentTypes)
	}
	setIf(&s.MaxUploadBytes, r.MaxUploadBytes)
	if r.LQIP != nil {
		s.LQIP = slices.Clone(r.LQIP)
	}
	if p := r.Preprocessing; p != nil {
		setIf(&s.Preprocessing.MaxWidth, p.MaxWidth)
		setIf(&s.Preprocessing.MaxHeight, p.MaxHeight)
		if p.Format != nil {
			s.Preprocessing.Format = normalFormat(*p.Format)
		}
	}
	if r.EagerVariants != nil {
		s.EagerVariants = slices.Clone(r.EagerVariants)
	}
	if o := r.OutputLimits; o != nil {
		setIf(&s.OutputLimits.MaxWidth, o.MaxWidth)
		setIf(&s.OutputLimits.MaxHeight, o.MaxHeight)
	}
	if cc := r.CacheControl; cc != nil {
		// The block's presence switches caching on, unless it says otherwise.
		s.CacheControl.Enabled = cc.Enabled == nil || *cc.Enabled
		setPtrIf(&s.CacheControl.MaxAge, cc.MaxAge)
		setPtrIf(&s.CacheControl.SMaxAge, cc.SMaxAge)
		setIf(&s.CacheControl.Visibility, cc.Visibility)
		setIf(&s.CacheControl.Revalidate, cc.Revalidate)
		setPtrIf(&s.CacheControl.StaleWhileRevalidate, cc.StaleWhileRevalidate)
		setPtrIf(&s.CacheControl.StaleIfError, cc.StaleIfError)
		setIf(&s.CacheControl.Immutable, cc.Immutable)
	}
	if rd := r.Redirect; rd != nil {
		setIf(&s.Redirect.Strategy, rd.Strategy)
		setIf(&s.Redirect.TTL, rd.TTL)
		setIf(&s.Redirect.Template, rd.Template)
	}
	setIf(&s.DefaultExpires, r.DefaultExpires)
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func setPtrIf[T any](dst **T, src *T) {
	if src != nil {
		v := *src
		*dst = &v
	}
}

func normalFormat(f string) asset.Format {
	if f == "jpeg" {
		return asset.FormatJPEG
	}
	return asset.Format(f)
}

// splitPath turns "users/42/avatar" or "/users/42/avatar" into lower-case
// segments; "" and "/" have none.
func splitPath(path string) []string {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil
	}
	return strings.Split(strings.ToLower(path), "/")
}

// MarshalYAML writes r with its omitempty tags, but keeps lists that are
// set and empty: "lqip: []" overrides a parent's list, so dropping it would
// change what the rule means.
func (r PathRule) MarshalYAML() (any, error) {
	type plain PathRule // without this method, so Encode does not recurse
	n := &yaml.Node{}
	if err := n.Encode(plain(r)); err != nil {
		return nil, err
	}
	v := reflect.ValueOf(r)
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() == reflect.Slice && !f.IsNil() && f.Len() == 0 {
			tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
			n.Content = append(n.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Value: tag},
				&yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle})
		}
	}
	return n, nil
}

// Profile implements asset.Policies: the parameters of a named profile.
func (c *Config) Profile(name string) (asset.TransformParams, bool) {
	p, ok := c.Profiles[name]
	if !ok {
		return nil, false
	}
	return p.Params(), true
}
