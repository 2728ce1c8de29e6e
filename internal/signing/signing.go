// Package signing signs and verifies assetd URLs with an HMAC, so that only
// URLs the service (or a holder of the secret) produced are served.
//
// # Payload
//
// The HMAC is computed over a byte string, not a URL:
//
//	path                      when the query has no parameter besides s
//	path "?" k1=v1&k2=v2...   otherwise
//
// where:
//
//   - path is the request path exactly as sent, still percent-escaped
//     (r.URL.EscapedPath()), so /assets/a%2Fb and /assets/a/b differ.
//   - The query is decoded with url.ParseQuery: percent-escapes are undone and
//     "+" means a space, so a=b%20c and a=b+c sign alike, while a=b%2Bc is a
//     literal plus.
//   - Every key except s appears once, with its FIRST value; later values of
//     a repeated key are not signed (the service reads only the first).
//   - Keys are sorted bytewise (Go string order), and each pair is written as
//     the decoded key, "=", the decoded value, with no escaping; pairs are
//     joined with "&".
//
// Because keys and values are written unescaped, a decoded "&" anywhere, or
// "=" in a key, would let two different queries share one payload; Verify
// refuses such queries rather than accept that ambiguity.
//
// The signature is the HMAC in base64url without padding, in the s parameter.
// exp, when present, is Unix seconds and signed like any other parameter.
package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"assetd/internal/asset"
)

// Query parameter names this package owns.
const (
	paramSignature = "s"
	paramExpires   = "exp"
)

// Signer signs and verifies URLs with one algorithm and secret. It is safe for
// concurrent use.
type Signer struct {
	newHash func() hash.Hash
	secret  []byte
}

// New returns a Signer for algorithm ("hmac-sha256", "hmac-sha384" or
// "hmac-sha512") keyed with the bytes of secret. It returns an error for any
// other algorithm name or an empty secret.
func New(algorithm, secret string) (*Signer, error) {
	var h func() hash.Hash
	switch algorithm {
	case "hmac-sha256":
		h = sha256.New
	case "hmac-sha384":
		h = sha512.New384
	case "hmac-sha512":
		h = sha512.New
	default:
		return nil, fmt.Errorf("signing: unknown algorithm %q (want hmac-sha256, hmac-sha384 or hmac-sha512)", algorithm)
	}
	if secret == "" {
		return nil, fmt.Errorf("signing: the secret is empty")
	}
	return &Signer{newHash: h, secret: []byte(secret)}, nil
}

// Sign returns the signature (base64url, no padding) of a request path
// (escaped, starting with /assets) and its decoded query values; s is ignored
// and keys without values are treated as absent. Sign cannot fail, but a query
// Verify finds ambiguous (see the package doc) will not verify.
func (s *Signer) Sign(path string, query url.Values) string {
	mac := hmac.New(s.newHash, s.secret)
	mac.Write([]byte(payload(path, query)))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// SignedQuery returns query with s set (replacing any), and exp set to expires (Unix
// seconds) unless expires is zero, encoded and ready to append after "?".
// Without expires, an exp already in query is kept and signed. query is not
// modified.
func (s *Signer) SignedQuery(path string, query url.Values, expires time.Time) string {
	q := make(url.Values, len(query)+2)
	for k, v := range query {
		q[k] = v
	}
	if !expires.IsZero() {
		q.Set(paramExpires, strconv.FormatInt(expires.Unix(), 10))
	}
	q.Set(paramSignature, s.Sign(path, q))
	return q.Encode()
}

// Verify checks a request by its path as sent (escaped) and its raw query as
// sent, using now to judge exp. It returns nil for a valid, unexpired
// signature, and otherwise an *asset.Error:
//   - CodeInvalid when the query cannot be decoded, or a correctly signed exp
//     is not an integer;
//   - CodeForbidden when the signature is missing, does not match, the query
//     is ambiguous, or exp is at or before now.
//
// The signature is checked before exp, so an unsigned client learns nothing
// about exp.
func (s *Signer) Verify(path, rawQuery string, now time.Time) error {
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return asset.Wrap(asset.CodeInvalid, err, "The query string is malformed.")
	}
	got := query.Get(paramSignature)
	if got == "" {
		return asset.Errorf(asset.CodeForbidden, "The URL signature is missing.")
	}
	if ambiguous(query) {
		return asset.Errorf(asset.CodeForbidden, "A signed URL cannot carry a decoded \"&\" in a parameter or \"=\" in a parameter name.")
	}
	if !hmac.Equal([]byte(got), []byte(s.Sign(path, query))) {
		return asset.Errorf(asset.CodeForbidden, "The URL signature does not match.")
	}
	vs, ok := query[paramExpires]
	if !ok || len(vs) == 0 {
		return nil
	}
	exp, err := strconv.ParseInt(vs[0], 10, 64)
	if err != nil {
		return asset.Wrap(asset.CodeInvalid, err, "The exp parameter must be Unix seconds.")
	}
	if at := time.Unix(exp, 0); !at.After(now) {
		return asset.Errorf(asset.CodeForbidden, "The signed URL expired at %s.", at.UTC().Format(time.RFC3339))
	}
	return nil
}

// payload builds the byte string that is signed; see the package doc.
func payload(path string, query url.Values) string {
	keys := make([]string, 0, len(query))
	for k, v := range query {
		if k != paramSignature && len(v) > 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return path
	}
	slices.Sort(keys) // bytewise
	var b strings.Builder
	b.WriteString(path)
	for i, k := range keys {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(query[k][0])
	}
	return b.String()
}

// ambiguous reports whether the payload of query could also be the payload of
// a different query: only the signed pairs (first values, s excluded) matter.
func ambiguous(query url.Values) bool {
	for k, v := range query {
		if k == paramSignature || len(v) == 0 {
			continue
		}
		if strings.ContainsAny(k, "&=") || strings.Contains(v[0], "&") {
			return true
		}
	}
	return false
}
