package fetch

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/idna"
)

// idnaProfile maps a host for lookup as UTS #46 says (case folding, width
// mapping, NFC, punycode). STD3 rules are off because they would refuse the
// underscores found in real host names; hostChars checks the result instead.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.StrictDomainName(false),
)

// hostKind tells how a normalised host may be matched.
type hostKind int

const (
	hostName    hostKind = iota // a DNS name: exact and wildcard entries apply
	hostIP                      // a canonical IP literal: exact entries only
	hostNumeric                 // a legacy IPv4 spelling (127.1, 0x7f000001): exact entries only
)

var errHost = errors.New("malformed host")

// normalizeHost returns the form of host in which allow-list entries and URL
// hosts are compared: IP literals in netip's canonical form, names lower-cased,
// IDNA-mapped to ASCII and without the trailing dot. host is what
// url.URL.Hostname returns; IPv6 brackets are tolerated for allow-list entries.
func normalizeHost(host string) (string, hostKind, error) {
	if len(host) > 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return "", 0, errHost
		}
		return a.String(), hostIP, nil
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" || len(host) > 1024 {
		return "", 0, errHost
	}
	ascii, err := idnaProfile.ToASCII(host)
	if err != nil {
		return "", 0, errHost
	}
	ascii = strings.ToLower(ascii)
	if !validName(ascii) {
		return "", 0, errHost
	}
	// As in the WHATWG URL standard (and in browsers and libc resolvers), a
	// host whose last label is a number is an IPv4 address or nothing.
	if endsInNumber(ascii) {
		a, ok := parseLegacyIPv4(ascii)
		if !ok {
			return "", 0, errHost
		}
		if a.String() == ascii {
			return ascii, hostIP, nil
		}
		return ascii, hostNumeric, nil
	}
	return ascii, hostName, nil
}

// validName reports whether s is a DNS name of letters, digits, hyphens and
// underscores with labels of 1 to 63 bytes, at most 253 bytes in all.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// endsInNumber is the WHATWG URL "ends in a number" checker.
func endsInNumber(s string) bool {
	parts := strings.Split(s, ".")
	if parts[len(parts)-1] == "" && len(parts) > 1 {
		parts = parts[:len(parts)-1]
	}
	last := parts[len(parts)-1]
	if last != "" && strings.Trim(last, "0123456789") == "" {
		return true
	}
	if len(last) >= 2 && (last[:2] == "0x" || last[:2] == "0X") {
		return strings.Trim(last[2:], "0123456789abcdefABCDEF") == ""
	}
	return false
}

// parseLegacyIPv4 is the WHATWG URL IPv4 parser: one to four parts, each
// decimal, octal (leading 0) or hex (0x), the last filling the remaining
// bytes. It is what turns 2130706433, 0x7f000001 and 127.1 into 127.0.0.1.
func parseLegacyIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if parts[len(parts)-1] == "" && len(parts) > 1 {
		parts = parts[:len(parts)-1]
	}
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, ok := parseLegacyNumber(p)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 && n > 255 {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false
	}
	v := uint32(last)
	for i, n := range nums[:len(nums)-1] {
		v += uint32(n) << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func parseLegacyNumber(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	base := uint64(10)
	switch {
	case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
	case len(p) >= 2 && p[0] == '0':
		base, p = 8, p[1:]
	}
	var n uint64
	for i := 0; i < len(p); i++ {
		var d uint64
		switch c := p[i]; {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case 'a' <= c && c <= 'f':
			d = uint64(c-'a') + 10
		case 'A' <= c && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		n = n*base + d
		if n > 1<<32 {
			return 0, false
		}
	}
	return n, true
}

// dialHost returns the address to dial for host as the transport passes it:
// legacy IPv4 spellings become the dotted quad they stand for, so they never
// reach a resolver (which might read them differently), and everything else
// is unchanged.
func dialHost(host string) string {
	if _, err := netip.ParseAddr(host); err == nil {
		return host
	}
	if h := strings.TrimSuffix(host, "."); h != "" && endsInNumber(h) {
		if a, ok := parseLegacyIPv4(h); ok {
			return a.String()
		}
	}
	return host
}

// matcher is the allow-list: exact hosts and "*.example.com" suffixes.
type matcher struct {
	exact    map[string]bool
	suffixes []string // ".example.com"
}

func newMatcher(patterns []string) (*matcher, error) {
	m := &matcher{exact: make(map[string]bool)}
	for _, p := range patterns {
		raw := p
		p = strings.TrimSpace(p)
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			h, kind, err := normalizeHost(rest)
			if err != nil || kind != hostName || strings.Contains(rest, "*") {
				return nil, fmt.Errorf("fetch: allowed-domains: invalid pattern %q", raw)
			}
			m.suffixes = append(m.suffixes, "."+h)
			continue
		}
		if strings.Contains(p, "*") {
			return nil, fmt.Errorf("fetch: allowed-domains: invalid pattern %q (a wildcard must be a leading \"*.\")", raw)
		}
		h, _, err := normalizeHost(p)
		if err != nil {
			return nil, fmt.Errorf("fetch: allowed-domains: invalid pattern %q", raw)
		}
		m.exact[h] = true
	}
	return m, nil
}

func (m *matcher) empty() bool { return len(m.exact) == 0 && len(m.suffixes) == 0 }

// match reports whether the URL host (as url.URL.Hostname returns it) is
// allowed; a malformed host is an error. A wildcard matches subdomains at any
// depth but not the apex, and never an IP literal.
func (m *matcher) match(host string) (bool, error) {
	h, kind, err := normalizeHost(host)
	if err != nil {
		return false, err
	}
	if m.exact[h] {
		return true, nil
	}
	if kind != hostName {
		return false, nil
	}
	for _, s := range m.suffixes {
		if strings.HasSuffix(h, s) {
			return true, nil
		}
	}
	return false, nil
}
