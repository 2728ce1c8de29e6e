package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"assetd/internal/asset"
)

var (
	bucketPattern      = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	contentTypePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$`)
	domainPattern      = regexp.MustCompile(`^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$`)
)

// maxPresignTTL is the longest lifetime S3 accepts for a presigned URL.
const maxPresignTTL = 7 * 24 * time.Hour

var (
	imageFormats     = []string{"jpg", "jpeg", "png", "webp", "avif", "heic", "jxl", "gif"}
	lqipKinds        = []asset.LQIPKind{asset.LQIPBlurhash, asset.LQIPThumbhash}
	visibilityValues = []string{"public", "private"}
	revalidateValues = []string{"must-revalidate", "proxy-revalidate", "no-cache"}
	strategyValues   = []string{RedirectNone, RedirectPresigned, RedirectTemplate}
)

// Validate checks c and returns nil, or one error that lists every problem,
// one per line, each starting with its key, such as
// "database.driver: must be sqlite or postgres".
func (c *Config) Validate() error {
	v := &problems{}
	c.validateServer(v)
	c.validateStores(v)
	c.validateImaging(v)
	c.validateSource(v)
	if !slices.Contains([]string{HMACSHA256, HMACSHA384, HMACSHA512}, c.URLSigning.Algorithm) {
		v.addf("url-signing.algorithm", "must be %s, %s or %s, not %q", HMACSHA256, HMACSHA384, HMACSHA512, c.URLSigning.Algorithm)
	}
	if c.URLSigning.Enabled && c.URLSigning.Secret == "" {
		v.addf("url-signing.secret", "must be set when url-signing is enabled")
	}
	for _, name := range sortedKeys(c.Profiles) {
		key := "profiles." + keyPart(name)
		if !profileNamePattern.MatchString(name) {
			v.addf(key, "a profile name must be 1–64 of A-Z a-z 0-9 . _ ~ -")
		}
		v.list = append(v.list, c.Profiles[name].problems(key)...)
	}
	c.validatePaths(v)
	return v.err()
}

// problems collects messages in the order they are found.
type problems struct{ list []string }

func (p *problems) addf(key, format string, args ...any) {
	p.list = append(p.list, key+": "+fmt.Sprintf(format, args...))
}

func (p *problems) err() error {
	errs := make([]error, len(p.list))
	for i, s := range p.list {
		errs[i] = errors.New(s)
	}
	return errors.Join(errs...)
}

func (c *Config) validateServer(v *problems) {
	s := c.Server
	// An empty host (":8080") means every interface, which is allowed.
	if _, port, err := net.SplitHostPort(s.Listen); err != nil {
		v.addf("server.listen", "must be host:port, such as 127.0.0.1:8080, not %q", s.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.addf("server.listen", "port %q must be 0–65535", port)
	}
	if u, err := url.Parse(s.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		v.addf("server.public-url", "must be an http or https URL without query, such as http://localhost:8080, not %q", s.PublicURL)
	} else if strings.HasSuffix(s.PublicURL, "/") {
		v.addf("server.public-url", "must not end with /, because paths are appended to it")
	}
	positive := func(key string, d Duration) {
		if d <= 0 {
			v.addf(key, "must be > 0, not %s", d)
		}
	}
	notNegative := func(key string, d Duration) {
		if d < 0 {
			v.addf(key, "must be ≥ 0 (0 is no limit), not %s", d)
		}
	}
	positive("server.read-header-timeout", s.ReadHeaderTimeout)
	notNegative("server.read-timeout", s.ReadTimeout)
	notNegative("server.write-timeout", s.WriteTimeout)
	notNegative("server.idle-timeout", s.IdleTimeout)
	positive("server.shutdown-timeout", s.ShutdownTimeout)
	if s.MaxHeaderBytes <= 0 || s.MaxHeaderBytes > 1<<30 {
		v.addf("server.max-header-bytes", "must be 1B–1GiB, not %s", s.MaxHeaderBytes)
	}
}

func (c *Config) validateStores(v *problems) {
	switch c.Database.Driver {
	case DriverSQLite, DriverPostgres:
	default:
		v.addf("database.driver", "must be %s or %s, not %q", DriverSQLite, DriverPostgres, c.Database.Driver)
	}
	if c.Database.DSN == "" {
		v.addf("database.dsn", "must be set")
	}
	o := c.Objects
	switch o.Backend {
	case BackendFilesystem:
		if o.Filesystem.Root == "" {
			v.addf("objects.filesystem.root", "must be set when the backend is filesystem")
		}
	case BackendS3:
		if o.S3.Endpoint == "" {
			v.addf("objects.s3.endpoint", "must be set when the backend is s3")
		} else if strings.Contains(o.S3.Endpoint, "://") || strings.Contains(o.S3.Endpoint, "/") {
			v.addf("objects.s3.endpoint", "must be host[:port] without scheme or path (use secure for https), not %q", o.S3.Endpoint)
		}
		for _, f := range []struct{ key, val string }{
			{"access-key", o.S3.AccessKey}, {"secret-key", o.S3.SecretKey}, {"region", o.S3.Region},
		} {
			if f.val == "" {
				v.addf("objects.s3."+f.key, "must be set when the backend is s3")
			}
		}
	default:
		v.addf("objects.backend", "must be %s or %s, not %q", BackendFilesystem, BackendS3, o.Backend)
	}
}

func (c *Config) validateImaging(v *problems) {
	im := c.Imaging
	if im.Workers < 0 {
		v.addf("imaging.workers", "must be ≥ 0 (0 is the number of CPUs), not %d", im.Workers)
	}
	if im.MaxPixels <= 0 {
		v.addf("imaging.max-pixels", "must be > 0, not %d", im.MaxPixels)
	}
	if im.MaxSide <= 0 {
		v.addf("imaging.max-side", "must be > 0, not %d", im.MaxSide)
	}
	if im.MaxFrames <= 0 {
		v.addf("imaging.max-frames", "must be > 0, not %d", im.MaxFrames)
	}
}

func (c *Config) validateSource(v *problems) {
	s := c.Source
	if s.MaxUploadBytes <= 0 {
		v.addf("source.max-upload-bytes", "must be > 0, not %s", s.MaxUploadBytes)
	}
	for _, d := range s.URL.AllowedDomains {
		if !validAllowedDomain(d) {
			v.addf("source.url.allowed-domains", "%q must be a host name such as example.com, a pattern such as *.example.com, or an IP address", d)
		}
	}
	if s.URL.Timeout <= 0 {
		v.addf("source.url.timeout", "must be > 0, not %s", s.URL.Timeout)
	}
	if s.URL.MaxRedirects < 0 {
		v.addf("source.url.max-redirects", "must be ≥ 0, not %d", s.URL.MaxRedirects)
	}
}

func (c *Config) validatePaths(v *problems) {
	patterns := sortedKeys(c.Paths)
	byFold := map[string]string{}
	for _, raw := range patterns {
		key := "paths." + keyPart(raw)
		if msg := patternProblem(raw); msg != "" {
			v.addf(key, "%s", msg)
		}
		fold := strings.ToLower(raw)
		if other, ok := byFold[fold]; ok {
			v.addf(key, "duplicate key: the same pattern as %q, because matching is case-insensitive", other)
		}
		byFold[fold] = raw
		c.validateRule(v, key, c.Paths[raw])
	}
	// A rule can inherit a redirect strategy or template, so check the merged
	// settings of a path the pattern matches (each * as "x", each ** as nothing).
	m := compile(c.Paths)
	for _, raw := range patterns {
		if c.Paths[raw].Redirect == nil || patternProblem(raw) != "" {
			continue
		}
		var segs []string
		for _, seg := range splitPath(raw) {
			switch seg {
			case wildAny:
			case wildOne:
				segs = append(segs, "x")
			default:
				segs = append(segs, seg)
			}
		}
		s := PathSettings{Redirect: Redirect{Strategy: RedirectNone}}
		for _, p := range m.match(segs) {
			s.apply(p.rule)
		}
		if s.Redirect.Strategy == RedirectTemplate && s.Redirect.Template == "" {
			v.addf("paths."+keyPart(raw)+".redirect.template", "must be set when the strategy is template")
		}
	}
}

func (c *Config) validateRule(v *problems, key string, r PathRule) {
	if r.Bucket != nil {
		if b := *r.Bucket; !bucketPattern.MatchString(b) || strings.Contains(b, "..") || net.ParseIP(b) != nil {
			v.addf(key+".bucket", "%q must be a valid S3 bucket name: 3–63 of a-z 0-9 . -, starting and ending with a letter or digit", b)
		}
	}
	for _, t := range r.AllowedContentTypes {
		if !contentTypePattern.MatchString(t) {
			v.addf(key+".allowed-content-types", "%q must be a media type such as image/png", t)
		}
	}
	if r.MaxUploadBytes != nil && *r.MaxUploadBytes <= 0 {
		v.addf(key+".max-upload-bytes", "must be > 0, not %s", *r.MaxUploadBytes)
	}
	for _, k := range r.LQIP {
		if !slices.Contains(lqipKinds, k) {
			v.addf(key+".lqip", "unknown kind %q: must be blurhash or thumbhash", k)
		}
	}
	if p := r.Preprocessing; p != nil {
		positiveInt(v, key+".preprocessing.max-width", p.MaxWidth)
		positiveInt(v, key+".preprocessing.max-height", p.MaxHeight)
		if p.Format != nil && !slices.Contains(imageFormats, *p.Format) {
			v.addf(key+".preprocessing.format", "must be one of %s, not %q", orList(imageFormats), *p.Format)
		}
	}
	for _, name := range r.EagerVariants {
		p, ok := c.Profiles[name]
		switch {
		case !ok:
			v.addf(key+".eager-variants", "unknown profile %q", name)
		case p.Format == "auto":
			v.addf(key+".eager-variants", "profile %q has format auto, which depends on each request's Accept header", name)
		}
	}
	if o := r.OutputLimits; o != nil {
		positiveInt(v, key+".output-limits.max-width", o.MaxWidth)
		positiveInt(v, key+".output-limits.max-height", o.MaxHeight)
	}
	if cc := r.CacheControl; cc != nil {
		ck := key + ".cache-control."
		for _, f := range []struct {
			name string
			d    *Duration
		}{
			{"max-age", cc.MaxAge}, {"s-maxage", cc.SMaxAge},
			{"stale-while-revalidate", cc.StaleWhileRevalidate}, {"stale-if-error", cc.StaleIfError},
		} {
			if f.d != nil && *f.d < 0 {
				v.addf(ck+f.name, "must be ≥ 0, not %s", *f.d)
			}
		}
		if cc.Visibility != nil && !slices.Contains(visibilityValues, *cc.Visibility) {
			v.addf(ck+"visibility", "must be public or private, not %q", *cc.Visibility)
		}
		if cc.Revalidate != nil && !slices.Contains(revalidateValues, *cc.Revalidate) {
			v.addf(ck+"revalidate", "must be %s, not %q", orList(revalidateValues), *cc.Revalidate)
		}
	}
	if r.DefaultExpires != nil && *r.DefaultExpires < 0 {
		v.addf(key+".default-expires", "must be positive or never, not %s", Duration(*r.DefaultExpires))
	}
	if rd := r.Redirect; rd != nil {
		if rd.Strategy != nil && !slices.Contains(strategyValues, *rd.Strategy) {
			v.addf(key+".redirect.strategy", "must be %s, not %q", orList(strategyValues), *rd.Strategy)
		}
		if rd.TTL != nil && (*rd.TTL <= 0 || rd.TTL.Std() > maxPresignTTL) {
			v.addf(key+".redirect.ttl", "must be > 0 and at most 7d (the S3 presign limit), not %s", *rd.TTL)
		}
		if rd.Template != nil {
			t := strings.NewReplacer("{bucket}", "bucket", "{key}", "key").Replace(*rd.Template)
			if u, err := url.Parse(t); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.addf(key+".redirect.template", "must be an http or https URL such as https://cdn.example.com/{bucket}/{key}, not %q", *rd.Template)
			}
		}
	}
}

func positiveInt(v *problems, key string, n *int) {
	if n != nil && *n <= 0 {
		v.addf(key, "must be > 0, not %d", *n)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// validAllowedDomain accepts what internal/fetch matches: IP literals (with
// or without brackets), and host names or "*." patterns, internationalised
// names included (checked in their IDNA ASCII form).
func validAllowedDomain(d string) bool {
	if _, err := netip.ParseAddr(strings.Trim(d, "[]")); err == nil {
		return true
	}
	host, wildcard := strings.CutPrefix(d, "*.")
	ascii, err := idna.Lookup.ToASCII(strings.TrimSuffix(host, "."))
	if err != nil {
		return false
	}
	if wildcard {
		ascii = "*." + ascii
	}
	return len(ascii) <= 253 && domainPattern.MatchString(ascii)
}
