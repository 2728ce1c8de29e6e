package asset

import (
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	valid := []string{
		"a", "users/42/avatar", "A.b_c~d-e", "x/-y/z-", "..a", strings.Repeat("s", 128),
		strings.TrimSuffix(strings.Repeat("a/", 32), "/"),
	}
	for _, p := range valid {
		if _, err := ParsePath(p); err != nil {
			t.Errorf("ParsePath(%q) = %v, want ok", p, err)
		}
	}
	invalid := []string{
		"", "/a", "a/", "a//b", ".", "a/../b", "a/./b", "-", "a/-/b", "a b", "a%2Fb", "a\\b",
		"a\x00b", "a\nb", "caf\xc3\xa9", "\xff", strings.Repeat("s", 129),
		strings.TrimSuffix(strings.Repeat("a/", 33), "/"),
		strings.Repeat("abcdefgh/", 57) + "a", // 514 bytes
	}
	for _, p := range invalid {
		_, err := ParsePath(p)
		if CodeOf(err) != CodeInvalid {
			t.Errorf("ParsePath(%q) = %v, want CodeInvalid", p, err)
		}
	}
}

func TestPathIsCaseSensitive(t *testing.T) {
	a, _ := ParsePath("Users/42")
	b, _ := ParsePath("users/42")
	if a == b {
		t.Fatal("paths that differ in case compare equal")
	}
	if got := a.Last(); got != "42" {
		t.Fatalf("Last() = %q, want 42", got)
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"users/42/avatar", "a//b", "-", "..", "a/%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			if CodeOf(err) != CodeInvalid {
				t.Fatalf("error code %s, want %s", CodeOf(err), CodeInvalid)
			}
			return
		}
		// A valid path never lets a user escape a directory or smuggle bytes.
		for _, seg := range strings.Split(string(p), "/") {
			if seg == "" || seg == "." || seg == ".." || seg == "-" {
				t.Fatalf("accepted segment %q in %q", seg, s)
			}
		}
		if strings.ContainsAny(string(p), "\\%\x00 ") {
			t.Fatalf("accepted %q", s)
		}
	})
}
