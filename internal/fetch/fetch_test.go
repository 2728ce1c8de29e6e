package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"assetd/internal/asset"
)

// Every test dials 127.0.0.1 only: origins listen there, and newClient
// installs a guard that refuses any other address the policy might let by.

// origin is a local test server that counts the requests it sees.
type origin struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	headers  http.Header
	port     string
}

func newOrigin(t *testing.T, h http.HandlerFunc) *origin {
	t.Helper()
	o := &origin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		o.mu.Lock()
		o.headers = r.Header.Clone()
		o.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(o.Close)
	host, port, err := net.SplitHostPort(o.Listener.Addr().String())
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("origin listens on %s, want 127.0.0.1", o.Listener.Addr())
	}
	o.port = port
	return o
}

// url returns http://host:port/path for this origin's port.
func (o *origin) url(host, path string) string {
	return "http://" + net.JoinHostPort(host, o.port) + path
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.vet = func(ap netip.AddrPort) error {
		if ap.Addr().Unmap() != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("policy let %s through; refusing to dial it", ap)
			return errors.New("test guard: not 127.0.0.1")
		}
		return nil
	}
	return c
}

func loopbackClient(t *testing.T, cfg Config) *Client {
	cfg.AllowLoopback = true
	if cfg.AllowedDomains == nil {
		cfg.AllowedDomains = []string{"127.0.0.1"}
	}
	return newClient(t, cfg)
}

func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 8 {
		img.Set(i, i, color.RGBA{R: 200, A: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func wantCode(t *testing.T, err error, code asset.Code) *asset.Error {
	t.Helper()
	var e *asset.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *asset.Error; want code %s", err, code)
	}
	if e.Code != code {
		t.Fatalf("code %s (%v); want %s", e.Code, err, code)
	}
	return e
}

func TestFetchImage(t *testing.T) {
	img := testPNG(t)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain") // ignored: the caller sniffs
		w.Write(img)
	})
	c := loopbackClient(t, Config{})
	var buf bytes.Buffer
	n, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/a.png"), &buf, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(img)) || !bytes.Equal(buf.Bytes(), img) {
		t.Fatalf("got %d bytes (%d in buffer); want the %d bytes served", n, buf.Len(), len(img))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if ua := o.headers.Get("User-Agent"); ua != "assetd" {
		t.Errorf("User-Agent %q; want assetd", ua)
	}
	if ae := o.headers.Get("Accept-Encoding"); ae != "identity" {
		t.Errorf("Accept-Encoding %q; want identity", ae)
	}
}

func TestFetchExactlyMaxBytes(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 1000)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	c := loopbackClient(t, Config{})
	var buf bytes.Buffer
	n, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/"), &buf, 1000)
	if err != nil || n != 1000 {
		t.Fatalf("Fetch = %d, %v; want 1000, nil", n, err)
	}
	_, err = c.Fetch(context.Background(), o.url("127.0.0.1", "/"), io.Discard, 999)
	wantCode(t, err, asset.CodeUnprocessable)
}

// A compressed answer is passed on as sent, never inflated.
func TestFetchNoDecompression(t *testing.T) {
	raw := []byte("\x1f\x8b\x08\x00not really gzip, but must not be touched")
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(raw)
	})
	c := loopbackClient(t, Config{})
	var buf bytes.Buffer
	if _, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/"), &buf, 1<<20); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), raw) {
		t.Fatalf("body was altered: %q", buf.Bytes())
	}
}

func redirectOrigin(t *testing.T, body []byte) *origin {
	return newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r/"))
		if n > 0 {
			http.Redirect(w, r, fmt.Sprintf("/r/%d", n-1), http.StatusFound)
			return
		}
		w.Write(body)
	})
}

func TestFetchRedirects(t *testing.T) {
	img := testPNG(t)
	o := redirectOrigin(t, img)
	c := loopbackClient(t, Config{MaxRedirects: 3})

	var buf bytes.Buffer
	if _, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/r/3"), &buf, 1<<20); err != nil {
		t.Fatalf("3 redirects with MaxRedirects 3: %v", err)
	}
	if !bytes.Equal(buf.Bytes(), img) {
		t.Fatal("body after redirects differs from the one served")
	}

	before := o.requests.Load()
	_, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/r/4"), io.Discard, 1<<20)
	e := wantCode(t, err, asset.CodeUnprocessable)
	if !strings.Contains(e.Detail, "redirected more than 3") {
		t.Errorf("detail %q does not say why", e.Detail)
	}
	if got := o.requests.Load() - before; got != 4 {
		t.Errorf("origin saw %d requests; want 4 (the first and 3 hops)", got)
	}
}

