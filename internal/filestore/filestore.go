// Package filestore is an asset.ObjectStore in a local directory.
//
// Each bucket is a subdirectory of the root and each object a file in it,
// named by its key. All access goes through an os.Root, so no bucket or key
// can reach outside the root, even through a symlink.
//
// An object is written to a temporary file in its bucket directory, synced,
// and renamed into place, then the directory is synced: readers see either
// the old object or the whole new one, and a successful Create survives a
// crash. Temporary names start with a dot, which no valid key does, so Open
// can never return one and List never reports one: a temporary file is not
// an object, whether its Create is still in progress or a crash left it
// behind. SweepTemp removes the leftovers.
//
// The filesystem does not record content types, so ObjectInfo.ContentType is
// always empty; the repository keeps the content type of every variant.
package filestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"assetd/internal/asset"
)

var _ asset.ObjectStore = (*Store)(nil)

// tempPrefix starts every temporary file name. Valid keys and buckets never
// start with a dot, so temporary files are never mistaken for objects.
const tempPrefix = ".tmp-"

// maxNameBytes is the longest file name common filesystems accept.
const maxNameBytes = 255

// Store is an object store rooted at one directory. It is safe for
// concurrent use.
type Store struct {
	root *os.Root
}

// New opens the directory root as a store, creating it (and its parents) when
// missing. It fails when the directory cannot be created or opened. The caller
// closes the Store.
func New(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("filestore: the root directory is empty")
	}
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("filestore: create root: %w", err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("filestore: open root: %w", err)
	}
	return &Store{root: r}, nil
}

// Close releases the root directory. The Store must not be used afterwards.
func (s *Store) Close() error { return s.root.Close() }

// Create stores exactly size bytes from r as bucket/key, replacing any
// existing object, and returns once the object is durable. It fails, leaving
// no trace and any previous object unchanged, when bucket or key is invalid
// (an error matching fs.ErrInvalid), when r yields fewer or more than size
// bytes, when r fails, when ctx is done (an error matching ctx.Err()), or when
// the filesystem fails. The content type is not recorded.
func (s *Store) Create(ctx context.Context, bucket, key string, r io.Reader, size int64, _ string) (err error) {
	if err := checkNames(bucket, key); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("filestore: create %s/%s: negative size %d", bucket, key, size)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.root.Mkdir(bucket, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("filestore: create bucket %s: %w", bucket, err)
	}
	tmp := path.Join(bucket, tempPrefix+randomHex())
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("filestore: create %s/%s: %w", bucket, key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			_ = s.root.Remove(tmp)
		}
	}()
	if err := copyExactly(f, ctxReader{ctx, r}, size); err != nil {
		return fmt.Errorf("filestore: create %s/%s: %w", bucket, key, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("filestore: sync %s/%s: %w", bucket, key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("filestore: close %s/%s: %w", bucket, key, err)
	}
	if err := s.root.Rename(tmp, path.Join(bucket, key)); err != nil {
		return fmt.Errorf("filestore: rename %s/%s: %w", bucket, key, err)
	}
	// The rename is only durable once the directory entry is.
	if err := s.syncDir(bucket); err != nil {
		return fmt.Errorf("filestore: sync bucket %s: %w", bucket, err)
	}
	return nil
}

// copyExactly copies size bytes from r to w, then makes sure r has no more.
func copyExactly(w io.Writer, r io.Reader, size int64) error {
	n, err := io.Copy(w, io.LimitReader(r, size))
	if err != nil {
		return err
	}
	if n < size {
		return fmt.Errorf("got %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
	}
	var probe [1]byte
	switch k, err := io.ReadFull(r, probe[:]); {
	case k > 0:
		return fmt.Errorf("the reader holds more than the declared %d bytes", size)
	case err != io.EOF && err != io.ErrUnexpectedEOF:
		return err
	}
	return nil
}

func (s *Store) syncDir(name string) error {
	d, err := s.root.Open(name)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Open returns the object bucket/key. A missing object (or bucket) is an
// error matching fs.ErrNotExist; an invalid bucket or key one matching
// fs.ErrInvalid. The object's ContentType is always empty.
func (s *Store) Open(ctx context.Context, bucket, key string) (asset.Object, error) {
	if err := checkNames(bucket, key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := s.root.Open(path.Join(bucket, key))
	if err != nil {
		return nil, fmt.Errorf("filestore: open %s/%s: %w", bucket, key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("filestore: stat %s/%s: %w", bucket, key, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("filestore: open %s/%s: not a regular file: %w", bucket, key, fs.ErrNotExist)
	}
	return &object{File: f, info: asset.ObjectInfo{Size: st.Size(), ModTime: st.ModTime()}}, nil
}

// Delete removes bucket/key. A missing object is not an error; an invalid
// bucket or key is one matching fs.ErrInvalid. The directory is not synced:
// an object that reappears after a crash is an orphan, which the sweeper
// removes, never a dangling row.
func (s *Store) Delete(ctx context.Context, bucket, key string) error {
	if err := checkNames(bucket, key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.root.Remove(path.Join(bucket, key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("filestore: delete %s/%s: %w", bucket, key, err)
	}
	return nil
}

// Ping reports whether a file can be created in the root directory; it fails
// when the directory is gone, read-only or full, or when ctx is done.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name := tempPrefix + "ping-" + randomHex()
	f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return asset.Wrap(asset.CodeUnavailable, err, "The file store is not writable.")
	}
	f.Close()
	if err := s.root.Remove(name); err != nil {
		return asset.Wrap(asset.CodeUnavailable, err, "The file store is not writable.")
	}
	return nil
}

// object is an open file with the info taken when it was opened.
type object struct {
	*os.File
	info asset.ObjectInfo
}

func (o *object) Info() asset.ObjectInfo { return o.info }

// checkNames rejects a bucket or key that is not one plain file name.
// Keys are generated, so an invalid one is a bug, not a client error.
func checkNames(bucket, key string) error {
	if err := checkName(bucket); err != nil {
		return fmt.Errorf("filestore: invalid bucket %q: %w", bucket, err)
	}
	if err := checkName(key); err != nil {
		return fmt.Errorf("filestore: invalid key %q: %w", key, err)
	}
	return nil
}

func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty: %w", fs.ErrInvalid)
	case len(name) > maxNameBytes:
		return fmt.Errorf("longer than %d bytes: %w", maxNameBytes, fs.ErrInvalid)
	case name[0] == '.':
		// Covers "." and ".." and keeps the temporary names to ourselves.
		return fmt.Errorf("starts with a dot: %w", fs.ErrInvalid)
	case strings.ContainsAny(name, "/\\\x00"):
		return fmt.Errorf("contains a slash, backslash or NUL: %w", fs.ErrInvalid)
	}
	return nil
}

// ctxReader fails reads once ctx is done, so a long copy stops promptly.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func randomHex() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
