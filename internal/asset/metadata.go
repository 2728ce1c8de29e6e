package asset

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Metadata limits, as in API.md.
const (
	MaxAltChars      = 1000
	MaxLabels        = 50
	MaxLabelKeyBytes = 128
	MaxLabelValBytes = 1024
	MaxTags          = 50
	MaxTagBytes      = 256
)

// Metadata is the client-supplied description of an entry.
type Metadata struct {
	Alt    string
	Labels map[string]string
	Tags   []string
	// Expires is the raw "expires" value: an ISO-8601 duration from now
	// ("P30D"), an RFC 3339 time, "never", or "" when absent.
	Expires string
}

// Validate checks m against the limits of API.md and returns a CodeInvalid
// *Error naming the first offending field. A nil Labels or Tags is valid.
func (m Metadata) Validate() error {
	if n := utf8.RuneCountInString(m.Alt); n > MaxAltChars {
		return Errorf(CodeInvalid, "The alt text has %d characters; at most %d are allowed.", n, MaxAltChars)
	}
	if err := checkText("alt", m.Alt); err != nil {
		return err
	}
	if len(m.Labels) > MaxLabels {
		return Errorf(CodeInvalid, "There are %d labels; at most %d are allowed.", len(m.Labels), MaxLabels)
	}
	for k, v := range m.Labels {
		switch {
		case k == "":
			return Errorf(CodeInvalid, "A label name is empty.")
		case len(k) > MaxLabelKeyBytes:
			return Errorf(CodeInvalid, "A label name is longer than %d bytes.", MaxLabelKeyBytes)
		case len(v) > MaxLabelValBytes:
			return Errorf(CodeInvalid, "The value of label %q is longer than %d bytes.", k, MaxLabelValBytes)
		}
		if err := checkText("label name", k); err != nil {
			return err
		}
		if err := checkText("label value", v); err != nil {
			return err
		}
	}
	if len(m.Tags) > MaxTags {
		return Errorf(CodeInvalid, "There are %d tags; at most %d are allowed.", len(m.Tags), MaxTags)
	}
	for _, t := range m.Tags {
		switch {
		case t == "":
			return Errorf(CodeInvalid, "A tag is empty.")
		case len(t) > MaxTagBytes:
			return Errorf(CodeInvalid, "A tag is longer than %d bytes.", MaxTagBytes)
		}
		if err := checkText("tag", t); err != nil {
			return err
		}
	}
	return nil
}

// checkText refuses invalid UTF-8, NUL and control characters.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return Errorf(CodeInvalid, "The %s is not valid UTF-8.", field)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return Errorf(CodeInvalid, "The %s contains a control character.", field)
	}
	return nil
}

// ResolveExpires turns an "expires" value into an absolute time relative to
// now: nil for "" or "never". It accepts an ISO-8601 duration (P1Y2M3W4DT5H6M7S,
// calendar units added to the calendar) or an RFC 3339 time. Anything else,
// and a time that is not in the future, is a CodeInvalid *Error.
func ResolveExpires(s string, now time.Time) (*time.Time, error) {
	if s == "" || s == "never" {
		return nil, nil
	}
	var at time.Time
	if strings.HasPrefix(s, "P") {
		t, ok := addISODuration(now, s)
		if !ok {
			return nil, Errorf(CodeInvalid, "The expires value %q is not an ISO-8601 duration such as P30D or PT12H.", s)
		}
		at = t
	} else {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, Errorf(CodeInvalid, "The expires value must be an ISO-8601 duration (P30D), an RFC 3339 time, or \"never\".")
		}
		at = t
	}
	if !at.After(now) {
		return nil, Errorf(CodeInvalid, "The expires value lies in the past.")
	}
	if at.UTC().Year() > 9999 {
		return nil, Errorf(CodeInvalid, "The expires value lies after the year 9999; use \"never\" instead.")
	}
	at = at.UTC().Truncate(time.Microsecond)
	return &at, nil
}

// addISODuration adds an ISO-8601 duration to t. It reports false when s is
// malformed or empty ("P", "PT").
func addISODuration(t time.Time, s string) (time.Time, bool) {
	rest := s[1:]
	inTime, seen := false, false
	var years, months, days int
	var clock time.Duration
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return t, false
			}
			inTime, rest = true, rest[1:]
			if rest == "" {
				return t, false
			}
			continue
		}
		i := 0
		for i < len(rest) && '0' <= rest[i] && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 6 || i == len(rest) {
			return t, false
		}
		n := 0
		for _, c := range rest[:i] {
			n = n*10 + int(c-'0')
		}
		unit := rest[i]
		rest = rest[i+1:]
		seen = true
		switch {
		case !inTime && unit == 'Y':
			years += n
		case !inTime && unit == 'M':
			months += n
		case !inTime && unit == 'W':
			days += 7 * n
		case !inTime && unit == 'D':
			days += n
		case inTime && unit == 'H':
			clock += time.Duration(n) * time.Hour
		case inTime && unit == 'M':
			clock += time.Duration(n) * time.Minute
		case inTime && unit == 'S':
			clock += time.Duration(n) * time.Second
		default:
			return t, false
		}
	}
	if !seen {
		return t, false
	}
	return t.AddDate(years, months, days).Add(clock), true
}
