// Package storetest is the contract suite for asset.ObjectStore
// implementations. Each implementation's tests call Run, so every store
// behaves the same way behind the interface.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"maps"
	"slices"
	"testing"
	"time"

	"assetd/internal/asset"
)

// Beyond the interface's comments, the suite holds stores to this: a reader
// that ends early fails Create with an error matching io.ErrUnexpectedEOF, a
// reader's own error and a canceled context stay in Create's error chain, and
// Info().ContentType is either the stored type or "" where the store cannot
// record it.

// OtherBucket returns the second bucket the suite writes to, next to bucket.
// A store under test must accept it (for an S3 store, create it up front).
func OtherBucket(bucket string) string { return bucket + "-b" }

// Run checks the ObjectStore contract, and the asset.ObjectLister contract
// when the store has that power (its subtests skip otherwise). newStore
// returns a fresh, usable store and a bucket it can write to, which holds no
// objects yet; the store must also accept OtherBucket(bucket), and must not
// have MissingBucket(bucket). Subtests run sequentially and each calls
// newStore.
func Run(t *testing.T, newStore func(t *testing.T) (store asset.ObjectStore, bucket string)) {
	t.Run("RoundTrip", func(t *testing.T) {
		s, b := newStore(t)
		data := randomBytes(t, 300_000)
		create(t, s, b, "0193a6-round.jpg", data, "image/jpeg")
		obj := open(t, s, b, "0193a6-round.jpg")
		info := obj.Info()
		if info.Size != int64(len(data)) {
			t.Errorf("Info().Size = %d, want %d", info.Size, len(data))
		}
		if info.ContentType != "" && info.ContentType != "image/jpeg" {
			t.Errorf("Info().ContentType = %q, want image/jpeg (or empty where the store cannot record it)", info.ContentType)
		}
		if info.ModTime.IsZero() {
			t.Error("Info().ModTime is zero")
		}
		if got := readAll(t, obj); sha256.Sum256(got) != sha256.Sum256(data) {
			t.Errorf("read %d bytes that differ from the %d written", len(got), len(data))
		}
	})

	t.Run("Empty", func(t *testing.T) {
		s, b := newStore(t)
		create(t, s, b, "0193a6-empty.bin", nil, "application/octet-stream")
		obj := open(t, s, b, "0193a6-empty.bin")
		if obj.Info().Size != 0 {
			t.Errorf("Info().Size = %d, want 0", obj.Info().Size)
		}
		if got := readAll(t, obj); len(got) != 0 {
			t.Errorf("read %d bytes from an empty object", len(got))
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		s, b := newStore(t)
		create(t, s, b, "0193a6-over.png", randomBytes(t, 5000), "image/png")
		second := randomBytes(t, 1234)
		create(t, s, b, "0193a6-over.png", second, "image/png")
		obj := open(t, s, b, "0193a6-over.png")
		if obj.Info().Size != int64(len(second)) {
			t.Errorf("Info().Size = %d after overwrite, want %d", obj.Info().Size, len(second))
		}
		if got := readAll(t, obj); !bytes.Equal(got, second) {
			t.Error("overwritten object does not hold the second write's bytes")
		}
	})

	t.Run("SizeMismatch", func(t *testing.T) {
		data := randomBytes(t, 10_000)
		cases := []struct {
			name string
			r    func() io.Reader
			size int64
		}{
			// Seekable readers (what a spooled upload is) and plain streams
			// take different paths in some stores, so both are checked.
			{"short seekable", func() io.Reader { return bytes.NewReader(data[:9000]) }, 10_000},
			{"long seekable", func() io.Reader { return bytes.NewReader(data) }, 9000},
			{"short stream", func() io.Reader { return stream(data[:9000]) }, 10_000},
			{"long stream", func() io.Reader { return stream(data) }, 9000},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s, b := newStore(t)
				err := s.Create(context.Background(), b, "0193a6-size.bin", c.r(), c.size, "application/octet-stream")
				if err == nil {
					t.Fatalf("Create with %s reader for size %d succeeded", c.name, c.size)
				}
				if short := c.size == 10_000; short && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("Create with a short reader: err = %v, want io.ErrUnexpectedEOF", err)
				}
				assertMissing(t, s, b, "0193a6-size.bin")
			})
		}
	})

	t.Run("ReaderError", func(t *testing.T) {
		s, b := newStore(t)
		boom := errors.New("upload connection reset")
		r := io.MultiReader(bytes.NewReader(randomBytes(t, 70_000)), errReader{boom})
		err := s.Create(context.Background(), b, "0193a6-fail.bin", r, 100_000, "application/octet-stream")
		if !errors.Is(err, boom) {
			t.Fatalf("Create with a failing reader: err = %v, want the reader's error in the chain", err)
		}
		assertMissing(t, s, b, "0193a6-fail.bin")
	})

	t.Run("ReaderErrorKeepsOldObject", func(t *testing.T) {
		s, b := newStore(t)
		old := randomBytes(t, 2000)
		create(t, s, b, "0193a6-keep.bin", old, "application/octet-stream")
		r := io.MultiReader(bytes.NewReader(randomBytes(t, 1000)), errReader{errors.New("boom")})
		if err := s.Create(context.Background(), b, "0193a6-keep.bin", r, 3000, "application/octet-stream"); err == nil {
			t.Fatal("Create succeeded although the reader failed")
		}
		if got := readAll(t, open(t, s, b, "0193a6-keep.bin")); !bytes.Equal(got, old) {
			t.Error("a failed overwrite changed the existing object")
		}
	})

	t.Run("Missing", func(t *testing.T) {
		s, b := newStore(t)
		_, err := s.Open(context.Background(), b, "0193a6-none.jpg")
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open of a missing object: err = %v, want fs.ErrNotExist", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s, b := newStore(t)
		create(t, s, b, "0193a6-del.jpg", randomBytes(t, 100), "image/jpeg")
		if err := s.Delete(context.Background(), b, "0193a6-del.jpg"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		assertMissing(t, s, b, "0193a6-del.jpg")
		if err := s.Delete(context.Background(), b, "0193a6-del.jpg"); err != nil {
			t.Errorf("second Delete of the same object: %v, want nil", err)
		}
		if err := s.Delete(context.Background(), b, "0193a6-never.jpg"); err != nil {
			t.Errorf("Delete of a never-written object: %v, want nil", err)
		}
	})

	t.Run("Seek", func(t *testing.T) {
		s, b := newStore(t)
		data := randomBytes(t, 200_000)
		create(t, s, b, "0193a6-seek.bin", data, "application/octet-stream")
		obj := open(t, s, b, "0193a6-seek.bin")
		n := int64(len(data))
		steps := []struct {
			offset int64
			whence int
			want   int64 // absolute position after the seek
			read   int
		}{
			{150_000, io.SeekStart, 150_000, 100},
			{-10, io.SeekEnd, n - 10, 10},
			{1000, io.SeekStart, 1000, 5000},
			{20_000, io.SeekCurrent, 26_000, 300}, // 1000+5000 read, then +20000
			{-26_300, io.SeekCurrent, 0, 64},
			{-1, io.SeekEnd, n - 1, 1},
		}
		for _, st := range steps {
			pos, err := obj.Seek(st.offset, st.whence)
			if err != nil {
				t.Fatalf("Seek(%d, %d): %v", st.offset, st.whence, err)
			}
			if pos != st.want {
				t.Fatalf("Seek(%d, %d) = %d, want %d", st.offset, st.whence, pos, st.want)
			}
			buf := make([]byte, st.read)
			if _, err := io.ReadFull(obj, buf); err != nil {
				t.Fatalf("read %d bytes at %d: %v", st.read, pos, err)
			}
			if !bytes.Equal(buf, data[pos:pos+int64(st.read)]) {
				t.Errorf("bytes at %d after Seek(%d, %d) differ from the object's", pos, st.offset, st.whence)
			}
		}
		if _, err := obj.Seek(0, io.SeekEnd); err != nil {
			t.Fatalf("Seek to end: %v", err)
		}
		if k, err := obj.Read(make([]byte, 10)); k != 0 || err != io.EOF {
			t.Errorf("Read at end = %d, %v; want 0, io.EOF", k, err)
		}
	})

	t.Run("NoPartialObject", func(t *testing.T) {
		s, b := newStore(t)
		const key = "0193a6-big.bin"
		old := randomBytes(t, 1000)
		create(t, s, b, key, old, "application/octet-stream")
		data := randomBytes(t, 8<<20)
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- s.Create(context.Background(), b, key, pr, int64(len(data)), "application/octet-stream")
			pr.Close()
		}()
		// Hand the bytes over in chunks. A pipe write returns only when the
		// store has taken the chunk, so each check below runs while the
		// store is in the middle of writing: readers must still see the old
		// object whole.
		const chunk = 512 << 10
		for off := 0; off < len(data); off += chunk {
			if _, err := pw.Write(data[off:min(off+chunk, len(data))]); err != nil {
				t.Fatalf("store stopped reading at %d: %v (Create: %v)", off, err, <-done)
			}
			if got := readAll(t, open(t, s, b, key)); !bytes.Equal(got, old) {
				t.Fatalf("after %d of %d bytes were written, a reader saw %d bytes that are not the previous object",
					off+chunk, len(data), len(got))
			}
		}
		pw.Close()
		if err := <-done; err != nil {
			t.Fatalf("Create: %v", err)
		}
		if got := readAll(t, open(t, s, b, key)); sha256.Sum256(got) != sha256.Sum256(data) {
			t.Error("the finished object differs from the bytes written")
		}
	})

	t.Run("NoPartialNewObject", func(t *testing.T) {
		s, b := newStore(t)
		const key = "0193a6-new.bin"
		data := randomBytes(t, 4<<20)
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- s.Create(context.Background(), b, key, pr, int64(len(data)), "application/octet-stream")
			pr.Close()
		}()
		const chunk = 512 << 10
		for off := 0; off < len(data); off += chunk {
			if _, err := pw.Write(data[off : off+chunk]); err != nil {
				t.Fatalf("store stopped reading at %d: %v (Create: %v)", off, err, <-done)
			}
			assertMissing(t, s, b, key)
		}
		pw.Close()
		if err := <-done; err != nil {
			t.Fatalf("Create: %v", err)
		}
		if got := readAll(t, open(t, s, b, key)); !bytes.Equal(got, data) {
			t.Error("the finished object differs from the bytes written")
		}
	})

	t.Run("Buckets", func(t *testing.T) {
		s, b := newStore(t)
		other := OtherBucket(b)
		one, two := randomBytes(t, 100), randomBytes(t, 200)
		create(t, s, b, "0193a6-same.jpg", one, "image/jpeg")
		assertMissing(t, s, other, "0193a6-same.jpg")
		create(t, s, other, "0193a6-same.jpg", two, "image/jpeg")
		if got := readAll(t, open(t, s, b, "0193a6-same.jpg")); !bytes.Equal(got, one) {
			t.Error("writing the key in another bucket changed this bucket's object")
		}
		if err := s.Delete(context.Background(), other, "0193a6-same.jpg"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if got := readAll(t, open(t, s, b, "0193a6-same.jpg")); !bytes.Equal(got, one) {
			t.Error("deleting the key in another bucket removed this bucket's object")
		}
	})

	t.Run("Ping", func(t *testing.T) {
		s, _ := newStore(t)
		if err := s.Ping(context.Background()); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})

	t.Run("CanceledCreate", func(t *testing.T) {
		s, b := newStore(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		data := randomBytes(t, 1<<20)
		// The reader keeps supplying bytes after the cancel: the store itself
		// must notice the context.
		r := &cancelingReader{r: bytes.NewReader(data), after: 64 << 10, cancel: cancel}
		err := s.Create(ctx, b, "0193a6-cancel.bin", r, int64(len(data)), "application/octet-stream")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Create with a canceled context: err = %v, want context.Canceled", err)
		}
		if !r.canceled {
			t.Fatal("the store never read far enough to cancel; make the data larger")
		}
		assertMissing(t, s, b, "0193a6-cancel.bin")
	})

	t.Run("List", func(t *testing.T) { runList(t, newStore) })
}

