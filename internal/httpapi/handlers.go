package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"assetd/internal/asset"
)

// Bounds on the small parts of a request; the asset bytes are bounded by the
// path's upload limit instead.
const (
	maxMetadataBytes  = 256 << 10
	multipartOverhead = 1 << 20
)

func (api *API) livez(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func (api *API) readyz(c *gin.Context) {
	if err := api.svc.Ready(c.Request.Context()); err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// store handles POST /assets/{path}: multipart with an asset part, or JSON
// with a url.
func (api *API) store(c *gin.Context) {
	t, err := parseDeleteTarget(c.Request.URL.EscapedPath())
	if err == nil && t.hasSelectors {
		err = asset.Errorf(asset.CodeInvalid, "POST takes no selectors; post to /assets/{path}.")
	}
	if err != nil {
		api.fail(c, err)
		return
	}
	mediaType, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	var a *asset.Asset
	switch mediaType {
	case "multipart/form-data":
		a, err = api.storeMultipart(c, t.path)
	case "application/json":
		a, err = api.storeURL(c, t.path)
	default:
		err = asset.Errorf(asset.CodeUnsupportedMedia, "Send multipart/form-data with an asset part, or application/json with a url.")
	}
	if err != nil {
		api.fail(c, err)
		return
	}
	c.Header("Location", api.entryURL(a.Path, a.EntryID))
	c.JSON(http.StatusCreated, toAssetJSON(a))
}

// storeMultipart streams the parts in any order: the asset part is spooled
// to a temporary file as it arrives, the metadata part is read in full.
func (api *API) storeMultipart(c *gin.Context, path asset.Path) (*asset.Asset, error) {
	limit := api.svc.UploadLimit(path)
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit+multipartOverhead)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return nil, asset.Errorf(asset.CodeInvalid, "The multipart body is malformed: %s.", err)
	}
	var (
		upload   *asset.Upload
		meta     metadataJSON
		seenMeta bool
	)
	defer func() { upload.Close() }()
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, bodyError(err)
		}
		switch part.FormName() {
		case "asset", "file":
			if upload != nil {
				return nil, asset.Errorf(asset.CodeInvalid, "The request has more than one asset part (asset and file are aliases).")
			}
			if upload, err = api.svc.Spool(path, part); err != nil {
				return nil, err
			}
		case "metadata":
			if seenMeta {
				return nil, asset.Errorf(asset.CodeInvalid, "The request has more than one metadata part.")
			}
			seenMeta = true
			data, err := io.ReadAll(io.LimitReader(part, maxMetadataBytes+1))
			if err != nil {
				return nil, bodyError(err)
			}
			if len(data) > maxMetadataBytes {
				return nil, asset.Errorf(asset.CodeInvalid, "The metadata part is larger than %d bytes.", maxMetadataBytes)
			}
			if err := decodeStrict(data, &meta, "metadata part"); err != nil {
				return nil, err
			}
		default:
			// Other parts are ignored, but still read within the body limit.
			if _, err := io.Copy(io.Discard, part); err != nil {
				return nil, bodyError(err)
			}
		}
	}
	if upload == nil {
		return nil, asset.Errorf(asset.CodeInvalid, "The request has no asset part; send the bytes in a part named asset.")
	}
	return api.svc.Create(c.Request.Context(), asset.CreateRequest{
		Path: path, Metadata: meta.toMetadata(), Content: upload, Source: asset.SourceUpload,
	})
}

// storeURL handles a JSON store request whose bytes come from a URL.
func (api *API) storeURL(c *gin.Context, path asset.Path) (*asset.Asset, error) {
	data, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxMetadataBytes))
	if err != nil {
		return nil, bodyError(err)
	}
	var req urlSourceJSON
	if err := decodeStrict(data, &req, "request body"); err != nil {
		return nil, err
	}
	if req.URL == "" {
		return nil, asset.Errorf(asset.CodeInvalid, "The request body needs a url.")
	}
	return api.svc.CreateFromURL(c.Request.Context(), path, req.URL, req.metadataJSON.toMetadata())
}

// bodyError classifies a failure to read the request body.
func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return asset.Errorf(asset.CodeTooLarge, "The request body is larger than %d bytes.", tooBig.Limit)
	}
	var e *asset.Error
	if errors.As(err, &e) {
		return err
	}
	return asset.Errorf(asset.CodeInvalid, "The request body could not be read: it is malformed or was cut short.")
}

// fetch handles GET and HEAD /assets/{path}[/-/{selectors}].
func (api *API) fetch(c *gin.Context) {
	t, err := parseGetTarget(c.Request.URL.EscapedPath())
	if err != nil {
		api.fail(c, err)
		return
	}
	a, err := api.svc.Find(c.Request.Context(), t.path, t.entryID)
	if err != nil {
		api.fail(c, err)
		return
	}
	switch t.format {
	case formatLink:
		c.JSON(http.StatusOK, linkJSON{
			URL: api.entryURL(a.Path, a.EntryID) + "/content", Alt: a.Alt,
			LQIP: toLQIPJSON(a.Original().LQIP), ExpiresAt: nil,
		})
	case formatMetadata:
		c.JSON(http.StatusOK, toAssetJSON(a))
	case formatContent, formatRedirect:
		// The redirect strategy is "none" until it is configurable: a
		// redirect answers like content.
		api.serveContent(c, a, false)
	case formatDownload:
		api.serveContent(c, a, true)
	}
}

// serveContent streams the original variant from the store, with the
// conditional and range handling of http.ServeContent.
func (api *API) serveContent(c *gin.Context, a *asset.Asset, download bool) {
	v := a.Original()
	obj, err := api.svc.Open(c.Request.Context(), v)
	if err != nil {
		api.fail(c, err)
		return
	}
	defer obj.Close()
	h := c.Writer.Header()
	h.Set("Content-Type", v.Attributes.ContentType)
	// Objects are immutable and their keys unique, so the key is a strong
	// validator that no other variant shares.
	h.Set("ETag", `"`+strings.TrimSuffix(v.Key, v.Attributes.Format.Extension())+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Cache-Status", "hit")
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
	http.ServeContent(c.Writer, c.Request, "", v.CreatedAt, obj)
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
		if r == '/' || r == '\\' || r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, name)
	if ext := v.Attributes.Format.Extension(); ext != "" && !strings.HasSuffix(strings.ToLower(name), ext) {
		name += ext
	}
	return mime.FormatMediaType("attachment", map[string]string{"filename": name})
}

// delete handles DELETE /assets/{path}[/-/new | /-/entry/{id}]. It answers
// 204 whether or not an entry matched.
func (api *API) delete(c *gin.Context) {
	t, err := parseDeleteTarget(c.Request.URL.EscapedPath())
	if err != nil {
		api.fail(c, err)
		return
	}
	if err := api.svc.Delete(c.Request.Context(), t.path, t.entryID); err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// entryURL is the public URL of an entry.
func (api *API) entryURL(p asset.Path, entryID int64) string {
	return api.publicURL + "/assets/" + p.String() + "/-/entry/" + strconv.FormatInt(entryID, 10)
}
