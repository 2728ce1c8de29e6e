package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"assetd/internal/testenv"
)

// server is an assetd started through run() for one test.
type server struct {
	URL     string
	dataDir string // the filesystem stack's object root, "" on S3
	bucket  string // the bucket of every path; fresh for each server
	tempDir string // where uploads are spooled
}

// stack names a database + object store combination.
type stack struct {
	name string
	env  func(t *testing.T, dir string) map[string]string
}

// stacks are the two deployments every end-to-end test runs on.
var stacks = []stack{
	{"sqlite+filesystem", func(t *testing.T, dir string) map[string]string {
		return map[string]string{
			"ASSETD_DATABASE_DRIVER":         "sqlite",
			"ASSETD_DATABASE_DSN":            filepath.Join(dir, "assetd.db"),
			"ASSETD_OBJECTS_BACKEND":         "filesystem",
			"ASSETD_OBJECTS_FILESYSTEM_ROOT": filepath.Join(dir, "objects"),
		}
	}},
	{"postgres+s3", func(t *testing.T, dir string) map[string]string {
		s3 := testenv.S3(t)
		return map[string]string{
			"ASSETD_DATABASE_DRIVER":           "postgres",
			"ASSETD_DATABASE_DSN":              testenv.PostgresDSN(t),
			"ASSETD_OBJECTS_BACKEND":           "s3",
			"ASSETD_OBJECTS_S3_ENDPOINT":       s3.Endpoint,
			"ASSETD_OBJECTS_S3_ACCESS_KEY":     s3.AccessKey,
			"ASSETD_OBJECTS_S3_SECRET_KEY":     s3.SecretKey,
			"ASSETD_OBJECTS_S3_PATH_STYLE":     "true",
			"ASSETD_OBJECTS_S3_SECURE":         "false",
			"ASSETD_OBJECTS_S3_CREATE_BUCKETS": "true",
		}
	}},
}

// forEachStack runs fn as a subtest on every stack.
func forEachStack(t *testing.T, fn func(t *testing.T, st stack)) {
	for _, st := range stacks {
		t.Run(st.name, func(t *testing.T) { fn(t, st) })
	}
}

// start runs assetd on st with extra environment overrides and stops it
// when the test ends, failing the test if run() returned an error.
func start(t *testing.T, st stack, extra map[string]string) *server {
	t.Helper()
	return launch(t, st, setup{env: extra}).server
}

// startWith runs assetd on st with extra path rules: paths is YAML for the
// body of the paths block (keys indented by two spaces), in which BUCKET
// stands for the server's bucket.
func startWith(t *testing.T, st stack, paths string) *lcServer {
	t.Helper()
	return launch(t, st, setup{paths: paths})
}

// setup is what a test adds to a server's configuration.
type setup struct {
	env map[string]string
	// top is YAML for top-level sections other than paths (profiles,
	// url-signing, …).
	top string
	// paths is YAML for the body of the paths block; "/**" always sets the
	// server's bucket and both LQIP kinds.
	paths string
	// replicaOf, when set, makes this server a second replica of that one:
	// the same configuration, database and object store.
	replicaOf *lcServer
}

// lcServer is an assetd that can be stopped before the test ends, so that
// the maintenance commands can run against its database and object store.
type lcServer struct {
	*server
	configFile string
	getenv     func(string) string
	// stop cancels the server and waits for run to return; it is safe to
	// call more than once.
	stop func()
}

// launch runs assetd through run() on st with cfg, in a fresh data
// directory, bucket and spool directory, and stops it when the test ends.
func launch(t *testing.T, st stack, cfg setup) *lcServer {
	t.Helper()
	if r := cfg.replicaOf; r != nil {
		return runServer(t, r.configFile, r.getenv, *r.server)
	}
	dir := t.TempDir()
	tempDir := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tempDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Uploads are spooled to os.TempDir; point it at a directory the test
	// can check for leftovers.
	t.Setenv("TMPDIR", tempDir)
	env := st.env(t, dir)
	env["ASSETD_SERVER_LISTEN"] = "127.0.0.1:0"
	env["ASSETD_SERVER_PUBLIC_URL"] = "http://assetd.test"
	for k, v := range cfg.env {
		env[k] = v
	}
	getenv := func(k string) string { return env[k] }
	// Each server gets its own bucket, so tests sharing one MinIO never see
	// each other's objects.
	bucket := testenv.Bucket()
	configFile := filepath.Join(dir, "assetd.yaml")
	yaml := cfg.top + "\npaths:\n  \"/**\":\n    bucket: " + bucket + "\n    lqip: [blurhash, thumbhash]\n" +
		strings.ReplaceAll(cfg.paths, "BUCKET", bucket)
	if err := os.WriteFile(configFile, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s := server{tempDir: tempDir, bucket: bucket}
	if env["ASSETD_OBJECTS_BACKEND"] == "filesystem" {
		s.dataDir = env["ASSETD_OBJECTS_FILESYSTEM_ROOT"]
	}
	return runServer(t, configFile, getenv, s)
}

// runServer runs assetd with configFile and getenv until the test ends; s
// describes its storage, and gets the server's URL.
func runServer(t *testing.T, configFile string, getenv func(string) string, s server) *lcServer {
	t.Helper()

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config", configFile}, getenv, pw)
		pw.Close()
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" && !sent {
				addr <- line.Addr
				sent = true
			}
		}
		io.Copy(io.Discard, pr)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run returned %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	select {
	case a := <-addr:
		s.URL = "http://" + a
		return &lcServer{server: &s, configFile: configFile, getenv: getenv, stop: stop}
	case err := <-done:
		done <- err // for stop
		t.Fatalf("run exited before listening: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("assetd did not start listening")
	}
	return nil
}

// part is one multipart part of an upload.
type part struct {
	name, filename, contentType string
	body                        []byte
}

// post sends a multipart upload and returns the response with its body read.
func (s *server) post(t *testing.T, path string, parts ...part) (*http.Response, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		disp := `form-data; name="` + p.name + `"`
		if p.filename != "" {
			disp += `; filename="` + p.filename + `"`
		}
		h.Set("Content-Disposition", disp)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.body)
	}
	mw.Close()
	return s.do(t, http.MethodPost, path, mw.FormDataContentType(), &buf, nil)
}

// do sends a request and returns the response with its body read.
func (s *server) do(t *testing.T, method, path, contentType string, body io.Reader, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

func (s *server) get(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	return s.do(t, http.MethodGet, path, "", nil, nil)
}

// objectFiles lists the files in the filesystem object store; nil on S3.
func (s *server) objectFiles(t *testing.T) []string {
	t.Helper()
	if s.dataDir == "" {
		return nil
	}
	var files []string
	filepath.WalkDir(s.dataDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	return files
}

// tempFiles lists the files left in the upload spool directory.
func (s *server) tempFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(s.tempDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// problemOf decodes a problem+json body, failing the test if it is not one.
func problemOf(t *testing.T, resp *http.Response, body []byte) map[string]any {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d with Content-Type %q, want application/problem+json; body %s", resp.StatusCode, ct, body)
	}
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body %s: %v", body, err)
	}
	for _, k := range []string{"type", "title", "status", "detail", "code"} {
		if _, ok := p[k]; !ok {
			t.Fatalf("problem lacks %q: %s", k, body)
		}
	}
	if int(p["status"].(float64)) != resp.StatusCode {
		t.Fatalf("problem status %v != HTTP status %d", p["status"], resp.StatusCode)
	}
	return p
}
