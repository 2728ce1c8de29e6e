package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"assetd/internal/imaging"
)

// decodeConfig returns the format and size of an encoded image, by its
// magic bytes and, for the formats Go decodes, its header.
func decodedSize(t *testing.T, data []byte) (string, int, int) {
	t.Helper()
	format, ok := imaging.Sniff(data)
	if !ok {
		t.Fatalf("the response is not an image (%d bytes, starts %q)", len(data), data[:min(len(data), 16)])
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return string(format), 0, 0
	}
	return string(format), cfg.Width, cfg.Height
}

// TestVariants: transformations render once, are stored, and are served
// from storage after that; equivalent requests share a variant.
func TestVariants(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		s := launch(t, st, setup{
			top:   "profiles:\n  thumb: {w: 100, h: 100, fit: fill, format: webp}\n  small: {w: 200}\n",
			paths: "  \"/limited/**\":\n    output-limits: {max-width: 300, max-height: 300}\n",
		})
		img := fixture(t, "cactus.jpg") // 640×480
		s.upload(t, "v/photo", "", img)
		s.upload(t, "limited/photo", "", img)

		get := func(path string, header http.Header) (*http.Response, []byte) {
			t.Helper()
			return s.do(t, http.MethodGet, path, "", nil, header)
		}
		resp, body := get("/assets/v/photo/-/content?w=320", nil)
		if resp.StatusCode != 200 || resp.Header.Get("X-Cache-Status") != "miss" {
			t.Fatalf("first w=320: %d %s %s", resp.StatusCode, resp.Header.Get("X-Cache-Status"), body)
		}
		if f, w, h := decodedSize(t, body); f != "jpg" || w != 320 || h != 240 {
			t.Errorf("w=320 gave %s %d×%d, want jpg 320×240", f, w, h)
		}
		first := sha256.Sum256(body)
		resp, body = get("/assets/v/photo/-/content?w=320", nil)
		if resp.Header.Get("X-Cache-Status") != "hit" || sha256.Sum256(body) != first {
			t.Errorf("second w=320: %s, same bytes %v", resp.Header.Get("X-Cache-Status"), sha256.Sum256(body) == first)
		}
		// Equivalent spellings share the stored variant.
		for _, q := range []string{"h=240", "w=160&dpr=2", "w=320&format=jpeg", "w=320&q=80", "w=320&g=attention"} {
			resp, body := get("/assets/v/photo/-/content?"+q, nil)
			if resp.Header.Get("X-Cache-Status") != "hit" || sha256.Sum256(body) != first {
				t.Errorf("%s: %s, same bytes %v; want a hit on the w=320 variant", q, resp.Header.Get("X-Cache-Status"), sha256.Sum256(body) == first)
			}
		}
		// Requests that normalise to the original are the original.
		for _, q := range []string{"w=640&h=480", "blur=0", "pad=0&pad-c=%23ff0000", "r=auto", "w=4000", "format=jpg"} {
			resp, body := get("/assets/v/photo/-/content?"+q, nil)
			if resp.StatusCode != 200 || resp.Header.Get("X-Cache-Status") != "hit" || !bytes.Equal(body, img) {
				t.Errorf("%s: %d %s, original bytes %v", q, resp.StatusCode, resp.Header.Get("X-Cache-Status"), bytes.Equal(body, img))
			}
		}
		// Formats and profiles.
		for q, want := range map[string]string{
			"w=100&format=webp": "webp", "w=100&format=png": "png", "w=100&format=avif": "avif",
			"w=100&format=gif": "gif", "w=100&format=jxl": "jxl", "w=100&format=heic": "heic",
			"profile=thumb": "webp",
		} {
			resp, body := get("/assets/v/photo/-/content?"+q, nil)
			if resp.StatusCode != 200 {
				t.Errorf("%s: %d %s", q, resp.StatusCode, body)
				continue
			}
			if f, _, _ := decodedSize(t, body); f != want || resp.Header.Get("Content-Type") != "image/"+want {
				t.Errorf("%s: format %s, Content-Type %s; want %s", q, f, resp.Header.Get("Content-Type"), want)
			}
		}
		resp, body = get("/assets/v/photo/-/content?profile=thumb&format=png", nil)
		if f, w, h := decodedSize(t, body); f != "png" || w != 100 || h != 100 {
			t.Errorf("profile=thumb&format=png: %s %d×%d, want an explicit format over the profile's, 100×100", f, w, h)
		}
		resp, body = get("/assets/v/photo/-/content?profile=small&dpr=2", nil)
		if f, w, _ := decodedSize(t, body); f != "jpg" || w != 400 {
			t.Errorf("profile=small&dpr=2: %s width %d, want jpg 400", f, w)
		}
		// Content negotiation is opt-in.
		resp, body = get("/assets/v/photo/-/content?w=200", http.Header{"Accept": {"image/avif,image/webp,*/*"}})
		if f, _, _ := decodedSize(t, body); f != "jpg" || resp.Header.Get("Vary") != "" {
			t.Errorf("w=200 with Accept avif: %s, Vary %q; want jpg without Vary", f, resp.Header.Get("Vary"))
		}
		for accept, want := range map[string]string{"image/avif,image/webp,*/*": "avif", "image/webp,*/*": "webp", "*/*": "jpg"} {
			resp, body = get("/assets/v/photo/-/content?w=200&format=auto", http.Header{"Accept": {accept}})
			if f, _, _ := decodedSize(t, body); f != want || resp.Header.Get("Vary") != "Accept" {
				t.Errorf("format=auto with Accept %q: %s, Vary %q; want %s with Vary: Accept", accept, f, resp.Header.Get("Vary"), want)
			}
		}
		// Invalid values and limits.
		for _, q := range []string{"w=0", "w=abc", "fit=fill&w=10", "format=bmp", "q=101", "r=45", "blur=1.5",
			"pad-c=red&pad=1", "dpr=9", "profile=nope", "w=10&w=20"} {
			resp, body := get("/assets/v/photo/-/content?"+q, nil)
			if resp.StatusCode != 400 {
				t.Errorf("%s: %d %s, want 400", q, resp.StatusCode, body)
				continue
			}
			problemOf(t, resp, body)
		}
		if resp, body := get("/assets/limited/photo/-/content?w=400", nil); resp.StatusCode != 400 {
			t.Errorf("output over the path's limits: %d %s, want 400", resp.StatusCode, body)
		}
		if resp, body := get("/assets/limited/photo/-/content?w=150&dpr=2", nil); resp.StatusCode != 200 {
			t.Errorf("output at the path's limit: %d %s", resp.StatusCode, body)
		}
		for _, q := range []string{"", "?w=1000", "?format=jpg", "?r=0&f=none"} {
			if resp, body := get("/assets/limited/photo/-/content"+q, nil); resp.StatusCode != 200 || !bytes.Equal(body, img) {
				t.Errorf("%q on a limited path: %d; the original is served whatever the output limits", q, resp.StatusCode)
			}
		}
		for _, path := range []string{"/assets/v/photo/-/content?w=8192&h=8192&fit=stretch", "/assets/v/photo/-/link?w=8192&h=8192&fit=stretch"} {
			if resp, body := get(path, nil); resp.StatusCode != 400 {
				t.Errorf("%s (over imaging.max-pixels): %d %s, want 400", path, resp.StatusCode, body)
			}
		}
		// The variants are listed in the metadata with their transformation.
		_, meta := get("/assets/v/photo/-/metadata", nil)
		var doc struct {
			Variants []struct {
				IsOriginalVariant bool
				Transformation    map[string]any
				Attributes        struct{ Width, Height int }
			}
		}
		json.Unmarshal(meta, &doc)
		found := false
		for _, v := range doc.Variants {
			if !v.IsOriginalVariant && v.Attributes.Width == 320 && v.Transformation != nil {
				found = true
			}
		}
		if !found || doc.Variants[0].Transformation != nil {
			t.Errorf("metadata does not list the w=320 variant with its transformation: %s", meta)
		}
	})
}

