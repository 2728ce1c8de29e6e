package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"assetd/internal/imaging/imagingtest"
	"assetd/internal/testenv"
)

// TestHostileUploadsLeaveNothing: every hostile input is a 4xx problem, the
// process stays up, and nothing is left in the database, the object store
// or the spool directory.
func TestHostileUploadsLeaveNothing(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		s := start(t, st, nil)
		for name, data := range imagingtest.Hostile(fixture(t, "cactus.jpg")) {
			resp, body := s.post(t, "/assets/hostile/x", part{name: "asset", filename: name, contentType: "image/jpeg", body: data})
			if resp.StatusCode < 400 || resp.StatusCode > 499 {
				t.Errorf("%s: status %d, want 4xx; %s", name, resp.StatusCode, body)
				continue
			}
			problemOf(t, resp, body)
		}
		if resp, _ := s.get(t, "/livez"); resp.StatusCode != http.StatusOK {
			t.Fatalf("livez = %d after hostile uploads", resp.StatusCode)
		}
		if resp, body := s.get(t, "/assets/hostile/x/-/metadata"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("a rejected upload left an entry: %d %s", resp.StatusCode, body)
		}
		if files := s.objectFiles(t); len(files) != 0 {
			t.Errorf("rejected uploads left objects: %v", files)
		}
		if st.name == "postgres+s3" {
			if n := countS3Objects(t, s.bucket); n != 0 {
				t.Errorf("rejected uploads left %d objects in S3", n)
			}
		}
		if left := s.tempFiles(t); len(left) != 0 {
			t.Errorf("rejected uploads left temp files: %v", left)
		}
		// Nothing consumed an entry id either: the first good upload is entry 0.
		resp, body := s.post(t, "/assets/hostile/x", part{name: "asset", body: fixture(t, "alpha.png")})
		var a struct{ EntryID int }
		json.Unmarshal(body, &a)
		if resp.StatusCode != http.StatusCreated || a.EntryID != 0 {
			t.Errorf("first good upload = %d entry %d, want 201 entry 0", resp.StatusCode, a.EntryID)
		}
	})
}

// countS3Objects counts the objects in a bucket of the test MinIO.
func countS3Objects(t *testing.T, bucket string) int {
	cfg := testenv.S3(t)
	client, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for obj := range client.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		n++
	}
	return n
}

// TestRequestErrors: malformed requests are problem+json 4xx with the
// status and code API.md gives, and change nothing.
func TestRequestErrors(t *testing.T) {
	s := start(t, stacks[0], map[string]string{"ASSETD_SOURCE_MAX_UPLOAD_BYTES": "64KiB"})
	img := fixture(t, "alpha.png")
	asset := part{name: "asset", body: img}
	cases := []struct {
		name   string
		status int
		code   string
		send   func() (*http.Response, []byte)
	}{
		{"no asset part", 400, "invalid_request", func() (*http.Response, []byte) {
			return s.post(t, "/assets/e/x", part{name: "metadata", body: []byte(`{}`)})
		}},
		{"asset and file", 400, "invalid_request", func() (*http.Response, []byte) {
			return s.post(t, "/assets/e/x", asset, part{name: "file", body: img})
		}},
		{"two metadata parts", 400, "invalid_request", func() (*http.Response, []byte) {
			return s.post(t, "/assets/e/x", part{name: "metadata", body: []byte(`{}`)}, asset, part{name: "metadata", body: []byte(`{}`)})
		}},
		{"unknown metadata field", 400, "invalid_request", func() (*http.Response, []byte) {
			return s.post(t, "/assets/e/x", part{name: "metadata", body: []byte(`{"alt":"a","colour":"red"}`)}, asset)
		}},
		{"null metadata", 400, "invalid_request", func() (*http.Response, []byte) {
			return s.post(t, "/assets/e/x", part{name: "metadata", body: []byte(`null`)}, asset)
		}},
		{"empty metadata", 400, "invalid_request", func() (*http.Response, []byte) {
			return s.post(t, "/assets/e/x", part{name: "metadata", body: nil}, asset)
		}},
		{"metadata array", 400, "invalid_request", func() (*http.Response, []byte) {
			return s.post(t, "/assets/e/x", part{name: "metadata", body: []byte(`["a"]`)}, asset)
		}},
		{"trailing data", 400, "invalid_request", func() (*http.Response, []byte) {
			return s.post(t, "/assets/e/x", part{name: "metadata", body: []byte(`{} {}`)}, asset)
		}},
		{"alt too long", 400, "invalid_request", func() (*http.Response, []byte) {
			return s.post(t, "/assets/e/x", part{name: "metadata", body: []byte(`{"alt":"` + strings.Repeat("a", 1001) + `"}`)}, asset)
		}},
		{"label not a string", 400, "invalid_request", func() (*http.Response, []byte) {
			return s.post(t, "/assets/e/x", part{name: "metadata", body: []byte(`{"labels":{"a":1}}`)}, asset)
		}},
		{"control character in tag", 400, "invalid_request", func() (*http.Response, []byte) {
			return s.post(t, "/assets/e/x", part{name: "metadata", body: []byte(`{"tags":["a\u0007"]}`)}, asset)
		}},
		{"expires in the past", 400, "invalid_request", func() (*http.Response, []byte) {
			return s.post(t, "/assets/e/x", part{name: "metadata", body: []byte(`{"expires":"2001-01-01T00:00:00Z"}`)}, asset)
		}},
		{"too large", 413, "too_large", func() (*http.Response, []byte) {
			return s.post(t, "/assets/e/x", part{name: "asset", body: make([]byte, 65*1024)})
		}},
		{"plain text body", 415, "unsupported_media_type", func() (*http.Response, []byte) {
			return s.do(t, http.MethodPost, "/assets/e/x", "text/plain", strings.NewReader("hello"), nil)
		}},
		{"not an image", 415, "unsupported_media_type", func() (*http.Response, []byte) {
			return s.post(t, "/assets/e/x", part{name: "asset", body: []byte("just some text")})
		}},
		{"POST with selectors", 400, "invalid_request", func() (*http.Response, []byte) {
			return s.post(t, "/assets/e/x/-/entry/0", asset)
		}},
		{"trailing slash", 400, "invalid_request", func() (*http.Response, []byte) { return s.post(t, "/assets/e/x/", asset) }},
		{"encoded slash", 400, "invalid_request", func() (*http.Response, []byte) { return s.post(t, "/assets/e%2Fx", asset) }},
		{"dot dot", 400, "invalid_request", func() (*http.Response, []byte) { return s.get(t, "/assets/e/../x") }},
		{"bare dash", 400, "invalid_request", func() (*http.Response, []byte) { return s.get(t, "/assets/e/x/-") }},
		{"unknown selector", 400, "invalid_request", func() (*http.Response, []byte) { return s.get(t, "/assets/e/x/-/thumbnail") }},
		{"unknown entry", 404, "not_found", func() (*http.Response, []byte) { return s.get(t, "/assets/e/x/-/entry/5/content") }},
		{"unknown route", 404, "not_found", func() (*http.Response, []byte) { return s.get(t, "/nothing/here") }},
		{"wrong method", 405, "method_not_allowed", func() (*http.Response, []byte) {
			return s.do(t, http.MethodPatch, "/assets/e/x", "", nil, nil)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := c.send()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d; %s", resp.StatusCode, c.status, body)
			}
			p := problemOf(t, resp, body)
			if p["code"] != c.code {
				t.Errorf("code %v, want %s", p["code"], c.code)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("error Cache-Control = %q", resp.Header.Get("Cache-Control"))
			}
			if c.status == http.StatusMethodNotAllowed && !strings.Contains(resp.Header.Get("Allow"), "GET") {
				t.Errorf("405 Allow = %q", resp.Header.Get("Allow"))
			}
		})
	}
	if resp, body := s.get(t, "/assets/e/x/-/metadata"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a rejected request stored an entry: %d %s", resp.StatusCode, body)
	}
	if left := s.tempFiles(t); len(left) != 0 {
		t.Errorf("rejected uploads left temp files: %v", left)
	}
}

