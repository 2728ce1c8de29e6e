package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"assetd/internal/asset"
)

const repoFile = "../../config/assetd.yaml"

func noEnv(string) string { return "" }

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeFile writes a config file into a temp dir and returns its path.
func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "assetd.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRepositoryFileEqualsDefault(t *testing.T) {
	got, err := Load(repoFile, noEnv)
	if err != nil {
		t.Fatalf("the documented default does not load: %v", err)
	}
	got.matcher = nil // compiled by Load; Default leaves it to PathSettings
	if want := Default(); !reflect.DeepEqual(got, want) {
		gy, _ := yaml.Marshal(got)
		wy, _ := yaml.Marshal(want)
		t.Fatalf("config/assetd.yaml differs from Default():\nfile:\n%s\ncode:\n%s", gy, wy)
	}
}

// Every key outside profiles and paths must appear in the documented file,
// so that a key added to the code cannot go undocumented.
func TestRepositoryFileShowsEveryKey(t *testing.T) {
	data, err := os.ReadFile(repoFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, v := range envVars() {
		n := doc.Content[0]
		for _, part := range strings.Split(v.key, ".") {
			n = mappingValue(n, part)
			if n == nil {
				t.Errorf("config/assetd.yaml does not show %s", v.key)
				break
			}
		}
	}
	for _, section := range []string{"profiles", "paths"} {
		if mappingValue(doc.Content[0], section) == nil {
			t.Errorf("config/assetd.yaml does not show %s", section)
		}
	}
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadWithoutFileUsesDefaultsAndEnv(t *testing.T) {
	c, err := Load("", envMap(map[string]string{"ASSETD_SERVER_LISTEN": ":9999"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != ":9999" || c.Database.Driver != DriverSQLite || c.Imaging.MaxSide != 16384 {
		t.Fatalf("got %+v %+v %+v", c.Server, c.Database, c.Imaging)
	}
}

func TestLoadFileOverridesOnlyWhatItSays(t *testing.T) {
	c, err := Load(writeFile(t, `
server:
  listen: 0.0.0.0:80
imaging:
  max-frames: 10
source:
  max-upload-bytes: 10MiB
profiles:
  thumb: {w: 200, h: 200, fit: fill, format: webp, r: 90, pad-c: "#fff", dpr: 1.5}
paths:
  "/users/*/avatar":
    eager-variants: [thumb]
    default-expires: 30d
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != "0.0.0.0:80" || c.Server.PublicURL != "http://localhost:8080" {
		t.Errorf("server = %+v", c.Server)
	}
	if c.Imaging.MaxFrames != 10 || c.Imaging.MaxPixels != 50_000_000 {
		t.Errorf("imaging = %+v", c.Imaging)
	}
	if c.Source.MaxUploadBytes != 10<<20 {
		t.Errorf("max-upload-bytes = %d", c.Source.MaxUploadBytes)
	}
	p := c.Profiles["thumb"]
	if *p.Width != 200 || p.Fit != "fill" || p.Rotate != "90" || p.PadColor != "#fff" || *p.DPR != 1.5 {
		t.Errorf("profile = %+v", p)
	}
	if _, ok := c.Paths["/**"]; ok {
		t.Error("a file that sets paths must replace the default patterns")
	}
	s := c.PathSettings("users/1/avatar")
	if s.DefaultExpires.Std() != 30*24*time.Hour || s.Bucket != DefaultBucket || len(s.LQIP) != 0 {
		t.Errorf("settings = %+v", s)
	}
}

func TestLoadEmptyFileIsDefault(t *testing.T) {
	c, err := Load(writeFile(t, "# nothing\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	c.matcher = nil
	if !reflect.DeepEqual(c, Default()) {
		t.Fatal("an empty file must mean the defaults")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("err = %v", err)
	}
}

func TestStrictDecoding(t *testing.T) {
	for name, tc := range map[string]struct{ body, want string }{
		"unknown top-level":  {"servr:\n  listen: :1\n", "line 1: servr: unknown key"},
		"unknown nested":     {"server:\n  lisen: :1\n", "line 2: server.lisen: unknown key"},
		"unknown in s3":      {"objects:\n  s3:\n    acces-key: x\n", "objects.s3.acces-key: unknown key"},
		"unknown in profile": {"profiles:\n  thumb: {width: 10}\n", "profiles.thumb.width: unknown key"},
		"unknown path key":   {"paths:\n  /**:\n    buckets: x\n", `paths."/**".buckets: unknown key`},
		"unknown nested path key": {
			"paths:\n  /**:\n    cache-control: {maxage: 1}\n", `paths."/**".cache-control.maxage: unknown key`},
		"duplicate key":     {"server:\n  listen: :1\n  listen: :2\n", `"listen" already defined`},
		"duplicate section": {"server: {}\nserver: {}\n", `"server" already defined`},
		"duplicate pattern": {"paths:\n  /a: {}\n  /a: {}\n", `"/a" already defined`},
		"bad size":          {"source:\n  max-upload-bytes: 10 parsecs\n", "parsecs"},
		"bad duration":      {"server:\n  shutdown-timeout: soon\n", "soon"},
		"bad expiry":        {"paths:\n  /**:\n    default-expires: sometime\n", "sometime"},
		"fractional blur":   {"profiles:\n  p: {blur: 1.5}\n", "1.5"},
		"list for a scalar": {"database:\n  driver: [sqlite]\n", "line 2"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(writeFile(t, tc.body), noEnv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestStrictDecodingReportsEveryUnknownKey(t *testing.T) {
	_, err := Load(writeFile(t, "server:\n  lisen: x\n  listen: :1\nimaging:\n  max-sides: 1\n"), noEnv)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"line 2: server.lisen: unknown key", "line 5: imaging.max-sides: unknown key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q: %v", want, err)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	c, err := Load(writeFile(t, "database:\n  driver: sqlite\n"), envMap(map[string]string{
		"ASSETD_SERVER_LISTEN":              "0.0.0.0:9000",
		"ASSETD_SERVER_SHUTDOWN_TIMEOUT":    "1m",
		"ASSETD_DATABASE_DRIVER":            "postgres",
		"ASSETD_DATABASE_DSN":               "postgres://u@h/db",
		"ASSETD_OBJECTS_BACKEND":            "s3",
		"ASSETD_OBJECTS_S3_ACCESS_KEY":      "AK",
		"ASSETD_OBJECTS_S3_SECRET_KEY":      "null", // must stay a string
		"ASSETD_OBJECTS_S3_SECURE":          "true",
		"ASSETD_OBJECTS_FILESYSTEM_ROOT":    "/srv/objects",
		"ASSETD_IMAGING_WORKERS":            "4",
		"ASSETD_SOURCE_MAX_UPLOAD_BYTES":    "2MiB",
		"ASSETD_SOURCE_URL_ALLOWED_DOMAINS": "example.com, *.example.org,,",
		"ASSETD_URL_SIGNING_SECRET":         "s3cret",
		"ASSETD_URL_SIGNING_ENABLED":        "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		key       string
		got, want any
	}{
		{"server.listen", c.Server.Listen, "0.0.0.0:9000"},
		{"server.shutdown-timeout", c.Server.ShutdownTimeout, Duration(time.Minute)},
		{"database.driver", c.Database.Driver, "postgres"},
		{"database.dsn", c.Database.DSN, "postgres://u@h/db"},
		{"objects.backend", c.Objects.Backend, "s3"},
		{"objects.s3.access-key", c.Objects.S3.AccessKey, "AK"},
		{"objects.s3.secret-key", c.Objects.S3.SecretKey, "null"},
		{"objects.s3.secure", c.Objects.S3.Secure, true},
		{"objects.filesystem.root", c.Objects.Filesystem.Root, "/srv/objects"},
		{"imaging.workers", c.Imaging.Workers, 4},
		{"source.max-upload-bytes", c.Source.MaxUploadBytes, Size(2 << 20)},
		{"source.url.allowed-domains", c.Source.URL.AllowedDomains, []string{"example.com", "*.example.org"}},
		{"url-signing.secret", c.URLSigning.Secret, "s3cret"},
		{"url-signing.enabled", c.URLSigning.Enabled, true},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.key, ch.got, ch.want)
		}
	}
}

func TestEnvBadValuesNameTheirVariables(t *testing.T) {
	_, err := Load("", envMap(map[string]string{
		"ASSETD_IMAGING_WORKERS":         "many",
		"ASSETD_SOURCE_MAX_UPLOAD_BYTES": "lots",
		"ASSETD_OBJECTS_S3_SECURE":       "perhaps",
		"ASSETD_IMAGING_MAX_SIDE":        "1.5",
	}))
	if err == nil {
		t.Fatal("want an error")
	}
	for _, name := range []string{"ASSETD_IMAGING_WORKERS", "ASSETD_SOURCE_MAX_UPLOAD_BYTES", "ASSETD_OBJECTS_S3_SECURE", "ASSETD_IMAGING_MAX_SIDE"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestEnvValuesAreValidated(t *testing.T) {
	_, err := Load("", envMap(map[string]string{"ASSETD_DATABASE_DRIVER": "mysql"}))
	if err == nil || !strings.Contains(err.Error(), "database.driver: must be sqlite or postgres") {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckEnv(t *testing.T) {
	err := CheckEnv([]string{
		"PATH=/bin",
		"ASSETD_CONFIG=/etc/assetd.yaml",
		"ASSETD_TEST_POSTGRES_DSN=x",
		"ASSETD_SERVER_LISTEN=:1",
		"ASSETD_SOURCE_URL_ALLOWED_DOMAINS=a.com",
		"ASSETD_SERVER_LISTN=:1",
		"ASSETD_PATHS_X=1",
	})
	if err == nil {
		t.Fatal("want an error for the unknown variables")
	}
	msg := err.Error()
	for _, want := range []string{"ASSETD_SERVER_LISTN", "ASSETD_PATHS_X"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not name %s: %v", want, msg)
		}
	}
	for _, ok := range []string{"ASSETD_CONFIG", "ASSETD_TEST_", "ASSETD_SERVER_LISTEN=", "ALLOWED_DOMAINS"} {
		if strings.Contains(msg, ok) {
			t.Errorf("error names the allowed %s: %v", ok, msg)
		}
	}
	if err := CheckEnv([]string{"ASSETD_DATABASE_DSN=x", "HOME=/root"}); err != nil {
		t.Fatal(err)
	}
}

func TestEnvNames(t *testing.T) {
	names := EnvNames()
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("two keys share the variable %s", n)
		}
		seen[n] = true
	}
	for _, want := range []string{
		"ASSETD_SERVER_LISTEN", "ASSETD_SERVER_PUBLIC_URL", "ASSETD_DATABASE_DSN",
		"ASSETD_OBJECTS_S3_ACCESS_KEY", "ASSETD_OBJECTS_FILESYSTEM_ROOT", "ASSETD_SOURCE_MAX_UPLOAD_BYTES",
		"ASSETD_SOURCE_URL_ALLOWED_DOMAINS", "ASSETD_URL_SIGNING_SECRET", "ASSETD_IMAGING_MAX_PIXELS",
	} {
		if !seen[want] {
			t.Errorf("missing %s in %v", want, names)
		}
	}
}

// A config written back out as YAML must load to the same config, so tools
// (and humans) can dump and reuse it.
func TestMarshalRoundTrip(t *testing.T) {
	c, err := Load(writeFile(t, `
profiles:
  thumb: {w: 200, h: 200, fit: fill, format: webp, q: 70, blur: 0}
paths:
  "/**": {bucket: assets, lqip: []}
  "/users/*/avatar":
    max-upload-bytes: 1500KB
    cache-control: {enabled: false, max-age: 31536000}
    redirect: {strategy: presigned, ttl: 90m}
    default-expires: 1d12h
    eager-variants: [thumb]
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Load(writeFile(t, string(out)), noEnv)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !reflect.DeepEqual(c, back) {
		t.Fatalf("round trip changed the config:\n%s", out)
	}
	if got := back.PathSettings("/**"); got.LQIP == nil || len(got.LQIP) != 0 {
		t.Fatalf("an explicit empty lqip list must survive: %#v", got.LQIP)
	}
	if got := back.Resolve(asset.Path("users/1/avatar")); got.MaxUploadBytes != 1_500_000 {
		t.Fatalf("policy = %+v", got)
	}
}