// MissingBucket returns a bucket name, next to bucket, that the store under
// test must not have: the listing subtests expect it to list nothing.
func MissingBucket(bucket string) string { return bucket + "-none" }

// runList checks asset.ObjectLister, for stores that have it.
func runList(t *testing.T, newStore func(t *testing.T) (asset.ObjectStore, string)) {
	lister := func(t *testing.T) (asset.ObjectStore, asset.ObjectLister, string) {
		t.Helper()
		s, b := newStore(t)
		l, ok := s.(asset.ObjectLister)
		if !ok {
			t.Skipf("%T does not implement asset.ObjectLister", s)
		}
		return s, l, b
	}

	t.Run("Keys", func(t *testing.T) {
		s, l, b := lister(t)
		other := OtherBucket(b)
		if got := list(t, l, b); len(got) != 0 {
			t.Errorf("List of an empty bucket reported %q", slices.Sorted(maps.Keys(got)))
		}
		for _, key := range []string{"0193a6-l1.jpg", "0193a6-l2.png", "0193a6-l3.webp"} {
			create(t, s, b, key, randomBytes(t, 100), "image/jpeg")
		}
		create(t, s, other, "0193a6-l4.jpg", randomBytes(t, 100), "image/jpeg")
		if err := s.Delete(context.Background(), b, "0193a6-l2.png"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		got := list(t, l, b)
		assertKeys(t, got, "0193a6-l1.jpg", "0193a6-l3.webp")
		// Clocks may differ a little between the test and a server, and the
		// test may be slow: recent means within the hour.
		now := time.Now()
		for key, mod := range got {
			if mod.Before(now.Add(-time.Hour)) || mod.After(now.Add(time.Hour)) {
				t.Errorf("List reported %s modified at %v, want about now (%v)", key, mod, now)
			}
		}
		assertKeys(t, list(t, l, other), "0193a6-l4.jpg")
	})

	t.Run("InProgressCreate", func(t *testing.T) {
		s, l, b := lister(t)
		create(t, s, b, "0193a6-done.bin", randomBytes(t, 100), "application/octet-stream")
		const key = "0193a6-wip.bin"
		data := randomBytes(t, 4<<20)
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- s.Create(context.Background(), b, key, pr, int64(len(data)), "application/octet-stream")
			pr.Close()
		}()
		// As in NoPartialNewObject, each List runs while the store is in
		// the middle of writing: neither the key nor anything the store
		// writes on the way (such as a temporary file) is an object yet.
		const chunk = 512 << 10
		for off := 0; off < len(data); off += chunk {
			if _, err := pw.Write(data[off : off+chunk]); err != nil {
				t.Fatalf("store stopped reading at %d: %v (Create: %v)", off, err, <-done)
			}
			assertKeys(t, list(t, l, b), "0193a6-done.bin")
		}
		pw.Close()
		if err := <-done; err != nil {
			t.Fatalf("Create: %v", err)
		}
		assertKeys(t, list(t, l, b), "0193a6-done.bin", key)
	})

	t.Run("StopsOnError", func(t *testing.T) {
		s, l, b := lister(t)
		for _, key := range []string{"0193a6-s1.jpg", "0193a6-s2.jpg", "0193a6-s3.jpg"} {
			create(t, s, b, key, randomBytes(t, 10), "image/jpeg")
		}
		stop := errors.New("enough")
		calls := 0
		err := l.List(context.Background(), b, func(string, time.Time) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) {
			t.Errorf("List when fn fails: err = %v, want fn's error", err)
		}
		if calls != 1 {
			t.Errorf("List called fn %d times after it failed the first time, want 1", calls)
		}
	})

	t.Run("DeleteWhileListing", func(t *testing.T) {
		// The sweeper deletes what it is shown while the listing goes on.
		s, l, b := lister(t)
		keys := []string{"0193a6-d1.jpg", "0193a6-d2.jpg", "0193a6-d3.jpg", "0193a6-d4.jpg", "0193a6-d5.jpg"}
		for _, key := range keys {
			create(t, s, b, key, randomBytes(t, 10), "image/jpeg")
		}
		seen := map[string]time.Time{}
		err := l.List(context.Background(), b, func(key string, mod time.Time) error {
			seen[key] = mod
			return s.Delete(context.Background(), b, key)
		})
		if err != nil {
			t.Fatalf("List deleting each object it reports: %v", err)
		}
		assertKeys(t, seen, keys...)
		if got := list(t, l, b); len(got) != 0 {
			t.Errorf("List after deleting everything reported %q", slices.Sorted(maps.Keys(got)))
		}
	})

	t.Run("MissingBucket", func(t *testing.T) {
		_, l, b := lister(t)
		if got := list(t, l, MissingBucket(b)); len(got) != 0 {
			t.Errorf("List of a missing bucket reported %q", slices.Sorted(maps.Keys(got)))
		}
	})

	t.Run("Canceled", func(t *testing.T) {
		s, l, b := lister(t)
		create(t, s, b, "0193a6-c.jpg", randomBytes(t, 10), "image/jpeg")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := l.List(ctx, b, func(string, time.Time) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("List with a canceled context: err = %v, want context.Canceled", err)
		}
	})
}

