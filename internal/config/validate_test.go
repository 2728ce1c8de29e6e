package config

import (
	"strings"
	"testing"

	"assetd/internal/asset"
)

func ptr[T any](v T) *T { return &v }

func TestValidateRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		want   string // the whole problem line, key first
	}{
		{"listen", func(c *Config) { c.Server.Listen = "8080" }, `server.listen: must be host:port`},
		{"listen port", func(c *Config) { c.Server.Listen = "127.0.0.1:99999" }, `server.listen: port "99999" must be 0–65535`},
		{"public-url scheme", func(c *Config) { c.Server.PublicURL = "ftp://x" }, `server.public-url: must be an http or https URL`},
		{"public-url slash", func(c *Config) { c.Server.PublicURL = "http://x/" }, `server.public-url: must not end with /`},
		{"read-header-timeout", func(c *Config) { c.Server.ReadHeaderTimeout = 0 }, `server.read-header-timeout: must be > 0`},
		{"read-timeout", func(c *Config) { c.Server.ReadTimeout = -1 }, `server.read-timeout: must be ≥ 0`},
		{"write-timeout", func(c *Config) { c.Server.WriteTimeout = -1 }, `server.write-timeout: must be ≥ 0`},
		{"idle-timeout", func(c *Config) { c.Server.IdleTimeout = -1 }, `server.idle-timeout: must be ≥ 0`},
		{"shutdown-timeout", func(c *Config) { c.Server.ShutdownTimeout = 0 }, `server.shutdown-timeout: must be > 0`},
		{"max-header-bytes", func(c *Config) { c.Server.MaxHeaderBytes = 0 }, `server.max-header-bytes: must be 1B–1GiB`},
		{"driver", func(c *Config) { c.Database.Driver = "mysql" }, `database.driver: must be sqlite or postgres, not "mysql"`},
		{"dsn", func(c *Config) { c.Database.DSN = "" }, `database.dsn: must be set`},
		{"backend", func(c *Config) { c.Objects.Backend = "gcs" }, `objects.backend: must be filesystem or s3, not "gcs"`},
		{"filesystem root", func(c *Config) { c.Objects.Filesystem.Root = "" }, `objects.filesystem.root: must be set when the backend is filesystem`},
		{"s3 endpoint scheme", func(c *Config) { s3(c); c.Objects.S3.Endpoint = "http://minio:9000" }, `objects.s3.endpoint: must be host[:port] without scheme`},
		{"s3 endpoint", func(c *Config) { s3(c); c.Objects.S3.Endpoint = "" }, `objects.s3.endpoint: must be set when the backend is s3`},
		{"s3 access key", func(c *Config) { s3(c); c.Objects.S3.AccessKey = "" }, `objects.s3.access-key: must be set when the backend is s3`},
		{"s3 secret key", func(c *Config) { s3(c); c.Objects.S3.SecretKey = "" }, `objects.s3.secret-key: must be set when the backend is s3`},
		{"s3 region", func(c *Config) { s3(c); c.Objects.S3.Region = "" }, `objects.s3.region: must be set when the backend is s3`},
		{"workers", func(c *Config) { c.Imaging.Workers = -1 }, `imaging.workers: must be ≥ 0`},
		{"max-pixels", func(c *Config) { c.Imaging.MaxPixels = 0 }, `imaging.max-pixels: must be > 0`},
		{"max-side", func(c *Config) { c.Imaging.MaxSide = -3 }, `imaging.max-side: must be > 0`},
		{"max-frames", func(c *Config) { c.Imaging.MaxFrames = 0 }, `imaging.max-frames: must be > 0`},
		{"max-upload-bytes", func(c *Config) { c.Source.MaxUploadBytes = 0 }, `source.max-upload-bytes: must be > 0`},
		{"allowed-domains", func(c *Config) { c.Source.URL.AllowedDomains = []string{"ok.com", "https://x.com"} }, `source.url.allowed-domains: "https://x.com" must be a host name`},
		{"url timeout", func(c *Config) { c.Source.URL.Timeout = 0 }, `source.url.timeout: must be > 0`},
		{"max-redirects", func(c *Config) { c.Source.URL.MaxRedirects = -1 }, `source.url.max-redirects: must be ≥ 0`},
		{"signing secret", func(c *Config) { c.URLSigning.Enabled = true }, `url-signing.secret: must be set when url-signing is enabled`},
		{"signing algorithm", func(c *Config) { c.URLSigning.Algorithm = "md5" }, `url-signing.algorithm: must be hmac-sha256, hmac-sha384 or hmac-sha512, not "md5"`},

		{"profile name", func(c *Config) { c.Profiles["a b"] = Profile{} }, `profiles."a b": a profile name must be`},
		{"profile w", func(c *Config) { c.Profiles["p"] = Profile{Width: ptr(0)} }, `profiles.p.w: must be 1–8192, not 0`},
		{"profile h", func(c *Config) { c.Profiles["p"] = Profile{Height: ptr(8193)} }, `profiles.p.h: must be 1–8192, not 8193`},
		{"profile fit", func(c *Config) { c.Profiles["p"] = Profile{Fit: "cover"} }, `profiles.p.fit: must be one of fit, fill, stretch or crop, not "cover"`},
		{"profile fill needs w and h", func(c *Config) { c.Profiles["p"] = Profile{Width: ptr(10), Fit: "fill"} }, `profiles.p.fit: fill needs both w and h`},
		{"profile crop needs w and h", func(c *Config) { c.Profiles["p"] = Profile{Height: ptr(10), Fit: "crop"} }, `profiles.p.fit: crop needs both w and h`},
		{"profile g", func(c *Config) { c.Profiles["p"] = Profile{Gravity: "north"} }, `profiles.p.g: must be one of center, entropy or attention, not "north"`},
		{"profile format", func(c *Config) { c.Profiles["p"] = Profile{Format: "bmp"} }, `profiles.p.format: must be one of`},
		{"profile q", func(c *Config) { c.Profiles["p"] = Profile{Quality: ptr(101)} }, `profiles.p.q: must be 1–100, not 101`},
		{"profile r", func(c *Config) { c.Profiles["p"] = Profile{Rotate: "45"} }, `profiles.p.r: must be one of 0, 90, 180, 270 or auto, not "45"`},
		{"profile f", func(c *Config) { c.Profiles["p"] = Profile{Flip: "x"} }, `profiles.p.f: must be one of h, v or none, not "x"`},
		{"profile filter", func(c *Config) { c.Profiles["p"] = Profile{Filter: "blur"} }, `profiles.p.filter: must be one of none, greyscale, grayscale, black_white or sepia`},
		{"profile blur", func(c *Config) { c.Profiles["p"] = Profile{Blur: ptr(151)} }, `profiles.p.blur: must be 0–150, not 151`},
		{"profile pad", func(c *Config) { c.Profiles["p"] = Profile{Pad: ptr(-1)} }, `profiles.p.pad: must be ≥ 0, not -1`},
		{"profile pad-c", func(c *Config) { c.Profiles["p"] = Profile{PadColor: "#12345"} }, `profiles.p.pad-c: must be #RGB, #RGBA, #RRGGBB or #RRGGBBAA`},
		{"profile pad-c name", func(c *Config) { c.Profiles["p"] = Profile{PadColor: "red"} }, `profiles.p.pad-c: must be #RGB`},
		{"profile dpr", func(c *Config) { c.Profiles["p"] = Profile{DPR: ptr(4.5)} }, `profiles.p.dpr: must be 1–4, not 4.5`},

		{"pattern slash", func(c *Config) { c.Paths["users/**"] = PathRule{} }, `paths."users/**": must start with /`},
		{"pattern root", func(c *Config) { c.Paths["/"] = PathRule{} }, `paths."/": must have at least one segment`},
		{"pattern empty segment", func(c *Config) { c.Paths["/a//b"] = PathRule{} }, `paths."/a//b": has an empty segment`},
		{"pattern trailing slash", func(c *Config) { c.Paths["/a/"] = PathRule{} }, `paths."/a/": has an empty segment`},
		{"pattern partial wildcard", func(c *Config) { c.Paths["/a*/b"] = PathRule{} }, `paths."/a*/b": segment "a*" mixes * with text`},
		{"pattern dotdot", func(c *Config) { c.Paths["/a/.."] = PathRule{} }, `paths."/a/..": segment ".." is not a valid path segment`},
		{"pattern bad byte", func(c *Config) { c.Paths["/a b"] = PathRule{} }, `paths."/a b": segment "a b" is not a valid path segment`},
		{"pattern duplicate", func(c *Config) { c.Paths["/Users/*"] = PathRule{}; c.Paths["/users/*"] = PathRule{} }, `paths."/users/*": duplicate key: the same pattern as "/Users/*"`},
		{"bucket short", func(c *Config) { c.Paths["/a"] = PathRule{Bucket: ptr("ab")} }, `paths."/a".bucket: "ab" must be a valid S3 bucket name`},
		{"bucket upper", func(c *Config) { c.Paths["/a"] = PathRule{Bucket: ptr("Assets")} }, `paths."/a".bucket: "Assets" must be a valid S3 bucket name`},
		{"bucket underscore", func(c *Config) { c.Paths["/a"] = PathRule{Bucket: ptr("my_bucket")} }, `paths."/a".bucket: "my_bucket"`},
		{"bucket long", func(c *Config) { c.Paths["/a"] = PathRule{Bucket: ptr(strings.Repeat("a", 64))} }, `paths."/a".bucket:`},
		{"bucket dots", func(c *Config) { c.Paths["/a"] = PathRule{Bucket: ptr("a..b")} }, `paths."/a".bucket: "a..b"`},
		{"bucket hyphen end", func(c *Config) { c.Paths["/a"] = PathRule{Bucket: ptr("abc-")} }, `paths."/a".bucket: "abc-"`},
		{"bucket ip", func(c *Config) { c.Paths["/a"] = PathRule{Bucket: ptr("192.168.1.1")} }, `paths."/a".bucket: "192.168.1.1"`},
		{"content type", func(c *Config) { c.Paths["/a"] = PathRule{AllowedContentTypes: []string{"image/png", "png"}} }, `paths."/a".allowed-content-types: "png" must be a media type`},
		{"path max-upload-bytes", func(c *Config) { c.Paths["/a"] = PathRule{MaxUploadBytes: ptr(Size(0))} }, `paths."/a".max-upload-bytes: must be > 0`},
		{"lqip kind", func(c *Config) { c.Paths["/a"] = PathRule{LQIP: []asset.LQIPKind{"blurhash", "pixel"}} }, `paths."/a".lqip: unknown kind "pixel"`},
		{"preprocessing max-width", func(c *Config) { c.Paths["/a"] = PathRule{Preprocessing: &PreprocessingRule{MaxWidth: ptr(0)}} }, `paths."/a".preprocessing.max-width: must be > 0`},
		{"preprocessing max-height", func(c *Config) { c.Paths["/a"] = PathRule{Preprocessing: &PreprocessingRule{MaxHeight: ptr(-1)}} }, `paths."/a".preprocessing.max-height: must be > 0`},
		{"preprocessing format", func(c *Config) { c.Paths["/a"] = PathRule{Preprocessing: &PreprocessingRule{Format: ptr("auto")}} }, `paths."/a".preprocessing.format: must be one of`},
		{"eager unknown profile", func(c *Config) { c.Paths["/a"] = PathRule{EagerVariants: []string{"thumb"}} }, `paths."/a".eager-variants: unknown profile "thumb"`},
		{"eager auto profile", func(c *Config) {
			c.Profiles["p"] = Profile{Format: "auto"}
			c.Paths["/a"] = PathRule{EagerVariants: []string{"p"}}
		}, `paths."/a".eager-variants: profile "p" has format auto`},
		{"output-limits", func(c *Config) { c.Paths["/a"] = PathRule{OutputLimits: &OutputLimitsRule{MaxWidth: ptr(0)}} }, `paths."/a".output-limits.max-width: must be > 0`},
		{"cache-control visibility", func(c *Config) { c.Paths["/a"] = PathRule{CacheControl: &CacheControlRule{Visibility: ptr("shared")}} }, `paths."/a".cache-control.visibility: must be public or private, not "shared"`},
		{"cache-control revalidate", func(c *Config) { c.Paths["/a"] = PathRule{CacheControl: &CacheControlRule{Revalidate: ptr("always")}} }, `paths."/a".cache-control.revalidate: must be must-revalidate, proxy-revalidate or no-cache`},
		{"cache-control max-age", func(c *Config) { c.Paths["/a"] = PathRule{CacheControl: &CacheControlRule{MaxAge: ptr(Duration(-1))}} }, `paths."/a".cache-control.max-age: must be ≥ 0`},
		{"cache-control stale-if-error", func(c *Config) {
			c.Paths["/a"] = PathRule{CacheControl: &CacheControlRule{StaleIfError: ptr(Duration(-1))}}
		}, `paths."/a".cache-control.stale-if-error: must be ≥ 0`},
		{"redirect strategy", func(c *Config) { c.Paths["/a"] = PathRule{Redirect: &RedirectRule{Strategy: ptr("cdn")}} }, `paths."/a".redirect.strategy: must be none, presigned or template, not "cdn"`},
		{"redirect ttl", func(c *Config) {
			c.Paths["/a"] = PathRule{Redirect: &RedirectRule{TTL: ptr(Duration(8 * 24 * 3600e9))}}
		}, `paths."/a".redirect.ttl: must be > 0 and at most 7d`},
		{"redirect template scheme", func(c *Config) {
			c.Paths["/a"] = PathRule{Redirect: &RedirectRule{Strategy: ptr("template"), Template: ptr("ftp://cdn/{bucket}/{key}")}}
		}, `paths."/a".redirect.template: must be an http or https URL`},
		{"redirect template missing", func(c *Config) { c.Paths["/a"] = PathRule{Redirect: &RedirectRule{Strategy: ptr("template")}} }, `paths."/a".redirect.template: must be set when the strategy is template`},
		{"default-expires", func(c *Config) { c.Paths["/a"] = PathRule{DefaultExpires: ptr(Expiry(-1))} }, `paths."/a".default-expires: must be positive or never`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.change(c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("want %q", tc.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tc.want) {
				t.Fatalf("got %q\nwant one problem starting %q", err.Error(), tc.want)
			}
		})
	}
}

