// Package fetch downloads URL sources for assetd without letting a URL reach
// what it should not: it implements asset.Fetcher.
//
// Three checks stand between a client-supplied URL and a connection:
//   - the host of the URL, and of every redirect hop, must be in the
//     allow-list (exact hosts and "*.example.com" patterns);
//   - every address that is connected to must be public unicast. The check
//     runs in the dialer's Control hook on the resolved IP, so DNS rebinding
//     and odd spellings of an address (2130706433, 0x7f000001, 127.1,
//     [::ffff:127.0.0.1], NAT64) are judged by what is actually dialled;
//     legacy numeric spellings are also decoded by us, never by a resolver;
//   - no proxy from the environment, http and https only, a total deadline,
//     no transparent decompression, and the body is counted against a limit
//     both from Content-Length and as it streams.
//
// CheckAddr is the address policy as a pure function.
package fetch
