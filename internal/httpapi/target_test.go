package httpapi

import (
	"testing"

	"assetd/internal/asset"
)

func TestParseGetTarget(t *testing.T) {
	id := func(n int64) *int64 { return &n }
	cases := []struct {
		url    string
		path   string
		entry  *int64
		format string
	}{
		{"/assets/users/42/avatar", "users/42/avatar", nil, formatLink},
		{"/assets/a/-/new", "a", nil, formatLink},
		{"/assets/a/-/NEW/Content", "a", nil, formatContent},
		{"/assets/a/-/entry/7/metadata", "a", id(7), formatMetadata},
		{"/assets/a/-/entry/0", "a", id(0), formatLink},
		{"/assets/a/b/-/download", "a/b", nil, formatDownload},
		{"/assets/a/-/redirect", "a", nil, formatRedirect},
		{"/assets/a-/x-/-/link", "a-/x-", nil, formatLink},
	}
	for _, c := range cases {
		got, err := parseGetTarget(c.url)
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if string(got.path) != c.path || got.format != c.format || (got.entryID == nil) != (c.entry == nil) ||
			got.entryID != nil && *got.entryID != *c.entry {
			t.Errorf("%s: got %+v", c.url, got)
		}
	}
	bad := []string{
		"/assets/", "/assets/a/", "/assets/a/-", "/assets/a/-/", "/assets/a//b", "/assets/a%2Fb",
		"/assets/a%2fb/-/content", "/assets/a/-/entry", "/assets/a/-/entry/x", "/assets/a/-/entry/-1",
		"/assets/a/-/entry/01", "/assets/a/-/entry/+1", "/assets/a/-/content/new", "/assets/a/-/bogus",
		"/assets/a/-/content/content", "/assets/a/-/new/entry/1", "/assets/a/-/content/", "/assets/%2D/x",
		"/assets/a%5Cb", "/assets/a%00b", "/assets/a/%zz", "/assets/-/content",
		"/assets/a/-/entry/99999999999999999999",
	}
	for _, u := range bad {
		if _, err := parseGetTarget(u); asset.CodeOf(err) != asset.CodeInvalid {
			t.Errorf("%s: got %v, want CodeInvalid", u, err)
		}
	}
}

func TestParseDeleteTarget(t *testing.T) {
	if got, err := parseDeleteTarget("/assets/a/b/-/entry/3"); err != nil || *got.entryID != 3 || got.path != "a/b" {
		t.Fatalf("got %+v, %v", got, err)
	}
	if got, err := parseDeleteTarget("/assets/a/b"); err != nil || got.entryID != nil {
		t.Fatalf("got %+v, %v", got, err)
	}
	for _, u := range []string{"/assets/a/-/content", "/assets/a/-/entry/1/x", "/assets/a/-/"} {
		if _, err := parseDeleteTarget(u); asset.CodeOf(err) != asset.CodeInvalid {
			t.Errorf("%s: got %v, want CodeInvalid", u, err)
		}
	}
}

func FuzzParseGetTarget(f *testing.F) {
	for _, s := range []string{"/assets/a/-/entry/1/content", "/assets/a//b", "/assets/a/-/", "/assets/%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseGetTarget(s)
		if err != nil {
			if asset.CodeOf(err) != asset.CodeInvalid {
				t.Fatalf("%q: code %s", s, asset.CodeOf(err))
			}
			return
		}
		// Whatever was accepted is a valid path.
		if _, err := asset.ParsePath(string(got.path)); err != nil {
			t.Fatalf("%q: accepted invalid path %q", s, got.path)
		}
	})
}
