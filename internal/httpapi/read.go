package httpapi

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"assetd/internal/asset"
)

// fetch handles GET and HEAD /assets/{path}[/-/{selectors}].
func (api *API) fetch(c *gin.Context) {
	t, q, err := parseRead(c.Request)
	if err != nil {
		api.fail(c, err)
		return
	}
	sel := asset.Selection{Path: t.path, EntryID: t.entryID, Order: t.order, Labels: q.labels, Limit: q.limit, After: q.cursor}
	ctx := c.Request.Context()
	switch t.format {
	case formatEntries:
		found, next, err := api.svc.List(ctx, sel)
		if err != nil {
			api.fail(c, err)
			return
		}
		page := entriesJSON{Entries: make([]assetJSON, 0, len(found)), Next: encodeCursor(next)}
		for _, a := range found {
			page.Entries = append(page.Entries, toAssetJSON(a))
		}
		c.JSON(http.StatusOK, page)
	case formatMetadata:
		if q.limit != 1 {
			found, _, err := api.svc.List(ctx, sel)
			if err != nil {
				api.fail(c, err)
				return
			}
			list := make([]assetJSON, 0, len(found))
			for _, a := range found {
				list = append(list, toAssetJSON(a))
			}
			c.JSON(http.StatusOK, list)
			return
		}
		a, err := api.svc.Find(ctx, sel)
		if err != nil {
			api.fail(c, err)
			return
		}
		c.Header("ETag", asset.MetadataETag(a))
		c.JSON(http.StatusOK, toAssetJSON(a))
	case formatLink:
		req := asset.TransformRequest{Params: q.transform, Accept: c.GetHeader("Accept")}
		a, n, err := api.svc.CheckTransform(ctx, sel, req)
		if err != nil {
			api.fail(c, err)
			return
		}
		if n.Negotiated {
			c.Header("Vary", "Accept")
		}
		c.JSON(http.StatusOK, api.link(a, q.transform))
	default:
		req := asset.TransformRequest{Params: q.transform, Accept: c.GetHeader("Accept")}
		content, err := api.svc.OpenContent(ctx, sel, req, t.format == formatRedirect)
		if err != nil {
			api.fail(c, err)
			return
		}
		api.serveContent(c, content, t.format == formatDownload)
	}
}

// parseRead parses a GET: selectors and query, with the rules on which
// formats take a limit or transformation parameters.
func parseRead(r *http.Request) (target, query, error) {
	t, err := parseGetTarget(r.URL.EscapedPath())
	if err != nil {
		return target{}, query{}, err
	}
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return target{}, query{}, err
	}
	multi := t.format == formatMetadata || t.format == formatEntries
	switch {
	case q.limit != 1 && !multi:
		return target{}, query{}, asset.Errorf(asset.CodeInvalid, "Only metadata and entries accept a limit other than 1.")
	case q.limit != 1 && t.entryID != nil:
		return target{}, query{}, asset.Errorf(asset.CodeInvalid, "A limit cannot be combined with entry/{id}.")
	case q.cursor != nil && t.format != formatEntries:
		return target{}, query{}, asset.Errorf(asset.CodeInvalid, "Only entries accepts a cursor.")
	case len(q.transform) > 0 && multi:
		return target{}, query{}, asset.Errorf(asset.CodeInvalid, "Transformation parameters do not apply to %s.", t.format)
	}
	if t.format == formatEntries && t.entryID == nil && !q.limitGiven {
		q.limit = defaultPageSize
	}
	return t, q, nil
}

// defaultPageSize is the entries page size when the request gives no limit.
const defaultPageSize = 100

// serveContent streams a variant from the store, with the conditional and
// range handling of http.ServeContent, or redirects.
func (api *API) serveContent(c *gin.Context, content *asset.Content, download bool) {
	a, v := content.Asset, content.Variant
	h := c.Writer.Header()
	if content.Negotiated {
		h.Set("Vary", "Accept")
	}
	if content.RedirectURL != "" {
		h.Set("Cache-Control", "no-store")
		c.Redirect(http.StatusTemporaryRedirect, content.RedirectURL)
		return
	}
	defer content.Object.Close()
	h.Set("Content-Type", v.Attributes.ContentType)
	// Objects are immutable and their keys unique, so the key is a strong
	// validator that no other variant shares.
	h.Set("ETag", `"`+strings.TrimSuffix(v.Key, v.Attributes.Format.Extension())+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	if content.Cached {
		h.Set("X-Cache-Status", "hit")
	} else {
		h.Set("X-Cache-Status", "miss")
	}
	if content.CacheControl != "" {
		h.Set("Cache-Control", content.CacheControl)
	}
	if a.Alt != "" {
		h.Set("X-Alt", url.PathEscape(a.Alt))
	}
	if v.LQIP.Blurhash != "" {
		h.Set("X-LQIP-Blurhash", v.LQIP.Blurhash)
	}
	if v.LQIP.Thumbhash != "" {
		h.Set("X-LQIP-Thumbhash", v.LQIP.Thumbhash)
	}
	if download {
		h.Set("Content-Disposition", contentDisposition(a, v))
	}
	http.ServeContent(&problemRangeWriter{ResponseWriter: c.Writer}, c.Request, "", v.CreatedAt, content.Object)
}

// contentDisposition names a download after the alt text, else the last path
// segment, with the format's extension; non-ASCII names are RFC 6266
// encoded by mime.FormatMediaType.
func contentDisposition(a *asset.Asset, v *asset.Variant) string {
	name := a.Alt
	if strings.TrimSpace(name) == "" {
		name = a.Path.Last()
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == '/' || r == '\\' || unicode.IsControl(r):
			return '_'
		case unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
			// Bidi overrides and invisible separators could disguise the
			// name (and extension) in a save dialog.
			return -1
		}
		return r
	}, name)
	if ext := v.Attributes.Format.Extension(); ext != "" && !strings.HasSuffix(strings.ToLower(name), ext) {
		name += ext
	}
	return mime.FormatMediaType("attachment", map[string]string{"filename": name})
}

// link is the link format: the content URL of the entry with the request's
// transformation parameters, signed when signing is on. Signed links carry
// no exp, so they do not expire and expiresAt is null.
func (api *API) link(a *asset.Asset, params asset.TransformParams) linkJSON {
	path := "/assets/" + a.Path.String() + "/-/entry/" + strconv.FormatInt(a.EntryID, 10) + "/content"
	values := url.Values{}
	for k, v := range params {
		values.Set(k, v)
	}
	query := values.Encode()
	if api.signer != nil {
		query = api.signer.SignedQuery(path, values, time.Time{})
	}
	u := api.publicURL + path
	if query != "" {
		u += "?" + query
	}
	return linkJSON{URL: u, Alt: a.Alt, LQIP: toLQIPJSON(a.Original().LQIP)}
}