func TestFetchDefaultMaxRedirects(t *testing.T) {
	o := redirectOrigin(t, []byte("ok"))
	c := loopbackClient(t, Config{})
	if _, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/r/5"), io.Discard, 100); err != nil {
		t.Fatalf("5 redirects by default: %v", err)
	}
	_, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/r/6"), io.Discard, 100)
	wantCode(t, err, asset.CodeUnprocessable)

	none := loopbackClient(t, Config{MaxRedirects: -1})
	_, err = none.Fetch(context.Background(), o.url("127.0.0.1", "/r/1"), io.Discard, 100)
	wantCode(t, err, asset.CodeUnprocessable)
}

func TestFetchRedirectToDisallowedHost(t *testing.T) {
	target := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("secret")) })
	for _, loc := range []string{
		// The same loopback target, spelled so that it is not in the list:
		// were the hop not checked, it would be dialled and counted.
		target.url("2130706433", "/"),
		target.url("0x7f000001", "/"),
		// Not the target's address: a hop that got through would be
		// refused by the test guard, which also fails the test.
		target.url("127.0.0.2", "/"),
	} {
		t.Run(loc, func(t *testing.T) {
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, loc, http.StatusMovedPermanently)
			})
			c := loopbackClient(t, Config{})
			var buf bytes.Buffer
			_, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/"), &buf, 1<<20)
			e := wantCode(t, err, asset.CodeForbidden)
			if !strings.Contains(e.Detail, "not in allowed-domains") {
				t.Errorf("detail %q does not say the host is not allowed", e.Detail)
			}
			if n := target.requests.Load(); n != 0 {
				t.Errorf("redirect target saw %d requests; want 0", n)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes", buf.Len())
			}
			if got := c.Blocked()["host"]; got != 1 {
				t.Errorf("Blocked()[host] = %d; want 1", got)
			}
		})
	}
}

func TestFetchRedirectToOtherScheme(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	c := loopbackClient(t, Config{})
	_, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/"), io.Discard, 1<<20)
	wantCode(t, err, asset.CodeUnprocessable)
}

func TestFetchNon2xx(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusInternalServerError, http.StatusMovedPermanently, http.StatusNotModified, http.StatusUnauthorized} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				// No Location: a 3xx without one is just a non-2xx answer.
				w.WriteHeader(status)
				if status != http.StatusNotModified {
					w.Write([]byte("error page"))
				}
			})
			c := loopbackClient(t, Config{})
			var buf bytes.Buffer
			_, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/"), &buf, 1<<20)
			e := wantCode(t, err, asset.CodeUnprocessable)
			if !strings.Contains(e.Detail, strconv.Itoa(status)) {
				t.Errorf("detail %q does not name the status", e.Detail)
			}
			if buf.Len() != 0 {
				t.Errorf("the error page was written to dst (%d bytes)", buf.Len())
			}
		})
	}
}

func TestFetchSlowBody(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first part"))
		w.(http.Flusher).Flush()
		select { // stall mid-body until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	})
	c := loopbackClient(t, Config{Timeout: 300 * time.Millisecond})
	_, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/"), io.Discard, 1<<20)
	e := wantCode(t, err, asset.CodeUnprocessable)
	if !strings.Contains(e.Detail, "did not answer within") {
		t.Errorf("detail %q does not say it timed out", e.Detail)
	}
}

func TestFetchSlowHeaders(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	c := loopbackClient(t, Config{Timeout: 300 * time.Millisecond})
	_, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/"), io.Discard, 1<<20)
	wantCode(t, err, asset.CodeUnprocessable)
}

// writerFunc signals once the first bytes have arrived.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestFetchCancelled(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first part"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	c := loopbackClient(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dst := writerFunc(func(p []byte) (int, error) {
		cancel() // the client went away once the body started
		return len(p), nil
	})
	_, err := c.Fetch(ctx, o.url("127.0.0.1", "/"), dst, 1<<20)
	wantCode(t, err, asset.CodeUnprocessable)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not match context.Canceled", err)
	}
}

