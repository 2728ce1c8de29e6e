package asset

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Find returns the first entry that sel selects (sel.Limit is ignored).
// Errors: ErrNotFound, CodeUnavailable.
func (s *Service) Find(ctx context.Context, sel Selection) (*Asset, error) {
	sel.Limit, sel.Now = 1, s.now().UTC()
	found, err := s.repo.List(ctx, sel)
	if err != nil {
		return nil, asUnavailable(err, "The database is not reachable; try again later.")
	}
	if len(found) == 0 {
		return nil, ErrNotFound
	}
	return found[0], nil
}

// List returns the entries that sel selects and, when more follow, the
// cursor of the next page (nil on the last page).
func (s *Service) List(ctx context.Context, sel Selection) ([]*Asset, *Cursor, error) {
	sel.Now = s.now().UTC()
	if sel.Limit == 0 {
		sel.Limit = 1
	}
	want := sel.Limit
	if want > 0 {
		sel.Limit++ // one more tells whether a next page exists
	}
	found, err := s.repo.List(ctx, sel)
	if err != nil {
		return nil, nil, asUnavailable(err, "The database is not reachable; try again later.")
	}
	if want < 0 || len(found) <= want {
		return found, nil, nil
	}
	found = found[:want]
	last := found[want-1]
	next := &Cursor{At: last.CreatedAt, EntryID: last.EntryID}
	if sel.Order == OrderModified {
		next.At = last.ModifiedAt
	}
	return found, next, nil
}

// MetadataETag is a strong validator of an entry's metadata: it changes
// whenever Update changes anything.
func MetadataETag(a *Asset) string {
	h := sha256.New()
	write := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(strconv.Itoa(len(p))))
			h.Write([]byte{':'})
			h.Write([]byte(p))
		}
	}
	write(string(a.Path), strconv.FormatInt(a.EntryID, 10), a.Alt, a.ModifiedAt.UTC().Format(time.RFC3339Nano))
	for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
		write(k, a.Labels[k])
	}
	write(a.Tags...)
	if a.ExpiresAt != nil {
		write(a.ExpiresAt.UTC().Format(time.RFC3339Nano))
	}
	return `"m` + hex.EncodeToString(h.Sum(nil)[:12]) + `"`
}

