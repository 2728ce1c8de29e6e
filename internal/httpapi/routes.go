// Package httpapi is the HTTP face of assetd: routing, request parsing,
// JSON shapes and problem+json errors. Handlers parse, make one service call,
// and render; all rules live in internal/asset.
package httpapi

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"assetd/internal/asset"
)

// Options configure the API.
type Options struct {
	// PublicURL is the externally visible base URL, without a trailing
	// slash, used in Location headers and links.
	PublicURL string
	// Logger receives one line per request; nil means slog.Default.
	Logger *slog.Logger
	// Signer, when not nil, guards every GET under /assets with a URL
	// signature and signs the URLs that link returns.
	Signer URLSigner
}

// URLSigner signs and verifies request URLs. Implementation: signing.
type URLSigner interface {
	// Verify checks the signature of a request path (escaped) and raw
	// query at now; errors are *asset.Error (CodeForbidden, CodeInvalid).
	Verify(path, rawQuery string, now time.Time) error
	// SignedQuery returns query with its signature added, encoded.
	SignedQuery(path string, query url.Values, expires time.Time) string
}

// API serves the assetd HTTP API over a Service.
type API struct {
	svc       *asset.Service
	publicURL string
	log       *slog.Logger
	signer    URLSigner
}

// New returns the HTTP handler of the whole API.
func New(svc *asset.Service, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	api := &API{svc: svc, publicURL: opts.PublicURL, log: opts.Logger, signer: opts.Signer}

	r := gin.New()
	// Asset paths are exact: never redirect /a/ to /a or clean /a//b.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.Use(api.requestID, api.accessLog, api.recoverPanic)
	r.NoRoute(func(c *gin.Context) {
		api.fail(c, asset.Errorf(asset.CodeNotFound, "There is no such route; asset routes start with /assets/."))
	})
	r.NoMethod(func(c *gin.Context) {
		api.problem(c, http.StatusMethodNotAllowed, "method_not_allowed", "This route does not accept "+c.Request.Method+"; see the Allow header.")
	})

	r.GET("/livez", api.livez)
	r.GET("/readyz", api.readyz)

	r.POST("/assets/*rest", api.store)
	r.GET("/assets/*rest", api.verifySignature, api.fetch)
	r.HEAD("/assets/*rest", api.verifySignature, api.fetch)
	r.PUT("/assets/*rest", api.update)
	r.DELETE("/assets/*rest", api.delete)
	return r
}
