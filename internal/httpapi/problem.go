package httpapi

import (
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
