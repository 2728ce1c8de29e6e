package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"assetd/internal/asset"
)

var _ asset.Fetcher = (*Client)(nil)

// Defaults for the zero values of Config.
const (
	DefaultTimeout      = 15 * time.Second
	DefaultMaxRedirects = 5
)

// maxURLLength bounds the URL a client may hand us; longer is CodeInvalid.
const maxURLLength = 8 << 10

// Config configures a Client.
type Config struct {
	// AllowedDomains lists the hosts that may be fetched: exact hosts (names
	// or IP literals, matched literally) and "*.example.com" patterns, which
	// match subdomains at any depth but not example.com itself. Matching is
	// case-insensitive, IDNA-normalised and ignores a trailing dot. Empty
	// means URL ingestion is off.
	AllowedDomains []string
	// Timeout bounds a whole fetch: connect, headers, redirects and body.
	// Zero or negative means DefaultTimeout.
	Timeout time.Duration
	// MaxRedirects is how many redirect hops are followed. Zero means
	// DefaultMaxRedirects; negative means none.
	MaxRedirects int
	// AllowLoopback lets 127.0.0.0/8 and ::1 be dialled. For tests only.
	AllowLoopback bool
	// Logger receives one line per fetch; nil discards.
	Logger *slog.Logger
}

// Client downloads URL sources under the allow-list and the address policy
// (see CheckAddr). It is safe for concurrent use.
type Client struct {
	hosts         *matcher
	timeout       time.Duration
	maxRedirects  int
	allowLoopback bool
	log           *slog.Logger
	http          *http.Client
	blocked       map[string]*atomic.Int64 // fixed keys, made in New: read-only after

	// vet, when set, sees every address the policy let through, just before
	// it is dialled. Only tests set it, as a safety net that keeps a broken
	// policy from reaching anything but 127.0.0.1.
	vet func(netip.AddrPort) error
}

// New returns a Client for cfg. It fails when an AllowedDomains entry is not
// a host name, an IP literal or a leading-"*." pattern.
func New(cfg Config) (*Client, error) {
	hosts, err := newMatcher(cfg.AllowedDomains)
	if err != nil {
		return nil, err
	}
	c := &Client{
		hosts:         hosts,
		timeout:       cfg.Timeout,
		maxRedirects:  cfg.MaxRedirects,
		allowLoopback: cfg.AllowLoopback,
		log:           cfg.Logger,
		blocked:       make(map[string]*atomic.Int64),
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	switch {
	case c.maxRedirects == 0:
		c.maxRedirects = DefaultMaxRedirects
	case c.maxRedirects < 0:
		c.maxRedirects = 0
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	for _, k := range append([]string{"disabled", "host"}, addrKinds...) {
		c.blocked[k] = new(atomic.Int64)
	}

	// The policy is enforced in Control, on the address actually being
	// connected to, after resolution: DNS rebinding and odd spellings of an
	// address cannot get around it.
	dialer := &net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second, Control: c.control}
	transport := &http.Transport{
		Proxy: nil, // an environment proxy would dial on our behalf, past the policy
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort(dialHost(host), port))
		},
		ForceAttemptHTTP2: true,
		// Each phase gets the whole budget; the context deadline in Fetch is
		// what bounds their sum.
		TLSHandshakeTimeout:    c.timeout,
		ResponseHeaderTimeout:  c.timeout,
		MaxResponseHeaderBytes: 64 << 10,
		// The body is counted as it arrives on the wire: no transparent
		// decompression, so no decompression bomb.
		DisableCompression:  true,
		MaxIdleConns:        32,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	c.http = &http.Client{Transport: transport, CheckRedirect: c.checkRedirect}
	return c, nil
}

// Blocked returns how many fetches were refused with CodeForbidden, by
// reason: "disabled" (no allowed-domains), "host" (a host, first or after a
// redirect, not in allowed-domains), and each AddrError.Kind for addresses
// refused at connect time. Every reason is present, zero or not.
func (c *Client) Blocked() map[string]int64 {
	out := make(map[string]int64, len(c.blocked))
	for k, v := range c.blocked {
		out[k] = v.Load()
	}
	return out
}

func (c *Client) block(reason string) {
	if n, ok := c.blocked[reason]; ok {
		n.Add(1)
	}
}

