package httpapi

import (
	"net/url"
	"strconv"
	"strings"

	"assetd/internal/asset"
)

// Return formats of a GET.
const (
	formatLink     = "link"
	formatMetadata = "metadata"
	formatContent  = "content"
	formatDownload = "download"
	formatRedirect = "redirect"
	formatEntries  = "entries"
)

// target is a parsed /assets/{path}[/-/{selectors}] URL.
type target struct {
	path asset.Path
	// entryID selects one entry; nil means by order.
	entryID *int64
	// order is the ranking of entries; OrderNew by default.
	order asset.Order
	// format is the GET return format; formatLink by default.
	format string
	// recursive is the DELETE selector for a path and everything below it.
	recursive bool
	// hasSelectors is true when the URL had a /-/ part.
	hasSelectors bool
}

// splitTarget splits the escaped URL path after "/assets/" into the asset
// path and the lower-cased selector segments. Segments are unescaped one by
// one, so an encoded slash (%2F) is refused rather than taken as a separator.
func splitTarget(escaped string) (asset.Path, []string, bool, error) {
	rest, ok := strings.CutPrefix(escaped, "/assets/")
	if !ok {
		return "", nil, false, asset.Errorf(asset.CodeInvalid, "The asset path is empty.")
	}
	var pathSegs, selSegs []string
	hasSelectors := false
	for i, s := range strings.Split(rest, "/") {
		seg, err := url.PathUnescape(s)
		if err != nil {
			return "", nil, false, asset.Errorf(asset.CodeInvalid, "The URL path has a malformed percent-escape.")
		}
		if strings.Contains(seg, "/") {
			return "", nil, false, asset.Errorf(asset.CodeInvalid, "A path segment contains an encoded slash (%%2F); use a plain slash between segments.")
		}
		if s == "-" && !hasSelectors && i > 0 {
			hasSelectors = true
			continue
		}
		if hasSelectors {
			if seg == "" {
				return "", nil, false, asset.Errorf(asset.CodeInvalid, "The selectors have an empty segment; remove doubled or trailing slashes.")
			}
			selSegs = append(selSegs, strings.ToLower(seg))
		} else {
			pathSegs = append(pathSegs, seg)
		}
	}
	if hasSelectors && len(selSegs) == 0 {
		return "", nil, false, asset.Errorf(asset.CodeInvalid, "A \"-\" segment must be followed by selectors.")
	}
	p, err := asset.ParsePath(strings.Join(pathSegs, "/"))
	if err != nil {
		return "", nil, false, err
	}
	return p, selSegs, hasSelectors, nil
}

// parseGetTarget parses a GET URL: [new | modified | entry/{id}] then
// [link | metadata | content | download | redirect | entries].
func parseGetTarget(escaped string) (target, error) {
	p, sels, has, err := splitTarget(escaped)
	if err != nil {
		return target{}, err
	}
	t := target{path: p, order: asset.OrderNew, format: formatLink, hasSelectors: has}
	if sels, err = t.parseEntrySelector(sels, true); err != nil {
		return target{}, err
	}
	if len(sels) > 0 {
		switch sels[0] {
		case formatLink, formatMetadata, formatContent, formatDownload, formatRedirect, formatEntries:
			t.format = sels[0]
			sels = sels[1:]
		}
	}
	if len(sels) > 0 {
		return target{}, asset.Errorf(asset.CodeInvalid,
			"Unknown or misplaced selector %q; GET takes [new | modified | entry/{id}] then [link | metadata | content | download | redirect | entries].", sels[0])
	}
	return t, nil
}

// parseDeleteTarget parses a DELETE URL: no selector (the newest entry),
// new, modified, entry/{id}, or recursive.
func parseDeleteTarget(escaped string) (target, error) {
	p, sels, has, err := splitTarget(escaped)
	if err != nil {
		return target{}, err
	}
	t := target{path: p, order: asset.OrderNew, hasSelectors: has}
	if len(sels) == 1 && sels[0] == "recursive" {
		t.recursive = true
		return t, nil
	}
	if sels, err = t.parseEntrySelector(sels, true); err != nil {
		return target{}, err
	}
	if len(sels) > 0 {
		return target{}, asset.Errorf(asset.CodeInvalid, "Unknown or misplaced selector %q; DELETE takes new, modified, entry/{id} or recursive.", sels[0])
	}
	return t, nil
}

// parsePutTarget parses a PUT URL, which takes exactly entry/{id}.
func parsePutTarget(escaped string) (target, error) {
	p, sels, _, err := splitTarget(escaped)
	if err != nil {
		return target{}, err
	}
	t := target{path: p}
	if len(sels) != 2 || sels[0] != "entry" {
		return target{}, asset.Errorf(asset.CodeInvalid, "PUT takes exactly one selector: /-/entry/{id}.")
	}
	if _, err := t.parseEntrySelector(sels, false); err != nil {
		return target{}, err
	}
	return t, nil
}

// parsePostTarget parses a POST URL, which takes no selectors.
func parsePostTarget(escaped string) (target, error) {
	p, _, has, err := splitTarget(escaped)
	if err != nil {
		return target{}, err
	}
	if has {
		return target{}, asset.Errorf(asset.CodeInvalid, "POST takes no selectors; post to /assets/{path}.")
	}
	return target{path: p}, nil
}

// parseEntrySelector consumes a leading "entry/{id}", or, when orders is
// true, "new" or "modified".
func (t *target) parseEntrySelector(sels []string, orders bool) ([]string, error) {
	if len(sels) == 0 {
		return sels, nil
	}
	switch {
	case orders && sels[0] == string(asset.OrderNew):
		return sels[1:], nil
	case orders && sels[0] == string(asset.OrderModified):
		t.order = asset.OrderModified
		return sels[1:], nil
	case sels[0] == "entry":
		if len(sels) < 2 {
			return nil, asset.Errorf(asset.CodeInvalid, "The entry selector needs an id: entry/{id}.")
		}
		id, err := parseEntryID(sels[1])
		if err != nil {
			return nil, err
		}
		t.entryID = &id
		return sels[2:], nil
	}
	return sels, nil
}

// parseEntryID accepts a decimal entry id without sign or leading zeros.
func parseEntryID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 63)
	if err != nil || id < 0 || strconv.FormatInt(id, 10) != s {
		return 0, asset.Errorf(asset.CodeInvalid, "The entry id %q is not a non-negative integer.", s)
	}
	return id, nil
}
