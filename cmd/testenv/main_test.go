package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"assetd/internal/testenv"
)

// The tests read the variables that testenv sets; a rename on one side only
// would make every PostgreSQL and MinIO test skip silently.
func TestVariablesMatchInternalTestenv(t *testing.T) {
	for got, want := range map[string]string{
		envPostgresDSN: testenv.EnvPostgresDSN,
		envS3Endpoint:  testenv.EnvS3Endpoint,
		envS3AccessKey: testenv.EnvS3AccessKey,
		envS3SecretKey: testenv.EnvS3SecretKey,
	} {
		if got != want {
			t.Errorf("cmd/testenv sets %s, internal/testenv reads %s", got, want)
		}
	}
}

func TestFindExecutable(t *testing.T) {
	empty, notExec, isDir, good, later := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	write := func(dir string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, "minio"), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(notExec, 0o644)
	if err := os.Mkdir(filepath.Join(isDir, "minio"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(good, 0o755)
	write(later, 0o755)

	got, err := findExecutable("minio", []string{"", empty, notExec, isDir, good, later})
	if err != nil || got != filepath.Join(good, "minio") {
		t.Errorf("findExecutable = %q, %v; want the first executable file, %q", got, err, filepath.Join(good, "minio"))
	}

	_, err = findExecutable("minio", []string{empty, notExec})
	if err == nil {
		t.Fatal("findExecutable found a binary where there is none")
	}
	if !strings.Contains(err.Error(), filepath.Join(notExec, "minio")) {
		t.Errorf("error %q does not say where it looked", err)
	}
}

func TestMinioDirs(t *testing.T) {
	got := minioDirs("/a:/b", "/gobin", "/go1:/go2")
	want := []string{"/a", "/b", "/gobin", "/go1/bin", "/go2/bin"}
	if !slices.Equal(got, want) {
		t.Errorf("minioDirs = %q, want %q", got, want)
	}
}

func TestNewestFirst(t *testing.T) {
	got := newestFirst([]string{"/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"})
	want := []string{"/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/9.6/bin"}
	if !slices.Equal(got, want) {
		t.Errorf("newestFirst = %q, want %q", got, want)
	}
}

func TestFreePortCanBeBound(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", hostPort(port))
	if err != nil {
		t.Fatalf("port %d from freePort cannot be bound: %v", port, err)
	}
	l.Close()
}

func TestUsage(t *testing.T) {
	if got := run([]string{"--"}, func(string) string { return "" }, io.Discard); got != 2 {
		t.Errorf("run without a command = %d, want 2", got)
	}
}

// The servers answer, are reachable through the variables the command gets,
// and leave nothing behind.
func TestServersStartAndClean(t *testing.T) {
	r := startAll(context.Background())
	if len(r.errs) > 0 {
		r.stop()
		if testenv.InCI() {
			t.Fatalf("servers did not start: %v", r.errs)
		}
		t.Skipf("servers not available here: %v", r.errs)
	}
	vars := map[string]string{}
	for _, v := range r.vars {
		name, value, _ := strings.Cut(v, "=")
		vars[name] = value
	}
	ctx := context.Background()
	if err := ping(ctx, vars[envPostgresDSN]); err != nil {
		t.Errorf("PostgreSQL at %s: %v", envPostgresDSN, err)
	}
	if err := httpOK(ctx, "http://"+vars[envS3Endpoint]+"/minio/health/live"); err != nil {
		t.Errorf("MinIO at %s: %v", envS3Endpoint, err)
	}
	if vars[envS3AccessKey] == "" || vars[envS3SecretKey] == "" {
		t.Errorf("S3 keys missing from %q", r.vars)
	}

	r.stop()
	for _, s := range r.servers {
		if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
			t.Errorf("%s still exists after stop (%v)", s.dir, err)
		}
		select {
		case <-s.exited:
		default:
			t.Errorf("%s still running after stop", s.cmd.Path)
		}
	}
	if err := ping(ctx, vars[envPostgresDSN]); err == nil {
		t.Error("PostgreSQL still answers after stop")
	}
}

// The command's exit status is testenv's, so `make test` fails when the tests do.
func TestExitStatusIsTheCommands(t *testing.T) {
	if got := run([]string{"--", "sh", "-c", "exit 3"}, func(string) string { return "" }, io.Discard); got != 3 {
		t.Errorf("run(sh -c 'exit 3') = %d, want 3", got)
	}
	if got := run([]string{"--", "sh", "-c", "kill -TERM $$"}, func(string) string { return "" }, io.Discard); got != 128+15 {
		t.Errorf("run(command killed by SIGTERM) = %d, want 143", got)
	}
}
