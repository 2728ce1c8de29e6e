package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// End-to-end tests of the asset lifecycle (issue 3): selectors, query
// parameters, PUT, DELETE, delivery headers, redirects and expiry, through
// the real server on both stacks.

// objectCount is the number of objects the server's store holds.
func (s *server) objectCount(t *testing.T) int {
	t.Helper()
	if s.dataDir != "" {
		return len(s.objectFiles(t))
	}
	return countS3Objects(t, s.bucket)
}

// assetDoc is the part of the Asset JSON these tests look at.
type assetDoc struct {
	Class    string            `json:"class"`
	Path     string            `json:"path"`
	EntryID  int64             `json:"entryId"`
	Alt      string            `json:"alt"`
	Labels   map[string]string `json:"labels"`
	Tags     []string          `json:"tags"`
	Variants []struct {
		StoreBucket string `json:"storeBucket"`
		StoreKey    string `json:"storeKey"`
	} `json:"variants"`
	CreatedAt  string  `json:"createdAt"`
	ModifiedAt string  `json:"modifiedAt"`
	ExpiresAt  *string `json:"expiresAt"`
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("timestamp %q is not RFC 3339: %v", s, err)
	}
	if !strings.HasSuffix(s, "Z") {
		t.Errorf("timestamp %q is not in UTC", s)
	}
	return at
}

// upload stores img at path with an optional metadata document and
// returns the created entry, failing the test unless the answer is 201.
func (s *server) upload(t *testing.T, path, metadata string, img []byte) assetDoc {
	t.Helper()
	parts := []part{{name: "asset", body: img}}
	if metadata != "" {
		parts = append(parts, part{name: "metadata", contentType: "application/json", body: []byte(metadata)})
	}
	resp, body := s.post(t, "/assets/"+path, parts...)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /assets/%s = %d %s", path, resp.StatusCode, body)
	}
	var a assetDoc
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// metadata GETs url, which must answer one Asset JSON object with 200.
func (s *server) metadata(t *testing.T, u string) (assetDoc, *http.Response) {
	t.Helper()
	resp, body := s.get(t, u)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s, want 200", u, resp.StatusCode, body)
	}
	var a assetDoc
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("GET %s: %s is not an Asset object: %v", u, body, err)
	}
	return a, resp
}

// entries GETs an entries URL and returns the entry ids of the page and its
// next cursor, checking the envelope's shape.
func (s *server) entries(t *testing.T, u string) ([]int64, *string) {
	t.Helper()
	resp, body := s.get(t, u)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s, want 200", u, resp.StatusCode, body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("GET %s: %s: %v", u, body, err)
	}
	if _, ok := raw["next"]; !ok || raw["entries"] == nil || len(raw) != 2 {
		t.Fatalf("GET %s = %s, want exactly {\"entries\": [...], \"next\": …}", u, body)
	}
	var page struct {
		Entries []assetDoc `json:"entries"`
		Next    *string    `json:"next"`
	}
	if err := json.Unmarshal(body, &page); err != nil || page.Entries == nil {
		t.Fatalf("GET %s = %s: entries is not an array (%v)", u, body, err)
	}
	ids := make([]int64, 0, len(page.Entries))
	for _, e := range page.Entries {
		ids = append(ids, e.EntryID)
	}
	return ids, page.Next
}

// metadataIDs GETs a metadata URL with a limit above 1, which answers a
// JSON array, and returns its entry ids in order.
func (s *server) metadataIDs(t *testing.T, u string) []int64 {
	t.Helper()
	resp, body := s.get(t, u)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s, want 200", u, resp.StatusCode, body)
	}
	var list []assetDoc
	if err := json.Unmarshal(body, &list); err != nil || list == nil {
		t.Fatalf("GET %s = %s, want a JSON array (%v)", u, body, err)
	}
	ids := make([]int64, 0, len(list))
	for _, e := range list {
		ids = append(ids, e.EntryID)
	}
	return ids
}

// wantProblem checks that a response is problem+json with status.
func wantProblem(t *testing.T, what string, resp *http.Response, body []byte, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("%s = %d %s, want %d", what, resp.StatusCode, body, status)
		return
	}
	problemOf(t, resp, body)
}

// noRedirects is a client that returns redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (s *server) getNoFollow(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := noRedirects.Get(s.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// putJSON sends a PUT with a JSON body and optional If-Match.
func (s *server) putJSON(t *testing.T, path, body, ifMatch string) (*http.Response, []byte) {
	t.Helper()
	h := http.Header{}
	if ifMatch != "" {
		h.Set("If-Match", ifMatch)
	}
	return s.do(t, http.MethodPut, path, "application/json", strings.NewReader(body), h)
}

func (s *server) deleteOK(t *testing.T, path string) {
	t.Helper()
	if resp, body := s.do(t, http.MethodDelete, path, "", nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE %s = %d %s, want 204", path, resp.StatusCode, body)
	}
}

