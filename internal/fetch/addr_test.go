package fetch

import (
	"errors"
	"net/netip"
	"testing"
)

// Pure-function tests: nothing here is resolved or dialled.
func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr string
		kind string // "" means allowed
	}{
		// Public addresses.
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"2606:4700::1", ""},
		{"2a00:1450:4001:80b::200e", ""},
		{"::ffff:8.8.8.8", ""},

		// 0.0.0.0/8 and unspecified.
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "this-network"},
		{"0.255.255.255", "this-network"},
		{"1.0.0.0", ""},
		{"::", "unspecified"},

		// Loopback.
		{"127.0.0.1", "loopback"},
		{"127.0.0.0", "loopback"},
		{"127.255.255.255", "loopback"},
		{"126.255.255.255", ""},
		{"128.0.0.0", ""},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::2", "this-network"}, // v4-compatible 0.0.0.2

		// RFC 1918.
		{"10.0.0.0", "private"},
		{"10.255.255.255", "private"},
		{"9.255.255.255", ""},
		{"11.0.0.0", ""},
		{"172.16.0.0", "private"},
		{"172.31.255.255", "private"},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"192.168.0.0", "private"},
		{"192.168.255.255", "private"},
		{"192.167.255.255", ""},
		{"192.169.0.0", ""},
		{"::ffff:10.1.2.3", "private"},

		// CGNAT 100.64.0.0/10.
		{"100.64.0.0", "cgnat"},
		{"100.127.255.255", "cgnat"},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},

		// Link-local, including the cloud metadata address.
		{"169.254.169.254", "link-local"},
		{"169.254.0.0", "link-local"},
		{"169.254.255.255", "link-local"},
		{"169.253.255.255", ""},
		{"169.255.0.0", ""},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"febf:ffff::1", "link-local"},
		{"fec0::1", "site-local"},
		{"::ffff:169.254.169.254", "link-local"},

		// 192.0.0.0/24 and the documentation ranges.
		{"192.0.0.0", "special-purpose"},
		{"192.0.0.255", "special-purpose"},
		{"191.255.255.255", ""},
		{"192.0.1.0", ""},
		{"192.0.2.0", "documentation"},
		{"192.0.2.255", "documentation"},
		{"192.0.3.0", ""},
		{"198.51.100.0", "documentation"},
		{"198.51.100.255", "documentation"},
		{"198.51.99.255", ""},
		{"198.51.101.0", ""},
		{"203.0.113.0", "documentation"},
		{"203.0.113.255", "documentation"},
		{"203.0.112.255", ""},
		{"203.0.114.0", ""},
		{"2001:db8::", "documentation"},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation"},
		{"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", ""},
		{"2001:db9::", ""},
		{"3fff::1", "documentation"},
		{"3fff:fff:ffff::1", "documentation"},
		{"3fff:1000::", ""},

		// Other IANA special-purpose IPv4 ranges.
		{"192.31.196.1", "special-purpose"},
		{"192.52.193.1", "special-purpose"},
		{"192.88.99.1", "special-purpose"},
		{"192.175.48.1", "special-purpose"},

		// Benchmarking.
		{"198.18.0.0", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"198.17.255.255", ""},
		{"198.20.0.0", ""},
		{"2001:2::", "benchmarking"},
		{"2001:2:0:ffff:ffff:ffff:ffff:ffff", "benchmarking"},

		// Multicast, reserved, broadcast.
		{"224.0.0.0", "multicast"},
		{"239.255.255.255", "multicast"},
		{"223.255.255.255", ""},
		{"240.0.0.0", "reserved"},
		{"255.255.255.254", "reserved"},
		{"255.255.255.255", "broadcast"},
		{"ff02::1", "multicast"},
		{"ff00::", "multicast"},

		// IPv6 unique local.
		{"fc00::", "private"},
		{"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private"},
		{"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"},
		{"fe00::", "reserved"},

		// NAT64: refused whatever the embedded IPv4 address.
		{"64:ff9b::7f00:1", "nat64"},
		{"64:ff9b::808:808", "nat64"},
		{"64:ff9b::ffff:ffff", "nat64"},
		{"64:ff9b:1::1", "nat64"},
		{"64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "nat64"},
		{"64:ff9b:2::", "reserved"},

		// Discard-only.
		{"100::", "discard"},
		{"100::ffff:ffff:ffff:ffff", "discard"},
		{"100:0:0:1::", "reserved"},

		// Tunnels: Teredo 2001::/32, 6to4 2002::/16, refused whatever they embed.
		{"2001::1", "teredo"},
		{"2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "teredo"},
		{"2001:1::1", "special-purpose"},
		{"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "special-purpose"},
		{"2001:200::1", ""},
		{"2002::", "6to4"},
		{"2002:808:808::1", "6to4"},
		{"2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "6to4"},
		{"2003::1", ""},
		{"2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},

		// IPv4-compatible (deprecated): always refused.
		{"::127.0.0.1", "loopback"},
		{"::10.0.0.1", "private"},
		{"::8.8.8.8", "reserved"},

		// Outside 2000::/3.
		{"1000::1", "reserved"},
		{"4000::1", "reserved"},
		{"5f00::1", "special-purpose"},
		{"::ffff:0:0", "unspecified"},
		{"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"},
		{"2000::", ""},
		{"3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
		{"3ffe:ffff::1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			assertVerdict(t, CheckAddr(a, false), tt.kind)
			// allowLoopback opens loopback and nothing else.
			want := tt.kind
			if want == "loopback" && tt.addr != "::127.0.0.1" {
				want = ""
			}
			assertVerdict(t, CheckAddr(a, true), want)
		})
	}
}

func assertVerdict(t *testing.T, err error, kind string) {
	t.Helper()
	if kind == "" {
		if err != nil {
			t.Fatalf("refused: %v; want allowed", err)
		}
		return
	}
	var ae *AddrError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v; want an *AddrError of kind %q", err, kind)
	}
	if ae.Kind != kind {
		t.Fatalf("kind %q; want %q", ae.Kind, kind)
	}
}

func TestCheckAddrInvalid(t *testing.T) {
	assertVerdict(t, CheckAddr(netip.Addr{}, true), "invalid")
}

// Every reported kind must have a Blocked counter, or it would be dropped.
func TestAddrKindsCoverRules(t *testing.T) {
	known := map[string]bool{}
	for _, k := range addrKinds {
		known[k] = true
	}
	for _, r := range append(append([]rangeRule{}, v4Rules...), v6Rules...) {
		if !known[r.kind] {
			t.Errorf("rule %s has kind %q, missing from addrKinds", r.prefix, r.kind)
		}
	}
}

func FuzzCheckAddr(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "8.8.8.8", "10.0.0.1", "100.64.0.1", "169.254.169.254", "255.255.255.255", "0.0.0.0", "192.0.2.1"} {
		b := netip.MustParseAddr(s).As4()
		f.Add(b[:], false)
		f.Add(b[:], true)
	}
	for _, s := range []string{"::1", "64:ff9b::7f00:1", "2606:4700::1", "fe80::1", "2002::1"} {
		b := netip.MustParseAddr(s).As16()
		f.Add(b[:], false)
	}
	f.Fuzz(func(t *testing.T, raw []byte, allowLoopback bool) {
		a, ok := netip.AddrFromSlice(raw)
		if !ok {
			return
		}
		err := CheckAddr(a, allowLoopback)
		if !a.Is4() {
			return
		}
		mapped := netip.AddrFrom16(a.As16())
		merr := CheckAddr(mapped, allowLoopback)
		if (err == nil) != (merr == nil) {
			t.Fatalf("%s: %v, but %s: %v", a, err, mapped, merr)
		}
		if err != nil && err.(*AddrError).Kind != merr.(*AddrError).Kind {
			t.Fatalf("%s: %v, but %s: %v", a, err, mapped, merr)
		}
	})
}
