package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"assetd/internal/asset"
)

// bucketRules gives each pattern a distinct bucket, so the winning pattern
// shows in PathSettings.Bucket.
func bucketRules(patterns ...string) *Config {
	c := Default()
	c.Paths = map[string]PathRule{}
	for _, p := range patterns {
		c.Paths[p] = PathRule{Bucket: ptr(bucketFor(p))}
	}
	return c
}

func bucketFor(pattern string) string {
	r := strings.NewReplacer("/", "-", "**", "dd", "*", "s")
	return "b" + r.Replace(strings.ToLower(pattern))
}

func TestMostSpecificPatternWins(t *testing.T) {
	c := bucketRules("/**", "/users/**", "/users/*", "/users/*/avatar", "/users/42/avatar", "/*/42/avatar", "/**/avatar")
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{"users/42/avatar", "/users/42/avatar"},   // three literals
		{"users/7/avatar", "/users/*/avatar"},     // two literals and a *
		{"users/7", "/users/*"},                   // * beats **
		{"users", "/users/**"},                    // ** matches zero segments
		{"users/7/photos/1", "/users/**"},         // ** matches many
		{"teams/42/avatar", "/*/42/avatar"},       // two literals beat one
		{"teams/7/avatar", "/**/avatar"},          // one literal beats none
		{"other", "/**"},                          // the root pattern catches the rest
		{"/users/7", "/users/*"},                  // a leading slash is accepted
		{"USERS/42/AVATAR", "/users/42/avatar"},   // case-insensitive
		{"users/7/avatar/big", "/users/**"},       // /users/*/avatar needs exactly three segments
		{"a/b/c/d/e/f/g/h/avatar", "/**/avatar"},  // deep ** match
		{"users/42/avatar/avatar", "/users/**"},   // /users/** (1 literal) vs /**/avatar (1 literal): fewer ** ties, leftmost literal wins
		{"x/42/avatar", "/*/42/avatar"},           // equal counts elsewhere do not matter
		{"users/42", "/users/*"},                  // not a prefix match of /users/42/avatar
		{"users/42/avatars", "/users/**"},         // segment boundaries
		{"avatar", "/**/avatar"},                  // ** before a literal matches zero segments
		{"users/42/avatar/x/avatar", "/users/**"}, // literals count, not length
		{"teams/42/avatar/x", "/**"},              // nothing more specific matches
		{"TEAMS/42/Avatar", "/*/42/avatar"},       // case-insensitive wildcard routes
		{"users/x/avatar", "/users/*/avatar"},     // literal "x" is not special
	} {
		if got := c.PathSettings(tc.path).Bucket; got != bucketFor(tc.want) {
			t.Errorf("%s: bucket %s, want the one of %s (%s)", tc.path, got, tc.want, bucketFor(tc.want))
		}
	}
}

func TestSpecificityTieBreaksOnLeftmostLiteral(t *testing.T) {
	c := bucketRules("/users/*/avatar", "/*/42/avatar")
	if got := c.PathSettings("users/42/avatar").Bucket; got != bucketFor("/users/*/avatar") {
		t.Fatalf("bucket %s", got)
	}
}

