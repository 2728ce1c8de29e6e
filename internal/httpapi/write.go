package httpapi

import (
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"assetd/internal/asset"
)

// update handles PUT /assets/{path}/-/entry/{id}: a full replacement of alt,
// labels and tags (and of expires when given), honouring If-Match.
func (api *API) update(c *gin.Context) {
	t, err := parsePutTarget(c.Request.URL.EscapedPath())
	if err != nil {
		api.fail(c, err)
		return
	}
	if mt := mediaType(c.GetHeader("Content-Type")); mt != "application/json" {
		api.fail(c, asset.Errorf(asset.CodeUnsupportedMedia, "Send the new metadata as application/json."))
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxMetadataBytes))
	if err != nil {
		api.fail(c, bodyError(err))
		return
	}
	var meta metadataJSON
	if err := decodeStrict(data, &meta, "request body"); err != nil {
		api.fail(c, err)
		return
	}
	a, err := api.svc.Update(c.Request.Context(), t.path, *t.entryID, meta.toMetadata(), c.GetHeader("If-Match"))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.Header("ETag", asset.MetadataETag(a))
	c.JSON(http.StatusOK, toAssetJSON(a))
}

// delete handles DELETE /assets/{path}[/-/new | modified | entry/{id} |
// recursive] with limit and label filters. It answers 204 whether or not
// anything matched.
func (api *API) delete(c *gin.Context) {
	t, err := parseDeleteTarget(c.Request.URL.EscapedPath())
	if err != nil {
		api.fail(c, err)
		return
	}
	q, err := parseQuery(c.Request.URL.RawQuery)
	switch {
	case err != nil:
	case len(q.transform) > 0:
		err = asset.Errorf(asset.CodeInvalid, "Transformation parameters do not apply to DELETE.")
	case q.cursor != nil:
		err = asset.Errorf(asset.CodeInvalid, "DELETE does not take a cursor.")
	case t.recursive && q.limit > 1:
		err = asset.Errorf(asset.CodeInvalid, "recursive deletes every entry below the path; it takes no limit above 1.")
	case t.entryID != nil && q.limit != 1:
		err = asset.Errorf(asset.CodeInvalid, "A limit cannot be combined with entry/{id}.")
	}
	if err != nil {
		api.fail(c, err)
		return
	}
	sel := asset.Selection{Path: t.path, EntryID: t.entryID, Order: t.order, Labels: q.labels, Limit: q.limit, Recursive: t.recursive}
	if err := api.svc.Delete(c.Request.Context(), sel); err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