// Fetch implements asset.Fetcher: it GETs rawURL, following at most
// MaxRedirects redirects, and copies the body to dst. dst receives at most
// maxBytes bytes (a negative maxBytes counts as 0). The response's
// Content-Type is ignored: the caller sniffs the bytes. Fetch stops when ctx
// is done or Timeout has passed. Errors are *asset.Error:
//   - CodeInvalid: rawURL is missing, malformed, too long, carries
//     credentials, or its scheme is not http or https;
//   - CodeForbidden: URL ingestion is off, a host (first or after a redirect)
//     is not in AllowedDomains, or an address is forbidden by CheckAddr;
//   - CodeUnprocessable: the upstream failed, answered non-2xx, timed out,
//     redirected too often or elsewhere than http(s), or its body is longer
//     than maxBytes; also when ctx was cancelled (the error then matches
//     ctx's error with errors.Is).
//
// An error writing to dst is returned as is, wrapped.
func (c *Client) Fetch(ctx context.Context, rawURL string, dst io.Writer, maxBytes int64) (int64, error) {
	start := time.Now()
	f := fetchLog{}
	n, err := c.fetch(ctx, rawURL, dst, max(maxBytes, 0), &f)
	attrs := []slog.Attr{
		slog.String("host", f.host),
		slog.Int("status", f.status),
		slog.Int64("bytes", n),
		slog.Duration("duration", time.Since(start)),
	}
	if err == nil {
		attrs = append(attrs, slog.String("outcome", "ok"))
	} else {
		attrs = append(attrs, slog.String("outcome", string(asset.CodeOf(err))), slog.String("error", err.Error()))
		if f.reason != "" {
			// The running count makes the blocked-fetch counters visible in
			// the logs, one series per reason.
			attrs = append(attrs, slog.String("reason", f.reason), slog.Int64("blocked_total", c.Blocked()[f.reason]))
		}
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "url fetch", attrs...)
	return n, err
}

// fetchLog collects what the log line reports.
type fetchLog struct {
	host   string
	status int
	reason string // why a fetch was blocked
}

func (c *Client) fetch(ctx context.Context, rawURL string, dst io.Writer, maxBytes int64, f *fetchLog) (int64, error) {
	if c.hosts.empty() {
		f.reason = "disabled"
		c.block(f.reason)
		return 0, asset.Errorf(asset.CodeForbidden, "URL ingestion is not enabled.")
	}
	u, err := parseURL(rawURL)
	if err != nil {
		return 0, err
	}
	f.host = u.Hostname()
	ok, err := c.hosts.match(u.Hostname())
	if err != nil {
		return 0, asset.Wrap(asset.CodeInvalid, err, "The URL's host is malformed.")
	}
	if !ok {
		f.reason = "host"
		c.block(f.reason)
		return 0, asset.Errorf(asset.CodeForbidden, "The host %q is not in allowed-domains.", u.Hostname())
	}

	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, asset.Wrap(asset.CodeInvalid, err, "The URL is malformed.")
	}
	req.Header.Set("User-Agent", "assetd")
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, c.requestError(parent, ctx, err, f)
	}
	defer resp.Body.Close()
	f.status = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// http.StatusText, not resp.Status: the reason phrase is upstream
		// text and does not belong in our answer.
		return 0, asset.Errorf(asset.CodeUnprocessable, "The URL answered %d %s.", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if resp.ContentLength > maxBytes {
		return 0, tooLarge(maxBytes)
	}

	body := &trackingReader{r: resp.Body}
	n, err := io.Copy(dst, io.LimitReader(body, maxBytes))
	if err == nil {
		// The limit is reached or the body ended: one more byte tells which.
		var one [1]byte
		var k int
		k, err = io.ReadFull(body, one[:])
		if k > 0 {
			return n, tooLarge(maxBytes)
		}
		if body.err == nil {
			err = nil
		}
	}
	if err != nil {
		if body.err == nil {
			return n, fmt.Errorf("fetch: writing body: %w", err)
		}
		return n, c.bodyError(parent, ctx, body.err)
	}
	return n, nil
}

func tooLarge(maxBytes int64) error {
	return asset.Errorf(asset.CodeUnprocessable, "The URL's body is larger than the limit of %d bytes.", maxBytes)
}