func TestNoMatchGetsDefaults(t *testing.T) {
	c := Default()
	c.Paths = map[string]PathRule{"/only/*": {Bucket: ptr("only")}}
	s := c.PathSettings("other/path")
	want := PathSettings{
		Bucket:         DefaultBucket,
		MaxUploadBytes: 50 << 20,
		Redirect:       Redirect{Strategy: RedirectNone, TTL: Duration(time.Hour)},
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	if s.DefaultExpires.IsNever() != true || s.CacheControl.Header() != "" {
		t.Fatalf("defaults: expires %v, cache-control %q", s.DefaultExpires, s.CacheControl.Header())
	}
}

const inheritanceYAML = `
profiles:
  thumb: {w: 200, h: 200, fit: fill, format: webp}
  small: {w: 64}
paths:
  "/**":
    bucket: assets
    lqip: [blurhash, thumbhash]
    allowed-content-types: [image/jpeg, image/png, image/webp]
    cache-control: {max-age: 60, visibility: public}
    output-limits: {max-width: 4000, max-height: 3000}
    redirect: {strategy: presigned}
  "/users/**":
    max-upload-bytes: 10MiB
    cache-control: {immutable: true}
    preprocessing: {max-width: 2048, format: jpeg}
    eager-variants: [thumb, small]
  "/users/*/avatar":
    allowed-content-types: [image/png]
    lqip: []
    cache-control: {max-age: 31536000}
    preprocessing: {max-height: 1024}
    output-limits: {max-width: 512}
    eager-variants: [thumb]
    redirect: {ttl: 10m}
    default-expires: 30d
`

// reorder returns the YAML with the three path patterns in reverse order.
func reorder(t *testing.T, y string) string {
	t.Helper()
	head, paths, ok := strings.Cut(y, "paths:\n")
	if !ok {
		t.Fatal("no paths")
	}
	var blocks []string
	for _, line := range strings.SplitAfter(paths, "\n") {
		if strings.HasPrefix(line, `  "`) {
			blocks = append(blocks, "")
		}
		if len(blocks) > 0 {
			blocks[len(blocks)-1] += line
		}
	}
	slices.Reverse(blocks)
	return head + "paths:\n" + strings.Join(blocks, "")
}

func TestInheritanceMergesNestedObjectsAndReplacesLists(t *testing.T) {
	want := PathSettings{
		Bucket:              "assets",              // from /**
		AllowedContentTypes: []string{"image/png"}, // list replaced
		MaxUploadBytes:      10 << 20,              // from /users/**
		LQIP:                []asset.LQIPKind{},    // explicit [] replaces /**'s list
		Preprocessing:       Preprocessing{MaxWidth: 2048, MaxHeight: 1024, Format: asset.FormatJPEG},
		EagerVariants:       []string{"thumb"},
		OutputLimits:        OutputLimits{MaxWidth: 512, MaxHeight: 3000},
		CacheControl: CacheControl{Enabled: true, MaxAge: ptr(Duration(365 * 24 * time.Hour)),
			Visibility: "public", Immutable: true},
		Redirect:       Redirect{Strategy: RedirectPresigned, TTL: Duration(10 * time.Minute)},
		DefaultExpires: Expiry(30 * 24 * time.Hour),
	}
	for name, body := range map[string]string{"file order": inheritanceYAML, "reversed": reorder(t, inheritanceYAML)} {
		t.Run(name, func(t *testing.T) {
			c, err := Load(writeFile(t, body), noEnv)
			if err != nil {
				t.Fatal(err)
			}
			got := c.PathSettings("users/42/avatar")
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
			if h := got.CacheControl.Header(); h != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control %q", h)
			}
			// A sibling path inherits from /users/** and /** only.
			other := c.PathSettings("users/42/cover")
			if other.MaxUploadBytes != 10<<20 || len(other.AllowedContentTypes) != 3 || len(other.LQIP) != 2 ||
				other.CacheControl.Header() != "public, max-age=60, immutable" || other.DefaultExpires != Never ||
				!reflect.DeepEqual(other.EagerVariants, []string{"thumb", "small"}) {
				t.Errorf("users/42/cover: %+v", other)
			}
			if p := c.Resolve("users/42/avatar"); !reflect.DeepEqual(p, asset.Policy{
				Bucket: "assets", AllowedContentTypes: []string{"image/png"}, MaxUploadBytes: 10 << 20, LQIP: []asset.LQIPKind{},
				DefaultExpires: 720 * time.Hour, CacheControl: "public, max-age=31536000, immutable",
				Redirect:      asset.RedirectPolicy{Strategy: asset.RedirectPresigned, TTL: 10 * time.Minute},
				OutputLimits:  asset.OutputLimits{MaxWidth: 512, MaxHeight: 3000},
				Preprocessing: asset.TransformParams{"w": "2048", "h": "1024", "format": "jpg"},
				EagerVariants: []string{"thumb"},
			}) {
				t.Errorf("Resolve = %+v", p)
			}
		})
	}
}

