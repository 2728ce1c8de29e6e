// Package s3store is an asset.ObjectStore on an S3-compatible server (MinIO,
// AWS S3, …) through minio-go.
//
// A single PUT (or a multipart upload, which is completed only at the end)
// makes an object appear whole or not at all, so readers never see a partial
// object. Opened objects read lazily: Seek moves an offset, and the next Read
// asks the server for a range from there, so serving the tail of a large
// object does not download its head. Reads after the first are conditional on
// the ETag seen at Open, so an object replaced while it is being read fails
// the read instead of mixing two versions.
//
// Errors are translated here: a missing object or bucket matches
// fs.ErrNotExist, and an unreachable or failing server is an *asset.Error
// with asset.CodeUnavailable. Details never name the endpoint or credentials.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"assetd/internal/asset"
)

var (
	_ asset.ObjectStore  = (*Store)(nil)
	_ asset.ObjectLister = (*Store)(nil)
	_ asset.Presigner    = (*Store)(nil)
)

// Config says how to reach the server.
type Config struct {
	// Endpoint is host[:port], without a scheme.
	Endpoint  string
	AccessKey string
	SecretKey string
	// Region of the buckets. When empty, minio-go asks the server for each
	// bucket's location once (an extra request, also before presigning).
	Region string
	// Secure selects HTTPS.
	Secure bool
	// PathStyle addresses buckets as endpoint/bucket rather than
	// bucket.endpoint, as MinIO and most self-hosted servers need.
	PathStyle bool
	// CreateBuckets makes New create the buckets that do not exist.
	CreateBuckets bool
}

// Presigned URL lifetimes that S3 accepts.
const (
	MinPresignTTL = time.Second
	MaxPresignTTL = 7 * 24 * time.Hour
)

// Store is an object store on one S3 server. It is safe for concurrent use.
type Store struct {
	client  *minio.Client
	buckets []string
}

// New returns a store for cfg that uses buckets. When cfg.CreateBuckets is set
// it creates the buckets that are missing, which needs the server; otherwise
// New makes no request and Ping reports a missing bucket. It fails when cfg
// is malformed, or (with CreateBuckets) when the server is unreachable
// (asset.CodeUnavailable) or refuses to create a bucket.
func New(ctx context.Context, cfg Config, buckets []string) (*Store, error) {
	return newStore(ctx, cfg, buckets, nil)
}

// newStore is New with a hook to adjust the client options, for tests.
func newStore(ctx context.Context, cfg Config, buckets []string, tweak func(*minio.Options)) (*Store, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("s3store: the endpoint is empty")
	}
	opts := &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.Secure,
		Region: cfg.Region,
	}
	if cfg.PathStyle {
		opts.BucketLookup = minio.BucketLookupPath
	}
	if tweak != nil {
		tweak(opts)
	}
	client, err := minio.New(cfg.Endpoint, opts)
	if err != nil {
		// minio-go's message names the endpoint, which is configuration,
		// not a secret; it never contains the keys.
		return nil, fmt.Errorf("s3store: invalid endpoint: %w", err)
	}
	s := &Store{client: client, buckets: append([]string(nil), buckets...)}
	if cfg.CreateBuckets {
		for _, b := range s.buckets {
			if err := s.ensureBucket(ctx, b, cfg.Region); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

func (s *Store) ensureBucket(ctx context.Context, bucket, region string) error {
	ok, err := s.client.BucketExists(ctx, bucket)
	if err != nil {
		return translate(err, "check bucket "+bucket)
	}
	if ok {
		return nil
	}
	err = s.client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: region})
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && (resp.Code == "BucketAlreadyOwnedByYou" || resp.Code == "BucketAlreadyExists") {
		// Another instance created it first; BucketAlreadyExists would
		// mean someone else owns it, which the first write will report.
		return nil
	}
	return translate(err, "create bucket "+bucket)
}

