package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

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
	t, err := parsePostTarget(c.Request.URL.EscapedPath())
	if err != nil {
		api.fail(c, err)
		return
	}
	var a *asset.Asset
	switch mediaType(c.GetHeader("Content-Type")) {
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

// mediaType returns the lower-cased media type of a Content-Type header.
func mediaType(header string) string {
	mt, _, _ := mime.ParseMediaType(header)
	return mt
}

// entryURL is the public URL of an entry.
func (api *API) entryURL(p asset.Path, entryID int64) string {
	return api.publicURL + "/assets/" + p.String() + "/-/entry/" + strconv.FormatInt(entryID, 10)
}
