// Package config holds assetd's configuration: the code defaults, strict YAML
// loading, ASSETD_* environment overrides, validation that reports every
// problem at once, and the per-path settings matcher that implements
// asset.Policies.
//
// config/assetd.yaml in the repository is the documented default; a test
// keeps it equal to Default.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"assetd/internal/asset"
)

// Config is the whole configuration. The zero value is not useful; start from
// Default or Load.
type Config struct {
	Server     Server     `yaml:"server"`
	Database   Database   `yaml:"database"`
	Objects    Objects    `yaml:"objects"`
	Imaging    Imaging    `yaml:"imaging"`
	Source     Source     `yaml:"source"`
	URLSigning URLSigning `yaml:"url-signing"`
	// Profiles are named transformations, usable as ?profile=NAME and in
	// eager-variants.
	Profiles map[string]Profile `yaml:"profiles"`
	// Paths maps path patterns ("/users/*/avatar") to per-path settings. When
	// a file sets paths, its map replaces the default one.
	Paths map[string]PathRule `yaml:"paths"`

	// matcher is compiled from Paths by Load; nil means PathSettings compiles
	// on each call, so hand-built Configs still work.
	matcher *matcher
}

// Server configures the HTTP listener.
type Server struct {
	Listen    string `yaml:"listen"`     // host:port
	PublicURL string `yaml:"public-url"` // http(s)://host[:port][/prefix], no trailing slash
	// ReadHeaderTimeout bounds reading request headers (slowloris).
	ReadHeaderTimeout Duration `yaml:"read-header-timeout"`
	// ReadTimeout bounds reading a whole request, body included; 0 is none.
	ReadTimeout Duration `yaml:"read-timeout"`
	// WriteTimeout bounds writing a response; 0 is none.
	WriteTimeout Duration `yaml:"write-timeout"`
	// IdleTimeout bounds keep-alive connections waiting for a request.
	IdleTimeout Duration `yaml:"idle-timeout"`
	// MaxHeaderBytes bounds the request header size.
	MaxHeaderBytes Size `yaml:"max-header-bytes"`
	// ShutdownTimeout bounds the graceful shutdown on SIGTERM.
	ShutdownTimeout Duration `yaml:"shutdown-timeout"`
}

// The database drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Database chooses the repository.
type Database struct {
	Driver string `yaml:"driver"` // DriverSQLite or DriverPostgres
	DSN    string `yaml:"dsn"`    // a file path for sqlite, a postgres:// URL for postgres
}

// The object-store backends.
const (
	BackendFilesystem = "filesystem"
	BackendS3         = "s3"
)

// Objects chooses and configures the object store.
type Objects struct {
	Backend    string     `yaml:"backend"` // BackendFilesystem or BackendS3
	Filesystem Filesystem `yaml:"filesystem"`
	S3         S3         `yaml:"s3"`
}

// Filesystem configures the local-directory object store.
type Filesystem struct {
	Root string `yaml:"root"` // the directory holding one subdirectory per bucket
}

// S3 configures the S3-compatible object store.
type S3 struct {
	Endpoint      string `yaml:"endpoint"` // host:port, no scheme
	AccessKey     string `yaml:"access-key"`
	SecretKey     string `yaml:"secret-key"`
	Region        string `yaml:"region"`
	Secure        bool   `yaml:"secure"`         // use https
	PathStyle     bool   `yaml:"path-style"`     // bucket in the path, not the host name
	CreateBuckets bool   `yaml:"create-buckets"` // create missing buckets at startup
}

// Imaging bounds libvips work.
type Imaging struct {
	Workers   int   `yaml:"workers"`    // concurrent libvips operations; 0 = number of CPUs
	MaxPixels int64 `yaml:"max-pixels"` // width × height of one frame
	MaxSide   int   `yaml:"max-side"`   // the longer side
	MaxFrames int   `yaml:"max-frames"` // pages of an animation
}

// Source configures how originals arrive.
type Source struct {
	// MaxUploadBytes bounds an upload or URL download unless a path sets its own.
	MaxUploadBytes Size      `yaml:"max-upload-bytes"`
	URL            URLSource `yaml:"url"`
}

// URLSource configures downloading originals from URLs.
type URLSource struct {
	// AllowedDomains lists host names ("example.com") and patterns
	// ("*.example.com"); empty means no URL source is allowed.
	AllowedDomains []string `yaml:"allowed-domains"`
	Timeout        Duration `yaml:"timeout"`
	MaxRedirects   int      `yaml:"max-redirects"`
	// AllowLoopback lets tests fetch from 127.0.0.1; never set it in production.
	AllowLoopback bool `yaml:"allow-loopback"`
}

// The URL-signing algorithms.
const (
	HMACSHA256 = "hmac-sha256"
	HMACSHA384 = "hmac-sha384"
	HMACSHA512 = "hmac-sha512"
)

// URLSigning configures signed GET URLs.
type URLSigning struct {
	Enabled   bool   `yaml:"enabled"`
	Secret    string `yaml:"secret"`
	Algorithm string `yaml:"algorithm"` // HMACSHA256, HMACSHA384 or HMACSHA512
}