// TestRenderCollapse: 50 concurrent identical cold requests render once and
// store one variant, and every response carries the same bytes.
func TestRenderCollapse(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		s := start(t, st, nil)
		s.upload(t, "c/photo", "", fixture(t, "cactus.jpg"))
		before := s.objectCount(t)
		const n = 50
		sums := make(chan [32]byte, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				resp, body := s.get(t, "/assets/c/photo/-/content?w=123&format=webp")
				if resp.StatusCode != 200 {
					t.Errorf("status %d %s", resp.StatusCode, body)
				}
				sums <- sha256.Sum256(body)
			})
		}
		wg.Wait()
		close(sums)
		var first [32]byte
		i := 0
		for sum := range sums {
			if i == 0 {
				first = sum
			} else if sum != first {
				t.Fatal("concurrent identical requests got different bytes")
			}
			i++
		}
		if after := s.objectCount(t); after != before+1 {
			t.Errorf("objects %d → %d, want exactly one stored variant", before, after)
		}
		_, meta := s.get(t, "/assets/c/photo/-/metadata")
		if c := strings.Count(string(meta), `"isOriginalVariant":false`); c != 1 {
			t.Errorf("%d variant rows, want 1", c)
		}
	})
}

// TestRenderCollapseAcrossReplicas: two replicas sharing a database and an
// object store, asked for the same cold variant at once, store one variant,
// and every answer carries its bytes.
func TestRenderCollapseAcrossReplicas(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		a := launch(t, st, setup{})
		b := launch(t, st, setup{replicaOf: a})
		a.upload(t, "r/photo", "", fixture(t, "cactus.jpg"))
		before := a.objectCount(t)
		const n = 20
		sums := make(chan [32]byte, 2*n)
		var wg sync.WaitGroup
		for i := range 2 * n {
			replica := []*lcServer{a, b}[i%2]
			wg.Go(func() {
				resp, body := replica.get(t, "/assets/r/photo/-/content?w=111&format=png")
				if resp.StatusCode != 200 {
					t.Errorf("status %d %s", resp.StatusCode, body)
				}
				sums <- sha256.Sum256(body)
			})
		}
		wg.Wait()
		close(sums)
		first := <-sums
		for sum := range sums {
			if sum != first {
				t.Fatal("replicas answered different bytes for one variant")
			}
		}
		if after := a.objectCount(t); after != before+1 {
			t.Errorf("objects %d → %d, want exactly one stored variant", before, after)
		}
	})
}