func TestCacheControlCanBeSwitchedOffAndOnAgain(t *testing.T) {
	c := Default()
	c.Paths = map[string]PathRule{
		"/**":            {CacheControl: &CacheControlRule{MaxAge: ptr(Duration(time.Hour)), Revalidate: ptr("must-revalidate")}},
		"/private/**":    {CacheControl: &CacheControlRule{Enabled: ptr(false)}},
		"/private/pub/*": {CacheControl: &CacheControlRule{StaleIfError: ptr(Duration(time.Minute))}},
	}
	for path, want := range map[string]string{
		"a":               "max-age=3600, must-revalidate",
		"private/a":       "",
		"private/pub/a":   "max-age=3600, must-revalidate, stale-if-error=60",
		"PRIVATE/PUB/B":   "max-age=3600, must-revalidate, stale-if-error=60",
		"private/pub/a/b": "",
	} {
		if got := c.PathSettings(path).CacheControl.Header(); got != want {
			t.Errorf("%s: Cache-Control %q, want %q", path, got, want)
		}
	}
}

func TestCacheControlHeaderHasEveryDirective(t *testing.T) {
	cc := CacheControl{Enabled: true, MaxAge: ptr(Duration(0)), SMaxAge: ptr(Duration(time.Minute)),
		Visibility: "private", Revalidate: "proxy-revalidate", StaleWhileRevalidate: ptr(Duration(30 * time.Second)),
		StaleIfError: ptr(Duration(24 * time.Hour)), Immutable: true}
	want := "private, max-age=0, s-maxage=60, proxy-revalidate, stale-while-revalidate=30, stale-if-error=86400, immutable"
	if got := cc.Header(); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	cc.Enabled = false
	if got := cc.Header(); got != "" {
		t.Fatalf("disabled: %q", got)
	}
}

func TestDoubleStarMatchesZeroSegments(t *testing.T) {
	c := bucketRules("/**", "/a/**/b", "/a/**")
	for path, want := range map[string]string{
		"a/b":       "/a/**/b",
		"a/x/y/b":   "/a/**/b",
		"a":         "/a/**",
		"a/x":       "/a/**",
		"a/b/x":     "/a/**",
		"b":         "/**",
		"a/b/b":     "/a/**/b",
		"A/X/b":     "/a/**/b",
		"x/a/b":     "/**",
		"a/b/c/d/b": "/a/**/b",
	} {
		if got := c.PathSettings(path).Bucket; got != bucketFor(want) {
			t.Errorf("%s: %s, want %s", path, got, bucketFor(want))
		}
	}
}

func TestCaseInsensitiveMatching(t *testing.T) {
	c := bucketRules("/**", "/Users/*/Avatar")
	for _, path := range []string{"users/1/avatar", "USERS/1/AVATAR", "Users/X/aVaTaR"} {
		if got := c.PathSettings(path).Bucket; got != bucketFor("/Users/*/Avatar") {
			t.Errorf("%s: %s", path, got)
		}
	}
}

