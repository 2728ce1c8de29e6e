package config

import (
	"math"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Size
	}{
		{"0", 0},
		{"123", 123},
		{"500KB", 500_000},
		{"500kb", 500_000},
		{"10KiB", 10 << 10},
		{"10MiB", 10 << 20},
		{"10 MiB", 10 << 20},
		{"3MB", 3_000_000},
		{"2GB", 2_000_000_000},
		{"2GiB", 2 << 30},
		{"1TiB", 1 << 40},
		{"7B", 7},
		{" 42 ", 42},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "1.5MiB", "10 parsecs", "10XB", "99999999999999999999", "9999999TiB"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestSizeString(t *testing.T) {
	for _, tc := range []struct {
		in   Size
		want string
	}{
		{0, "0"}, {1, "1"}, {1000, "1KB"}, {1024, "1KiB"}, {50 << 20, "50MiB"},
		{1_500_000, "1500KB"}, {1 << 30, "1GiB"}, {1023, "1023"}, {-5, "-5"},
	} {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(tc.in), got, tc.want)
		}
		if tc.in >= 0 {
			if back, err := ParseSize(tc.in.String()); err != nil || back != tc.in {
				t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in.String(), back, err, tc.in)
			}
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"30s", 30 * time.Second},
		{"1h", time.Hour},
		{"1h30m", 90 * time.Minute},
		{"300ms", 300 * time.Millisecond},
		{"7d", 7 * 24 * time.Hour},
		{"1d12h", 36 * time.Hour},
		{"1.5d", 36 * time.Hour},
		{"31536000", 365 * 24 * time.Hour},
		{"0", 0},
		{"-5s", -5 * time.Second},
		{"-1d", -24 * time.Hour},
	} {
		got, err := ParseDuration(tc.in)
		if err != nil || got.Std() != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got.Std(), err, tc.want)
		}
	}
	for _, in := range []string{"", "soon", "d", "7x", "1e3d", "d5h", "5h-3m", "1d-5h", "infd", "99999999999999d", "99999999999999999999"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got.Std())
		}
	}
}

func TestDurationString(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"}, {5 * time.Second, "5s"}, {time.Hour, "1h"}, {90 * time.Minute, "1h30m"},
		{7 * 24 * time.Hour, "7d"}, {36*time.Hour + time.Second, "1d12h1s"},
		{1500 * time.Millisecond, "1s500ms"}, {-time.Minute, "-1m"},
		{time.Duration(math.MaxInt64), ""}, // checked by the round trip only
	} {
		got := Duration(tc.in).String()
		if tc.want != "" && got != tc.want {
			t.Errorf("Duration(%v).String() = %q, want %q", tc.in, got, tc.want)
		}
		if back, err := ParseDuration(got); err != nil || back.Std() != tc.in {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back.Std(), err, tc.in)
		}
	}
}

func TestParseExpiry(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{{"never", 0}, {"Never", 0}, {"30d", 30 * 24 * time.Hour}, {"12h", 12 * time.Hour}} {
		got, err := ParseExpiry(tc.in)
		if err != nil || got.Std() != tc.want {
			t.Errorf("ParseExpiry(%q) = %v, %v", tc.in, got, err)
		}
		if got.IsNever() != (tc.want == 0) {
			t.Errorf("ParseExpiry(%q).IsNever() = %v", tc.in, got.IsNever())
		}
	}
	for _, in := range []string{"0s", "-1d", "sometime", ""} {
		if got, err := ParseExpiry(in); err == nil {
			t.Errorf("ParseExpiry(%q) = %v, want an error", in, got)
		}
	}
	if Never.String() != "never" || Expiry(48*time.Hour).String() != "2d" {
		t.Errorf("String: %q %q", Never.String(), Expiry(48*time.Hour).String())
	}
}