func linkEntry(t *testing.T, body []byte) string {
	t.Helper()
	var l struct {
		URL string `json:"url"`
		Alt string `json:"alt"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatalf("link %s: %v", body, err)
	}
	return l.URL
}

// TestLifecycleGetSelectors: every combination of order/entry and return
// format answers the right entry in the right format, case-insensitively;
// malformed combinations are 400 and missing entries 404, as problem+json.
func TestLifecycleGetSelectors(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		s := start(t, st, nil)
		jpg, png := fixture(t, "cactus.jpg"), fixture(t, "alpha.png")
		s.upload(t, "sel/a", `{"alt":"first"}`, jpg)
		s.upload(t, "sel/a", `{"alt":"second"}`, png)
		bytesOf := map[int64][]byte{0: jpg, 1: png}
		typeOf := map[int64]string{0: "image/jpeg", 1: "image/png"}
		altOf := map[int64]string{0: "first", 1: "second"}

		cases := []struct {
			sel    string
			format string // link, metadata, content, download, entries
			entry  int64
			ids    []int64 // for entries
		}{
			{"", "link", 1, nil},
			{"/-/link", "link", 1, nil},
			{"/-/new", "link", 1, nil},
			{"/-/modified", "link", 1, nil},
			{"/-/entry/0", "link", 0, nil},
			{"/-/NEW/Link", "link", 1, nil},
			{"/-/entry/0/link", "link", 0, nil},
			{"/-/metadata", "metadata", 1, nil},
			{"/-/new/metadata", "metadata", 1, nil},
			{"/-/modified/metadata", "metadata", 1, nil},
			{"/-/Entry/0/MetaData", "metadata", 0, nil},
			{"/-/content", "content", 1, nil},
			{"/-/entry/0/content", "content", 0, nil},
			{"/-/MODIFIED/CONTENT", "content", 1, nil},
			{"/-/download", "download", 1, nil},
			{"/-/entry/0/download", "download", 0, nil},
			{"/-/ENTRY/0/DOWNLOAD", "download", 0, nil},
			// The default redirect strategy is none: answered like content.
			{"/-/redirect", "content", 1, nil},
			{"/-/entry/0/redirect", "content", 0, nil},
			{"/-/entries", "entries", 0, []int64{1, 0}},
			{"/-/modified/entries", "entries", 0, []int64{1, 0}},
			{"/-/Entries", "entries", 0, []int64{1, 0}},
			{"/-/entry/0/entries", "entries", 0, []int64{0}},
		}
		for _, c := range cases {
			u := "/assets/sel/a" + c.sel
			if c.format == "entries" {
				if ids, next := s.entries(t, u); !slices.Equal(ids, c.ids) || next != nil {
					t.Errorf("GET %s = entries %v next %v, want %v and null", u, ids, next, c.ids)
				}
				continue
			}
			resp, body := s.get(t, u)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s = %d %s, want 200", u, resp.StatusCode, body)
				continue
			}
			switch c.format {
			case "link":
				want := fmt.Sprintf("http://assetd.test/assets/sel/a/-/entry/%d/content", c.entry)
				if got := linkEntry(t, body); got != want {
					t.Errorf("GET %s: link url %q, want %q", u, got, want)
				}
			case "metadata":
				var a assetDoc
				if err := json.Unmarshal(body, &a); err != nil || a.EntryID != c.entry || a.Alt != altOf[c.entry] {
					t.Errorf("GET %s = %s, want entry %d", u, body, c.entry)
				}
			case "content", "download":
				if !bytes.Equal(body, bytesOf[c.entry]) || resp.Header.Get("Content-Type") != typeOf[c.entry] {
					t.Errorf("GET %s = %d bytes of %s, want entry %d's %d bytes of %s", u, len(body),
						resp.Header.Get("Content-Type"), c.entry, len(bytesOf[c.entry]), typeOf[c.entry])
				}
				disp := resp.Header.Get("Content-Disposition")
				if (c.format == "download") != strings.HasPrefix(disp, "attachment") {
					t.Errorf("GET %s: Content-Disposition %q", u, disp)
				}
			}
		}

		for _, sel := range []string{
			"/-/entries/new", "/-/content/content", "/-/entry/x", "/-/entry", "/-/new/modified",
			"/-/modified/new", "/-/entry/0/entry/1", "/-/metadata/new", "/-/content/entry/0", "/-/entry/-1",
			"/-/entry/1.0", "/-/bogus", "/-/new/bogus", "/-/recursive", "/-/content/extra",
			"/-/", "/-", "/-/new/", "/-//content",
		} {
			resp, body := s.get(t, "/assets/sel/a"+sel)
			wantProblem(t, "GET /assets/sel/a"+sel, resp, body, http.StatusBadRequest)
		}
		for _, u := range []string{
			"/assets/sel/a/-/entry/2", "/assets/sel/a/-/entry/2/metadata", "/assets/sel/a/-/entry/2/content",
			"/assets/sel/a/-/entry/2/download", "/assets/sel/a/-/entry/2/redirect",
			"/assets/sel/none/-/content", "/assets/sel/metadata", "/assets/sel/-/metadata", "/assets/SEL/A/-/metadata",
		} {
			resp, body := s.get(t, u)
			wantProblem(t, "GET "+u, resp, body, http.StatusNotFound)
		}
	})
}

// TestLifecycleLimit: limit's default, -1, the formats that take it, the
// shapes it answers, and the values and parameters that are 400.
func TestLifecycleLimit(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		s := start(t, st, nil)
		img := fixture(t, "alpha.png")
		for i := range 3 {
			s.upload(t, "lim/a", fmt.Sprintf(`{"alt":"e%d","labels":{"k":"v"}}`, i), img)
		}

		a, _ := s.metadata(t, "/assets/lim/a/-/metadata")
		if a.EntryID != 2 {
			t.Errorf("metadata without limit = entry %d, want the newest (2)", a.EntryID)
		}
		a, _ = s.metadata(t, "/assets/lim/a/-/metadata?limit=1")
		if a.EntryID != 2 {
			t.Errorf("metadata?limit=1 = entry %d, want one object for entry 2", a.EntryID)
		}
		for u, want := range map[string][]int64{
			"/assets/lim/a/-/metadata?limit=2":            {2, 1},
			"/assets/lim/a/-/metadata?limit=-1":           {2, 1, 0},
			"/assets/lim/a/-/metadata?limit=10":           {2, 1, 0},
			"/assets/lim/a/-/modified/metadata?limit=2":   {2, 1},
			"/assets/lim/a/-/metadata?limit=-1&k=v":       {2, 1, 0},
			"/assets/lim/a/-/new/metadata?limit=2&k=v":    {2, 1},
			"/assets/lim/a/-/metadata?limit=-1&k=nothing": {},
		} {
			if got := s.metadataIDs(t, u); !slices.Equal(got, want) {
				t.Errorf("GET %s = entries %v, want %v", u, got, want)
			}
		}
		for _, c := range []struct {
			query    string
			ids      []int64
			hasNext  bool
			describe string
		}{
			{"", []int64{2, 1, 0}, false, "default page"},
			{"?limit=-1", []int64{2, 1, 0}, false, "all"},
			{"?limit=3", []int64{2, 1, 0}, false, "a page exactly as long as the list"},
			{"?limit=2", []int64{2, 1}, true, "a short page"},
			{"?limit=1", []int64{2}, true, "limit 1"},
		} {
			ids, next := s.entries(t, "/assets/lim/a/-/entries"+c.query)
			if !slices.Equal(ids, c.ids) || (next != nil) != c.hasNext {
				t.Errorf("entries%s (%s) = %v next %v, want %v with next present %v", c.query, c.describe, ids, next, c.ids, c.hasNext)
			}
		}

		var bad []string
		for _, v := range []string{"0", "-2", "abc", "1.5", ""} {
			for _, f := range []string{"metadata", "entries", "content", "link", "download"} {
				bad = append(bad, "/assets/lim/a/-/"+f+"?limit="+v)
			}
		}
		for _, f := range []string{"content", "link", "download", "redirect"} {
			bad = append(bad, "/assets/lim/a/-/"+f+"?limit=2", "/assets/lim/a/-/"+f+"?limit=-1")
		}
		bad = append(bad,
			"/assets/lim/a?limit=2", // the default format is link
			// Transformation parameters, profile included, are 400 on metadata and entries.
			"/assets/lim/a/-/metadata?w=100", "/assets/lim/a/-/metadata?limit=-1&h=10",
			"/assets/lim/a/-/metadata?profile=thumb", "/assets/lim/a/-/entries?format=webp",
			"/assets/lim/a/-/entries?fit=fill", "/assets/lim/a/-/entry/0/metadata?q=50",
			// A repeated parameter is 400.
			"/assets/lim/a/-/metadata?k=v&k=w", "/assets/lim/a/-/entries?limit=1&limit=2",
			"/assets/lim/a/-/content?k=v&k=v",
		)
		for _, u := range bad {
			resp, body := s.get(t, u)
			wantProblem(t, "GET "+u, resp, body, http.StatusBadRequest)
		}
	})
}

// TestLifecycleEntriesPagination: keyset pages neither repeat nor skip an
// entry while new entries arrive between pages, in both orders; an
// unparseable cursor is 400.
func TestLifecycleEntriesPagination(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		s := start(t, st, nil)
		img := fixture(t, "alpha.png")
		for range 5 {
			for _, p := range []string{"pag/new", "pag/new2", "pag/mod"} {
				s.upload(t, p, "", img)
			}
		}
		// In modified order, entries 3 and 1 (modified last) come first.
		for _, id := range []int{1, 3} {
			if resp, body := s.putJSON(t, fmt.Sprintf("/assets/pag/mod/-/entry/%d", id), `{"alt":"touched"}`, ""); resp.StatusCode != http.StatusOK {
				t.Fatalf("PUT entry %d = %d %s", id, resp.StatusCode, body)
			}
		}
		for _, c := range []struct {
			base  string
			pages [][]int64
		}{
			{"/assets/pag/new/-/entries", [][]int64{{4, 3}, {2, 1}, {0}}},
			{"/assets/pag/new2/-/new/entries", [][]int64{{4, 3}, {2, 1}, {0}}},
			{"/assets/pag/mod/-/modified/entries", [][]int64{{3, 1}, {4, 2}, {0}}},
		} {
			u := c.base + "?limit=2"
			path := strings.Split(strings.TrimPrefix(c.base, "/assets/"), "/-/")[0]
			for i, want := range c.pages {
				ids, next := s.entries(t, u)
				if !slices.Equal(ids, want) {
					t.Errorf("%s page %d = %v, want %v", c.base, i+1, ids, want)
				}
				if last := i == len(c.pages)-1; last != (next == nil) {
					t.Fatalf("%s page %d: next = %v, want a cursor on every page but the last", c.base, i+1, next)
				}
				if next == nil {
					break
				}
				if i == 0 {
					// New uploads between pages must not shift the pages.
					s.upload(t, path, "", img)
					s.upload(t, path, "", img)
				}
				u = c.base + "?limit=2&cursor=" + url.QueryEscape(*next)
			}
		}

		for _, cursor := range []string{
			"%25%25%25", "not-a-cursor", "", base64.RawURLEncoding.EncodeToString([]byte("abc.def")),
			base64.RawURLEncoding.EncodeToString([]byte("12345")),
		} {
			u := "/assets/pag/new/-/entries?limit=2&cursor=" + cursor
			resp, body := s.get(t, u)
			wantProblem(t, "GET "+u, resp, body, http.StatusBadRequest)
		}
	})
}

// TestLifecycleOrder: new ranks by creation, modified by the last change,
// with ties broken by entry id; a PUT moves an old entry to the front of
// modified only.
func TestLifecycleOrder(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		s := start(t, st, map[string]string{"ASSETD_IMAGING_WORKERS": "4"})
		jpg, png, webp := fixture(t, "cactus.jpg"), fixture(t, "alpha.png"), fixture(t, "cactus.webp")
		s.upload(t, "ord/a", "", jpg)
		s.upload(t, "ord/a", "", png)
		s.upload(t, "ord/a", "", webp)
		if resp, body := s.putJSON(t, "/assets/ord/a/-/entry/0", `{"alt":"changed"}`, ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT = %d %s", resp.StatusCode, body)
		}
		for u, want := range map[string][]int64{
			"/assets/ord/a/-/entries":          {2, 1, 0},
			"/assets/ord/a/-/new/entries":      {2, 1, 0},
			"/assets/ord/a/-/modified/entries": {0, 2, 1},
		} {
			if ids, _ := s.entries(t, u); !slices.Equal(ids, want) {
				t.Errorf("GET %s = %v, want %v", u, ids, want)
			}
		}
		if got := s.metadataIDs(t, "/assets/ord/a/-/modified/metadata?limit=-1"); !slices.Equal(got, []int64{0, 2, 1}) {
			t.Errorf("modified/metadata?limit=-1 = %v, want [0 2 1]", got)
		}
		if a, _ := s.metadata(t, "/assets/ord/a/-/modified/metadata"); a.EntryID != 0 {
			t.Errorf("modified/metadata = entry %d, want 0", a.EntryID)
		}
		if _, body := s.get(t, "/assets/ord/a/-/modified/content"); !bytes.Equal(body, jpg) {
			t.Errorf("modified/content is not entry 0's bytes")
		}
		if _, body := s.get(t, "/assets/ord/a/-/new/content"); !bytes.Equal(body, webp) {
			t.Errorf("new/content is not entry 2's bytes")
		}
		if _, body := s.get(t, "/assets/ord/a/-/modified"); linkEntry(t, body) != "http://assetd.test/assets/ord/a/-/entry/0/content" {
			t.Errorf("modified link = %s, want entry 0", body)
		}

		// Concurrent uploads: the order is (createdAt, entryId) descending,
		// and paging through it gives the same sequence as one page.
		const n = 12
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				resp, body := s.post(t, "/assets/ord/c", part{name: "asset", body: png})
				if resp.StatusCode != http.StatusCreated {
					t.Errorf("POST = %d %s", resp.StatusCode, body)
				}
			})
		}
		wg.Wait()
		for _, mode := range []string{"new", "modified"} {
			resp, body := s.get(t, "/assets/ord/c/-/"+mode+"/entries?limit=-1")
			var page struct{ Entries []assetDoc }
			if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &page) != nil || len(page.Entries) != n {
				t.Fatalf("%s entries = %d %s, want %d entries", mode, resp.StatusCode, body, n)
			}
			var all []int64
			for i, e := range page.Entries {
				all = append(all, e.EntryID)
				if i == 0 {
					continue
				}
				prev := page.Entries[i-1]
				pt, ct := parseTime(t, prev.CreatedAt), parseTime(t, e.CreatedAt)
				if mode == "modified" {
					pt, ct = parseTime(t, prev.ModifiedAt), parseTime(t, e.ModifiedAt)
				}
				if pt.Before(ct) || pt.Equal(ct) && prev.EntryID < e.EntryID {
					t.Errorf("%s entries out of order at %d: entry %d (%v) before entry %d (%v)", mode, i, prev.EntryID, pt, e.EntryID, ct)
				}
			}
			var paged []int64
			u := "/assets/ord/c/-/" + mode + "/entries?limit=5"
			for {
				ids, next := s.entries(t, u)
				paged = append(paged, ids...)
				if next == nil || len(paged) > n {
					break
				}
				u = "/assets/ord/c/-/" + mode + "/entries?limit=5&cursor=" + url.QueryEscape(*next)
			}
			if !slices.Equal(paged, all) {
				t.Errorf("%s: pages of 5 = %v, one page = %v", mode, paged, all)
			}
		}
	})
}

// TestLifecycleLabelFilters: every unreserved parameter is an exact-match
// label filter, ANDed, in every mode; label: reaches reserved names.
func TestLifecycleLabelFilters(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		s := start(t, st, nil)
		jpg, webp, png, gif := fixture(t, "cactus.jpg"), fixture(t, "cactus.webp"), fixture(t, "alpha.png"), fixture(t, "spinner.gif")
		s.upload(t, "lab/x", `{"labels":{"color":"red","size":"big"}}`, jpg)
		s.upload(t, "lab/x", `{"labels":{"color":"blue","size":"big"}}`, webp)
		s.upload(t, "lab/x", `{"labels":{"color":"red","size":"small","w":"wide"}}`, png)
		s.upload(t, "lab/x", "", gif)
		bytesOf := map[int64][]byte{0: jpg, 1: webp, 2: png, 3: gif}

		for _, c := range []struct {
			query string
			entry int64 // -1: 404
		}{
			{"?color=red", 2},
			{"?color=red&size=big", 0},
			{"?size=big", 1},
			{"?color=blue", 1},
			{"?size=small&color=blue", -1},
			{"?color=green", -1},
			{"?color=RED", -1},
			{"?colour=red", -1},
			{"?label:w=wide", 2},
			{"?label:color=red", 2},
			{"?label:w=narrow", -1},
		} {
			for _, sel := range []string{"/-/metadata", "/-/new/metadata", "/-/content", "/-/download", "/-/redirect", "/-/link", ""} {
				u := "/assets/lab/x" + sel + c.query
				resp, body := s.get(t, u)
				if c.entry < 0 {
					wantProblem(t, "GET "+u, resp, body, http.StatusNotFound)
					continue
				}
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s = %d %s, want entry %d", u, resp.StatusCode, body, c.entry)
					continue
				}
				switch {
				case strings.HasSuffix(sel, "metadata"):
					var a assetDoc
					json.Unmarshal(body, &a)
					if a.EntryID != c.entry {
						t.Errorf("GET %s = entry %d, want %d", u, a.EntryID, c.entry)
					}
				case sel == "" || sel == "/-/link":
					if want := fmt.Sprintf("http://assetd.test/assets/lab/x/-/entry/%d/content", c.entry); linkEntry(t, body) != want {
						t.Errorf("GET %s = %s, want a link to entry %d", u, body, c.entry)
					}
				default:
					if !bytes.Equal(body, bytesOf[c.entry]) {
						t.Errorf("GET %s: not entry %d's bytes", u, c.entry)
					}
				}
			}
		}
		// After a PUT, entry 1 is the most recently modified "big" one, then 0.
		if resp, body := s.putJSON(t, "/assets/lab/x/-/entry/0", `{"labels":{"color":"red","size":"big"},"alt":"x"}`, ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT = %d %s", resp.StatusCode, body)
		}
		for u, want := range map[string][]int64{
			"/assets/lab/x/-/entries?color=red":                   {2, 0},
			"/assets/lab/x/-/entries?size=big":                    {1, 0},
			"/assets/lab/x/-/modified/entries?size=big":           {0, 1},
			"/assets/lab/x/-/entries?limit=-1&color=red&size=big": {0},
			"/assets/lab/x/-/entries?label:w=wide":                {2},
			"/assets/lab/x/-/entries?color=green":                 {},
			"/assets/lab/x/-/entry/0/entries?color=red":           {0},
			"/assets/lab/x/-/entry/0/entries?color=blue":          {},
		} {
			if ids, _ := s.entries(t, u); !slices.Equal(ids, want) {
				t.Errorf("GET %s = %v, want %v", u, ids, want)
			}
		}
		if got := s.metadataIDs(t, "/assets/lab/x/-/metadata?limit=-1&color=red"); !slices.Equal(got, []int64{2, 0}) {
			t.Errorf("metadata?limit=-1&color=red = %v, want [2 0]", got)
		}
		if a, _ := s.metadata(t, "/assets/lab/x/-/modified/metadata?size=big"); a.EntryID != 0 {
			t.Errorf("modified/metadata?size=big = entry %d, want 0 (modified last)", a.EntryID)
		}
		// entry/{id} with a filter it does not match is 404.
		for u, ok := range map[string]bool{
			"/assets/lab/x/-/entry/0/metadata?color=red":    true,
			"/assets/lab/x/-/entry/0/metadata?color=blue":   false,
			"/assets/lab/x/-/entry/0/content?size=big":      true,
			"/assets/lab/x/-/entry/0/content?color=blue":    false,
			"/assets/lab/x/-/entry/2/download?label:w=wide": true,
			"/assets/lab/x/-/entry/1/download?label:w=wide": false,
			"/assets/lab/x/-/entry/3?color=red":             false,
		} {
			resp, body := s.get(t, u)
			if ok && resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s = %d %s, want 200", u, resp.StatusCode, body)
			} else if !ok {
				wantProblem(t, "GET "+u, resp, body, http.StatusNotFound)
			}
		}
		// w itself is a transformation parameter, not a label filter.
		resp, body := s.get(t, "/assets/lab/x/-/metadata?w=wide")
		wantProblem(t, "GET metadata?w=wide", resp, body, http.StatusBadRequest)
		resp, body = s.get(t, "/assets/lab/x/-/metadata?color=red&color=blue")
		wantProblem(t, "GET metadata?color=red&color=blue", resp, body, http.StatusBadRequest)
	})
}

// TestLifecyclePut: PUT replaces alt, labels and tags of one entry, with
// store's validation, If-Match, and a modifiedAt that only moves on change.
func TestLifecyclePut(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		s := start(t, st, nil)
		img := fixture(t, "alpha.png")
		created := s.upload(t, "put/a", `{"alt":"old","labels":{"a":"1"},"tags":["x"]}`, img)
		s.upload(t, "put/a", `{"alt":"other"}`, img)
		neighbour := s.upload(t, "put/b", `{"alt":"old","labels":{"a":"1"},"tags":["x"]}`, img)

		before, resp := s.metadata(t, "/assets/put/a/-/entry/0/metadata")
		etag := resp.Header.Get("ETag")
		if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 3 {
			t.Fatalf("metadata ETag = %q, want a strong ETag", etag)
		}
		if _, resp2 := s.metadata(t, "/assets/put/a/-/entry/1/metadata"); resp2.Header.Get("ETag") == etag {
			t.Errorf("entries 0 and 1 share the metadata ETag %q", etag)
		}

		resp, body := s.putJSON(t, "/assets/put/a/-/entry/0", `{"alt":"new","labels":{"b":"2"},"tags":["y","z"]}`, etag)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT with current If-Match = %d %s", resp.StatusCode, body)
		}
		var put assetDoc
		json.Unmarshal(body, &put)
		if put.Alt != "new" || len(put.Labels) != 1 || put.Labels["b"] != "2" || !slices.Equal(put.Tags, []string{"y", "z"}) ||
			put.EntryID != 0 || put.Path != "put/a" || len(put.Variants) != 1 || put.Variants[0].StoreKey != created.Variants[0].StoreKey {
			t.Errorf("PUT answered %s, want alt new, labels exactly {b:2}, tags [y z], same content", body)
		}
		if put.CreatedAt != created.CreatedAt || !parseTime(t, put.ModifiedAt).After(parseTime(t, before.ModifiedAt)) {
			t.Errorf("PUT: createdAt %s → %s, modifiedAt %s → %s; want createdAt kept and modifiedAt later",
				created.CreatedAt, put.CreatedAt, before.ModifiedAt, put.ModifiedAt)
		}
		putETag := resp.Header.Get("ETag")
		after, resp := s.metadata(t, "/assets/put/a/-/entry/0/metadata")
		newETag := resp.Header.Get("ETag")
		if after.Alt != "new" || after.ModifiedAt != put.ModifiedAt || newETag == etag || putETag != newETag {
			t.Errorf("after PUT: metadata %+v, ETag %q (PUT said %q, before %q)", after, newETag, putETag, etag)
		}
		if b, _ := s.metadata(t, "/assets/put/b/-/entry/0/metadata"); b.Alt != "old" || b.Labels["a"] != "1" || b.ModifiedAt != neighbour.ModifiedAt {
			t.Errorf("PUT on put/a changed put/b's entry 0: %+v", b)
		}
		if o, _ := s.metadata(t, "/assets/put/a/-/entry/1/metadata"); o.Alt != "other" {
			t.Errorf("PUT on entry 0 changed entry 1: %+v", o)
		}

		// The same body again changes nothing, so modifiedAt and the ETag stay.
		resp, body = s.putJSON(t, "/assets/put/a/-/entry/0", `{"tags":["y","z"],"labels":{"b":"2"},"alt":"new"}`, newETag)
		var same assetDoc
		json.Unmarshal(body, &same)
		if resp.StatusCode != http.StatusOK || same.ModifiedAt != put.ModifiedAt || resp.Header.Get("ETag") != newETag {
			t.Errorf("identical PUT = %d, modifiedAt %s (was %s), ETag %q (was %q)", resp.StatusCode, same.ModifiedAt, put.ModifiedAt, resp.Header.Get("ETag"), newETag)
		}

		// Stale and wrong ETags are 412 and change nothing.
		for _, m := range []string{etag, `"wrong"`, `W/` + newETag} {
			resp, body = s.putJSON(t, "/assets/put/a/-/entry/0", `{"alt":"lost update"}`, m)
			wantProblem(t, "PUT with If-Match "+m, resp, body, http.StatusPreconditionFailed)
		}
		if a, _ := s.metadata(t, "/assets/put/a/-/entry/0/metadata"); a.Alt != "new" {
			t.Errorf("a PUT refused with 412 changed alt to %q", a.Alt)
		}

		// Full replacement: an empty document clears alt, labels and tags.
		resp, body = s.putJSON(t, "/assets/put/a/-/entry/0", `{}`, "")
		var cleared assetDoc
		json.Unmarshal(body, &cleared)
		if resp.StatusCode != http.StatusOK || cleared.Alt != "" || cleared.Labels == nil || len(cleared.Labels) != 0 ||
			cleared.Tags == nil || len(cleared.Tags) != 0 {
			t.Errorf("PUT {} = %d %s, want alt \"\", labels {}, tags []", resp.StatusCode, body)
		}

		// Validation is store's.
		long := strings.Repeat("a", 1001)
		manyTags := `["` + strings.Repeat(`t","`, 50) + `t"]`
		for _, doc := range []string{
			`{"alt":"a","colour":"red"}`, `null`, `[]`, ``, `{"alt":"a"} {}`, `{"alt":1}`,
			`{"alt":"` + long + `"}`, `{"tags":` + manyTags + `}`, `{"labels":{"":"v"}}`,
			`{"alt":"bell\u0007"}`, `{"labels":{"k":"` + strings.Repeat("v", 1025) + `"}}`,
			`{"expires":"soon"}`, `{"expires":"P"}`,
		} {
			resp, body = s.putJSON(t, "/assets/put/a/-/entry/1", doc, "")
			wantProblem(t, "PUT "+doc[:min(len(doc), 40)], resp, body, http.StatusBadRequest)
		}
		if a, _ := s.metadata(t, "/assets/put/a/-/entry/1/metadata"); a.Alt != "other" {
			t.Errorf("a refused PUT changed entry 1: alt %q", a.Alt)
		}

		// Unknown entries are 404, on this path or another.
		for _, u := range []string{"/assets/put/a/-/entry/2", "/assets/put/none/-/entry/0", "/assets/put/-/entry/0"} {
			resp, body = s.putJSON(t, u, `{"alt":"x"}`, "")
			wantProblem(t, "PUT "+u, resp, body, http.StatusNotFound)
		}
		// PUT takes exactly entry/{id}.
		for _, sel := range []string{"", "/-/new", "/-/modified", "/-/entry/0/metadata", "/-/recursive", "/-/entry", "/-/entry/x", "/-/metadata"} {
			resp, body = s.putJSON(t, "/assets/put/a"+sel, `{"alt":"x"}`, "")
			wantProblem(t, "PUT /assets/put/a"+sel, resp, body, http.StatusBadRequest)
		}

		// expires in PUT.
		t0 := time.Now().UTC()
		resp, body = s.putJSON(t, "/assets/put/a/-/entry/1", `{"alt":"other","expires":"P30D"}`, "")
		var exp assetDoc
		json.Unmarshal(body, &exp)
		t1 := time.Now().UTC()
		if resp.StatusCode != http.StatusOK || exp.ExpiresAt == nil {
			t.Fatalf("PUT expires P30D = %d %s", resp.StatusCode, body)
		}
		if at := parseTime(t, *exp.ExpiresAt); at.Before(t0.AddDate(0, 0, 30).Add(-time.Second)) || at.After(t1.AddDate(0, 0, 30).Add(time.Second)) {
			t.Errorf("PUT expires P30D: expiresAt %s, want 30 days from now", *exp.ExpiresAt)
		}
		resp, body = s.putJSON(t, "/assets/put/a/-/entry/1", `{"alt":"other","expires":"2031-05-06T09:08:09+02:00"}`, "")
		json.Unmarshal(body, &exp)
		if resp.StatusCode != http.StatusOK || exp.ExpiresAt == nil || !parseTime(t, *exp.ExpiresAt).Equal(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)) {
			t.Errorf("PUT expires RFC 3339 = %d %s, want expiresAt 2031-05-06T07:08:09Z", resp.StatusCode, body)
		}
		resp, body = s.putJSON(t, "/assets/put/a/-/entry/1", `{"alt":"other","expires":"never"}`, "")
		exp = assetDoc{}
		json.Unmarshal(body, &exp)
		if resp.StatusCode != http.StatusOK || exp.ExpiresAt != nil || !strings.Contains(string(body), `"expiresAt":null`) {
			t.Errorf("PUT expires never = %d %s, want expiresAt null", resp.StatusCode, body)
		}
	})
}

// TestLifecycleDelete: every DELETE selector removes exactly the entries it
// names and their objects, and always answers 204.
func TestLifecycleDelete(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		s := start(t, st, nil)
		img := fixture(t, "alpha.png")
		for i := range 8 {
			parity := []string{"even", "odd"}[i%2]
			s.upload(t, "del/a", `{"labels":{"parity":"`+parity+`"}}`, img)
		}
		s.upload(t, "del/b", "", img) // same entry ids at another path
		s.upload(t, "del/b", "", img)
		live := func() []int64 {
			ids, _ := s.entries(t, "/assets/del/a/-/entries?limit=-1")
			return ids
		}
		steps := []struct {
			do   func()
			desc string
			want []int64
		}{
			{func() { s.deleteOK(t, "/assets/del/a/-/entry/2") }, "entry/2", []int64{7, 6, 5, 4, 3, 1, 0}},
			{func() { s.deleteOK(t, "/assets/del/a/-/Entry/2") }, "entry/2 again", []int64{7, 6, 5, 4, 3, 1, 0}},
			{func() { s.deleteOK(t, "/assets/del/a") }, "no selector (the newest)", []int64{6, 5, 4, 3, 1, 0}},
			{func() { s.deleteOK(t, "/assets/del/a/-/new?limit=2") }, "new?limit=2", []int64{4, 3, 1, 0}},
			{func() {
				if resp, body := s.putJSON(t, "/assets/del/a/-/entry/1", `{"alt":"touched","labels":{"parity":"odd"}}`, ""); resp.StatusCode != http.StatusOK {
					t.Fatalf("PUT = %d %s", resp.StatusCode, body)
				}
				s.deleteOK(t, "/assets/del/a/-/modified")
			}, "modified after a PUT of entry 1", []int64{4, 3, 0}},
			{func() { s.deleteOK(t, "/assets/del/a/-/new?parity=odd&limit=-1&nothing=here") }, "labels that match nothing", []int64{4, 3, 0}},
			{func() { s.deleteOK(t, "/assets/del/a?parity=even&limit=-1") }, "parity=even, all", []int64{3}},
			{func() { s.deleteOK(t, "/assets/del/a?parity=even") }, "parity=even again", []int64{3}},
			{func() { s.deleteOK(t, "/assets/del/a/-/entry/3?parity=even") }, "entry/3 with a label it lacks", []int64{3}},
			{func() { s.deleteOK(t, "/assets/del/a/-/entry/99") }, "entry/99", []int64{3}},
			{func() { s.deleteOK(t, "/assets/del/nothing/here") }, "a path with no entries", []int64{3}},
		}
		for _, step := range steps {
			step.do()
			if got := live(); !slices.Equal(got, step.want) {
				t.Fatalf("after DELETE %s: entries %v, want %v", step.desc, got, step.want)
			}
		}
		if ids, _ := s.entries(t, "/assets/del/b/-/entries"); !slices.Equal(ids, []int64{1, 0}) {
			t.Errorf("deletes on del/a touched del/b: %v", ids)
		}
		if n := s.objectCount(t); n != 3 {
			t.Errorf("%d objects stored, want 3 (one per remaining entry)", n)
		}

		// recursive: this path and every path below it, on segment boundaries.
		paths := []string{"r/a", "r/a/b", "r/a/b/c", "r/a/b/c/d", "r/a/bc", "r/ab", "r/a/b/c/d"}
		for _, p := range paths {
			s.upload(t, p, "", img)
		}
		for _, sel := range []string{"/-/recursive?limit=2", "/-/recursive/new", "/-/new/recursive", "/-/content", "/-/entry/x",
			"/-/entry/0/metadata", "/-/recursive?limit=0", "/-/?", "/-/new?limit=abc", "/-/entries"} {
			resp, body := s.do(t, http.MethodDelete, "/assets/r/a/b"+sel, "", nil, nil)
			wantProblem(t, "DELETE /assets/r/a/b"+sel, resp, body, http.StatusBadRequest)
		}
		if resp, _ := s.get(t, "/assets/r/a/b/-/metadata"); resp.StatusCode != http.StatusOK {
			t.Fatalf("a refused DELETE removed r/a/b")
		}
		s.deleteOK(t, "/assets/r/a/b/-/recursive")
		for p, kept := range map[string]bool{"r/a": true, "r/a/bc": true, "r/ab": true, "r/a/b": false, "r/a/b/c": false, "r/a/b/c/d": false} {
			resp, body := s.get(t, "/assets/"+p+"/-/metadata")
			if kept && resp.StatusCode != http.StatusOK {
				t.Errorf("recursive delete of r/a/b removed %s: %d %s", p, resp.StatusCode, body)
			} else if !kept && resp.StatusCode != http.StatusNotFound {
				t.Errorf("recursive delete of r/a/b left %s: %d", p, resp.StatusCode)
			}
		}
		s.deleteOK(t, "/assets/r/a/b/-/RECURSIVE")
		s.deleteOK(t, "/assets/r/zzz/-/recursive")
		if n := s.objectCount(t); n != 3+3 {
			t.Errorf("%d objects stored after the recursive delete, want 6", n)
		}
		// Entry ids are not reused after a recursive delete.
		if a := s.upload(t, "r/a/b/c/d", "", img); a.EntryID != 2 {
			t.Errorf("upload after the recursive delete got entry %d, want 2", a.EntryID)
		}
	})
}

// cacheDirectives splits a Cache-Control header into its directives.
func cacheDirectives(h string) map[string]bool {
	out := map[string]bool{}
	for _, d := range strings.Split(h, ",") {
		if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
			out[d] = true
		}
	}
	return out
}

// pathCacheDirective reports whether a Cache-Control header carries one of
// the directives the path configuration sets.
func pathCacheDirective(h string) bool {
	for d := range cacheDirectives(h) {
		for _, p := range []string{"public", "private", "max-age", "s-maxage", "immutable", "stale-", "must-revalidate"} {
			if strings.HasPrefix(d, p) {
				return true
			}
		}
	}
	return false
}

const deliveryPaths = `  "/cached/**":
    cache-control: {max-age: 1h, s-maxage: 60, visibility: public, revalidate: must-revalidate, stale-while-revalidate: 30, stale-if-error: 1d, immutable: true}
  "/cached/private/**":
    cache-control: {visibility: private, max-age: 120}
  "/cached/off/**":
    cache-control: {enabled: false}
`

// TestLifecycleDelivery: validators, conditional and range requests,
// Cache-Control from the path configuration on successes only, and the
// download file name.
func TestLifecycleDelivery(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		s := startWith(t, st, deliveryPaths)
		jpg, png := fixture(t, "cactus.jpg"), fixture(t, "alpha.png")
		s.upload(t, "cached/img", `{"alt":"a cactus"}`, jpg)
		s.upload(t, "cached/img2", "", png)
		s.upload(t, "cached/private/img", "", jpg)
		s.upload(t, "cached/off/img", "", jpg)
		s.upload(t, "plain/img", "", jpg)

		resp, body := s.get(t, "/assets/cached/img/-/content")
		etag, lastMod := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, jpg) || resp.Header.Get("Content-Length") != fmt.Sprint(len(jpg)) {
			t.Fatalf("content = %d, %d bytes, Content-Length %q; want the %d bytes", resp.StatusCode, len(body), resp.Header.Get("Content-Length"), len(jpg))
		}
		if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 3 {
			t.Errorf("ETag = %q, want a strong ETag", etag)
		}
		if _, err := http.ParseTime(lastMod); err != nil {
			t.Errorf("Last-Modified = %q: %v", lastMod, err)
		}
		resp2, _ := s.get(t, "/assets/cached/img2/-/content")
		if e2 := resp2.Header.Get("ETag"); e2 == "" || e2 == etag {
			t.Errorf("two entries with different bytes share ETag %q", etag)
		}
		if again, _ := s.get(t, "/assets/cached/img/-/entry/0/download"); again.Header.Get("ETag") != etag {
			t.Errorf("the same variant via download has ETag %q, content %q", again.Header.Get("ETag"), etag)
		}

		earlier := time.Now().Add(-24 * time.Hour).UTC().Format(http.TimeFormat)
		for _, c := range []struct {
			header http.Header
			status int
		}{
			{http.Header{"If-None-Match": {etag}}, http.StatusNotModified},
			{http.Header{"If-None-Match": {`"other", ` + etag}}, http.StatusNotModified},
			{http.Header{"If-None-Match": {`"other"`}}, http.StatusOK},
			{http.Header{"If-Modified-Since": {lastMod}}, http.StatusNotModified},
			{http.Header{"If-Modified-Since": {earlier}}, http.StatusOK},
		} {
			for _, f := range []string{"content", "download"} {
				resp, body := s.do(t, http.MethodGet, "/assets/cached/img/-/"+f, "", nil, c.header)
				if resp.StatusCode != c.status {
					t.Errorf("%s with %v = %d, want %d", f, c.header, resp.StatusCode, c.status)
				}
				if c.status == http.StatusNotModified && len(body) != 0 {
					t.Errorf("%s 304 has a %d-byte body", f, len(body))
				}
				// A 304 must repeat the Cache-Control a 200 would send (RFC 9110 15.4.5).
				if !pathCacheDirective(resp.Header.Get("Cache-Control")) {
					t.Errorf("%s with %v: Cache-Control %q lacks the path's directives", f, c.header, resp.Header.Get("Cache-Control"))
				}
			}
		}

		n := len(jpg)
		for _, c := range []struct {
			rng, contentRange string
			want              []byte
		}{
			{"bytes=100-199", fmt.Sprintf("bytes 100-199/%d", n), jpg[100:200]},
			{"bytes=-10", fmt.Sprintf("bytes %d-%d/%d", n-10, n-1, n), jpg[n-10:]},
			{"bytes=0-0", fmt.Sprintf("bytes 0-0/%d", n), jpg[:1]},
			{fmt.Sprintf("bytes=%d-", n-5), fmt.Sprintf("bytes %d-%d/%d", n-5, n-1, n), jpg[n-5:]},
		} {
			resp, body := s.do(t, http.MethodGet, "/assets/cached/img/-/content", "", nil, http.Header{"Range": {c.rng}})
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, c.want) ||
				resp.Header.Get("Content-Range") != c.contentRange || resp.Header.Get("Content-Length") != fmt.Sprint(len(c.want)) {
				t.Errorf("Range %s = %d, %d bytes, Content-Range %q; want 206 with %q", c.rng, resp.StatusCode, len(body), resp.Header.Get("Content-Range"), c.contentRange)
			}
		}
		for _, rng := range []string{fmt.Sprintf("bytes=%d-", n), fmt.Sprintf("bytes=%d-%d", n+10, n+20)} {
			resp, body := s.do(t, http.MethodGet, "/assets/cached/img/-/content", "", nil, http.Header{"Range": {rng}})
			wantProblem(t, "Range "+rng, resp, body, http.StatusRequestedRangeNotSatisfiable)
			if pathCacheDirective(resp.Header.Get("Cache-Control")) {
				t.Errorf("416 carries the path's Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
			if got := resp.Header.Get("Content-Range"); got != fmt.Sprintf("bytes */%d", n) {
				t.Errorf("416 Content-Range = %q, want bytes */%d", got, n)
			}
		}

		// Cache-Control: exactly the path's directives on successful
		// content, download and redirect (answered as content).
		public := "public, max-age=3600, s-maxage=60, must-revalidate, stale-while-revalidate=30, stale-if-error=86400, immutable"
		private := "private, max-age=120, s-maxage=60, must-revalidate, stale-while-revalidate=30, stale-if-error=86400, immutable"
		for u, want := range map[string]string{
			"/assets/cached/img/-/content":                 public,
			"/assets/cached/img/-/download":                public,
			"/assets/cached/img/-/entry/0/content":         public,
			"/assets/cached/img/-/redirect":                public,
			"/assets/CACHED/img2/-/content":                public, // config matching is case-insensitive
			"/assets/cached/private/img/-/content":         private,
			"/assets/cached/private/img/-/download":        private,
			"/assets/cached/off/img/-/content":             "",
			"/assets/cached/off/img/-/download":            "",
			"/assets/plain/img/-/content":                  "",
			"/assets/plain/img/-/entry/0/download":         "",
			"/assets/cached/img2/-/new/content":            public,
			"/assets/cached/private/img/-/entry/0/content": private,
		} {
			if u == "/assets/CACHED/img2/-/content" {
				// Stored paths are case-sensitive, so upload there first.
				s.upload(t, "CACHED/img2", "", png)
			}
			resp, _ := s.get(t, u)
			got := resp.Header.Get("Cache-Control")
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s = %d", u, resp.StatusCode)
			}
			if want == "" {
				if pathCacheDirective(got) {
					t.Errorf("GET %s: Cache-Control %q, want none of the configured directives", u, got)
				}
			} else if !maps.Equal(cacheDirectives(got), cacheDirectives(want)) {
				t.Errorf("GET %s: Cache-Control %q, want %q", u, got, want)
			}
		}
		// Never on errors, nor on metadata, link or entries, which change.
		for u, status := range map[string]int{
			"/assets/cached/img/-/entry/5/content":  http.StatusNotFound,
			"/assets/cached/img/-/entry/5/download": http.StatusNotFound,
			"/assets/cached/img/-/entry/5/redirect": http.StatusNotFound,
			"/assets/cached/nothing/-/content":      http.StatusNotFound,
			"/assets/cached/img/-/content?k=v":      http.StatusNotFound,
			"/assets/cached/img/-/content?limit=0":  http.StatusBadRequest,
			"/assets/cached/img/-/content/x":        http.StatusBadRequest,
			"/assets/cached/img/-/download?limit=2": http.StatusBadRequest,
			"/assets/cached/img/-/metadata":         http.StatusOK,
			"/assets/cached/img":                    http.StatusOK,
			"/assets/cached/img/-/entries":          http.StatusOK,
		} {
			resp, body := s.get(t, u)
			if resp.StatusCode != status {
				t.Errorf("GET %s = %d %s, want %d", u, resp.StatusCode, body, status)
			}
			if cc := resp.Header.Get("Cache-Control"); pathCacheDirective(cc) {
				t.Errorf("GET %s (%d) carries the path's Cache-Control %q", u, resp.StatusCode, cc)
			}
		}

		// Download names and X-Alt.
		for _, c := range []struct {
			path, alt string
			img       []byte
			filename  string
		}{
			{"dl/alt", "a cactus", jpg, "a cactus.jpg"},
			{"dl/ext", "photo.jpg", jpg, "photo.jpg"},
			{"dl/Sunset", "", jpg, "Sunset.jpg"},
			{"dl/pics/beach.jpg", "", jpg, "beach.jpg"},
			{"dl/logo", "", png, "logo.png"},
			{"dl/utf", "Grüße aus Köln", jpg, "Grüße aus Köln.jpg"},
		} {
			meta := ""
			if c.alt != "" {
				meta = `{"alt":"` + c.alt + `"}`
			}
			s.upload(t, c.path, meta, c.img)
			resp, body := s.get(t, "/assets/"+c.path+"/-/download")
			disp := resp.Header.Get("Content-Disposition")
			kind, params, err := mime.ParseMediaType(disp)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, c.img) || err != nil || kind != "attachment" || params["filename"] != c.filename {
				t.Errorf("download %s: %d, Content-Disposition %q, want attachment named %q", c.path, resp.StatusCode, disp, c.filename)
			}
			nonASCII := strings.ContainsFunc(c.filename, func(r rune) bool { return r > 0x7e })
			if nonASCII && !strings.Contains(strings.ToLower(disp), "filename*=utf-8''") {
				t.Errorf("download %s: Content-Disposition %q, want filename*=UTF-8''…", c.path, disp)
			}
		}
		for _, alt := range []string{"a cactus", "Grüße aus Köln", "50% off / ½ price? #1 & more"} {
			s.upload(t, "xalt/img", `{"alt":`+jsonString(alt)+`}`, jpg)
			resp, _ := s.get(t, "/assets/xalt/img/-/content")
			got := resp.Header.Get("X-Alt")
			decoded, err := url.PathUnescape(got)
			if err != nil || decoded != alt || strings.ContainsFunc(got, func(r rune) bool { return r > 0x7e || r < 0x20 }) {
				t.Errorf("X-Alt for %q = %q, want it percent-encoded as UTF-8", alt, got)
			}
		}
		if resp, _ := s.get(t, "/assets/plain/img/-/content"); resp.Header.Get("X-Alt") != "" {
			t.Errorf("X-Alt = %q for an entry without alt", resp.Header.Get("X-Alt"))
		}
	})
}

// jsonString is s as a JSON string literal.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

const redirectPaths = `  "/presigned/**":
    redirect: {strategy: presigned, ttl: 10m}
  "/tpl/**":
    redirect: {strategy: template, template: "https://cdn.example.com/{bucket}/{key}"}
`

// TestLifecycleRedirect: none answers as content; presigned is a working
// 307 on S3 and content on the filesystem; template fills bucket and key.
func TestLifecycleRedirect(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		s := startWith(t, st, redirectPaths)
		jpg := fixture(t, "cactus.jpg")
		s.upload(t, "plain/img", "", jpg)
		pre := s.upload(t, "presigned/img", "", jpg)
		tpl := s.upload(t, "tpl/img", "", jpg)

		resp, body := s.getNoFollow(t, "/assets/plain/img/-/redirect")
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, jpg) || resp.Header.Get("Content-Type") != "image/jpeg" {
			t.Errorf("redirect with strategy none = %d, %d bytes; want 200 with the content", resp.StatusCode, len(body))
		}

		resp, body = s.getNoFollow(t, "/assets/presigned/img/-/redirect")
		if st.name == "sqlite+filesystem" {
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, jpg) || resp.Header.Get("Content-Type") != "image/jpeg" {
				t.Errorf("presigned on the filesystem = %d, %d bytes; want 200 with the content", resp.StatusCode, len(body))
			}
		} else {
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusTemporaryRedirect || loc == "" {
				t.Fatalf("presigned on S3 = %d, Location %q; want 307", resp.StatusCode, loc)
			}
			if !strings.Contains(loc, pre.Variants[0].StoreKey) {
				t.Errorf("presigned Location %q does not name the object %s", loc, pre.Variants[0].StoreKey)
			}
			got, err := http.Get(loc)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(got.Body)
			got.Body.Close()
			if got.StatusCode != http.StatusOK || !bytes.Equal(data, jpg) || got.Header.Get("Content-Type") != "image/jpeg" {
				t.Errorf("GET presigned URL = %d, %d bytes, Content-Type %q; want the jpeg", got.StatusCode, len(data), got.Header.Get("Content-Type"))
			}
		}
		// content is never redirected.
		if resp, body := s.getNoFollow(t, "/assets/presigned/img/-/content"); resp.StatusCode != http.StatusOK || !bytes.Equal(body, jpg) {
			t.Errorf("content under a presigned path = %d", resp.StatusCode)
		}

		resp, _ = s.getNoFollow(t, "/assets/tpl/img/-/entry/0/redirect")
		want := "https://cdn.example.com/" + s.bucket + "/" + tpl.Variants[0].StoreKey
		if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
			t.Errorf("template redirect = %d to %q, want 307 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
		for _, u := range []string{"/assets/tpl/img/-/entry/1/redirect", "/assets/presigned/img/-/entry/1/redirect", "/assets/tpl/none/-/redirect"} {
			resp, body := s.getNoFollow(t, u)
			wantProblem(t, "GET "+u, resp, body, http.StatusNotFound)
		}
	})
}

const expiryPaths = `  "/temp/**":
    default-expires: 1h
`

// TestLifecycleExpiry: expires becomes expiresAt; a per-path default
// applies; an expired entry disappears from every read, and sweep removes
// its rows and objects.
func TestLifecycleExpiry(t *testing.T) {
	forEachStack(t, func(t *testing.T, st stack) {
		s := startWith(t, st, expiryPaths)
		img := fixture(t, "alpha.png")
		within := func(what string, got *string, from, to time.Time) {
			t.Helper()
			if got == nil {
				t.Errorf("%s: expiresAt null, want between %s and %s", what, from, to)
				return
			}
			if at := parseTime(t, *got); at.Before(from.Add(-time.Second)) || at.After(to.Add(time.Second)) {
				t.Errorf("%s: expiresAt %s, want between %s and %s", what, *got, from, to)
			}
		}
		live := 0
		t0 := time.Now().UTC()
		a := s.upload(t, "exp/p30d", `{"expires":"P30D"}`, img)
		b := s.upload(t, "exp/pt12h", `{"expires":"PT12H"}`, img)
		d := s.upload(t, "temp/x", "", img)
		e := s.upload(t, "temp/p1d", `{"expires":"P1D"}`, img)
		t1 := time.Now().UTC()
		within("P30D", a.ExpiresAt, t0.AddDate(0, 0, 30), t1.AddDate(0, 0, 30))
		within("PT12H", b.ExpiresAt, t0.Add(12*time.Hour), t1.Add(12*time.Hour))
		within("default-expires 1h", d.ExpiresAt, t0.Add(time.Hour), t1.Add(time.Hour))
		within("P1D under default-expires", e.ExpiresAt, t0.AddDate(0, 0, 1), t1.AddDate(0, 0, 1))
		c := s.upload(t, "exp/rfc", `{"expires":"2030-01-02T05:04:05+02:00"}`, img)
		if c.ExpiresAt == nil || !parseTime(t, *c.ExpiresAt).Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("RFC 3339 expires: expiresAt %v, want 2030-01-02T03:04:05Z", c.ExpiresAt)
		}
		for _, p := range []string{"exp/never", "temp/never"} {
			if n := s.upload(t, p, `{"expires":"never"}`, img); n.ExpiresAt != nil {
				t.Errorf("%s: expires never → expiresAt %s, want null", p, *n.ExpiresAt)
			}
		}
		if n := s.upload(t, "exp/none", "", img); n.ExpiresAt != nil {
			t.Errorf("no expires outside default-expires → expiresAt %s, want null", *n.ExpiresAt)
		}
		live += 8
		if m, _ := s.metadata(t, "/assets/temp/x/-/metadata"); m.ExpiresAt == nil || *m.ExpiresAt != *d.ExpiresAt {
			t.Errorf("metadata expiresAt %v, want %s as stored", m.ExpiresAt, *d.ExpiresAt)
		}
		for _, bad := range []string{`{"expires":"tomorrow"}`, `{"expires":"P"}`, `{"expires":30}`} {
			resp, body := s.post(t, "/assets/exp/bad", part{name: "metadata", body: []byte(bad)}, part{name: "asset", body: img})
			wantProblem(t, "POST with "+bad, resp, body, http.StatusBadRequest)
		}

		// Short-lived entries: exp/short keeps entry 0, loses entry 1;
		// exp/gone loses its only entry.
		s.upload(t, "exp/short", "", img)
		s.upload(t, "exp/short", `{"expires":"PT1S","labels":{"k":"v"}}`, img)
		gone := s.upload(t, "exp/gone", `{"expires":"PT1S"}`, img)
		live++
		if gone.ExpiresAt == nil {
			t.Fatal("PT1S: expiresAt null")
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			resp, _ := s.get(t, "/assets/exp/gone/-/metadata")
			if resp.StatusCode == http.StatusNotFound {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("an entry that expired at %s is still served at %s", *gone.ExpiresAt, time.Now().UTC())
			}
			time.Sleep(200 * time.Millisecond)
		}
		// Entry 1 of exp/short expired at most a few ms after exp/gone's;
		// wait for it the same way before checking every read.
		for {
			resp, _ := s.get(t, "/assets/exp/short/-/entry/1/metadata")
			if resp.StatusCode == http.StatusNotFound || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, u := range []string{
			"/assets/exp/gone", "/assets/exp/gone/-/metadata", "/assets/exp/gone/-/content", "/assets/exp/gone/-/download",
			"/assets/exp/gone/-/redirect", "/assets/exp/gone/-/entry/0/metadata", "/assets/exp/gone/-/entry/0/content",
			"/assets/exp/gone/-/modified/content", "/assets/exp/short/-/entry/1", "/assets/exp/short/-/entry/1/content",
			"/assets/exp/short/-/metadata?k=v",
		} {
			resp, body := s.get(t, u)
			wantProblem(t, "GET expired "+u, resp, body, http.StatusNotFound)
		}
		if ids, next := s.entries(t, "/assets/exp/gone/-/entries"); len(ids) != 0 || next != nil {
			t.Errorf("entries of an expired path = %v, want none", ids)
		}
		if ids, _ := s.entries(t, "/assets/exp/short/-/entries"); !slices.Equal(ids, []int64{0}) {
			t.Errorf("entries of exp/short = %v, want only the unexpired entry 0", ids)
		}
		if got := s.metadataIDs(t, "/assets/exp/short/-/metadata?limit=-1"); !slices.Equal(got, []int64{0}) {
			t.Errorf("metadata?limit=-1 of exp/short = %v, want [0]", got)
		}
		if m, _ := s.metadata(t, "/assets/exp/short/-/metadata"); m.EntryID != 0 {
			t.Errorf("newest of exp/short = entry %d, want 0 once entry 1 expired", m.EntryID)
		}
		resp, body := s.putJSON(t, "/assets/exp/short/-/entry/1", `{"alt":"revive","expires":"never"}`, "")
		wantProblem(t, "PUT on an expired entry", resp, body, http.StatusNotFound)

		// sweep, against the same database and store once the server is down,
		// removes the expired rows and their objects; check then agrees.
		s.stop()
		ctx := context.Background()
		var out bytes.Buffer
		if err := run(ctx, []string{"sweep", "-config", s.configFile}, s.getenv, &out); err != nil {
			t.Fatalf("assetd sweep: %v\n%s", err, out.String())
		}
		if n := s.objectCount(t); n != live {
			t.Errorf("after sweep %d objects are stored, want %d (the unexpired entries)", n, live)
		}
		out.Reset()
		if err := run(ctx, []string{"check", "-config", s.configFile}, s.getenv, &out); err != nil || !strings.Contains(out.String(), "check: consistent") {
			t.Errorf("assetd check after sweep: %v\n%s", err, out.String())
		}
	})
}
