package asset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"time"
)

// renderTimeout bounds one render, which runs detached from the request that
// started it so that the requests waiting on it are not failed when that
// client goes away.
const renderTimeout = 2 * time.Minute

// rendered is a variant with, when this process just rendered it, its
// bytes, so that the first answer need not read them back from the store.
type rendered struct {
	variant *Variant
	data    []byte // nil when the variant came from the repository
}

// variantFor returns the variant of a that t describes, rendering and
// storing it on first use. Concurrent identical requests in one process
// render once; across processes the repository's unique key decides, and the
// loser serves the winner's variant and deletes its own object.
func (s *Service) variantFor(ctx context.Context, a *Asset, t Transformation) (rendered, error) {
	key := t.Key()
	v, err := s.repo.FindVariant(ctx, a.ID, key)
	if err == nil {
		return rendered{variant: v}, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return rendered{}, asUnavailable(err, "The database is not reachable; try again later.")
	}
	flightKey := strconv.FormatInt(a.ID, 10) + "/" + key
	done := s.renders.DoChan(flightKey, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renderTimeout)
		defer cancel()
		return s.renderVariant(rctx, a, t, RenderOptions{})
	})
	select {
	case res := <-done:
		if res.Err != nil {
			return rendered{}, res.Err
		}
		return res.Val.(rendered), nil
	case <-ctx.Done():
		// The render goes on for the other requests and for later ones.
		return rendered{}, Wrap(CodeUnavailable, ctx.Err(), "The request ended before the variant was rendered.")
	}
}

// renderVariant renders t from a's original, stores the object, then the
// row. If another process stored the same variant first, its variant is
// returned and this object is deleted.
func (s *Service) renderVariant(ctx context.Context, a *Asset, t Transformation, opts RenderOptions) (rendered, error) {
	orig := a.Original()
	if err := s.slots.acquire(ctx); err != nil {
		return rendered{}, err
	}
	src, err := s.readObject(ctx, orig)
	if err != nil {
		s.slots.release()
		return rendered{}, err
	}
	policy := s.policies.Resolve(a.Path)
	opts.Preview = len(policy.LQIP) > 0 && !t.KeepsPlaceholders()
	r, err := s.processor.Render(ctx, *src, orig.Attributes, t, opts)
	s.releaseBuffer(src)
	s.slots.release()
	if err != nil {
		return rendered{}, err
	}
	lqip := orig.LQIP
	if opts.Preview && r.Preview != nil {
		if lqip, err = s.placeholders.Encode(r.Preview, policy.LQIP); err != nil {
			return rendered{}, Wrap(CodeInternal, err, "The placeholders could not be computed.")
		}
	}
	v := &Variant{
		TransformKey: t.Key(), Transformation: &t, Bucket: orig.Bucket, Key: newObjectKey(r.Attributes),
		Attributes: r.Attributes, LQIP: lqip, CreatedAt: s.now().UTC().Truncate(time.Microsecond),
	}
	if err := s.store.Create(ctx, v.Bucket, v.Key, bytes.NewReader(r.Data), int64(len(r.Data)), r.Attributes.ContentType); err != nil {
		return rendered{}, asUnavailable(err, "The object store could not take the variant; try again later.")
	}
	stored, created, err := s.repo.CreateVariant(ctx, a.ID, v)
	if err != nil || !created {
		if derr := s.store.Delete(context.WithoutCancel(ctx), v.Bucket, v.Key); derr != nil {
			s.log.Warn("orphan variant object left for the sweeper", "bucket", v.Bucket, "key", v.Key, "err", derr)
		}
	}
	if err != nil {
		return rendered{}, asUnavailable(err, "The database could not record the variant; try again later.")
	}
	if !created {
		return rendered{variant: stored}, nil
	}
	return rendered{variant: stored, data: r.Data}, nil
}

// readObject reads a whole stored original into a buffer from the pool;
// originals are bounded by the upload limit. The caller returns the buffer
// with releaseBuffer once the render no longer needs it.
func (s *Service) readObject(ctx context.Context, v *Variant) (*[]byte, error) {
	obj, err := s.store.Open(ctx, v.Bucket, v.Key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Wrap(CodeInternal, err, "The stored original is missing.")
	}
	if err != nil {
		return nil, asUnavailable(err, "The object store is not reachable; try again later.")
	}
	defer obj.Close()
	buf, _ := s.buffers.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	if int64(cap(*buf)) < v.Attributes.Size {
		*buf = make([]byte, v.Attributes.Size)
	}
	*buf = (*buf)[:v.Attributes.Size]
	if _, err := io.ReadFull(obj, *buf); err != nil {
		s.releaseBuffer(buf)
		return nil, asUnavailable(err, "The object store could not read the original; try again later.")
	}
	return buf, nil
}

// maxPooledBuffer bounds the buffers kept for reuse, so that one huge
// original does not pin its memory.
const maxPooledBuffer = 16 << 20

// releaseBuffer returns a buffer from readObject for reuse.
func (s *Service) releaseBuffer(buf *[]byte) {
	if cap(*buf) <= maxPooledBuffer {
		s.buffers.Put(buf)
	}
}

// transformationFor resolves a request's parameters (with its profile)
// against entry a. ok is false when the request means the original.
func (s *Service) transformationFor(a *Asset, req TransformRequest) (n Normalized, ok bool, err error) {
	if len(req.Params) == 0 {
		return n, false, nil
	}
	if a.Class != ClassImage {
		return n, false, Errorf(CodeInvalid, "Transformation parameters apply to images only; this entry is a %s.", a.Class)
	}
	params, err := s.withProfile(req.Params)
	if err != nil {
		return n, false, err
	}
	req.Params = params
	policy := s.policies.Resolve(a.Path)
	limits := s.limits
	limits.MaxWidth, limits.MaxHeight = policy.OutputLimits.MaxWidth, policy.OutputLimits.MaxHeight
	if n, err = Normalize(req, a.Original().Attributes, limits); err != nil {
		return n, false, err
	}
	return n, !n.Identity, nil
}

// withProfile merges the named profile under the explicit parameters.
func (s *Service) withProfile(p TransformParams) (TransformParams, error) {
	name, ok := p["profile"]
	if !ok {
		return p, nil
	}
	profile, found := s.policies.Profile(name)
	if !found {
		return nil, Errorf(CodeInvalid, "There is no profile %q.", name)
	}
	merged := TransformParams{}
	for k, v := range profile {
		merged[k] = v
	}
	for k, v := range p {
		if k != "profile" {
			merged[k] = v
		}
	}
	return merged, nil
}

// String names a transformation key for logs.
func (t Transformation) String() string { return fmt.Sprintf("transformation(%s)", t.Key()) }
