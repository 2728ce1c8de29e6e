package asset

import "strings"

// Path limits, as in API.md.
const (
	MaxPathBytes    = 512
	MaxPathSegments = 32
	MaxSegmentBytes = 128
)

// Path is a validated, case-sensitive asset path such as "users/42/avatar":
// 1–32 segments of 1–128 bytes of [A-Za-z0-9._~-], never ".", ".." or "-".
// It has no leading or trailing slash. A Path never becomes an object key or a
// file name.
type Path string

// ParsePath validates s (without a leading slash) and returns it as a Path.
// Every violation is a CodeInvalid *Error whose detail says what is wrong.
func ParsePath(s string) (Path, error) {
	if s == "" {
		return "", Errorf(CodeInvalid, "The asset path is empty.")
	}
	if len(s) > MaxPathBytes {
		return "", Errorf(CodeInvalid, "The asset path is longer than %d bytes.", MaxPathBytes)
	}
	segments := strings.Split(s, "/")
	if len(segments) > MaxPathSegments {
		return "", Errorf(CodeInvalid, "The asset path has more than %d segments.", MaxPathSegments)
	}
	for _, seg := range segments {
		if err := checkSegment(seg); err != nil {
			return "", err
		}
	}
	return Path(s), nil
}

func checkSegment(seg string) error {
	switch {
	case seg == "":
		return Errorf(CodeInvalid, "The asset path has an empty segment; remove doubled or trailing slashes.")
	case len(seg) > MaxSegmentBytes:
		return Errorf(CodeInvalid, "A path segment is longer than %d bytes.", MaxSegmentBytes)
	case seg == "." || seg == "..":
		return Errorf(CodeInvalid, "The path segments \".\" and \"..\" are not allowed.")
	case seg == "-":
		return Errorf(CodeInvalid, "The path segment \"-\" is reserved as the selector marker.")
	}
	for i := 0; i < len(seg); i++ {
		if !isSegmentByte(seg[i]) {
			return Errorf(CodeInvalid, "Path segments may only contain A-Z, a-z, 0-9, '.', '_', '~' and '-'.")
		}
	}
	return nil
}

func isSegmentByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
		b == '.' || b == '_' || b == '~' || b == '-'
}

// String returns the path without a leading slash.
func (p Path) String() string { return string(p) }

// Last returns the last segment of the path.
func (p Path) Last() string {
	s := string(p)
	return s[strings.LastIndexByte(s, '/')+1:]
}
