package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"hash"
	"net/url"
	"strings"
	"testing"
	"time"

	"assetd/internal/asset"
)

const secret = "s3cr3t"

// now is a fixed clock for every test: exp is judged against it.
var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// mac computes a signature independently of the code under test.
func mac(h func() hash.Hash, payload string) string {
	m := hmac.New(h, []byte(secret))
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func newSigner(t *testing.T, algorithm string) *Signer {
	t.Helper()
	s, err := New(algorithm, secret)
	if err != nil {
		t.Fatalf("New(%q): %v", algorithm, err)
	}
	return s
}

// wantCode fails unless err is an *asset.Error with code and a detail
// containing detail.
func wantCode(t *testing.T, err error, code asset.Code, detail string) {
	t.Helper()
	var e *asset.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want *asset.Error %s", err, code)
	}
	if e.Code != code || !strings.Contains(e.Detail, detail) {
		t.Fatalf("error = %s %q, want %s containing %q", e.Code, e.Detail, code, detail)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct{ algorithm, secret string }{
		{"hmac-md5", secret},
		{"HMAC-SHA256", secret},
		{"", secret},
		{"hmac-sha256", ""},
	} {
		if _, err := New(tc.algorithm, tc.secret); err == nil {
			t.Errorf("New(%q, %q) = nil error, want an error", tc.algorithm, tc.secret)
		}
	}
}

func TestKnownAnswer(t *testing.T) {
	const (
		path = "/assets/photos/cat%20one.jpg"
		raw  = "w=200&format=webp&h=100&pad-c=%23fff&exp=1893456000"
		// Sorted bytewise, decoded, first values, path kept escaped.
		payload = "/assets/photos/cat%20one.jpg?exp=1893456000&format=webp&h=100&pad-c=#fff&w=200"
	)
	for _, tc := range []struct {
		algorithm string
		hash      func() hash.Hash
	}{
		{"hmac-sha256", sha256.New},
		{"hmac-sha384", sha512.New384},
		{"hmac-sha512", sha512.New},
	} {
		t.Run(tc.algorithm, func(t *testing.T) {
			s := newSigner(t, tc.algorithm)
			query, _ := url.ParseQuery(raw)
			want := mac(tc.hash, payload)
			if got := s.Sign(path, query); got != want {
				t.Fatalf("Sign = %s, want %s", got, want)
			}
			if err := s.Verify(path, raw+"&s="+want, now); err != nil {
				t.Fatalf("Verify of a correct signature: %v", err)
			}
			// Without parameters besides s the payload is the bare path.
			bare := mac(tc.hash, path)
			if got := s.Sign(path, url.Values{"s": {"ignored"}}); got != bare {
				t.Fatalf("Sign without parameters = %s, want %s", got, bare)
			}
			if err := s.Verify(path, "s="+bare, now); err != nil {
				t.Fatalf("Verify without parameters: %v", err)
			}
		})
	}
}

func TestVerifyAccepts(t *testing.T) {
	s := newSigner(t, "hmac-sha256")
	const path = "/assets/a.jpg"
	sig := mac(sha256.New, path+"?a=b c&h=100&w=200")
	for name, raw := range map[string]string{
		"signed order":          "a=b%20c&h=100&w=200&s=" + sig,
		"any parameter order":   "w=200&s=" + sig + "&h=100&a=b%20c",
		"plus means space":      "a=b+c&h=100&w=200&s=" + sig,
		"repeated key is first": "a=b+c&h=100&h=999&w=200&s=" + sig,
	} {
		if err := s.Verify(path, raw, now); err != nil {
			t.Errorf("%s: Verify(%q) = %v, want nil", name, raw, err)
		}
	}
}

func TestVerifyRefusesTampering(t *testing.T) {
	s := newSigner(t, "hmac-sha256")
	const path = "/assets/a.jpg"
	sig := mac(sha256.New, path+"?h=100&w=200")
	sig512 := mac(sha512.New, path+"?h=100&w=200")
	for _, tc := range []struct {
		name, path, raw, detail string
	}{
		{"missing s", path, "h=100&w=200", "missing"},
		{"empty s", path, "h=100&w=200&s=", "missing"},
		{"tampered path", "/assets/b.jpg", "h=100&w=200&s=" + sig, "does not match"},
		{"path escaped differently", "/assets/%61.jpg", "h=100&w=200&s=" + sig, "does not match"},
		{"tampered value", path, "h=101&w=200&s=" + sig, "does not match"},
		{"added parameter", path, "h=100&w=200&blur=5&s=" + sig, "does not match"},
		{"removed parameter", path, "w=200&s=" + sig, "does not match"},
		{"repeated key, other value first", path, "h=999&h=100&w=200&s=" + sig, "does not match"},
		{"padded signature", path, "h=100&w=200&s=" + sig + "%3D", "does not match"},
		{"other algorithm's signature", path, "h=100&w=200&s=" + sig512, "does not match"},
		// The payload of w="100&h=100" would be that of w=100&h=100.
		{"ambiguous value", path, "w=100%26h%3D100&s=" + mac(sha256.New, path+"?w=100&h=100"), "cannot carry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, s.Verify(tc.path, tc.raw, now), asset.CodeForbidden, tc.detail)
		})
	}
}

