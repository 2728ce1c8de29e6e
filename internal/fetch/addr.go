package fetch

import (
	"fmt"
	"net/netip"
)

// AddrError reports that an address may not be dialled. Kind names the range
// it falls in; it is one of: "invalid", "unspecified", "this-network",
// "loopback", "private", "site-local", "link-local", "cgnat", "nat64", "6to4",
// "teredo", "discard", "multicast", "broadcast", "documentation",
// "benchmarking", "special-purpose", "reserved".
type AddrError struct {
	Addr netip.Addr
	Kind string
}

func (e *AddrError) Error() string {
	return fmt.Sprintf("address %s is forbidden (%s)", e.Addr, e.Kind)
}

// addrKinds lists every AddrError.Kind, so counters can be made up front.
var addrKinds = []string{
	"invalid", "unspecified", "this-network", "loopback", "private", "site-local",
	"link-local", "cgnat", "nat64", "6to4", "teredo", "discard", "multicast",
	"broadcast", "documentation", "benchmarking", "special-purpose", "reserved",
}

type rangeRule struct {
	prefix netip.Prefix
	kind   string
}

// The tables are ordered: the first prefix that contains an address decides,
// so narrower ranges come before the wider ones that hold them. They follow
// the IANA IPv4 and IPv6 Special-Purpose Address Registries; ranges that IANA
// marks globally reachable (AS112, AMT, anycast relays) are refused too, as no
// image origin lives there.
var v4Rules = []rangeRule{
	{netip.MustParsePrefix("0.0.0.0/32"), "unspecified"},
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "cgnat"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "special-purpose"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.31.196.0/24"), "special-purpose"},
	{netip.MustParsePrefix("192.52.193.0/24"), "special-purpose"},
	{netip.MustParsePrefix("192.88.99.0/24"), "special-purpose"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("192.175.48.0/24"), "special-purpose"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
}

var v6Rules = []rangeRule{
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	// NAT64 and the 6to4 and Teredo tunnels are refused outright rather than
	// decoded: the embedded IPv4 address is only a hint of where the packets
	// end up, and a gateway may well translate into our own network.
	{netip.MustParsePrefix("64:ff9b::/96"), "nat64"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "nat64"},
	{netip.MustParsePrefix("100::/64"), "discard"},
	{netip.MustParsePrefix("2001::/32"), "teredo"},
	{netip.MustParsePrefix("2001:2::/48"), "benchmarking"},
	{netip.MustParsePrefix("2001::/23"), "special-purpose"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("2002::/16"), "6to4"},
	{netip.MustParsePrefix("2620:4f:8000::/48"), "special-purpose"},
	{netip.MustParsePrefix("3fff::/20"), "documentation"},
	{netip.MustParsePrefix("5f00::/16"), "special-purpose"},
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

var (
	v4Mapped     = netip.MustParsePrefix("::ffff:0:0/96")
	v4Compatible = netip.MustParsePrefix("::/96")
	// Only 2000::/3 is allocated as global unicast; everything outside it
	// that no rule names is refused as reserved.
	v6Global = netip.MustParsePrefix("2000::/3")
)

// CheckAddr reports whether addr may be dialled for a URL source: it returns
// nil for a public unicast address and an *AddrError naming the range
// otherwise. allowLoopback opens 127.0.0.0/8 and ::1 (and the IPv4-mapped
// spelling of 127.0.0.0/8, which is the same address), nothing else.
// IPv4-mapped IPv6 addresses get the verdict of their IPv4 address.
// IPv4-compatible ones (::a.b.c.d, deprecated and never routed) are always
// refused, named by the range of their IPv4 address. A zone is ignored. It is
// a pure function: nothing is resolved or dialled.
func CheckAddr(addr netip.Addr, allowLoopback bool) error {
	if !addr.IsValid() {
		return &AddrError{Addr: addr, Kind: "invalid"}
	}
	// Prefix.Contains never matches an address with a zone.
	a := addr.WithZone("")
	kind := ""
	switch {
	case a.Is4():
		kind = v4Kind(a)
	case v4Mapped.Contains(a):
		kind = v4Kind(a.Unmap())
	case v4Compatible.Contains(a) && a != netip.IPv6Unspecified() && a != netip.IPv6Loopback():
		// A v4-compatible address is not the IPv4 host on the wire, so the
		// loopback exemption does not extend to it.
		b := a.As16()
		kind = v4Kind(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		if kind == "" {
			// Deprecated (RFC 4291) and never routed: refuse the rest too.
			kind = "reserved"
		}
		return &AddrError{Addr: addr, Kind: kind}
	default:
		kind = v6Kind(a)
	}
	if kind == "" || (kind == "loopback" && allowLoopback) {
		return nil
	}
	return &AddrError{Addr: addr, Kind: kind}
}

func v4Kind(a netip.Addr) string {
	for _, r := range v4Rules {
		if r.prefix.Contains(a) {
			return r.kind
		}
	}
	return ""
}

func v6Kind(a netip.Addr) string {
	for _, r := range v6Rules {
		if r.prefix.Contains(a) {
			return r.kind
		}
	}
	if !v6Global.Contains(a) {
		return "reserved"
	}
	return ""
}
