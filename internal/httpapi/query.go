package httpapi

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"assetd/internal/asset"
)

// isTransformationParam reports whether name is reserved for
// transformations; such names never become label filters.
func isTransformationParam(name string) bool {
	return slices.Contains(asset.TransformParamNames, name)
}

// query is the parsed query string of a GET or DELETE.
type query struct {
	limit int // 1 by default, -1 for all
	// limitGiven is true when the request set limit itself.
	limitGiven bool
	cursor     *asset.Cursor
	labels     map[string]string
	// transform holds the transformation parameters given, if any.
	transform asset.TransformParams
}

// parseQuery parses limit, cursor and label filters. Every parameter that is
// not reserved is an exact-match label filter; "label:" names a label whose
// name is reserved. A repeated parameter is 400.
func parseQuery(raw string) (query, error) {
	values, err := url.ParseQuery(raw)
	if err != nil {
		return query{}, asset.Errorf(asset.CodeInvalid, "The query string is malformed.")
	}
	q := query{limit: 1, labels: map[string]string{}, transform: asset.TransformParams{}}
	for name, vals := range values {
		if len(vals) > 1 {
			return query{}, asset.Errorf(asset.CodeInvalid, "The query parameter %q is repeated.", name)
		}
		v := vals[0]
		switch {
		case name == "limit":
			if q.limit, err = parseLimit(v); err != nil {
				return query{}, err
			}
			q.limitGiven = true
		case name == "cursor":
			if q.cursor, err = decodeCursor(v); err != nil {
				return query{}, err
			}
		case name == "s" || name == "exp":
			// URL-signature parameters; signing is configured per deployment.
		case isTransformationParam(name):
			q.transform[name] = v
		default:
			label := strings.TrimPrefix(name, "label:")
			if label == "" {
				return query{}, asset.Errorf(asset.CodeInvalid, "A label filter has an empty name.")
			}
			if _, twice := q.labels[label]; twice {
				return query{}, asset.Errorf(asset.CodeInvalid, "The label %q is filtered twice (as %s and with the label: prefix).", label, label)
			}
			q.labels[label] = v
		}
	}
	return q, nil
}

// parseLimit accepts a positive integer or -1.
func parseLimit(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n == 0 || n < -1 || strconv.Itoa(n) != v {
		return 0, asset.Errorf(asset.CodeInvalid, "The limit must be a positive integer or -1 (all), not %q.", v)
	}
	return n, nil
}

// encodeCursor makes an opaque page cursor.
func encodeCursor(c *asset.Cursor) *string {
	if c == nil {
		return nil
	}
	raw := strconv.FormatInt(c.At.UnixMicro(), 10) + "." + strconv.FormatInt(c.EntryID, 10)
	s := base64.RawURLEncoding.EncodeToString([]byte(raw))
	return &s
}

func decodeCursor(s string) (*asset.Cursor, error) {
	bad := asset.Errorf(asset.CodeInvalid, "The cursor is not one this service issued; start again without it.")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	at, id, ok := strings.Cut(string(raw), ".")
	micros, err1 := strconv.ParseInt(at, 10, 64)
	entryID, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || entryID < 0 {
		return nil, bad
	}
	return &asset.Cursor{At: time.UnixMicro(micros).UTC(), EntryID: entryID}, nil
}
