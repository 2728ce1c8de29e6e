package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"assetd/internal/asset"
)

// timeLayout is RFC 3339 in UTC with exactly microsecond precision.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

type assetJSON struct {
	Class      string            `json:"class"`
	Path       string            `json:"path"`
	EntryID    int64             `json:"entryId"`
	Alt        string            `json:"alt"`
	Labels     map[string]string `json:"labels"`
	Tags       []string          `json:"tags"`
	Source     string            `json:"source"`
	SourceURL  *string           `json:"sourceUrl"`
	Variants   []variantJSON     `json:"variants"`
	CreatedAt  string            `json:"createdAt"`
	ModifiedAt string            `json:"modifiedAt"`
	ExpiresAt  *string           `json:"expiresAt"`
}

type variantJSON struct {
	IsOriginalVariant bool                `json:"isOriginalVariant"`
	StoreBucket       string              `json:"storeBucket"`
	StoreKey          string              `json:"storeKey"`
	Attributes        attributesJSON      `json:"attributes"`
	Transformation    *transformationJSON `json:"transformation"`
	LQIP              lqipJSON            `json:"lqip"`
}

type attributesJSON struct {
	Width       int     `json:"width"`
	Height      int     `json:"height"`
	Format      *string `json:"format"`
	PageCount   int     `json:"pageCount"`
	Loop        int     `json:"loop"`
	Orientation int     `json:"orientation"`
	Size        int64   `json:"size"`
	ContentType string  `json:"contentType"`
}

// lqipJSON holds the placeholders; a kind the path does not compute is null.
type lqipJSON struct {
	Blurhash  *string `json:"blurhash"`
	Thumbhash *string `json:"thumbhash"`
}

type linkJSON struct {
	URL       string   `json:"url"`
	Alt       string   `json:"alt"`
	LQIP      lqipJSON `json:"lqip"`
	ExpiresAt *string  `json:"expiresAt"`
}

func toAssetJSON(a *asset.Asset) assetJSON {
	out := assetJSON{
		Class: string(a.Class), Path: a.Path.String(), EntryID: a.EntryID, Alt: a.Alt,
		Labels: a.Labels, Tags: a.Tags, Source: string(a.Source),
		SourceURL: optional(a.SourceURL), Variants: make([]variantJSON, 0, len(a.Variants)),
		CreatedAt: formatTime(a.CreatedAt), ModifiedAt: formatTime(a.ModifiedAt),
		ExpiresAt: formatOptionalTime(a.ExpiresAt),
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	for _, v := range a.Variants {
		out.Variants = append(out.Variants, variantJSON{
			IsOriginalVariant: v.IsOriginal, StoreBucket: v.Bucket, StoreKey: v.Key,
			Attributes: attributesJSON{
				Width: v.Attributes.Width, Height: v.Attributes.Height,
				Format: optional(string(v.Attributes.Format)), PageCount: v.Attributes.PageCount,
				Loop: v.Attributes.Loop, Orientation: v.Attributes.Orientation,
				Size: v.Attributes.Size, ContentType: v.Attributes.ContentType,
			},
			Transformation: toTransformationJSON(v.Transformation),
			LQIP:           toLQIPJSON(v.LQIP),
		})
	}
	return out
}

func toLQIPJSON(l asset.LQIP) lqipJSON {
	return lqipJSON{Blurhash: optional(l.Blurhash), Thumbhash: optional(l.Thumbhash)}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func formatOptionalTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := formatTime(*t)
	return &s
}

// metadataJSON is the client's metadata document. Unknown fields are refused.
type metadataJSON struct {
	Alt     string            `json:"alt"`
	Labels  map[string]string `json:"labels"`
	Tags    []string          `json:"tags"`
	Expires string            `json:"expires"`
}

func (m metadataJSON) toMetadata() asset.Metadata {
	return asset.Metadata{Alt: m.Alt, Labels: m.Labels, Tags: m.Tags, Expires: m.Expires}
}

// urlSourceJSON is the body of a JSON store request.
type urlSourceJSON struct {
	URL string `json:"url"`
	metadataJSON
}

// decodeStrict decodes exactly one JSON object from data into v: no unknown
// fields, no trailing data, and not empty, null or a non-object.
func decodeStrict(data []byte, v any, what string) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return asset.Errorf(asset.CodeInvalid, "The %s must be a JSON object.", what)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return asset.Errorf(asset.CodeInvalid, "The %s is not valid: %s.", what, jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return asset.Errorf(asset.CodeInvalid, "The %s has data after its JSON object.", what)
	}
	return nil
}

// jsonProblem describes a decoding error without echoing Go type names.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return "field \"" + typeErr.Field + "\" has the wrong type"
	case errors.As(err, &syntaxErr):
		return "malformed JSON"
	default:
		// Unknown-field errors read `json: unknown field "x"`.
		msg := err.Error()
		if len(msg) > 6 && msg[:6] == "json: " {
			msg = msg[6:]
		}
		return msg
	}
}

// problemJSON renders a problem with the application/problem+json type.
type problemJSON struct{ p problem }

func (r problemJSON) Render(w http.ResponseWriter) error {
	r.WriteContentType(w)
	return json.NewEncoder(w).Encode(r.p)
}

func (r problemJSON) WriteContentType(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/problem+json")
}

// entriesJSON is the envelope of the entries format.
type entriesJSON struct {
	Entries []assetJSON `json:"entries"`
	Next    *string     `json:"next"`
}

// transformationJSON is the normalised transformation of a variant, every
// field filled in, named after the query parameters.
type transformationJSON struct {
	Width       int     `json:"w"`
	Height      int     `json:"h"`
	Fit         string  `json:"fit"`
	Gravity     string  `json:"g"`
	Orientation int     `json:"orientation"`
	Filter      string  `json:"filter"`
	Blur        int     `json:"blur"`
	Pad         int     `json:"pad"`
	PadColor    *string `json:"pad-c"`
	Format      string  `json:"format"`
	Quality     *int    `json:"q"`
}

// toTransformationJSON returns nil (JSON null) for the original.
func toTransformationJSON(t *asset.Transformation) *transformationJSON {
	if t == nil {
		return nil
	}
	out := &transformationJSON{
		Width: t.Width, Height: t.Height, Fit: string(t.Fit), Gravity: string(t.Gravity),
		Orientation: t.Orientation, Filter: string(t.Filter), Blur: t.Blur, Pad: t.Pad, Format: string(t.Format),
	}
	if t.Pad > 0 {
		c := t.PadColor.String()
		out.PadColor = &c
	}
	if t.Quality > 0 {
		q := t.Quality
		out.Quality = &q
	}
	return out
}