func TestFetchEndlessBody(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("z"), 32<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	c := loopbackClient(t, Config{})
	const limit = 1 << 20
	var buf bytes.Buffer
	n, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/"), &buf, limit)
	e := wantCode(t, err, asset.CodeUnprocessable)
	if !strings.Contains(e.Detail, "larger than the limit") {
		t.Errorf("detail %q does not say the body is too large", e.Detail)
	}
	if buf.Len() > limit || n != int64(buf.Len()) {
		t.Errorf("wrote %d bytes (reported %d); want at most %d", buf.Len(), n, limit)
	}
}

func TestFetchHugeContentLength(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.FormatInt(1<<40, 10))
		w.Write([]byte("a little"))
	})
	c := loopbackClient(t, Config{})
	var buf bytes.Buffer
	_, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/"), &buf, 1<<20)
	wantCode(t, err, asset.CodeUnprocessable)
	if buf.Len() != 0 {
		t.Errorf("wrote %d bytes before refusing; want 0", buf.Len())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestFetchWriteError(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("data")) })
	c := loopbackClient(t, Config{})
	_, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/"), failingWriter{}, 100)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("error %v; want the writer's error", err)
	}
	if asset.CodeOf(err) == asset.CodeUnprocessable {
		t.Errorf("our own write failure was blamed on the upstream: %v", err)
	}
}

func TestFetchInvalidURL(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {})
	c := loopbackClient(t, Config{})
	for _, u := range []string{
		"",
		"   ",
		"ftp://127.0.0.1/a.png",
		"file:///etc/passwd",
		"gopher://127.0.0.1/",
		"127.0.0.1/a.png",
		"http://",
		"http:///a.png",
		"http:127.0.0.1",
		"http://127.0.0.1:port/",
		"http://[::1/",
		"http://user:pw@" + net.JoinHostPort("127.0.0.1", o.port) + "/",
		"http://foo.123/",
		"http://a..b/",
		"http://127.0.0.1/" + strings.Repeat("a", 9000),
	} {
		if _, err := c.Fetch(context.Background(), u, io.Discard, 100); asset.CodeOf(err) != asset.CodeInvalid {
			t.Errorf("Fetch(%.40q): %v; want %s", u, err, asset.CodeInvalid)
		}
	}
	if n := o.requests.Load(); n != 0 {
		t.Errorf("origin saw %d requests; want 0", n)
	}
}

func TestFetchDisabled(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {})
	c := newClient(t, Config{AllowLoopback: true})
	_, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/"), io.Discard, 100)
	e := wantCode(t, err, asset.CodeForbidden)
	if e.Detail != "URL ingestion is not enabled." {
		t.Errorf("detail %q", e.Detail)
	}
	if n := o.requests.Load(); n != 0 {
		t.Errorf("origin saw %d requests; want 0", n)
	}
	if got := c.Blocked()["disabled"]; got != 1 {
		t.Errorf("Blocked()[disabled] = %d; want 1", got)
	}
}

func TestFetchHostNotAllowed(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {})
	c := loopbackClient(t, Config{AllowedDomains: []string{"*.example.com"}})
	_, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/"), io.Discard, 100)
	e := wantCode(t, err, asset.CodeForbidden)
	if !strings.Contains(e.Detail, `"127.0.0.1" is not in allowed-domains`) {
		t.Errorf("detail %q", e.Detail)
	}
	if n := o.requests.Load(); n != 0 {
		t.Errorf("origin saw %d requests; want 0", n)
	}
}

