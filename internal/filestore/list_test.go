package filestore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// listKeys returns the keys s lists in bucket, sorted.
func listKeys(t *testing.T, s *Store, bucket string) []string {
	t.Helper()
	var keys []string
	err := s.List(context.Background(), bucket, func(key string, _ time.Time) error {
		keys = append(keys, key)
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	slices.Sort(keys)
	return keys
}

// writeFile puts a file straight into the store's directory, as a crash or
// an operator would, last modified age ago.
func writeFile(t *testing.T, dir, name string, age time.Duration) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("partial"), 0o640); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-age)
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
}

func TestListSkipsNonObjects(t *testing.T) {
	s, dir := newStore(t)
	ctx := context.Background()
	if err := s.Create(ctx, "assets", "k.jpg", strings.NewReader("x"), 1, ""); err != nil {
		t.Fatal(err)
	}
	// A Create that crashed before its rename left its temporary file.
	writeFile(t, dir, filepath.Join("assets", tempPrefix+"0123abcd"), time.Hour)
	writeFile(t, dir, filepath.Join("assets", ".DS_Store"), 0)
	if err := os.Mkdir(filepath.Join(dir, "assets", "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("k.jpg", filepath.Join(dir, "assets", "link.jpg")); err != nil {
		t.Fatal(err)
	}
	if got := listKeys(t, s, "assets"); !slices.Equal(got, []string{"k.jpg"}) {
		t.Errorf("List = %q, want only the object k.jpg", got)
	}
}

func TestListRejectsInvalidBucket(t *testing.T) {
	s, _ := newStore(t)
	for _, bucket := range []string{"", "..", "a/b", ".tmp-x"} {
		err := s.List(context.Background(), bucket, func(string, time.Time) error { return nil })
		if !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("List(%q): err = %v, want fs.ErrInvalid", bucket, err)
		}
	}
}

func TestListDoesNotFollowBucketOutOfRoot(t *testing.T) {
	s, dir := newStore(t)
	outside := t.TempDir()
	writeFile(t, outside, "secret.jpg", 0)
	if err := os.Symlink(outside, filepath.Join(dir, "assets")); err != nil {
		t.Fatal(err)
	}
	var keys []string
	err := s.List(context.Background(), "assets", func(key string, _ time.Time) error {
		keys = append(keys, key)
		return nil
	})
	if err == nil || len(keys) != 0 {
		t.Errorf("List through a symlink out of the root = %q, %v; want an error and no keys", keys, err)
	}
}

func TestSweepTemp(t *testing.T) {
	s, dir := newStore(t)
	ctx := context.Background()
	if err := s.Create(ctx, "assets", "old.jpg", strings.NewReader("x"), 1, ""); err != nil {
		t.Fatal(err)
	}
	bucketDir := filepath.Join(dir, "assets")
	if err := os.Chtimes(filepath.Join(bucketDir, "old.jpg"), time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, filepath.Join("assets", tempPrefix+"stale1"), 3*time.Hour)
	writeFile(t, dir, filepath.Join("assets", tempPrefix+"stale2"), 25*time.Hour)
	writeFile(t, dir, filepath.Join("assets", tempPrefix+"fresh"), time.Minute)
	writeFile(t, dir, filepath.Join("other", tempPrefix+"stale3"), 3*time.Hour)

	n, err := s.SweepTemp(ctx, "assets", time.Hour)
	if err != nil || n != 2 {
		t.Fatalf("SweepTemp = %d, %v; want 2, nil", n, err)
	}
	var left []string
	entries, err := os.ReadDir(bucketDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		left = append(left, e.Name())
	}
	// Old objects are not temporary files, however old; a recent temporary
	// file may belong to a Create in progress.
	if want := []string{tempPrefix + "fresh", "old.jpg"}; !slices.Equal(left, want) {
		t.Errorf("after SweepTemp the bucket holds %q, want %q", left, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "other", tempPrefix+"stale3")); err != nil {
		t.Errorf("SweepTemp of one bucket touched another: %v", err)
	}

	if n, err := s.SweepTemp(ctx, "missing", time.Hour); err != nil || n != 0 {
		t.Errorf("SweepTemp of a missing bucket = %d, %v; want 0, nil", n, err)
	}
	if _, err := s.SweepTemp(ctx, "assets", -time.Second); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("SweepTemp with a negative age: err = %v, want fs.ErrInvalid", err)
	}
	if _, err := s.SweepTemp(ctx, "../x", time.Hour); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("SweepTemp of an invalid bucket: err = %v, want fs.ErrInvalid", err)
	}
}

// Sweeping the temporary file of a Create in progress must make that Create
// fail cleanly, never produce a partial object.
func TestSweepTempDuringCreate(t *testing.T) {
	s, dir := newStore(t)
	data := bytes.Repeat([]byte("assetd!!"), 128<<10) // 1 MiB
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- s.Create(context.Background(), "assets", "k.bin", pr, int64(len(data)), "")
		pr.Close()
	}()
	half := len(data) / 2
	if _, err := pw.Write(data[:half]); err != nil {
		t.Fatalf("store stopped reading: %v (Create: %v)", err, <-done)
	}
	// The store copies what it has read to its temp file; once the file
	// holds the first half, it waits for more. Age the file so that the
	// sweep does not race the write of its modification time.
	temp := waitForTempFile(t, filepath.Join(dir, "assets"), int64(half))
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(temp, old, old); err != nil {
		t.Fatal(err)
	}
	n, err := s.SweepTemp(context.Background(), "assets", time.Minute)
	if err != nil || n != 1 {
		t.Fatalf("SweepTemp during a Create = %d, %v; want 1, nil", n, err)
	}
	if _, err := pw.Write(data[half:]); err != nil {
		t.Fatalf("store stopped reading: %v (Create: %v)", err, <-done)
	}
	pw.Close()
	if err := <-done; err == nil {
		t.Fatal("Create succeeded although its temporary file was swept")
	}
	if _, err := s.Open(context.Background(), "assets", "k.bin"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open after the swept Create: err = %v, want fs.ErrNotExist", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "assets")); len(entries) != 0 {
		t.Errorf("the bucket holds %d entries after the swept Create, want none", len(entries))
	}
}

// waitForTempFile returns the one temporary file in dir once it holds size
// bytes.
func waitForTempFile(t *testing.T, dir string, size int64) string {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		names, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
		if len(names) == 1 {
			if info, err := os.Stat(names[0]); err == nil && info.Size() >= size {
				return names[0]
			}
		}
		runtime.Gosched()
	}
	t.Fatalf("no temporary file of %d bytes appeared in %s", size, dir)
	return ""
}