// DefaultBucket is the bucket of paths whose patterns set none.
const DefaultBucket = "assets"

// Default returns the code defaults, which config/assetd.yaml documents. Each
// call returns a new Config that the caller may change.
func Default() *Config {
	bucket := DefaultBucket
	return &Config{
		Server: Server{
			Listen:            "127.0.0.1:8080",
			PublicURL:         "http://localhost:8080",
			ReadHeaderTimeout: Duration(5 * time.Second),
			ReadTimeout:       Duration(5 * time.Minute),
			WriteTimeout:      Duration(5 * time.Minute),
			IdleTimeout:       Duration(60 * time.Second),
			MaxHeaderBytes:    1 << 20,
			ShutdownTimeout:   Duration(20 * time.Second),
		},
		Database: Database{Driver: DriverSQLite, DSN: "data/assetd.db"},
		Objects: Objects{
			Backend:    BackendFilesystem,
			Filesystem: Filesystem{Root: "data/objects"},
			S3: S3{
				Endpoint:      "127.0.0.1:9000",
				Region:        "us-east-1",
				PathStyle:     true,
				CreateBuckets: true,
			},
		},
		Imaging: Imaging{Workers: 0, MaxPixels: 50_000_000, MaxSide: 16384, MaxFrames: 256},
		Source: Source{
			MaxUploadBytes: 50 << 20,
			URL: URLSource{
				AllowedDomains: []string{},
				Timeout:        Duration(15 * time.Second),
				MaxRedirects:   5,
			},
		},
		URLSigning: URLSigning{Algorithm: HMACSHA256},
		Profiles:   map[string]Profile{},
		Paths: map[string]PathRule{
			"/**": {Bucket: &bucket, LQIP: []asset.LQIPKind{asset.LQIPBlurhash, asset.LQIPThumbhash}},
		},
	}
}

// Load returns the configuration: Default, then the YAML file at path (none
// when path is ""), then the ASSETD_* variables that getenv returns (see
// EnvNames; an empty value counts as unset), then Validate.
//
// Errors: a missing or unreadable file; YAML that does not parse, has an
// unknown key (the error names it) or a duplicate key; an environment value
// that does not parse (the error names the variable); and every validation
// problem, joined. Unknown ASSETD_* variables cannot be seen through getenv:
// call CheckEnv with the environment for that.
func Load(path string, getenv func(string) string) (*Config, error) {
	c := Default()
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		defer f.Close()
		if err := c.decode(f); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if getenv != nil {
		if err := c.applyEnv(getenv); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c.matcher = compile(c.Paths)
	return c, nil
}

// decode reads one YAML document over c. checkNode reports unknown keys and
// fractional integers first, by their dotted keys; KnownFields stays on as a
// backstop, and yaml.v3 itself rejects duplicate keys.
func (c *Config) decode(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	if len(doc.Content) > 0 {
		if err := errors.Join(checkNode(doc.Content[0], reflect.TypeFor[Config](), "")...); err != nil {
			return err
		}
	}
	defaultPaths := c.Paths
	c.Paths = nil
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err = dec.Decode(c)
	if errors.Is(err, io.EOF) {
		err = nil // an empty file means the defaults
	}
	if c.Paths == nil {
		// Only a file without a paths key keeps the default patterns: merging
		// the defaults into the file's map would add rules the file never shows.
		c.Paths = defaultPaths
	}
	if c.Profiles == nil {
		c.Profiles = map[string]Profile{}
	}
	if c.Source.URL.AllowedDomains == nil {
		c.Source.URL.AllowedDomains = []string{}
	}
	return err
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// checkNode returns an error for every unknown key in n and every float
// scalar that would land in an integer field of t, each naming its dotted
// key (yaml.v3 names only the Go type, and silently truncates 1.5 to 1).
// Other mismatches are left to the decoder, which reports them.
func checkNode(n *yaml.Node, t reflect.Type, key string) []error {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	join := func(k string) string {
		if key == "" {
			return k
		}
		return key + "." + k
	}
	var errs []error
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			name := n.Content[i].Value
			known := name == "<<" // a YAML merge key; the decoder checks what it merges
			for j := 0; j < t.NumField(); j++ {
				if tag, _, _ := strings.Cut(t.Field(j).Tag.Get("yaml"), ","); tag == name && t.Field(j).IsExported() {
					known = true
					errs = append(errs, checkNode(n.Content[i+1], t.Field(j).Type, join(name))...)
				}
			}
			if !known {
				errs = append(errs, fmt.Errorf("line %d: %s: unknown key", n.Content[i].Line, join(keyPart(name))))
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, checkNode(n.Content[i+1], t.Elem(), join(keyPart(n.Content[i].Value)))...)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for _, item := range n.Content {
			errs = append(errs, checkNode(item, t.Elem(), key)...)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" {
			errs = append(errs, fmt.Errorf("line %d: %s: must be an integer, not %s", n.Line, key, n.Value))
		}
	}
	return errs
}

// keyPart spells a map key inside a dotted key: bare when it is a plain
// word, quoted otherwise ("paths."/users/*".bucket").
func keyPart(s string) string {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
			return strconv.Quote(s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}