// Create stores exactly size bytes from r as bucket/key with the content type,
// replacing any existing object. It fails, leaving any previous object
// unchanged, when r yields fewer or more than size bytes or fails (the
// reader's error is kept in the chain), when ctx is done, when the bucket is
// missing (fs.ErrNotExist), or when the server is unreachable
// (asset.CodeUnavailable). An r that is also an io.ReaderAt and io.Seeker
// (such as a spooled *os.File) is measured up front, and then a failed
// request can be retried by minio-go.
func (s *Store) Create(ctx context.Context, bucket, key string, r io.Reader, size int64, contentType string) error {
	if size < 0 {
		return fmt.Errorf("s3store: create %s/%s: negative size %d", bucket, key, size)
	}
	body := r
	var guard *exactReader
	if rs, ok := seekable(r); ok {
		if err := checkRemaining(rs, size); err != nil {
			return fmt.Errorf("s3store: create %s/%s: %w", bucket, key, err)
		}
	} else {
		guard = &exactReader{ctx: ctx, r: r, left: size}
		body = guard
	}
	_, err := s.client.PutObject(ctx, bucket, key, body, size, minio.PutObjectOptions{ContentType: contentType})
	if err != nil && guard != nil && guard.err != nil {
		// The upload failed because of the reader, not the server: report
		// the reader's error rather than the transport's account of it.
		return fmt.Errorf("s3store: create %s/%s: %w", bucket, key, guard.err)
	}
	return translate(err, "create "+bucket+"/"+key)
}

// seekable reports whether minio-go will read r by offsets (it then cuts
// exactly size bytes itself, and can rewind to retry).
func seekable(r io.Reader) (io.ReadSeeker, bool) {
	_, isReaderAt := r.(io.ReaderAt)
	rs, isSeeker := r.(io.ReadSeeker)
	return rs, isReaderAt && isSeeker
}

// checkRemaining fails unless exactly size bytes follow the current offset.
func checkRemaining(rs io.Seeker, size int64) error {
	cur, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	end, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if _, err := rs.Seek(cur, io.SeekStart); err != nil {
		return err
	}
	switch left := end - cur; {
	case left < size:
		return fmt.Errorf("got %d of %d bytes: %w", left, size, io.ErrUnexpectedEOF)
	case left > size:
		return fmt.Errorf("the reader holds %d bytes, more than the declared %d", left, size)
	}
	return nil
}

// Open returns the object bucket/key with its size, content type and
// modification time. It makes one HEAD request; reading starts later. A
// missing object or bucket is an error matching fs.ErrNotExist; an
// unreachable server is asset.CodeUnavailable. The object's reads use ctx,
// so they fail once ctx is done.
func (s *Store) Open(ctx context.Context, bucket, key string) (asset.Object, error) {
	obj, err := s.client.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, translate(err, "open "+bucket+"/"+key)
	}
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, translate(err, "open "+bucket+"/"+key)
	}
	return &object{Object: obj, info: asset.ObjectInfo{
		Size:        st.Size,
		ContentType: st.ContentType,
		ModTime:     st.LastModified,
	}}, nil
}