// With loopback forbidden, every spelling of a loopback or local address is
// refused at connect time even though its literal host is allowed.
func TestFetchForbiddenSpellings(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("secret")) })
	tests := []struct {
		allow, host, kind string
	}{
		{"127.0.0.1", "127.0.0.1", "loopback"},
		{"2130706433", "2130706433", "loopback"},
		{"0x7f000001", "0x7f000001", "loopback"},
		{"127.1", "127.1", "loopback"},
		{"0177.0.0.1", "0177.0.0.1", "loopback"},
		{"127.0.0.1", "127.0.0.1.", "loopback"},
		{"0.0.0.0", "0.0.0.0", "unspecified"},
		{"0", "0", "unspecified"},
		{"::ffff:127.0.0.1", "::ffff:127.0.0.1", "loopback"},
		{"::ffff:7f00:1", "::ffff:7f00:1", "loopback"},
		{"64:ff9b::7f00:1", "64:ff9b::7f00:1", "nat64"},
		{"::1", "::1", "loopback"},
		{"::", "::", "unspecified"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			c := newClient(t, Config{AllowedDomains: []string{tt.allow}})
			_, err := c.Fetch(context.Background(), o.url(tt.host, "/"), io.Discard, 1<<20)
			e := wantCode(t, err, asset.CodeForbidden)
			if !strings.Contains(e.Detail, "forbidden ("+tt.kind+")") {
				t.Errorf("detail %q; want it to name the range %q", e.Detail, tt.kind)
			}
			if strings.Contains(e.Detail, "127.0.0.1") && !strings.Contains(tt.host, "127.0.0.1") {
				t.Errorf("detail %q leaks the resolved address", e.Detail)
			}
			if got := c.Blocked()[tt.kind]; got != 1 {
				t.Errorf("Blocked()[%s] = %d; want 1", tt.kind, got)
			}
		})
	}
	if n := o.requests.Load(); n != 0 {
		t.Errorf("origin saw %d requests; want 0", n)
	}
}

// AllowLoopback opens loopback and nothing else.
func TestFetchAllowLoopbackKeepsUnspecifiedShut(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {})
	c := loopbackClient(t, Config{AllowedDomains: []string{"0.0.0.0", "64:ff9b::7f00:1"}})
	for _, host := range []string{"0.0.0.0", "64:ff9b::7f00:1"} {
		_, err := c.Fetch(context.Background(), o.url(host, "/"), io.Discard, 100)
		wantCode(t, err, asset.CodeForbidden)
	}
	if n := o.requests.Load(); n != 0 {
		t.Errorf("origin saw %d requests; want 0", n)
	}
}

func TestFetchLogLine(t *testing.T) {
	var logs bytes.Buffer
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("12345")) })
	c := loopbackClient(t, Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if _, err := c.Fetch(context.Background(), o.url("127.0.0.1", "/secret?token=abc"), io.Discard, 100); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines; want 1: %s", len(lines), logs.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["host"] != "127.0.0.1" || rec["status"] != float64(200) || rec["bytes"] != float64(5) || rec["outcome"] != "ok" {
		t.Errorf("log line %s", lines[0])
	}
	if _, ok := rec["duration"]; !ok {
		t.Errorf("log line has no duration: %s", lines[0])
	}
	if strings.Contains(lines[0], "token=abc") {
		t.Errorf("log line leaks the query: %s", lines[0])
	}

	logs.Reset()
	_, err := c.Fetch(context.Background(), o.url("127.0.0.2", "/"), io.Discard, 100)
	wantCode(t, err, asset.CodeForbidden)
	if !strings.Contains(logs.String(), `"outcome":"forbidden"`) || !strings.Contains(logs.String(), `"reason":"host"`) ||
		!strings.Contains(logs.String(), `"blocked_total":1`) {
		t.Errorf("log line for a blocked fetch: %s", logs.String())
	}
	logs.Reset()
	c.Fetch(context.Background(), o.url("127.0.0.2", "/"), io.Discard, 100)
	if !strings.Contains(logs.String(), `"blocked_total":2`) {
		t.Errorf("the second fetch blocked for a host does not count 2: %s", logs.String())
	}
}

func TestBlockedHasEveryReason(t *testing.T) {
	c := newClient(t, Config{AllowedDomains: []string{"example.com"}})
	b := c.Blocked()
	for _, k := range append([]string{"disabled", "host"}, addrKinds...) {
		if v, ok := b[k]; !ok || v != 0 {
			t.Errorf("Blocked()[%q] = %d, %v; want 0, true", k, v, ok)
		}
	}
}
