package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"assetd/internal/asset"
)

var _ asset.ObjectLister = (*Store)(nil)

// listBatch is how many directory entries List and SweepTemp read at a time,
// so a bucket of millions of objects never sits in memory at once.
const listBatch = 256

// List calls fn with the key and modification time of every object in
// bucket, in directory order. Only regular files with valid key names are
// objects: the temporary files of Creates in progress, and those a crash
// left behind (see SweepTemp), are never reported. Objects created or
// deleted while List runs may or may not be reported. A missing bucket lists
// nothing. An error from fn stops the listing and is returned as is. List
// fails with an error matching fs.ErrInvalid for an invalid bucket name, with
// ctx's error once ctx is done, and when the bucket cannot be read (for
// instance when it is a symlink out of the root, or not a directory).
func (s *Store) List(ctx context.Context, bucket string, fn func(key string, modTime time.Time) error) error {
	return s.scan(ctx, bucket, func(name string, info fs.FileInfo) error {
		if checkName(name) != nil || !info.Mode().IsRegular() {
			return nil
		}
		return fn(name, info.ModTime())
	})
}

// SweepTemp removes the temporary files in bucket that were last written
// more than olderThan ago, and returns how many it removed. A crash between
// a Create's first write and its rename leaves such a file behind; no
// listing reports it, so nothing else would ever remove it.
//
// A Create in progress writes to its temporary file continuously, so
// olderThan must exceed the longest pause a client may take in the middle
// of an upload. If SweepTemp does remove the file of a Create in progress,
// that Create fails and leaves nothing behind; no object is harmed. With
// olderThan 0 every temporary file goes, which is safe only while nothing
// writes to the store.
//
// A missing bucket has nothing to sweep. SweepTemp fails when olderThan is
// negative or the bucket name is invalid (fs.ErrInvalid), once ctx is done
// (ctx's error, with the count so far), and when the bucket cannot be read
// or a file cannot be removed.
func (s *Store) SweepTemp(ctx context.Context, bucket string, olderThan time.Duration) (int, error) {
	if olderThan < 0 {
		return 0, fmt.Errorf("filestore: sweep %s: negative age %v: %w", bucket, olderThan, fs.ErrInvalid)
	}
	cutoff := time.Now().Add(-olderThan)
	removed := 0
	err := s.scan(ctx, bucket, func(name string, info fs.FileInfo) error {
		if !strings.HasPrefix(name, tempPrefix) || !info.Mode().IsRegular() || info.ModTime().After(cutoff) {
			return nil
		}
		err := s.root.Remove(path.Join(bucket, name))
		switch {
		case err == nil:
			removed++
		case !errors.Is(err, fs.ErrNotExist): // gone already: its Create finished or failed
			return fmt.Errorf("filestore: sweep %s/%s: %w", bucket, name, err)
		}
		return nil
	})
	return removed, err
}

// scan calls fn with the name and (not followed) file info of every entry
// in the bucket directory. Entries that vanish while it runs are skipped. A
// missing bucket has no entries.
func (s *Store) scan(ctx context.Context, bucket string, fn func(name string, info fs.FileInfo) error) error {
	if err := checkName(bucket); err != nil {
		return fmt.Errorf("filestore: invalid bucket %q: %w", bucket, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, err := s.root.Open(bucket)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("filestore: list %s: %w", bucket, err)
	}
	defer dir.Close()
	for {
		entries, err := dir.ReadDir(listBatch)
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			// Lstat through the root rather than e.Info(): the root is what
			// keeps every access inside the store's directory.
			info, err := s.root.Lstat(path.Join(bucket, e.Name()))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("filestore: list %s: %w", bucket, err)
			}
			if err := fn(e.Name(), info); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("filestore: list %s: %w", bucket, err)
		}
	}
}
