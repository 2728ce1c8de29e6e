package asset

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Upload is content spooled to a private temporary file, so that it can be
// inspected by libvips and then streamed to the object store with a known
// size, without holding it in memory. Close removes the file; it is safe to
// call Close more than once.
type Upload struct {
	file *os.File
	size int64
}

// Spool copies r into a new temporary file in dir (os.TempDir when dir is "")
// and returns it. More than limit bytes is a CodeTooLarge *Error; a body cut
// short by http.MaxBytesReader is CodeTooLarge too. On any error nothing is
// left on disk.
func Spool(r io.Reader, dir string, limit int64) (*Upload, error) {
	u, err := newUpload(dir)
	if err != nil {
		return nil, err
	}
	n, err := io.Copy(u.file, io.LimitReader(r, limit+1))
	u.size = n
	switch {
	case err != nil:
		u.Close()
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, Errorf(CodeTooLarge, "The request body is larger than %d bytes.", tooBig.Limit)
		}
		return nil, Wrap(CodeInvalid, err, "The upload could not be read completely.")
	case n > limit:
		u.Close()
		return nil, Errorf(CodeTooLarge, "The content is larger than the limit of %d bytes for this path.", limit)
	}
	return u, nil
}

// spoolPattern names spool files, so that the sweeper can find the ones a
// crashed process left.
const spoolPattern = "assetd-upload-*"

// newUpload creates an empty Upload in dir.
func newUpload(dir string) (*Upload, error) {
	f, err := os.CreateTemp(dir, spoolPattern)
	if err != nil {
		return nil, Wrap(CodeInternal, err, "The upload could not be buffered.")
	}
	return &Upload{file: f}, nil
}

// Name returns the temporary file's name.
func (u *Upload) Name() string { return u.file.Name() }

// Size returns the number of bytes spooled.
func (u *Upload) Size() int64 { return u.size }

// Reader returns a reader of the whole content from its first byte.
func (u *Upload) Reader() io.Reader { return io.NewSectionReader(u.file, 0, u.size) }

// Close closes and removes the temporary file.
func (u *Upload) Close() error {
	if u == nil || u.file == nil {
		return nil
	}
	u.file.Close()
	err := os.Remove(u.file.Name())
	u.file = nil
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// sweepSpool removes spool files older than grace from the spool directory:
// a process killed mid-upload never closes its Upload.
func (s *Service) sweepSpool(grace time.Duration) (int, error) {
	dir := s.tempDir
	if dir == "" {
		dir = os.TempDir()
	}
	names, err := filepath.Glob(filepath.Join(dir, spoolPattern))
	if err != nil {
		return 0, err
	}
	cutoff := s.now().Add(-grace)
	removed := 0
	for _, name := range names {
		info, err := os.Lstat(name)
		if err != nil || !info.Mode().IsRegular() || info.ModTime().After(cutoff) {
			continue
		}
		if os.Remove(name) == nil {
			removed++
		}
	}
	return removed, nil
}
