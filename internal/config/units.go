package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Size is a number of bytes. In YAML and environment variables it is a plain
// integer or an integer with a unit: B, KB (1000), KiB (1024), MB, MiB, GB,
// GiB, TB, TiB. Units are matched case-insensitively.
type Size int64

var sizeUnits = []struct {
	name string
	mult int64
}{
	// Binary units first so String prefers them: limits are usually powers of two.
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
	{"B", 1},
}

// ParseSize parses s as a Size. It fails on an empty string, a negative or
// fractional number, an unknown unit, or a value that overflows int64.
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && '0' <= t[i] && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid size %q: want an integer with an optional unit such as 10MiB or 500KB", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: number out of range", s)
	}
	unit := strings.TrimSpace(t[i:])
	if unit == "" {
		return Size(n), nil
	}
	for _, u := range sizeUnits {
		if strings.EqualFold(unit, u.name) {
			if n > math.MaxInt64/u.mult {
				return 0, fmt.Errorf("invalid size %q: out of range", s)
			}
			return Size(n * u.mult), nil
		}
	}
	return 0, fmt.Errorf("invalid size %q: unknown unit %q (use B, KB, KiB, MB, MiB, GB, GiB, TB or TiB)", s, unit)
}

// String formats s with the largest unit that divides it exactly, preferring
// binary units, so that ParseSize(s.String()) == s.
func (s Size) String() string {
	if s > 0 {
		for _, u := range sizeUnits[:len(sizeUnits)-1] {
			if int64(s)%u.mult == 0 {
				return strconv.FormatInt(int64(s)/u.mult, 10) + u.name
			}
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// MarshalYAML writes s as String does.
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }

// UnmarshalYAML reads a scalar with ParseSize; any other node is an error.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a size must be a scalar such as 10MiB", n.Line)
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*s = v
	return nil
}

// Duration is a time.Duration that reads Go durations (300ms, 1h30m), days
// (7d, 1d12h) and plain integers, which count seconds (as in Cache-Control).
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// ParseDuration parses s as a Duration: an optional leading number of days
// ("7d", "1.5d"), followed by an optional Go duration ("12h", "30s"), or a
// plain integer number of seconds. It fails on anything else and on overflow.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("invalid duration %q: empty", s)
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return 0, fmt.Errorf("invalid duration %q: out of range", s)
		}
		return Duration(time.Duration(n) * time.Second), nil
	}
	neg := false
	body := t
	if body[0] == '-' || body[0] == '+' {
		neg = body[0] == '-'
		body = body[1:]
	}
	var total time.Duration
	if i := strings.IndexByte(body, 'd'); i >= 0 {
		days, err := strconv.ParseFloat(body[:i], 64)
		if err != nil || i == 0 || strings.ContainsAny(body[:i], "eEinfINF+-") {
			return 0, fmt.Errorf("invalid duration %q: want e.g. 30s, 1h or 7d", s)
		}
		h := days * 24 * float64(time.Hour)
		if h > math.MaxInt64 {
			return 0, fmt.Errorf("invalid duration %q: out of range", s)
		}
		total = time.Duration(h)
		body = body[i+1:]
	}
	if body != "" {
		rest, err := time.ParseDuration(body)
		if err != nil || body[0] == '-' || body[0] == '+' {
			return 0, fmt.Errorf("invalid duration %q: want e.g. 30s, 1h or 7d", s)
		}
		if total > math.MaxInt64-rest {
			return 0, fmt.Errorf("invalid duration %q: out of range", s)
		}
		total += rest
	}
	if neg {
		total = -total
	}
	return Duration(total), nil
}

// String formats d compactly with days, such as "7d", "1h30m" or "500ms",
// so that ParseDuration(d.String()) == d.
func (d Duration) String() string {
	v := time.Duration(d)
	if v == 0 {
		return "0s"
	}
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
		if v == math.MinInt64 {
			return time.Duration(v).String()
		}
		v = -v
	}
	day := 24 * time.Hour
	if v >= day {
		b.WriteString(strconv.FormatInt(int64(v/day), 10) + "d")
		v %= day
	}
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if v >= u.unit {
			b.WriteString(strconv.FormatInt(int64(v/u.unit), 10) + u.name)
			v %= u.unit
		}
	}
	if v > 0 {
		// Sub-second rest: time.Duration prints it exactly ("1.5ms", "250ns").
		b.WriteString(v.String())
	}
	return b.String()
}

// MarshalYAML writes d as String does.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a scalar with ParseDuration; any other node is an error.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a duration must be a scalar such as 30s or 7d", n.Line)
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

// Expiry is how long an entry lives: a positive duration, or never. The zero
// value means never.
type Expiry time.Duration

// Never is the Expiry of entries that do not expire.
const Never Expiry = 0

// IsNever reports whether e means entries do not expire.
func (e Expiry) IsNever() bool { return e == Never }

// Std returns the lifetime, 0 for never.
func (e Expiry) Std() time.Duration { return time.Duration(e) }

// ParseExpiry parses "never" or a duration (see ParseDuration). A duration
// that is not positive is an error, because "0s" would read as never.
func ParseExpiry(s string) (Expiry, error) {
	if strings.EqualFold(strings.TrimSpace(s), "never") {
		return Never, nil
	}
	d, err := ParseDuration(s)
	if err != nil {
		return 0, errors.New(strings.Replace(err.Error(), "want e.g.", "want never or e.g.", 1))
	}
	if d <= 0 {
		return 0, fmt.Errorf("invalid expiry %q: must be positive or never", s)
	}
	return Expiry(d), nil
}

// String returns "never" or the duration as Duration.String formats it.
func (e Expiry) String() string {
	if e.IsNever() {
		return "never"
	}
	return Duration(e).String()
}

// MarshalYAML writes e as String does.
func (e Expiry) MarshalYAML() (any, error) { return e.String(), nil }

// UnmarshalYAML reads a scalar with ParseExpiry; any other node is an error.
func (e *Expiry) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: an expiry must be never or a duration such as 30d", n.Line)
	}
	v, err := ParseExpiry(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*e = v
	return nil
}
