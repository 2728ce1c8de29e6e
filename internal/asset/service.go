package asset

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
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
	tempDir      string
	now          func() time.Time
	log          *slog.Logger
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
	TempDir      string
	Now          func() time.Time
	Logger       *slog.Logger
}

// NewService returns a Service over d.
func NewService(d Deps) *Service {
	s := &Service{
		repo: d.Repository, store: d.Store, processor: d.Processor,
		placeholders: d.Placeholders, fetcher: d.Fetcher, policies: d.Policies,
		tempDir: d.TempDir, now: d.Now, log: d.Logger,
	}
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
	expiresAt, err := ResolveExpires(req.Metadata.Expires, now)
	if err != nil {
		return nil, err
	}
	policy := s.policies.Resolve(req.Path)
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
	var lqip LQIP
	if inspection.Class == ClassImage && inspection.Preview != nil && len(policy.LQIP) > 0 {
		if lqip, err = s.placeholders.Encode(inspection.Preview, policy.LQIP); err != nil {
			return nil, Wrap(CodeInternal, err, "The placeholders could not be computed.")
		}
	}

	key := newObjectKey(attrs)
	if err := s.store.Create(ctx, policy.Bucket, key, req.Content.Reader(), req.Content.Size(), attrs.ContentType); err != nil {
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
	return a, nil
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

// Find returns the entry at path selected by entryID (nil for the newest).
// Errors: ErrNotFound, CodeUnavailable.
func (s *Service) Find(ctx context.Context, path Path, entryID *int64) (*Asset, error) {
	a, err := s.repo.Find(ctx, FindQuery{Path: path, EntryID: entryID, Now: s.now().UTC()})
	if err != nil {
		return nil, asUnavailable(err, "The database is not reachable; try again later.")
	}
	return a, nil
}

// Open opens the bytes of variant v of an entry. A missing object means a row
// points at nothing, which the consistency rule forbids: it is CodeInternal.
func (s *Service) Open(ctx context.Context, v *Variant) (Object, error) {
	obj, err := s.store.Open(ctx, v.Bucket, v.Key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Wrap(CodeInternal, err, "The stored content is missing.")
	}
	if err != nil {
		return nil, asUnavailable(err, "The object store is not reachable; try again later.")
	}
	return obj, nil
}

// Delete deletes the entry (path, entryID), or the newest entry at path when
// entryID is nil, if it exists; a missing entry is not an error. The rows go first and their objects into the trash in the
// same transaction; the trash is then emptied on a best-effort basis, and
// whatever remains is emptied later by EmptyTrash.
func (s *Service) Delete(ctx context.Context, path Path, entryID *int64) error {
	if entryID == nil {
		newest, err := s.Find(ctx, path, nil)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		entryID = &newest.EntryID
	}
	deleted, err := s.repo.Delete(ctx, path, *entryID)
	if err != nil {
		return asUnavailable(err, "The database is not reachable; try again later.")
	}
	if deleted {
		if _, err := s.EmptyTrash(context.WithoutCancel(ctx)); err != nil {
			s.log.Warn("trash not emptied; the reaper will retry", "err", err)
		}
	}
	return nil
}

// trashBatch is how many trashed objects EmptyTrash handles per round.
const trashBatch = 100

// EmptyTrash deletes the objects in the trash and then their trash rows, until
// the trash is empty or an error occurs. It returns how many objects it
// deleted. It is idempotent and safe to run concurrently: deleting an object
// twice is harmless.
func (s *Service) EmptyTrash(ctx context.Context) (int, error) {
	total := 0
	for {
		items, err := s.repo.ListTrash(ctx, trashBatch)
		if err != nil || len(items) == 0 {
			return total, err
		}
		done := make([]int64, 0, len(items))
		var firstErr error
		for _, it := range items {
			if err := s.store.Delete(ctx, it.Bucket, it.Key); err != nil {
				firstErr = cmpOr(firstErr, err)
				continue
			}
			done = append(done, it.ID)
		}
		if len(done) > 0 {
			if err := s.repo.DeleteTrash(ctx, done); err != nil {
				return total, err
			}
		}
		total += len(done)
		if firstErr != nil {
			return total, firstErr
		}
	}
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
