package filestore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"assetd/internal/asset"
	"assetd/internal/asset/storetest"
)

func newStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := New(dir)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (asset.ObjectStore, string) {
		s, _ := newStore(t)
		return s, "assets"
	})
}

func TestNewCreatesRoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, err := New(dir)
	if err != nil {
		t.Fatalf("New on a missing directory: %v", err)
	}
	defer s.Close()
	if err := s.Create(context.Background(), "assets", "k.jpg", strings.NewReader("x"), 1, ""); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "assets", "k.jpg")); err != nil || string(b) != "x" {
		t.Errorf("object file = %q, %v; want \"x\"", b, err)
	}
}

func TestFailedCreatesLeaveNoFiles(t *testing.T) {
	s, dir := newStore(t)
	ctx := context.Background()
	data := bytes.Repeat([]byte("abcdefgh"), 10_000)
	failures := map[string]func() error{
		"short": func() error {
			return s.Create(ctx, "assets", "short.bin", bytes.NewReader(data[:100]), int64(len(data)), "")
		},
		"long": func() error {
			return s.Create(ctx, "assets", "long.bin", bytes.NewReader(data), 100, "")
		},
		"reader error": func() error {
			r := io.MultiReader(bytes.NewReader(data), iotestErr{})
			return s.Create(ctx, "assets", "err.bin", r, int64(len(data))+10, "")
		},
		"canceled": func() error {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			return s.Create(ctx, "assets", "cancel.bin", bytes.NewReader(data), int64(len(data)), "")
		},
	}
	for name, create := range failures {
		if err := create(); err == nil {
			t.Errorf("%s: Create succeeded", name)
		}
	}
	if err := s.Create(ctx, "assets", "ok.bin", bytes.NewReader(data), int64(len(data)), ""); err != nil {
		t.Fatalf("Create: %v", err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "assets"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != "ok.bin" {
		t.Errorf("bucket directory holds %q, want only ok.bin", names)
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestInvalidNames(t *testing.T) {
	s, dir := newStore(t)
	ctx := context.Background()
	bad := []string{"", ".", "..", "../x", "a/b", `a\b`, "a\x00b", ".hidden", ".tmp-123", strings.Repeat("k", 256)}
	for _, name := range bad {
		for _, bk := range [][2]string{{"assets", name}, {name, "k.jpg"}} {
			bucket, key := bk[0], bk[1]
			if err := s.Create(ctx, bucket, key, strings.NewReader("x"), 1, ""); !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("Create(%q, %q): err = %v, want fs.ErrInvalid", bucket, key, err)
			}
			if _, err := s.Open(ctx, bucket, key); !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("Open(%q, %q): err = %v, want fs.ErrInvalid", bucket, key, err)
			}
			if err := s.Delete(ctx, bucket, key); !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("Delete(%q, %q): err = %v, want fs.ErrInvalid", bucket, key, err)
			}
		}
	}
	// Nothing may have been written anywhere, least of all outside the root.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("root holds %d entries after rejected writes", len(entries))
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "x")); err == nil {
		t.Error("a file was written outside the root")
	}
}

func TestSymlinkEscapeRejected(t *testing.T) {
	s, dir := newStore(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.jpg"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A bucket that is a symlink out of the root must not be followed.
	if err := os.Symlink(outside, filepath.Join(dir, "assets")); err != nil {
		t.Fatal(err)
	}
	if obj, err := s.Open(context.Background(), "assets", "secret.jpg"); err == nil {
		obj.Close()
		t.Error("Open followed a symlink out of the root")
	}
	if err := s.Create(context.Background(), "assets", "new.jpg", strings.NewReader("x"), 1, ""); err == nil {
		t.Error("Create wrote through a symlink out of the root")
	}
	if _, err := os.Stat(filepath.Join(outside, "new.jpg")); err == nil {
		t.Error("a file appeared outside the root")
	}
}

func TestOpenReportsInfo(t *testing.T) {
	s, dir := newStore(t)
	ctx := context.Background()
	if err := s.Create(ctx, "assets", "k.png", strings.NewReader("hello"), 5, "image/png"); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "assets", "k.png"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Open(ctx, "assets", "k.png")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if got := obj.Info(); got.Size != 5 || !got.ModTime.Equal(st.ModTime()) {
		t.Errorf("Info() = %+v, want size 5 and mtime %v", got, st.ModTime())
	}
}

func TestPingFailsWhenRootIsGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	err = s.Ping(context.Background())
	if asset.CodeOf(err) != asset.CodeUnavailable {
		t.Errorf("Ping after the root was removed: err = %v, want code %s", err, asset.CodeUnavailable)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 0 {
		t.Errorf("Ping left %d entries behind", len(entries))
	}
}
