package asset

import (
	"strings"
	"testing"
	"time"
)

func TestMetadataValidate(t *testing.T) {
	labels := func(n int) map[string]string {
		m := map[string]string{}
		for i := 0; i < n; i++ {
			m[strings.Repeat("k", i+1)] = "v"
		}
		return m
	}
	ok := []Metadata{
		{},
		{Alt: strings.Repeat("é", MaxAltChars), Labels: labels(MaxLabels), Tags: make50("t")},
		{Labels: map[string]string{strings.Repeat("k", 128): strings.Repeat("v", 1024)}},
	}
	for i, m := range ok {
		if err := m.Validate(); err != nil {
			t.Errorf("case %d: %v", i, err)
		}
	}
	bad := map[string]Metadata{
		"alt too long":       {Alt: strings.Repeat("a", MaxAltChars+1)},
		"alt control":        {Alt: "a\x07b"},
		"alt NUL":            {Alt: "a\x00b"},
		"alt not utf8":       {Alt: "\xff"},
		"too many labels":    {Labels: labels(MaxLabels + 1)},
		"label key too long": {Labels: map[string]string{strings.Repeat("k", 129): "v"}},
		"label value long":   {Labels: map[string]string{"k": strings.Repeat("v", 1025)}},
		"empty label key":    {Labels: map[string]string{"": "v"}},
		"label newline":      {Labels: map[string]string{"k": "a\nb"}},
		"too many tags":      {Tags: append(make50("t"), "x")},
		"tag too long":       {Tags: []string{strings.Repeat("t", 257)}},
		"empty tag":          {Tags: []string{""}},
	}
	for name, m := range bad {
		if err := m.Validate(); CodeOf(err) != CodeInvalid {
			t.Errorf("%s: got %v, want CodeInvalid", name, err)
		}
	}
}

func make50(prefix string) []string {
	tags := make([]string, MaxTags)
	for i := range tags {
		tags[i] = prefix
	}
	return tags
}

func TestResolveExpires(t *testing.T) {
	now := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	cases := map[string]time.Time{
		"P30D":                      now.AddDate(0, 0, 30),
		"PT12H":                     now.Add(12 * time.Hour),
		"P1M":                       now.AddDate(0, 1, 0),
		"P1Y2M3DT4H5M6S":            now.AddDate(1, 2, 3).Add(4*time.Hour + 5*time.Minute + 6*time.Second),
		"P2W":                       now.AddDate(0, 0, 14),
		"2027-01-01T00:00:00Z":      time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		"2027-01-01T01:00:00+01:00": time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for in, want := range cases {
		got, err := ResolveExpires(in, now)
		if err != nil || got == nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ResolveExpires(%q) = %v, %v; want %v UTC", in, got, err, want)
		}
	}
	for _, in := range []string{"", "never"} {
		if got, err := ResolveExpires(in, now); got != nil || err != nil {
			t.Errorf("ResolveExpires(%q) = %v, %v; want nil, nil", in, got, err)
		}
	}
	for _, in := range []string{"P", "PT", "P1H", "PT1D", "30D", "P-1D", "tomorrow", "2020-01-01T00:00:00Z", "P0D", "PT1H1", "P1DT",
		"P999999Y", "P8000Y", "10000-01-01T00:00:00Z"} {
		if _, err := ResolveExpires(in, now); CodeOf(err) != CodeInvalid {
			t.Errorf("ResolveExpires(%q) = %v, want CodeInvalid", in, err)
		}
	}
}
