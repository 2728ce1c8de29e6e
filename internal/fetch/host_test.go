package fetch

import (
	"net/netip"
	"testing"
)

func TestMatcher(t *testing.T) {
	m, err := newMatcher([]string{
		"images.example.com",
		"*.cdn.example.net",
		"bücher.example",
		"*.xn--caf-dma.example", // *.café.example
		"Static.Example.ORG.",
		"127.0.0.1",
		"[::1]",
		"2130706433",
		"under_score.example",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		want bool
	}{
		{"images.example.com", true},
		{"IMAGES.Example.Com", true},
		{"images.example.com.", true},
		{"example.com", false},
		{"other.example.com", false},
		{"images.example.com.evil.test", false},
		{"evilimages.example.com", false},

		{"a.cdn.example.net", true},
		{"a.b.c.cdn.example.net", true},
		{"A.CDN.Example.Net.", true},
		{"cdn.example.net", false}, // the apex is not matched by its wildcard
		{"xcdn.example.net", false},
		{"cdn.example.net.evil.test", false},

		{"bücher.example", true},
		{"BÜCHER.example", true},
		{"xn--bcher-kva.example", true},
		{"bucher.example", false},
		{"img.café.example", true},
		{"img.xn--caf-dma.example", true},
		{"café.example", false},

		{"static.example.org", true},
		{"static.example.org.", true},

		{"127.0.0.1", true},
		{"127.0.0.1.", true},
		{"127.0.0.2", false},
		{"::1", true},
		{"0:0:0:0:0:0:0:1", true},
		{"::ffff:127.0.0.1", false}, // literal: not the same spelling as 127.0.0.1
		{"2130706433", true},
		{"0x7f000001", false}, // literal: same address, different spelling
		{"127.1", false},
		{"under_score.example", true},
	}
	for _, tt := range tests {
		got, err := m.match(tt.host)
		if err != nil {
			t.Errorf("match(%q): %v", tt.host, err)
			continue
		}
		if got != tt.want {
			t.Errorf("match(%q) = %v; want %v", tt.host, got, tt.want)
		}
	}
}

func TestMatcherMalformedHost(t *testing.T) {
	m, err := newMatcher([]string{"*.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"", ".", "a..example.com", "foo.123", "256.0.0.1", "1.2.3.4.5", "0x100.1", "1.0xg.0x1", "fe80::1%eth0", "a b.example.com", "-\u202e.example.com"} {
		if ok, err := m.match(h); err == nil {
			t.Errorf("match(%q) = %v, nil; want an error", h, ok)
		}
	}
}

func TestMatcherInvalidPatterns(t *testing.T) {
	for _, p := range []string{"", "*", "*.", "*.*.example.com", "img.*.example.com", "*example.com", "a..b", "*.127.0.0.1", "*.2130706433", "foo.123"} {
		if _, err := New(Config{AllowedDomains: []string{p}}); err == nil {
			t.Errorf("New with pattern %q succeeded; want an error", p)
		}
	}
}

func TestParseLegacyIPv4(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means not an IPv4 address
	}{
		{"127.0.0.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"0X7F000001", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"0177.0.0.01", "127.0.0.1"},
		{"0x7f.1", "127.0.0.1"},
		{"0", "0.0.0.0"},
		{"0x", "0.0.0.0"},
		{"4294967295", "255.255.255.255"},
		{"4294967296", ""},
		{"256.1", ""},
		{"1.16777216", ""},
		{"1.2.3.256", ""},
		{"1.2.3.4.5", ""},
		{"08", ""},
		{"1..2", ""},
	}
	for _, tt := range tests {
		a, ok := parseLegacyIPv4(tt.in)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tt.want {
			t.Errorf("parseLegacyIPv4(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestDialHost(t *testing.T) {
	for in, want := range map[string]string{
		"2130706433":       "127.0.0.1",
		"0x7f000001":       "127.0.0.1",
		"127.1":            "127.0.0.1",
		"127.1.":           "127.0.0.1",
		"::ffff:127.0.0.1": "::ffff:127.0.0.1",
		"images.example":   "images.example",
	} {
		if got := dialHost(in); got != want {
			t.Errorf("dialHost(%q) = %q; want %q", in, got, want)
		}
	}
}

func FuzzHostMatch(f *testing.F) {
	f.Add("*.example.com", "a.example.com")
	f.Add("bücher.example", "xn--bcher-kva.example")
	f.Add("127.0.0.1", "2130706433")
	f.Add("[::1]", "::ffff:127.0.0.1")
	f.Add("0x7f.1", "127.0.0.1.")
	f.Fuzz(func(t *testing.T, pattern, host string) {
		m, err := newMatcher([]string{pattern})
		if err != nil {
			return
		}
		ok, err := m.match(host)
		if err != nil && ok {
			t.Fatalf("match(%q) = true with error %v", host, err)
		}
		// Legacy spellings are always decodable by dialHost once accepted.
		if h, kind, err := normalizeHost(host); err == nil && kind == hostNumeric {
			if _, perr := netip.ParseAddr(dialHost(h)); perr != nil {
				t.Fatalf("numeric host %q dials as %q", h, dialHost(h))
			}
		}
	})
}