// Delete removes bucket/key. A missing object, or a missing bucket, is not an
// error; an unreachable server is asset.CodeUnavailable.
func (s *Store) Delete(ctx context.Context, bucket, key string) error {
	err := s.client.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{})
	if err := translate(err, "delete "+bucket+"/"+key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Ping reports whether the server answers and every bucket given to New
// exists (one HEAD request per bucket; ListBuckets when there are none).
// Failures are asset.CodeUnavailable, or ctx's error.
func (s *Store) Ping(ctx context.Context) error {
	if len(s.buckets) == 0 {
		_, err := s.client.ListBuckets(ctx)
		return translate(err, "list buckets")
	}
	for _, b := range s.buckets {
		ok, err := s.client.BucketExists(ctx, b)
		if err != nil {
			return translate(err, "check bucket "+b)
		}
		if !ok {
			return asset.Wrap(asset.CodeUnavailable, fmt.Errorf("s3store: bucket %s does not exist", b),
				"A storage bucket is missing.")
		}
	}
	return nil
}

// List calls fn with the key and last modification time of every object in
// bucket, in key order, through ListObjects (1000 keys per request). Only
// complete objects exist on the server, so a Create in progress (a PUT or an
// unfinished multipart upload) is never reported. Objects created or deleted
// while List runs may or may not be reported. A missing bucket lists
// nothing. An error from fn stops the listing and is returned as is. List
// fails with ctx's error once ctx is done, with asset.CodeUnavailable when
// the server is unreachable or failing, and with the server's error
// otherwise (such as access denied).
func (s *Store) List(ctx context.Context, bucket string, fn func(key string, modTime time.Time) error) error {
	lctx, cancel := context.WithCancel(ctx)
	objects := s.client.ListObjects(lctx, bucket, minio.ListObjectsOptions{Recursive: true})
	defer func() {
		// minio-go's lister goroutine only ends once it has handed over
		// its last entry, so stop it and drain the channel.
		cancel()
		for range objects {
		}
	}()
	for o := range objects {
		if o.Err != nil {
			err := translate(o.Err, "list "+bucket)
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := fn(o.Key, o.LastModified); err != nil {
			return err
		}
	}
	// minio-go ends the listing silently when ctx is done between pages;
	// that must not pass for a complete listing.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3store: list %s: %w", bucket, err)
	}
	return nil
}

// PresignGet returns a URL from which anyone can GET bucket/key without
// credentials until ttl has passed. When contentType is not empty the
// response carries it as its Content-Type. Signing is local, except that
// without a configured Region the bucket's location is fetched once. It fails
// when ttl is outside [MinPresignTTL, MaxPresignTTL] or the location lookup
// fails. The object's existence is not checked.
func (s *Store) PresignGet(ctx context.Context, bucket, key string, ttl time.Duration, contentType string) (*url.URL, error) {
	if ttl < MinPresignTTL || ttl > MaxPresignTTL {
		return nil, fmt.Errorf("s3store: presign %s/%s: ttl %v outside [%v, %v]", bucket, key, ttl, MinPresignTTL, MaxPresignTTL)
	}
	params := url.Values{}
	if contentType != "" {
		params.Set("response-content-type", contentType)
	}
	u, err := s.client.PresignedGetObject(ctx, bucket, key, ttl, params)
	if err != nil {
		return nil, translate(err, "presign "+bucket+"/"+key)
	}
	return u, nil
}

// object is a lazily read minio object with the info fetched at Open.
type object struct {
	*minio.Object
	info asset.ObjectInfo
}

func (o *object) Info() asset.ObjectInfo { return o.info }

// translate maps minio-go errors to what the domain understands. The cause
// stays in the chain for logs; Details are fixed sentences.
func translate(err error, op string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("s3store: %s: %w", op, err)
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.Code == minio.NoSuchKey || resp.Code == minio.NoSuchBucket:
			return fmt.Errorf("s3store: %s: %w (%w)", op, fs.ErrNotExist, err)
		case resp.StatusCode >= 500:
			return asset.Wrap(asset.CodeUnavailable, fmt.Errorf("s3store: %s: %w", op, err),
				"The object store is failing; try again later.")
		}
		return fmt.Errorf("s3store: %s: %w", op, err)
	}
	var netErr net.Error
	var urlErr *url.Error
	if errors.As(err, &netErr) || errors.As(err, &urlErr) {
		return asset.Wrap(asset.CodeUnavailable, fmt.Errorf("s3store: %s: %w", op, err),
			"The object store is unreachable; try again later.")
	}
	return fmt.Errorf("s3store: %s: %w", op, err)
}

// exactReader passes on exactly left bytes of r and fails the upload when r
// has fewer or more, or when ctx is done. It withholds the final bytes until
// it has made sure nothing follows them: a consumer that fills a buffer with
// io.ReadFull drops an error that comes with the last bytes, and would then
// upload a truncated object.
type exactReader struct {
	ctx  context.Context
	r    io.Reader
	left int64
	err  error // the first failure, repeated on every later Read
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if err := e.ctx.Err(); err != nil {
		e.err = err
		return 0, err
	}
	if e.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) < e.left {
		n, err := e.r.Read(p)
		e.left -= int64(n)
		switch {
		case err == io.EOF:
			e.err = fmt.Errorf("the reader ended %d bytes short: %w", e.left, io.ErrUnexpectedEOF)
			return n, e.err
		case err != nil:
			e.err = err
		}
		return n, err
	}
	p = p[:e.left]
	n, err := io.ReadFull(e.r, p)
	if err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = fmt.Errorf("the reader ended %d bytes short: %w", e.left-int64(n), io.ErrUnexpectedEOF)
		}
		e.err = err
		return 0, err
	}
	var probe [1]byte
	switch k, err := io.ReadFull(e.r, probe[:]); {
	case k > 0:
		e.err = errors.New("the reader holds more than the declared size")
		return 0, e.err
	case err != io.EOF:
		e.err = err
		return 0, err
	}
	if err := e.ctx.Err(); err != nil {
		e.err = err
		return 0, err
	}
	e.left = 0
	return n, nil
}