// The example in CONFIG.md, loaded as written.
func TestConfigExample(t *testing.T) {
	c, err := Load(writeFile(t, `
profiles:
  thumb: {w: 200, h: 200, fit: fill, format: webp}
paths:
  "/**":
    bucket: assets
  "/users/*/avatar":
    allowed-content-types: [image/jpeg, image/png, image/webp]
    max-upload-bytes: 10MiB
    lqip: [blurhash, thumbhash]
    preprocessing: {max-width: 2048, max-height: 2048, format: webp}
    eager-variants: [thumb]
    output-limits: {max-width: 2048, max-height: 2048}
    cache-control: {max-age: 31536000, visibility: public, immutable: true}
    redirect: {strategy: presigned, ttl: 1h}
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := PathSettings{
		Bucket:              "assets",
		AllowedContentTypes: []string{"image/jpeg", "image/png", "image/webp"},
		MaxUploadBytes:      10 << 20,
		LQIP:                []asset.LQIPKind{asset.LQIPBlurhash, asset.LQIPThumbhash},
		Preprocessing:       Preprocessing{MaxWidth: 2048, MaxHeight: 2048, Format: asset.FormatWebP},
		EagerVariants:       []string{"thumb"},
		OutputLimits:        OutputLimits{MaxWidth: 2048, MaxHeight: 2048},
		CacheControl:        CacheControl{Enabled: true, MaxAge: ptr(Duration(31536000 * time.Second)), Visibility: "public", Immutable: true},
		Redirect:            Redirect{Strategy: RedirectPresigned, TTL: Duration(time.Hour)},
	}
	if got := c.PathSettings("users/42/avatar"); !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if got := c.Resolve("users/42/avatar/x"); !reflect.DeepEqual(got, asset.Policy{
		Bucket: "assets", MaxUploadBytes: 50 << 20, Redirect: asset.RedirectPolicy{Strategy: asset.RedirectNone, TTL: time.Hour},
	}) {
		t.Fatalf("a deeper path must not match /users/*/avatar: %+v", got)
	}
}

func TestSettingsAreCopies(t *testing.T) {
	c := Default()
	s := c.PathSettings("a")
	s.LQIP[0] = "changed"
	if got := c.PathSettings("a").LQIP[0]; got != asset.LQIPBlurhash {
		t.Fatalf("changing a result changed the config: %q", got)
	}
}

func TestLoadedAndHandBuiltConfigsAgree(t *testing.T) {
	loaded, err := Load(writeFile(t, inheritanceYAML), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.matcher == nil {
		t.Fatal("Load must compile the patterns once")
	}
	hand := *loaded
	hand.matcher = nil
	for _, p := range []string{"users/1/avatar", "users/1", "x", "users"} {
		if a, b := loaded.PathSettings(p), hand.PathSettings(p); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: %+v vs %+v", p, a, b)
		}
	}
}

// matchNaive is the definition of matching, for the fuzz test to compare
// the trie against.
func matchNaive(pat, path []string) bool {
	if len(pat) == 0 {
		return len(path) == 0
	}
	switch pat[0] {
	case "**":
		for i := 0; i <= len(path); i++ {
			if matchNaive(pat[1:], path[i:]) {
				return true
			}
		}
		return false
	case "*":
		return len(path) > 0 && matchNaive(pat[1:], path[1:])
	}
	return len(path) > 0 && strings.ToLower(pat[0]) == strings.ToLower(path[0]) && matchNaive(pat[1:], path[1:])
}

func FuzzMatcher(f *testing.F) {
	for _, seed := range [][2]string{
		{"/**", "a"}, {"/users/*/avatar", "users/1/avatar"}, {"/a/**/b", "a/b"},
		{"/**/**/x", "x"}, {"/A/*", "a/B"}, {"/a//b", "a//b"}, {"", ""}, {"/", "/"}, {"**", "a/b/c"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		pat, segs := splitPath(pattern), splitPath(path)
		if len(pat) > 10 || len(segs) > 10 {
			return // keep the naive oracle fast
		}
		c := Default()
		c.Paths = map[string]PathRule{pattern: {Bucket: ptr("hit")}, "/**/zz": {Bucket: ptr("zz")}}
		_ = c.Validate() // must not panic on any pattern
		got := c.PathSettings(path).Bucket
		matched := matchNaive(pat, segs)
		if pattern == "/**/zz" || matchNaive([]string{"**", "zz"}, segs) {
			return // the second rule competes; only panics matter here
		}
		if matched != (got == "hit") {
			t.Fatalf("pattern %q, path %q: trie says %v, definition says %v", pattern, path, got == "hit", matched)
		}
	})
}
