package asset

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"
)

// Service is the application: it stores entries, finds them, opens their
// bytes and deletes them, keeping the object store and the repository
// consistent (see the package documentation).
type Service struct {
	repo         Repository
	store        ObjectStore
	processor    Processor
	placeholders Placeholders
	fetcher      Fetcher
	policies     Policies
	buckets      []string
	limits       Limits // global: MaxSide and MaxPixels
	renders      singleflight.Group
	slots        *slots // bounds originals held in memory
	// buffers recycles the buffers originals are read into for rendering:
	// a cold render of a large photo would otherwise allocate (and the
	// garbage collector reclaim) megabytes per request.
	buffers sync.Pool
	wake    chan struct{} // wakes RunJobs when jobs were queued
	tempDir string
	now     func() time.Time
	log     *slog.Logger
}

// Deps are the Service's collaborators. Fetcher may be nil, which turns URL
// sources off; TempDir "" means os.TempDir; Now nil means time.Now; Logger nil
// means slog.Default.
type Deps struct {
	Repository   Repository
	Store        ObjectStore
	Processor    Processor
	Placeholders Placeholders
	Fetcher      Fetcher
	Policies     Policies
	// Buckets lists every bucket the policies name, for the sweeper.
	Buckets []string
	// Limits are the global limits on rendered variants (MaxSide,
	// MaxPixels); the path's output limits are added per request.
	Limits Limits
	// Renders bounds how many originals are held in memory for rendering
	// at once (the imaging workers); 0 means 1.
	Renders int
	TempDir string
	Now     func() time.Time
	Logger  *slog.Logger
}