// list returns what l lists in bucket, failing the test on an error or on a
// key reported twice.
func list(t *testing.T, l asset.ObjectLister, bucket string) map[string]time.Time {
	t.Helper()
	got := map[string]time.Time{}
	err := l.List(context.Background(), bucket, func(key string, mod time.Time) error {
		if _, dup := got[key]; dup {
			t.Errorf("List reported %s twice", key)
		}
		got[key] = mod
		return nil
	})
	if err != nil {
		t.Fatalf("List %s: %v", bucket, err)
	}
	return got
}

func assertKeys(t *testing.T, got map[string]time.Time, want ...string) {
	t.Helper()
	keys := slices.Sorted(maps.Keys(got))
	if !slices.Equal(keys, slices.Sorted(slices.Values(want))) {
		t.Errorf("List reported %q, want exactly %q", keys, want)
	}
}

func create(t *testing.T, s asset.ObjectStore, bucket, key string, data []byte, contentType string) {
	t.Helper()
	if err := s.Create(context.Background(), bucket, key, bytes.NewReader(data), int64(len(data)), contentType); err != nil {
		t.Fatalf("Create %s/%s: %v", bucket, key, err)
	}
}

func open(t *testing.T, s asset.ObjectStore, bucket, key string) asset.Object {
	t.Helper()
	obj, err := s.Open(context.Background(), bucket, key)
	if err != nil {
		t.Fatalf("Open %s/%s: %v", bucket, key, err)
	}
	t.Cleanup(func() { obj.Close() })
	return obj
}

func readAll(t *testing.T, obj asset.Object) []byte {
	t.Helper()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("read object: %v", err)
	}
	return b
}

func assertMissing(t *testing.T, s asset.ObjectStore, bucket, key string) {
	t.Helper()
	obj, err := s.Open(context.Background(), bucket, key)
	if err == nil {
		obj.Close()
		t.Fatalf("object %s/%s exists (%d bytes), want none", bucket, key, obj.Info().Size)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open %s/%s: err = %v, want fs.ErrNotExist", bucket, key, err)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// stream hides every method but Read, as a network body would.
func stream(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} }

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// cancelingReader cancels its context once more than after bytes were read,
// and goes on supplying bytes.
type cancelingReader struct {
	r        io.Reader
	read     int
	after    int
	cancel   context.CancelFunc
	canceled bool
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	if c.read > c.after && !c.canceled {
		c.canceled = true
		c.cancel()
	}
	return n, err
}
