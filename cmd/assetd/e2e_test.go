package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

const cactusMetadata = `{"alt":"a cactus","labels":{"phone":"android"},"tags":["green"]}`

// TestStoreAndServe is the README walk-through: upload, then content,
// metadata, link and download, on both stacks.
func TestStoreAndServe(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		s := start(t, st, nil)
		img := fixture(t, "cactus.jpg")
		resp, body := s.post(t, "/assets/users/42/avatar",
			part{name: "metadata", contentType: "application/json", body: []byte(cactusMetadata)},
			part{name: "asset", filename: "cactus.jpg", contentType: "text/plain", body: img})
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST = %d %s", resp.StatusCode, body)
		}
		if got, want := resp.Header.Get("Location"), "http://assetd.test/assets/users/42/avatar/-/entry/0"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
		var created struct {
			Class    string            `json:"class"`
			Path     string            `json:"path"`
			EntryID  int64             `json:"entryId"`
			Alt      string            `json:"alt"`
			Labels   map[string]string `json:"labels"`
			Tags     []string          `json:"tags"`
			Source   string            `json:"source"`
			Variants []struct {
				IsOriginalVariant bool   `json:"isOriginalVariant"`
				StoreKey          string `json:"storeKey"`
				Attributes        struct {
					Width, Height int
					Format        string
					Size          int64
					ContentType   string
				} `json:"attributes"`
				LQIP struct{ Blurhash, Thumbhash string } `json:"lqip"`
			} `json:"variants"`
		}
		if err := json.Unmarshal(body, &created); err != nil {
			t.Fatal(err)
		}
		v := created.Variants[0]
		if created.Class != "image" || created.Path != "users/42/avatar" || created.EntryID != 0 ||
			created.Alt != "a cactus" || created.Labels["phone"] != "android" || !reflect.DeepEqual(created.Tags, []string{"green"}) ||
			created.Source != "upload" || len(created.Variants) != 1 || !v.IsOriginalVariant {
			t.Errorf("unexpected asset: %s", body)
		}
		if v.Attributes.Width != 640 || v.Attributes.Height != 480 || v.Attributes.Format != "jpg" ||
			v.Attributes.Size != int64(len(img)) || v.Attributes.ContentType != "image/jpeg" {
			t.Errorf("attributes = %+v, want 640x480 jpg of %d bytes", v.Attributes, len(img))
		}
		if v.LQIP.Blurhash == "" || v.LQIP.Thumbhash == "" {
			t.Errorf("lqip = %+v, want both placeholders", v.LQIP)
		}
		if strings.Contains(v.StoreKey, "users") || !strings.HasSuffix(v.StoreKey, ".jpg") {
			t.Errorf("store key %q must be generated, not derived from the path", v.StoreKey)
		}

		resp, content := s.get(t, "/assets/users/42/avatar/-/content")
		if resp.StatusCode != http.StatusOK || sha256.Sum256(content) != sha256.Sum256(img) {
			t.Fatalf("content = %d, %d bytes; want the uploaded %d bytes", resp.StatusCode, len(content), len(img))
		}
		for header, want := range map[string]string{
			"Content-Type": "image/jpeg", "Content-Length": fmt.Sprint(len(img)), "X-Alt": "a%20cactus",
			"X-Content-Type-Options": "nosniff", "X-LQIP-Blurhash": v.LQIP.Blurhash, "X-LQIP-Thumbhash": v.LQIP.Thumbhash,
		} {
			if got := resp.Header.Get(header); got != want {
				t.Errorf("content %s = %q, want %q", header, got, want)
			}
		}
		etag := resp.Header.Get("ETag")
		if !strings.HasPrefix(etag, `"`) || resp.Header.Get("Last-Modified") == "" {
			t.Errorf("content lacks a strong ETag (%q) or Last-Modified", etag)
		}
		resp, _ = s.do(t, http.MethodGet, "/assets/users/42/avatar/-/content", "", nil, http.Header{"If-None-Match": {etag}})
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match = %d, want 304", resp.StatusCode)
		}
		resp, ranged := s.do(t, http.MethodGet, "/assets/users/42/avatar/-/content", "", nil, http.Header{"Range": {"bytes=100-199"}})
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(ranged, img[100:200]) {
			t.Errorf("Range = %d with %d bytes, want 206 with bytes 100-199", resp.StatusCode, len(ranged))
		}

		resp, meta := s.get(t, "/assets/users/42/avatar/-/metadata")
		if resp.StatusCode != http.StatusOK || !jsonEqual(t, meta, body) {
			t.Errorf("metadata = %d %s\nwant the 201 body %s", resp.StatusCode, meta, body)
		}
		resp, meta = s.get(t, "/assets/users/42/avatar/-/entry/0/metadata")
		if resp.StatusCode != http.StatusOK || !jsonEqual(t, meta, body) {
			t.Errorf("entry/0/metadata = %d %s", resp.StatusCode, meta)
		}

		resp, link := s.get(t, "/assets/users/42/avatar")
		want := fmt.Sprintf(`{"url":"http://assetd.test/assets/users/42/avatar/-/entry/0/content","alt":"a cactus","lqip":{"blurhash":%q,"thumbhash":%q},"expiresAt":null}`,
			v.LQIP.Blurhash, v.LQIP.Thumbhash)
		if resp.StatusCode != http.StatusOK || !jsonEqual(t, link, []byte(want)) {
			t.Errorf("link = %d %s\nwant %s", resp.StatusCode, link, want)
		}

		resp, dl := s.get(t, "/assets/users/42/avatar/-/download")
		if got := resp.Header.Get("Content-Disposition"); resp.StatusCode != http.StatusOK ||
			got != `attachment; filename="a cactus.jpg"` || !bytes.Equal(dl, img) {
			t.Errorf("download = %d, Content-Disposition %q", resp.StatusCode, got)
		}
	})
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// TestConcurrentUploadsGetDistinctEntryIDs: 200 concurrent uploads to one
// path all succeed with entry ids exactly 0..199.
func TestConcurrentUploadsGetDistinctEntryIDs(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		s := start(t, st, map[string]string{"ASSETD_IMAGING_WORKERS": "4"})
		img := fixture(t, "alpha.png")
		const n = 200
		ids := make([]int, 0, n)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				resp, body := s.post(t, "/assets/race/one", part{name: "asset", body: img})
				if resp.StatusCode != http.StatusCreated {
					t.Errorf("POST = %d %s", resp.StatusCode, body)
					return
				}
				var a struct{ EntryID int }
				json.Unmarshal(body, &a)
				mu.Lock()
				ids = append(ids, a.EntryID)
				mu.Unlock()
			})
		}
		wg.Wait()
		sort.Ints(ids)
		for i, id := range ids {
			if id != i {
				t.Fatalf("entry ids are not exactly 0..%d: %v", n-1, ids)
			}
		}
		if len(ids) != n {
			t.Fatalf("%d uploads succeeded, want %d", len(ids), n)
		}
	})
}