// NewService returns a Service over d.
func NewService(d Deps) *Service {
	s := &Service{
		repo: d.Repository, store: d.Store, processor: d.Processor,
		placeholders: d.Placeholders, fetcher: d.Fetcher, policies: d.Policies,
		buckets: d.Buckets, limits: d.Limits, tempDir: d.TempDir, now: d.Now, log: d.Logger,
	}
	s.wake = make(chan struct{}, 1)
	s.slots = newSlots(d.Renders)
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// CreateRequest asks to store Content as a new entry at Path.
type CreateRequest struct {
	Path      Path
	Metadata  Metadata
	Content   *Upload
	Source    Source
	SourceURL string
}

// UploadLimit returns the most bytes an upload to path may have.
func (s *Service) UploadLimit(path Path) int64 {
	return s.policies.Resolve(path).MaxUploadBytes
}

// Spool buffers an upload body for path into a temporary file, refusing more
// than the path's upload limit (CodeTooLarge). The caller closes the Upload.
func (s *Service) Spool(path Path, r io.Reader) (*Upload, error) {
	return Spool(r, s.tempDir, s.UploadLimit(path))
}

// Create validates and stores a new entry and returns it with its original
// variant. The object is written before the row, so a 201 means both are
// durable. Errors: CodeInvalid (metadata), CodeUnsupportedMedia (content the
// path does not accept), CodeUnprocessable (undecodable or over the pixel
// limits), CodeUnavailable (a dependency is down). On error nothing is left
// behind, except an orphan object if the process dies between the two writes.
func (s *Service) Create(ctx context.Context, req CreateRequest) (*Asset, error) {
	if err := req.Metadata.Validate(); err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	policy := s.policies.Resolve(req.Path)
	expiresAt, err := ResolveExpires(req.Metadata.Expires, now)
	if err != nil {
		return nil, err
	}
	if req.Metadata.Expires == "" && policy.DefaultExpires > 0 {
		at := now.Add(policy.DefaultExpires)
		expiresAt = &at
	}
	if req.Content.Size() > policy.MaxUploadBytes {
		return nil, Errorf(CodeTooLarge, "The content is larger than the limit of %d bytes for this path.", policy.MaxUploadBytes)
	}
	inspection, err := s.processor.Inspect(ctx, req.Content.Name(), len(policy.LQIP) > 0)
	if err != nil {
		return nil, err
	}
	attrs := inspection.Attributes
	if err := checkAccepted(policy, inspection.Class, attrs.ContentType); err != nil {
		return nil, err
	}
	content, size, preview := req.Content.Reader(), req.Content.Size(), inspection.Preview
	if inspection.Class == ClassImage && policy.Preprocessing != nil {
		r, err := s.preprocess(ctx, req.Content, attrs, policy)
		if err != nil {
			return nil, err
		}
		if r != nil {
			content, size, attrs, preview = bytes.NewReader(r.Data), int64(len(r.Data)), r.Attributes, r.Preview
		}
	}
	var lqip LQIP
	if inspection.Class == ClassImage && preview != nil && len(policy.LQIP) > 0 {
		if lqip, err = s.placeholders.Encode(preview, policy.LQIP); err != nil {
			return nil, Wrap(CodeInternal, err, "The placeholders could not be computed.")
		}
	}

	key := newObjectKey(attrs)
	if err := s.store.Create(ctx, policy.Bucket, key, content, size, attrs.ContentType); err != nil {
		return nil, asUnavailable(err, "The object store could not take the content; try again later.")
	}
	a := &Asset{
		Class: inspection.Class, Path: req.Path, Alt: req.Metadata.Alt,
		Labels: nonNilLabels(req.Metadata.Labels), Tags: nonNilTags(req.Metadata.Tags),
		Source: req.Source, SourceURL: req.SourceURL,
		Variants: []Variant{{
			IsOriginal: true, Bucket: policy.Bucket, Key: key,
			Attributes: attrs, LQIP: lqip, CreatedAt: now,
		}},
		CreatedAt: now, ModifiedAt: now, ExpiresAt: expiresAt,
	}
	if err := s.repo.Create(ctx, a); err != nil {
		// The row was not written, so the object is unreferenced. Remove it
		// now; if that fails too, the sweeper removes it after its grace period.
		if derr := s.store.Delete(context.WithoutCancel(ctx), policy.Bucket, key); derr != nil {
			s.log.Warn("orphan object left for the sweeper", "bucket", policy.Bucket, "key", key, "err", derr)
		}
		return nil, asUnavailable(err, "The database could not record the entry; try again later.")
	}
	s.enqueueEager(ctx, a, policy.EagerVariants)
	return a, nil
}

// preprocess applies the path's preprocessing to an upload. It returns nil
// when the preprocessing would not change the image.
func (s *Service) preprocess(ctx context.Context, up *Upload, attrs Attributes, policy Policy) (*Rendering, error) {
	n, err := Normalize(TransformRequest{Params: policy.Preprocessing}, attrs, s.limits)
	if err != nil {
		return nil, Wrap(CodeInternal, err, "The path's preprocessing is invalid.")
	}
	if n.Identity {
		return nil, nil
	}
	if err := s.slots.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.slots.release()
	src, err := io.ReadAll(up.Reader())
	if err != nil {
		return nil, Wrap(CodeInternal, err, "The upload could not be read back.")
	}
	return s.processor.Render(ctx, src, attrs, n.Transformation, RenderOptions{Preview: len(policy.LQIP) > 0})
}

// CreateFromURL downloads rawURL with the Fetcher and stores it like an
// upload, with Source "url". Errors are those of Create and of Fetcher.Fetch;
// without a Fetcher every URL is CodeForbidden.
func (s *Service) CreateFromURL(ctx context.Context, path Path, rawURL string, m Metadata) (*Asset, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if s.fetcher == nil {
		return nil, Errorf(CodeForbidden, "URL ingestion is not enabled on this server.")
	}
	limit := s.UploadLimit(path)
	up, err := newUpload(s.tempDir)
	if err != nil {
		return nil, err
	}
	defer up.Close()
	if up.size, err = s.fetcher.Fetch(ctx, rawURL, up.file, limit); err != nil {
		return nil, err
	}
	return s.Create(ctx, CreateRequest{Path: path, Metadata: m, Content: up, Source: SourceURL, SourceURL: rawURL})
}

// Ready reports whether the database and the object store are reachable.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.repo.Ping(ctx); err != nil {
		return Wrap(CodeUnavailable, err, "The database is not reachable.")
	}
	if err := s.store.Ping(ctx); err != nil {
		return Wrap(CodeUnavailable, err, "The object store is not reachable.")
	}
	return nil
}

// checkAccepted applies the path's allowed-content-types: images are accepted
// unless the list excludes them; other content only when the list names it.
func checkAccepted(p Policy, class Class, contentType string) error {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = contentType
	}
	allowed := slices.ContainsFunc(p.AllowedContentTypes, func(t string) bool { return strings.EqualFold(t, mediaType) })
	switch {
	case allowed:
		return nil
	case class == ClassImage && len(p.AllowedContentTypes) == 0:
		return nil
	case class == ClassImage:
		return Errorf(CodeUnsupportedMedia, "This path does not accept %s images; it accepts %s.", mediaType, strings.Join(p.AllowedContentTypes, ", "))
	default:
		return Errorf(CodeUnsupportedMedia, "The content (%s) is not a supported image format (jpg, png, webp, avif, heic, jxl, gif).", mediaType)
	}
}

// newObjectKey returns a fresh, time-ordered object key: a UUIDv7 and the
// format's extension. It never contains user input.
func newObjectKey(a Attributes) string {
	ext := a.Format.Extension()
	if ext == "" {
		ext = ".bin"
	}
	return uuid.Must(uuid.NewV7()).String() + ext
}

// asUnavailable keeps domain errors as they are and turns anything else (a
// driver or network error) into CodeUnavailable with detail.
func asUnavailable(err error, detail string) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return Wrap(CodeUnavailable, err, detail)
}

func nonNilLabels(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilTags(t []string) []string {
	if t == nil {
		return []string{}
	}
	return t
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
