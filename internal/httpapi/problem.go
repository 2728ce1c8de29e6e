package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"assetd/internal/asset"
)

// problem is an RFC 9457 problem document with assetd's stable code.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

var statusOf = map[asset.Code]int{
	asset.CodeInvalid:          http.StatusBadRequest,
	asset.CodeForbidden:        http.StatusForbidden,
	asset.CodeNotFound:         http.StatusNotFound,
	asset.CodeTooLarge:         http.StatusRequestEntityTooLarge,
	asset.CodeUnsupportedMedia: http.StatusUnsupportedMediaType,
	asset.CodePrecondition:     http.StatusPreconditionFailed,
	asset.CodeUnprocessable:    http.StatusUnprocessableEntity,
	asset.CodeUnavailable:      http.StatusServiceUnavailable,
	asset.CodeInternal:         http.StatusInternalServerError,
}

// fail renders err as problem+json. It is the only place that turns domain
// errors into statuses. Internal causes are logged, never sent.
func (api *API) fail(c *gin.Context, err error) {
	code := asset.CodeOf(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	detail := "The server could not complete the request; it has been logged."
	// Details of client errors and of outages are written for users;
	// details of internal errors are not shown.
	if e := (*asset.Error)(nil); errors.As(err, &e) && (status < 500 || status == http.StatusServiceUnavailable) {
		detail = e.Detail
	}
	if status >= 500 {
		api.log.ErrorContext(c.Request.Context(), "request failed",
			"request_id", c.GetString(requestIDKey), "code", code, "err", err)
	}
	if status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "1")
	}
	api.problem(c, status, string(code), detail)
}

// problem writes a problem+json response and aborts the handler chain.
func (api *API) problem(c *gin.Context, status int, code, detail string) {
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Render(status, problemJSON{problem{
		Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Code: code,
	}})
	c.Abort()
}

// problemRangeWriter turns the plain-text errors that http.ServeContent
// writes (416 for an unsatisfiable range) into problem+json, and drops the
// success-only headers from them.
type problemRangeWriter struct {
	http.ResponseWriter
	failed bool
}

func (w *problemRangeWriter) WriteHeader(status int) {
	if status < 400 {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.failed = true
	h := w.Header()
	for _, k := range []string{"Cache-Control", "ETag", "Last-Modified", "Content-Disposition", "Content-Length", "X-Cache-Status"} {
		h.Del(k)
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.ResponseWriter.WriteHeader(status)
	code, detail := "internal", "The content could not be served."
	if status == http.StatusRequestedRangeNotSatisfiable {
		code, detail = "range_not_satisfiable", "The requested range lies outside the content; see Content-Range for its size."
	}
	_ = json.NewEncoder(w.ResponseWriter).Encode(problem{
		Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Code: code,
	})
}

func (w *problemRangeWriter) Write(b []byte) (int, error) {
	if w.failed {
		return len(b), nil // the plain-text body of the error is replaced
	}
	return w.ResponseWriter.Write(b)
}