// TestDelete: deleting an entry answers 204, hides it, removes its object,
// and never frees its entry id.
func TestDelete(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		s := start(t, st, nil)
		img := fixture(t, "cactus.webp")
		for range 2 {
			if resp, body := s.post(t, "/assets/d/x", part{name: "file", body: img}); resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST = %d %s", resp.StatusCode, body)
			}
		}
		_, meta := s.get(t, "/assets/d/x/-/entry/1/metadata")
		var a struct {
			Variants []struct{ StoreKey string }
		}
		json.Unmarshal(meta, &a)
		objectsBefore := len(s.objectFiles(t))

		for _, path := range []string{"/assets/d/x/-/entry/1", "/assets/d/x/-/entry/1", "/assets/d/x/-/entry/9", "/assets/nothing/here"} {
			if resp, body := s.do(t, http.MethodDelete, path, "", nil, nil); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("DELETE %s = %d %s", path, resp.StatusCode, body)
			}
		}
		if resp, _ := s.get(t, "/assets/d/x/-/entry/1/content"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("deleted entry still served: %d", resp.StatusCode)
		}
		resp, body := s.get(t, "/assets/d/x/-/metadata")
		var newest struct{ EntryID int }
		json.Unmarshal(body, &newest)
		if resp.StatusCode != http.StatusOK || newest.EntryID != 0 {
			t.Errorf("newest after delete = %d entry %d, want entry 0", resp.StatusCode, newest.EntryID)
		}
		if st.name == "sqlite+filesystem" {
			if after := len(s.objectFiles(t)); after != objectsBefore-1 {
				t.Errorf("objects %d → %d, want one fewer", objectsBefore, after)
			}
		} else if n := countS3Objects(t, s.bucket); n != 1 {
			t.Errorf("S3 holds %d objects after the delete, want 1", n)
		}
		resp, body = s.post(t, "/assets/d/x", part{name: "asset", body: img})
		var next struct{ EntryID int }
		json.Unmarshal(body, &next)
		if resp.StatusCode != http.StatusCreated || next.EntryID != 2 {
			t.Errorf("upload after delete got entry %d, want 2 (ids are never reused)", next.EntryID)
		}
		// DELETE without a selector removes the newest.
		s.do(t, http.MethodDelete, "/assets/d/x", "", nil, nil)
		_, body = s.get(t, "/assets/d/x/-/metadata")
		json.Unmarshal(body, &newest)
		if newest.EntryID != 0 {
			t.Errorf("DELETE /assets/d/x left newest entry %d, want 0", newest.EntryID)
		}
	})
}