// parseURL checks a client-supplied URL; every refusal is CodeInvalid.
func parseURL(rawURL string) (*url.URL, error) {
	if strings.TrimSpace(rawURL) == "" {
		return nil, asset.Errorf(asset.CodeInvalid, "The URL is missing.")
	}
	if len(rawURL) > maxURLLength {
		return nil, asset.Errorf(asset.CodeInvalid, "The URL is longer than %d bytes.", maxURLLength)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, asset.Wrap(asset.CodeInvalid, err, "The URL is malformed.")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, asset.Errorf(asset.CodeInvalid, "Only http and https URLs can be fetched.")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, asset.Errorf(asset.CodeInvalid, "The URL has no host.")
	}
	if u.User != nil {
		// Credentials would be sent upstream and end up in our records.
		return nil, asset.Errorf(asset.CodeInvalid, "URLs with credentials are not accepted.")
	}
	return u, nil
}

// checkRedirect vets every hop before it is requested.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > c.maxRedirects {
		return asset.Errorf(asset.CodeUnprocessable, "The URL redirected more than %d times.", c.maxRedirects)
	}
	u := req.URL
	if u.Scheme != "http" && u.Scheme != "https" {
		return asset.Errorf(asset.CodeUnprocessable, "The URL redirected to a scheme other than http or https.")
	}
	if u.User != nil || u.Hostname() == "" {
		return asset.Errorf(asset.CodeUnprocessable, "The URL redirected to an unusable URL.")
	}
	ok, err := c.hosts.match(u.Hostname())
	if err != nil {
		return asset.Wrap(asset.CodeUnprocessable, err, "The URL redirected to a malformed host.")
	}
	if !ok {
		return &blockedError{reason: "host", err: asset.Errorf(asset.CodeForbidden,
			"The URL redirected to host %q, which is not in allowed-domains.", u.Hostname())}
	}
	// The next host need not learn where we came from.
	req.Header.Del("Referer")
	return nil
}

// blockedError carries the reason of a refusal out of the http.Client.
type blockedError struct {
	reason string
	err    *asset.Error
}

func (e *blockedError) Error() string { return e.err.Error() }
func (e *blockedError) Unwrap() error { return e.err }

// control is the dial-time address policy: address is the IP being connected
// to, whatever the URL said.
func (c *Client) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &AddrError{Kind: "invalid"}
	}
	if err := CheckAddr(ap.Addr(), c.allowLoopback); err != nil {
		return err
	}
	if c.vet != nil {
		return c.vet(ap)
	}
	return nil
}

// requestError translates an error from http.Client.Do.
func (c *Client) requestError(parent, ctx context.Context, err error, f *fetchLog) error {
	host := f.host
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
	}
	var be *blockedError
	if errors.As(err, &be) {
		f.reason = be.reason
		c.block(be.reason)
		return be.err
	}
	var ae *AddrError
	if errors.As(err, &ae) {
		f.reason = ae.Kind
		c.block(ae.Kind)
		return asset.Wrap(asset.CodeForbidden, err, fmt.Sprintf("The address of host %q is forbidden (%s).", host, ae.Kind))
	}
	var de *asset.Error
	if errors.As(err, &de) {
		return de
	}
	return c.upstreamError(parent, ctx, err, fmt.Sprintf("The URL could not be fetched from host %q.", host))
}

func (c *Client) bodyError(parent, ctx context.Context, err error) error {
	return c.upstreamError(parent, ctx, err, "The URL's body could not be read.")
}

// upstreamError makes a CodeUnprocessable error, telling a timeout and a
// cancellation by the caller from other failures.
func (c *Client) upstreamError(parent, ctx context.Context, err error, detail string) error {
	if perr := parent.Err(); perr != nil {
		return asset.Wrap(asset.CodeUnprocessable, errors.Join(perr, err), "The URL fetch was cancelled.")
	}
	var ne net.Error
	if ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
		return asset.Wrap(asset.CodeUnprocessable, err, fmt.Sprintf("The URL did not answer within %s.", c.timeout))
	}
	return asset.Wrap(asset.CodeUnprocessable, err, detail)
}

// trackingReader remembers a read error, to tell it from a write error when
// io.Copy fails.
type trackingReader struct {
	r   io.Reader
	err error
}

func (t *trackingReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}