// Update replaces the alt text, labels and tags of the entry (path,
// entryID), and its expiry when m.Expires is not "" (an absent expires keeps
// the current one). ModifiedAt moves only when something changed. With
// ifMatch not "", the entry's MetadataETag must equal it. Errors:
// CodeInvalid, ErrNotFound, CodePrecondition (ifMatch differs, or a
// concurrent update won), CodeUnavailable.
func (s *Service) Update(ctx context.Context, path Path, entryID int64, m Metadata, ifMatch string) (*Asset, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	a, err := s.Find(ctx, Selection{Path: path, EntryID: &entryID})
	if err != nil {
		return nil, err
	}
	if ifMatch != "" && !etagMatches(ifMatch, MetadataETag(a)) {
		return nil, Errorf(CodePrecondition, "The entry's metadata changed since the ETag in If-Match was read.")
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	expiresAt := a.ExpiresAt
	if m.Expires != "" {
		if expiresAt, err = ResolveExpires(m.Expires, now); err != nil {
			return nil, err
		}
	}
	updated := *a
	updated.Alt, updated.Labels, updated.Tags, updated.ExpiresAt = m.Alt, nonNilLabels(m.Labels), nonNilTags(m.Tags), expiresAt
	if sameMetadata(a, &updated) {
		return a, nil
	}
	updated.ModifiedAt = now
	if err := s.repo.Update(ctx, &updated, a.ModifiedAt); err != nil {
		return nil, asUnavailable(err, "The database is not reachable; try again later.")
	}
	return &updated, nil
}

func sameMetadata(a, b *Asset) bool {
	sameExpiry := a.ExpiresAt == nil && b.ExpiresAt == nil ||
		a.ExpiresAt != nil && b.ExpiresAt != nil && a.ExpiresAt.Equal(*b.ExpiresAt)
	return a.Alt == b.Alt && maps.Equal(a.Labels, b.Labels) && slices.Equal(a.Tags, b.Tags) && sameExpiry
}

// etagMatches applies If-Match's strong comparison to a list of ETags.
func etagMatches(header, etag string) bool {
	for _, candidate := range strings.Split(header, ",") {
		c := strings.TrimSpace(candidate)
		if c == "*" || c == etag {
			return true
		}
	}
	return false
}

// Delete deletes the entries that sel selects; none is not an error. The
// rows go first and their objects into the trash in the same transaction;
// the trash is then emptied on a best-effort basis, and whatever remains is
// emptied later by Reap.
func (s *Service) Delete(ctx context.Context, sel Selection) error {
	sel.Now = s.now().UTC()
	n, err := s.repo.Delete(ctx, sel)
	if err != nil {
		return asUnavailable(err, "The database is not reachable; try again later.")
	}
	if n > 0 {
		if _, err := s.EmptyTrash(context.WithoutCancel(ctx)); err != nil {
			s.log.Warn("trash not emptied; the reaper will retry", "err", err)
		}
	}
	return nil
}

// Content is what a content, download or redirect request answers: the
// entry and variant, and either an open Object (the caller closes it) or a
// RedirectURL.
type Content struct {
	Asset   *Asset
	Variant *Variant
	Object  Object
	// RedirectURL is set instead of Object when the path's redirect strategy
	// sends clients elsewhere.
	RedirectURL string
	// CacheControl is the path's Cache-Control header, or "".
	CacheControl string
	// Cached is false when this request rendered the variant.
	Cached bool
	// Negotiated is true when the format was chosen from Accept.
	Negotiated bool
}

// OpenContent finds the entry that sel selects and opens the variant that
// req asks for (the original when req has no parameters or normalises to
// it), rendering and storing it on first use. When redirect is true and the
// path's strategy allows it, it resolves a redirect URL instead of opening;
// a store that cannot presign answers with the content. A missing object
// means a row points at nothing, which the consistency rule forbids: it is
// CodeInternal. Errors: CodeInvalid (parameters), ErrNotFound,
// CodeUnprocessable, CodeUnavailable, CodeInternal.
func (s *Service) OpenContent(ctx context.Context, sel Selection, req TransformRequest, redirect bool) (*Content, error) {
	sel.ForDelivery = true
	a, err := s.Find(ctx, sel)
	if err != nil {
		return nil, err
	}
	n, transform, err := s.transformationFor(a, req)
	if err != nil {
		return nil, err
	}
	policy := s.policies.Resolve(a.Path)
	c := &Content{Asset: a, Variant: a.Original(), CacheControl: policy.CacheControl, Cached: true, Negotiated: n.Negotiated}
	var fresh []byte
	if transform {
		r, err := s.variantFor(ctx, a, n.Transformation)
		if err != nil {
			return nil, err
		}
		c.Variant, c.Cached, fresh = r.variant, r.data == nil, r.data
	}
	if redirect {
		if c.RedirectURL, err = s.redirectURL(ctx, policy.Redirect, c.Variant); err != nil {
			return nil, err
		}
		if c.RedirectURL != "" {
			return c, nil
		}
	}
	if fresh != nil {
		c.Object = &memoryObject{Reader: bytes.NewReader(fresh), info: ObjectInfo{
			Size: int64(len(fresh)), ContentType: c.Variant.Attributes.ContentType, ModTime: c.Variant.CreatedAt,
		}}
		return c, nil
	}
	obj, err := s.store.Open(ctx, c.Variant.Bucket, c.Variant.Key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Wrap(CodeInternal, err, "The stored content is missing.")
	}
	if err != nil {
		return nil, asUnavailable(err, "The object store is not reachable; try again later.")
	}
	c.Object = obj
	return c, nil
}

// CheckTransform validates a request's parameters against entry sel without
// rendering anything, as the link format does. It returns the normalised
// request (Negotiated tells whether Accept mattered).
func (s *Service) CheckTransform(ctx context.Context, sel Selection, req TransformRequest) (*Asset, Normalized, error) {
	sel.ForDelivery = true
	a, err := s.Find(ctx, sel)
	if err != nil {
		return nil, Normalized{}, err
	}
	n, _, err := s.transformationFor(a, req)
	return a, n, err
}

// redirectURL resolves the redirect target of v under p, or "" when the
// request should be answered with the content.
func (s *Service) redirectURL(ctx context.Context, p RedirectPolicy, v *Variant) (string, error) {
	switch p.Strategy {
	case RedirectPresigned:
		presigner, ok := s.store.(Presigner)
		if !ok {
			return "", nil
		}
		u, err := presigner.PresignGet(ctx, v.Bucket, v.Key, p.TTL, v.Attributes.ContentType)
		if err != nil {
			return "", asUnavailable(err, "The object store could not sign a URL; try again later.")
		}
		return u.String(), nil
	case RedirectTemplate:
		return strings.NewReplacer("{bucket}", v.Bucket, "{key}", v.Key).Replace(p.Template), nil
	}
	return "", nil
}

// memoryObject serves bytes that were just rendered and stored, so that the
// first answer need not read them back.
type memoryObject struct {
	*bytes.Reader
	info ObjectInfo
}

func (m *memoryObject) Close() error     { return nil }
func (m *memoryObject) Info() ObjectInfo { return m.info }