// TestEagerVariantsAndPreprocessing: a path's preprocessing changes the
// original before it is stored, and its eager variants appear without a
// request for them.
func TestEagerVariantsAndPreprocessing(t *testing.T) {
	s := launch(t, stacks[0], setup{
		top: "profiles:\n  thumb: {w: 100, h: 100, fit: fill, format: webp}\n",
		paths: "  \"/users/*/avatar\":\n    preprocessing: {max-width: 320, max-height: 320, format: webp}\n" +
			"    eager-variants: [thumb]\n",
	})
	s.upload(t, "users/7/avatar", "", fixture(t, "cactus.jpg"))
	resp, body := s.get(t, "/assets/users/7/avatar/-/content")
	if f, w, _ := decodedSize(t, body); resp.StatusCode != 200 || f != "webp" || resp.Header.Get("Content-Type") != "image/webp" {
		t.Errorf("preprocessed original: %d %s width %d, want webp at most 320 wide", resp.StatusCode, f, w)
	}
	_, meta := s.get(t, "/assets/users/7/avatar/-/metadata")
	if !strings.Contains(string(meta), `"width":320`) || !strings.Contains(string(meta), `"format":"webp"`) {
		t.Errorf("preprocessed attributes: %s", meta)
	}
	// The eager variant is rendered in the background; wait for it.
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, meta = s.get(t, "/assets/users/7/avatar/-/metadata")
		if strings.Count(string(meta), `"isOriginalVariant":false`) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the eager variant never appeared: %s", meta)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, _ = s.get(t, "/assets/users/7/avatar/-/content?profile=thumb")
	if resp.Header.Get("X-Cache-Status") != "hit" {
		t.Errorf("profile=thumb after the eager render: %s, want hit", resp.Header.Get("X-Cache-Status"))
	}
	// Other paths are not preprocessed.
	s.upload(t, "other/x", "", fixture(t, "cactus.jpg"))
	_, meta = s.get(t, "/assets/other/x/-/metadata")
	if !strings.Contains(string(meta), `"width":640`) {
		t.Errorf("a path without preprocessing changed: %s", meta)
	}
}

