package httpapi

import (
	"net/http"
	"testing"

	"assetd/internal/asset"
)

// TestEveryCodeHasAStatus: a domain code without a status would be
// answered as a 500 and hide its detail from the client.
func TestEveryCodeHasAStatus(t *testing.T) {
	want := map[asset.Code]int{
		asset.CodeInvalid: 400, asset.CodeForbidden: 403, asset.CodeNotFound: 404, asset.CodeTooLarge: 413,
		asset.CodeUnsupportedMedia: 415, asset.CodePrecondition: 412, asset.CodeUnprocessable: 422,
		asset.CodeUnavailable: 503, asset.CodeInternal: 500,
	}
	for code, status := range want {
		if got := statusOf[code]; got != status {
			t.Errorf("%s → %d (%s), want %d", code, got, http.StatusText(got), status)
		}
	}
	if len(statusOf) != len(want) {
		t.Errorf("statusOf has %d codes, this test knows %d: add the new code here", len(statusOf), len(want))
	}
}
