package httpapi

import (
	"testing"

	"assetd/internal/asset"
)

func TestContentDispositionNames(t *testing.T) {
	jpg := &asset.Variant{Attributes: asset.Attributes{Format: asset.FormatJPEG}}
	cases := map[string]string{
		"a cactus":             `attachment; filename="a cactus.jpg"`,
		"photo.JPG":            `attachment; filename=photo.JPG`,
		"../../etc/passwd":     `attachment; filename=.._.._etc_passwd.jpg`,
		"invoice\u202egpj.exe": `attachment; filename=invoicegpj.exe.jpg`,
		"über":                 `attachment; filename*=utf-8''%C3%BCber.jpg`,
		"":                     `attachment; filename=avatar.jpg`,
		"line\u2028break\r\nx": `attachment; filename=linebreak__x.jpg`,
	}
	for alt, want := range cases {
		a := &asset.Asset{Path: "users/42/avatar", Alt: alt}
		if got := contentDisposition(a, jpg); got != want {
			t.Errorf("alt %q: %s, want %s", alt, got, want)
		}
	}
}

func TestParseQueryLabels(t *testing.T) {
	q, err := parseQuery("phone=android&label:w=wide&w=10")
	if err != nil || q.labels["phone"] != "android" || q.labels["w"] != "wide" || q.transform["w"] != "10" {
		t.Fatalf("parseQuery = %+v, %v", q, err)
	}
	for _, raw := range []string{"x=1&label:x=2", "a=1&a=2", "limit=0", "label:=x", "cursor=%%%"} {
		if _, err := parseQuery(raw); asset.CodeOf(err) != asset.CodeInvalid {
			t.Errorf("parseQuery(%q) = %v, want CodeInvalid", raw, err)
		}
	}
}