// TestURLSigning: with signing on, every GET under /assets needs a valid
// signature, and link answers signed URLs that work.
func TestURLSigning(t *testing.T) {
	s := launch(t, stacks[0], setup{top: "url-signing: {enabled: true, secret: correct-horse, algorithm: hmac-sha384}\n"})
	s.upload(t, "signed/x", "", fixture(t, "cactus.jpg"))
	for _, path := range []string{"/assets/signed/x", "/assets/signed/x/-/metadata", "/assets/signed/x/-/entries", "/assets/signed/x/-/content?w=10"} {
		resp, body := s.get(t, path)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("unsigned %s: %d %s, want 403", path, resp.StatusCode, body)
		}
	}
	// The link request itself is a GET under /assets, so it is signed too.
	signed := signFor(t, "/assets/signed/x", url.Values{"w": {"50"}, "format": {"png"}})
	resp, body := s.get(t, signed)
	if resp.StatusCode != 200 {
		t.Fatalf("signed link: %d %s", resp.StatusCode, body)
	}
	var link struct {
		URL       string
		ExpiresAt *string
	}
	json.Unmarshal(body, &link)
	content := strings.TrimPrefix(link.URL, "http://assetd.test")
	if !strings.Contains(content, "s=") || link.ExpiresAt != nil {
		t.Fatalf("link %s is not signed (or expires: %v)", link.URL, link.ExpiresAt)
	}
	resp, body = s.get(t, content)
	if f, w, _ := decodedSize(t, body); resp.StatusCode != 200 || f != "png" || w != 50 {
		t.Errorf("the signed content URL from link: %d %s %d", resp.StatusCode, f, w)
	}
	resp, _ = s.get(t, strings.Replace(content, "w=50", "w=51", 1))
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a tampered signed URL: %d, want 403", resp.StatusCode)
	}
	expired := signForExp(t, "/assets/signed/x/-/content", url.Values{}, time.Now().Add(-time.Minute))
	if resp, _ := s.get(t, expired); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an expired signed URL: %d, want 403", resp.StatusCode)
	}
	fresh := signForExp(t, "/assets/signed/x/-/content", url.Values{}, time.Now().Add(time.Hour))
	if resp, _ := s.get(t, fresh); resp.StatusCode != http.StatusOK {
		t.Errorf("a signed URL with a future exp: %d, want 200", resp.StatusCode)
	}
	// Writes are not signed.
	if resp, body := s.post(t, "/assets/signed/y", part{name: "asset", body: fixture(t, "alpha.png")}); resp.StatusCode != 201 {
		t.Errorf("an unsigned upload: %d %s", resp.StatusCode, body)
	}
}

func signFor(t *testing.T, path string, q url.Values) string {
	return signForExp(t, path, q, time.Time{})
}

// signForExp signs like a client of the API would, from API.md's rules,
// independently of the server's code.
func signForExp(t *testing.T, path string, q url.Values, exp time.Time) string {
	t.Helper()
	if !exp.IsZero() {
		q.Set("exp", fmt.Sprint(exp.Unix()))
	}
	payload := path
	if len(q) > 0 {
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		pairs := make([]string, 0, len(keys))
		for _, k := range keys {
			pairs = append(pairs, k+"="+q.Get(k))
		}
		payload += "?" + strings.Join(pairs, "&")
	}
	q.Set("s", hmacSHA384("correct-horse", payload))
	return path + "?" + q.Encode()
}

func hmacSHA384(secret, payload string) string {
	m := hmac.New(sha512.New384, []byte(secret))
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
