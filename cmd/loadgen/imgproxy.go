package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// The imgproxy release the comparison runs against (issue 4). It links the
// system's libvips, the same one assetd uses, so the two differ only in
// what they ask of it.
const (
	imgproxyModule  = "github.com/imgproxy/imgproxy/v3"
	imgproxyVersion = "v3.31.4"
)

// imgproxyBinary returns the path of an imgproxy binary: explicit when it
// is not empty, else the cached build under the user's cache directory,
// building it first when it is missing (`go install` of imgproxy does not
// work through the module proxy, since its go.mod has replace directives,
// but `go mod download` does, and the downloaded module builds in place).
// Progress goes to log; the build takes about 5 minutes on 2 cores.
// Errors: the cache directory is unknown, or the download or build failed
// (with go's output).
func imgproxyBinary(ctx context.Context, explicit string, log io.Writer) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for the imgproxy build (pass -imgproxy): %w", err)
	}
	dir := filepath.Join(cache, "assetd-bench")
	bin := filepath.Join(dir, "imgproxy-"+imgproxyVersion)
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	start := time.Now()
	fmt.Fprintf(log, "building imgproxy %s into %s (about 5 minutes on 2 cores; done once)\n", imgproxyVersion, bin)
	modDir, err := downloadModule(ctx, imgproxyModule+"@"+imgproxyVersion)
	if err != nil {
		return "", err
	}
	// The module cache is read-only; go build wants to write go.sum.
	src := filepath.Join(dir, "imgproxy-"+imgproxyVersion+"-src")
	if err := os.RemoveAll(src); err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	if err := copyTree(modDir, src); err != nil {
		return "", fmt.Errorf("copying imgproxy's source: %w", err)
	}
	tmp := bin + ".tmp"
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", tmp, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("go build of imgproxy: %w\n%s", err, out)
	}
	// Renamed into place only when complete, so an interrupted build
	// never leaves a binary that looks cached.
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	fmt.Fprintf(log, "built imgproxy in %s\n", time.Since(start).Round(time.Second))
	return bin, nil
}

// downloadModule fetches module@version into the module cache and returns
// its directory. It runs in an empty directory so no project's go.mod is
// consulted or changed.
func downloadModule(ctx context.Context, modVersion string) (string, error) {
	tmp, err := os.MkdirTemp("", "loadgen-mod-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", modVersion)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr != nil || info.Dir == "" {
		if ee, ok := err.(*exec.ExitError); ok {
			return "", fmt.Errorf("go mod download %s: %s %s %s", modVersion, err, info.Error, ee.Stderr)
		}
		return "", fmt.Errorf("go mod download %s: %v %s %s", modVersion, err, info.Error, out)
	}
	return info.Dir, nil
}

// copyTree copies the regular files and directories under from into to,
// made writable by their owner.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		target := filepath.Join(to, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode().IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, info.Mode().Perm()|0o200)
		}
		return nil // symlinks and the like: a module zip holds none
	})
}
