package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// origin is a local upstream for URL sources that counts its requests.
type origin struct {
	*httptest.Server
	requests atomic.Int64
}

func newOrigin(t *testing.T, img []byte) *origin {
	o := &origin{}
	mux := http.NewServeMux()
	mux.HandleFunc("/p/991.jpg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html") // ignored: the bytes are sniffed
		w.Write(img)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/p/991.jpg", http.StatusFound)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:1/p/991.jpg", http.StatusFound)
	})
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("plain text, not an image")) })
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 32<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Write(img[:100])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

func (s *server) postJSON(t *testing.T, path, body string) (*http.Response, []byte) {
	t.Helper()
	return s.do(t, http.MethodPost, path, "application/json", strings.NewReader(body), nil)
}

// TestURLSource: a JSON store request downloads an allowed URL and stores it
// like an upload; every failure is the documented 4xx and stores nothing.
func TestURLSource(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		img := fixture(t, "cactus.jpg")
		o := newOrigin(t, img)
		s := start(t, st, map[string]string{
			"ASSETD_SOURCE_URL_ALLOWED_DOMAINS": "127.0.0.1",
			"ASSETD_SOURCE_URL_ALLOW_LOOPBACK":  "true",
			"ASSETD_SOURCE_URL_TIMEOUT":         "1s",
			"ASSETD_SOURCE_MAX_UPLOAD_BYTES":    "1MiB",
		})
		src := o.URL + "/p/991.jpg"
		resp, body := s.postJSON(t, "/assets/products/991/photo",
			`{"url":"`+src+`","alt":"red sneaker","labels":{"sku":"991"}}`)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST url = %d %s", resp.StatusCode, body)
		}
		var a struct {
			Source, SourceURL, Alt string
			Labels                 map[string]string
			Variants               []struct {
				Attributes struct {
					Width, Height int
					Format        string
					Size          int
				}
				LQIP struct{ Blurhash, Thumbhash string }
			}
		}
		json.Unmarshal(body, &a)
		v := a.Variants[0]
		if a.Source != "url" || a.SourceURL != src || a.Alt != "red sneaker" || a.Labels["sku"] != "991" ||
			v.Attributes.Width != 640 || v.Attributes.Height != 480 || v.Attributes.Format != "jpg" ||
			v.Attributes.Size != len(img) || v.LQIP.Blurhash == "" || v.LQIP.Thumbhash == "" {
			t.Errorf("unexpected asset %s", body)
		}
		if resp, content := s.get(t, "/assets/products/991/photo/-/content"); string(content) != string(img) {
			t.Errorf("content = %d, %d bytes; want the origin's bytes", resp.StatusCode, len(content))
		}
		if resp, body := s.postJSON(t, "/assets/products/992/photo", `{"url":"`+o.URL+`/redirect"}`); resp.StatusCode != http.StatusCreated {
			t.Errorf("redirect within the allow-list = %d %s", resp.StatusCode, body)
		}

		cases := []struct {
			name, body string
			status     int
		}{
			{"missing url", `{"alt":"x"}`, 400},
			{"malformed url", `{"url":"http://[::1"}`, 400},
			{"bad scheme", `{"url":"file:///etc/passwd"}`, 400},
			{"unknown field", `{"url":"` + src + `","colour":"red"}`, 400},
			{"host not allowed", `{"url":"http://localhost:` + strings.Split(o.URL, ":")[2] + `/p/991.jpg"}`, 403},
			{"redirect to a host not allowed", `{"url":"` + o.URL + `/elsewhere"}`, 403},
			{"upstream 404", `{"url":"` + o.URL + `/missing"}`, 422},
			{"not an image", `{"url":"` + o.URL + `/text"}`, 415},
			{"endless body", `{"url":"` + o.URL + `/endless"}`, 422},
			{"slow body", `{"url":"` + o.URL + `/slow"}`, 422},
		}
		for _, c := range cases {
			resp, body := s.postJSON(t, "/assets/bad/url", c.body)
			if resp.StatusCode != c.status {
				t.Errorf("%s: status %d, want %d; %s", c.name, resp.StatusCode, c.status, body)
				continue
			}
			problemOf(t, resp, body)
		}
		if resp, _ := s.get(t, "/assets/bad/url/-/metadata"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("a failed URL source stored an entry: %d", resp.StatusCode)
		}
		if left := s.tempFiles(t); len(left) != 0 {
			t.Errorf("failed URL sources left temp files: %v", left)
		}
	})
}

// TestURLSourceForbiddenAddresses: without allow-loopback, no spelling of a
// loopback address reaches the origin.
func TestURLSourceForbiddenAddresses(t *testing.T) {
	o := newOrigin(t, fixture(t, "cactus.jpg"))
	port := strings.Split(o.URL, ":")[2]
	hosts := []string{"127.0.0.1", "2130706433", "0x7f000001", "127.1", "0.0.0.0", "[::ffff:127.0.0.1]", "[::1]", "[64:ff9b::7f00:1]"}
	allowed := make([]string, 0, len(hosts))
	for _, h := range hosts {
		allowed = append(allowed, strings.Trim(h, "[]"))
	}
	s := start(t, stacks[0], map[string]string{"ASSETD_SOURCE_URL_ALLOWED_DOMAINS": strings.Join(allowed, ",")})
	for _, h := range hosts {
		resp, body := s.postJSON(t, "/assets/ssrf/x", fmt.Sprintf(`{"url":"http://%s:%s/p/991.jpg"}`, h, port))
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403; %s", h, resp.StatusCode, body)
		}
	}
	if n := o.requests.Load(); n != 0 {
		t.Fatalf("the origin saw %d requests, want 0", n)
	}
}