// s3 switches c to a complete S3 backend, so that one field can be broken.
func s3(c *Config) {
	c.Objects.Backend = BackendS3
	c.Objects.S3.AccessKey = "ak"
	c.Objects.S3.SecretKey = "sk"
}

func TestValidateAcceptsValidValues(t *testing.T) {
	c := Default()
	s3(c)
	c.Database = Database{Driver: DriverPostgres, DSN: "postgres://u@h/db"}
	c.Server.Listen = ":0"
	c.Server.PublicURL = "https://img.example.com/prefix"
	c.Source.URL.AllowedDomains = []string{"example.com", "*.example.org", "127.0.0.1"}
	c.URLSigning = URLSigning{Enabled: true, Secret: "x", Algorithm: HMACSHA512}
	c.Profiles["thumb"] = Profile{Width: ptr(200), Height: ptr(200), Fit: "crop", Gravity: "attention",
		Format: "jpeg", Quality: ptr(1), Rotate: "auto", Flip: "v", Filter: "grayscale", Blur: ptr(0),
		Pad: ptr(0), PadColor: "#FFFA", DPR: ptr(4.0)}
	c.Profiles["wide.v2"] = Profile{Width: ptr(8192), PadColor: "#11223344"}
	c.Paths["/users/*/avatar"] = PathRule{
		Bucket:              ptr("user-avatars.v1"),
		AllowedContentTypes: []string{"image/jpeg", "application/pdf", "image/svg+xml"},
		MaxUploadBytes:      ptr(Size(1)),
		LQIP:                []asset.LQIPKind{},
		Preprocessing:       &PreprocessingRule{MaxWidth: ptr(1), Format: ptr("jpeg")},
		EagerVariants:       []string{"thumb", "wide.v2"},
		OutputLimits:        &OutputLimitsRule{MaxHeight: ptr(1)},
		CacheControl:        &CacheControlRule{Enabled: ptr(false), MaxAge: ptr(Duration(0)), Visibility: ptr("private"), Revalidate: ptr("no-cache")},
		Redirect:            &RedirectRule{Strategy: ptr("template"), Template: ptr("https://cdn.example.com/{bucket}/{key}")},
		DefaultExpires:      ptr(Never),
	}
	// The template strategy may inherit its template from a wider pattern.
	c.Paths["/docs/**"] = PathRule{Redirect: &RedirectRule{Template: ptr("http://cdn/{key}")}}
	c.Paths["/docs/*"] = PathRule{Redirect: &RedirectRule{Strategy: ptr("template"), TTL: ptr(Duration(7 * 24 * 3600e9))}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	c := Default()
	c.Database.Driver = "mysql"
	c.Objects.Backend = "gcs"
	c.Imaging.MaxPixels = 0
	c.URLSigning.Enabled = true
	c.Profiles["thumb"] = Profile{Width: ptr(0), Fit: "fill"}
	c.Paths["/a"] = PathRule{LQIP: []asset.LQIPKind{"pixel"}, EagerVariants: []string{"nope"}}
	c.Paths["/A"] = PathRule{}
	err := c.Validate()
	if err == nil {
		t.Fatal("want an error")
	}
	want := []string{
		`database.driver: must be sqlite or postgres, not "mysql"`,
		`objects.backend: must be filesystem or s3, not "gcs"`,
		`imaging.max-pixels: must be > 0, not 0`,
		`url-signing.secret: must be set when url-signing is enabled`,
		`profiles.thumb.w: must be 1–8192, not 0`,
		`profiles.thumb.fit: fill needs both w and h`,
		`paths."/a": duplicate key: the same pattern as "/A", because matching is case-insensitive`,
		`paths."/a".lqip: unknown kind "pixel": must be blurhash or thumbhash`,
		`paths."/a".eager-variants: unknown profile "nope"`,
	}
	got := strings.Split(err.Error(), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

func TestLoadRefusesInvalidFileNamingEachProblem(t *testing.T) {
	_, err := Load(writeFile(t, `
url-signing: {enabled: true}
profiles:
  thumb: {w: 200, h: 200, fit: fill, format: webp}
paths:
  "/**": {lqip: [blurhash, pixel]}
  "/users/*/avatar": {eager-variants: [thumb, missing]}
  "/USERS/*/AVATAR": {}
`), noEnv)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		"url-signing.secret: must be set",
		`paths."/**".lqip: unknown kind "pixel"`,
		`paths."/users/*/avatar".eager-variants: unknown profile "missing"`,
		`duplicate key`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
}
