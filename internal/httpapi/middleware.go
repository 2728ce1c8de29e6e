package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

const requestIDKey = "request_id"

// requestID takes a well-formed X-Request-Id from the client or makes one,
// and echoes it, so a log line can be matched to a response.
func (api *API) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if !validRequestID(id) {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Set(requestIDKey, id)
	c.Header("X-Request-Id", id)
	c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

// accessLog writes one structured line per request.
func (api *API) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	api.log.InfoContext(c.Request.Context(), "request",
		"request_id", c.GetString(requestIDKey),
		"method", c.Request.Method,
		"path", c.Request.URL.EscapedPath(),
		"status", c.Writer.Status(),
		"bytes", c.Writer.Size(),
		"duration_ms", float64(time.Since(start).Microseconds())/1000,
	)
}

// recoverPanic turns a panic into a logged 500 problem without a stack trace
// in the response. http.ErrAbortHandler is re-raised, as net/http expects.
func (api *API) recoverPanic(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			api.log.ErrorContext(c.Request.Context(), "panic", "request_id", c.GetString(requestIDKey), "panic", v)
			if !c.Writer.Written() {
				api.problem(c, http.StatusInternalServerError, "internal", "The server could not complete the request; it has been logged.")
			}
		}
	}()
	c.Next()
}

// verifySignature refuses a GET whose URL signature is missing, wrong or
// expired, when signing is on. Writes are not signed: API keys will guard
// them.
func (api *API) verifySignature(c *gin.Context) {
	if api.signer == nil {
		return
	}
	if err := api.signer.Verify(c.Request.URL.EscapedPath(), c.Request.URL.RawQuery, time.Now()); err != nil {
		api.fail(c, err)
	}
}
