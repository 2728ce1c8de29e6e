package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// The throwaway MinIO's root credentials. They guard nothing: the server
// listens on loopback and lives only as long as the tests.
const (
	minioUser     = "assetd-test"
	minioPassword = "assetd-test-secret"
)

// startMinio starts MinIO on a free loopback port with its data in a
// temporary directory, and waits until its liveness check answers. It returns
// the server and its host:port.
func startMinio(ctx context.Context) (*server, string, error) {
	bin, err := findExecutable("minio", minioDirs(os.Getenv("PATH"), goEnv("GOBIN"), goEnv("GOPATH")))
	if err != nil {
		return nil, "", fmt.Errorf("MinIO: %w; `make minio` installs it", err)
	}
	srv, endpoint, err := startMinioWith(ctx, bin)
	if err != nil {
		return nil, "", fmt.Errorf("MinIO (%s): %w", bin, err)
	}
	return srv, endpoint, nil
}

func startMinioWith(ctx context.Context, bin string) (*server, string, error) {
	dir, err := os.MkdirTemp("", "assetd-testenv-minio-")
	if err != nil {
		return nil, "", err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	console, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	endpoint := hostPort(port)
	cmd := exec.CommandContext(ctx, bin, "server",
		"--address", endpoint,
		"--console-address", hostPort(console),
		// Keep MinIO out of $HOME/.minio.
		"--certs-dir", filepath.Join(dir, "certs"),
		filepath.Join(dir, "data"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+minioUser,
		"MINIO_ROOT_PASSWORD="+minioPassword,
		"MINIO_UPDATE=off",
	)
	srv, err := startServer(cmd, dir, syscall.SIGTERM)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	live := "http://" + endpoint + "/minio/health/live"
	if err := srv.waitReady(ctx, func(ctx context.Context) error { return httpOK(ctx, live) }); err != nil {
		srv.stop()
		return nil, "", err
	}
	srv.where = fmt.Sprintf("MinIO on %s (%s, data in %s)", endpoint, bin, dir)
	return srv, endpoint, nil
}

// httpOK reports whether a GET of url answers 200.
func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// minioDirs lists where to look for the minio binary, in order: $PATH, then
// where `go install` puts it ($GOBIN, else the bin of each $GOPATH entry).
func minioDirs(path, gobin, gopath string) []string {
	dirs := filepath.SplitList(path)
	dirs = append(dirs, gobin)
	for _, p := range filepath.SplitList(gopath) {
		if p != "" {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	return dirs
}

// goEnv returns `go env name`, or "" when the go command is unavailable.
func goEnv(name string) string {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
