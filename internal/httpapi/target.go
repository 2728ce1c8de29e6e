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
)

// target is a parsed /assets/{path}[/-/{selectors}] URL.
type target struct {
	path asset.Path
	// entryID selects one entry; nil means the newest.
	entryID *int64
	// format is the GET return format; formatLink by default.
	format string
	// hasSelectors is true when the URL had a /-/ part.
	hasSelectors bool
}

// splitTarget splits the escaped URL path after "/assets/" into the asset
// path and the selector segments. Segments are unescaped one by one, so an
// encoded slash (%2F) stays inside its segment and is refused by ParsePath.
func splitTarget(escaped string) (asset.Path, []string, bool, error) {
	rest, ok := strings.CutPrefix(escaped, "/assets/")
	if !ok {
		return "", nil, false, asset.Errorf(asset.CodeInvalid, "The asset path is empty.")
	}
	raw := strings.Split(rest, "/")
	var pathSegs, selSegs []string
	hasSelectors := false
	for i, s := range raw {
		seg, err := url.PathUnescape(s)
		if err != nil {
			return "", nil, false, asset.Errorf(asset.CodeInvalid, "The URL path has a malformed percent-escape.")
		}
		if strings.Contains(seg, "/") {
			return "", nil, false, asset.Errorf(asset.CodeInvalid, "A path segment contains an encoded slash (%%2F); use a plain slash between segments.")
		}
		if seg == "-" && s == "-" && !hasSelectors && i > 0 {
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

// parseGetTarget parses a GET URL: [new | entry/{id}] then
// [link | metadata | content | download | redirect].
func parseGetTarget(escaped string) (target, error) {
	p, sels, has, err := splitTarget(escaped)
	if err != nil {
		return target{}, err
	}
	t := target{path: p, format: formatLink, hasSelectors: has}
	sels, err = parseEntrySelector(&t, sels)
	if err != nil {
		return target{}, err
	}
	if len(sels) > 0 {
		switch sels[0] {
		case formatLink, formatMetadata, formatContent, formatDownload, formatRedirect:
			t.format = sels[0]
			sels = sels[1:]
		}
	}
	if len(sels) > 0 {
		return target{}, asset.Errorf(asset.CodeInvalid,
			"Unknown or misplaced selector %q; GET takes [new | entry/{id}] then [link | metadata | content | download | redirect].", sels[0])
	}
	return t, nil
}

// parseDeleteTarget parses a DELETE URL: no selector or "new" (the newest
// entry), or entry/{id}.
func parseDeleteTarget(escaped string) (target, error) {
	p, sels, has, err := splitTarget(escaped)
	if err != nil {
		return target{}, err
	}
	t := target{path: p, hasSelectors: has}
	sels, err = parseEntrySelector(&t, sels)
	if err != nil {
		return target{}, err
	}
	if len(sels) > 0 {
		return target{}, asset.Errorf(asset.CodeInvalid, "Unknown or misplaced selector %q; DELETE takes new or entry/{id}.", sels[0])
	}
	return t, nil
}

// parseEntrySelector consumes a leading "new" or "entry/{id}".
func parseEntrySelector(t *target, sels []string) ([]string, error) {
	if len(sels) == 0 {
		return sels, nil
	}
	switch sels[0] {
	case "new":
		return sels[1:], nil
	case "entry":
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