func TestVerifyDecodesBeforeSigning(t *testing.T) {
	s := newSigner(t, "hmac-sha256")
	const path = "/assets/a.jpg"
	space := s.Sign(path, url.Values{"a": {"b c"}})
	for _, raw := range []string{"a=b%20c", "a=b+c"} {
		if err := s.Verify(path, raw+"&s="+space, now); err != nil {
			t.Errorf("Verify(%q) with the signature of %q: %v", raw, "b c", err)
		}
	}
	// %2B is a literal plus, a different value from a space.
	wantCode(t, s.Verify(path, "a=b%2Bc&s="+space, now), asset.CodeForbidden, "does not match")
}

func TestVerifyExpiry(t *testing.T) {
	s := newSigner(t, "hmac-sha256")
	const path = "/assets/a.jpg"
	signed := func(exp string) string {
		return "exp=" + exp + "&s=" + mac(sha256.New, path+"?exp="+exp)
	}
	future := "1748779201" // now + 1s
	if err := s.Verify(path, signed(future), now); err != nil {
		t.Fatalf("exp in the future: %v", err)
	}
	wantCode(t, s.Verify(path, signed("1748779200"), now), asset.CodeForbidden, "expired at 2025-06-01T12:00:00Z")
	wantCode(t, s.Verify(path, signed("1748779199"), now), asset.CodeForbidden, "expired at 2025-06-01T11:59:59Z")
	wantCode(t, s.Verify(path, signed("soon"), now), asset.CodeInvalid, "exp")

	// Extending a URL's life breaks its signature.
	tampered := strings.Replace(signed("1748779199"), "exp=1748779199", "exp=1999999999", 1)
	wantCode(t, s.Verify(path, tampered, now), asset.CodeForbidden, "does not match")
}

func TestVerifyMalformedQuery(t *testing.T) {
	s := newSigner(t, "hmac-sha256")
	wantCode(t, s.Verify("/assets/a.jpg", "w=%zz&s=x", now), asset.CodeInvalid, "malformed")
}

func TestSignedQueryRoundTrip(t *testing.T) {
	for _, algorithm := range []string{"hmac-sha256", "hmac-sha384", "hmac-sha512"} {
		s := newSigner(t, algorithm)
		const path = "/assets/users/%C3%A9/avatar"
		query := url.Values{"w": {"200"}, "pad-c": {"#fff"}, "s": {"stale"}}
		raw := s.SignedQuery(path, query, now.Add(time.Hour))

		if err := s.Verify(path, raw, now); err != nil {
			t.Fatalf("%s: Verify(SignedQuery = %q): %v", algorithm, raw, err)
		}
		got, _ := url.ParseQuery(raw)
		if exp := got.Get("exp"); exp != "1748782800" {
			t.Errorf("%s: exp = %q, want 1748782800", algorithm, exp)
		}
		if n := len(got["s"]); n != 1 {
			t.Errorf("%s: %d s values, want 1 (the stale one replaced)", algorithm, n)
		}
		if query.Get("s") != "stale" || query.Has("exp") {
			t.Errorf("%s: SignedQuery modified its argument: %v", algorithm, query)
		}
		wantCode(t, s.Verify(path, raw, now.Add(time.Hour)), asset.CodeForbidden, "expired")
	}
}

func TestSignedQueryWithoutExpiry(t *testing.T) {
	s := newSigner(t, "hmac-sha256")
	raw := s.SignedQuery("/assets/a.jpg", nil, time.Time{})
	if strings.Contains(raw, "exp=") {
		t.Errorf("SignedQuery without expires = %q, want no exp", raw)
	}
	// A URL without exp never expires.
	if err := s.Verify("/assets/a.jpg", raw, now.AddDate(100, 0, 0)); err != nil {
		t.Errorf("Verify(%q): %v", raw, err)
	}
}

// FuzzVerify checks that Verify never panics on hostile input and only ever
// fails with the documented codes.
func FuzzVerify(f *testing.F) {
	s, err := New("hmac-sha256", secret)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("/assets/a.jpg", "w=200&s=abc")
	f.Add("/assets/a.jpg", "exp=-9223372036854775808&s=x")
	f.Add("/assets/%zz", "a=%zz;b&&=&s=%3D%3D")
	f.Add("", "")
	f.Add("/assets/a.jpg", s.SignedQuery("/assets/a.jpg", url.Values{"exp": {"99999999999999999999"}}, time.Time{}))
	f.Fuzz(func(t *testing.T, path, rawQuery string) {
		err := s.Verify(path, rawQuery, now)
		if err == nil {
			return
		}
		if c := asset.CodeOf(err); c != asset.CodeForbidden && c != asset.CodeInvalid {
			t.Fatalf("Verify(%q, %q) = %v, want forbidden or invalid", path, rawQuery, err)
		}
	})
}
