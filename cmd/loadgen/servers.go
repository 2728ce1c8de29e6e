package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a service the driver started and measures.
type server struct {
	name string
	url  string // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's answer, valid once done is closed
	log  *tail         // the end of its output, for reporting a crash
}

// pid is the server's process id, whose CPU time is measured.
func (s *server) pid() int { return s.cmd.Process.Pid }

// alive reports an error when the server has exited, with its last output.
func (s *server) alive() error {
	select {
	case <-s.done:
		return fmt.Errorf("%s exited (%v); its last output:\n%s", s.name, s.err, s.log)
	default:
		return nil
	}
}

// stop asks the server to shut down (SIGTERM) and kills it when it has not
// exited within grace. Safe to call more than once.
func (s *server) stop(grace time.Duration) {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(grace):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// tail keeps the last few KiB written to it, safe for concurrent use.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailBytes = 4096

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailBytes {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailBytes:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// childEnv is this process's environment without any ASSETD_ or IMGPROXY_
// variable, plus extra: the servers run with exactly the settings the
// driver chose, whatever the caller's shell exports.
func childEnv(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ASSETD_") || strings.HasPrefix(kv, "IMGPROXY_") {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// launch starts cmd with its output going to out (and to the server's
// tail) and returns it as a server.
func launch(name string, cmd *exec.Cmd, out io.Writer) (*server, error) {
	s := &server{name: name, cmd: cmd, done: make(chan struct{}), log: &tail{}}
	w := io.MultiWriter(s.log, out)
	cmd.Stdout, cmd.Stderr = w, s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	dieWithParent(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	return s, nil
}

// assetdConfig is the configuration file of the measured assetd: one bucket
// for everything, and both LQIP kinds so uploads pay for them as the
// issue's upload scenario asks.
const assetdConfig = `paths:
  "/**":
    bucket: assets
    lqip: [blurhash, thumbhash]
`

// startAssetd runs the assetd binary bin with SQLite and the filesystem
// store under dir, on a port of 127.0.0.1 that the kernel picks, and waits
// until it logs the address it listens on.
// Errors: the binary does not start, exits, or does not listen within
// a minute.
func startAssetd(ctx context.Context, bin, dir string, workers int) (*server, error) {
	cfg := filepath.Join(dir, "assetd.yaml")
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(cfg, []byte(assetdConfig), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-config", cfg)
	cmd.Env = childEnv(map[string]string{
		"ASSETD_SERVER_LISTEN":           "127.0.0.1:0",
		"ASSETD_DATABASE_DRIVER":         "sqlite",
		"ASSETD_DATABASE_DSN":            filepath.Join(dir, "assetd.db"),
		"ASSETD_OBJECTS_BACKEND":         "filesystem",
		"ASSETD_OBJECTS_FILESYSTEM_ROOT": filepath.Join(dir, "objects"),
		"ASSETD_IMAGING_WORKERS":         fmt.Sprint(workers),
		// As `make run` and the README recommend: glibc's per-thread
		// arenas otherwise hold on to libvips' freed buffers.
		"MALLOC_ARENA_MAX": "2",
		"TMPDIR":           tmp,
	})
	pr, pw := io.Pipe()
	s, err := launch("assetd", cmd, pw)
	if err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
				break
			}
		}
		// Keep draining, or a full pipe would block assetd's logging.
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		<-s.done
		pw.Close()
	}()
	select {
	case a := <-addr:
		s.url = "http://" + a
		return s, nil
	case <-s.done:
		return nil, s.alive()
	case <-ctx.Done():
		s.stop(10 * time.Second)
		return nil, ctx.Err()
	case <-time.After(time.Minute):
		s.stop(10 * time.Second)
		return nil, fmt.Errorf("assetd did not log \"listening\" within a minute; its last output:\n%s", s.log)
	}
}

// imgproxyQuality holds the encoder settings imgproxy runs with, chosen to
// match assetd's defaults (API.md: jpg 80, webp 80, avif 50).
type imgproxyQuality struct {
	avifSpeed  int // IMGPROXY_AVIF_SPEED: libvips effort = 9 - speed
	webpEffort int // IMGPROXY_WEBP_EFFORT
}

// startImgproxy runs the imgproxy binary bin on a free port of 127.0.0.1,
// serving the files of root without URL signing, and waits until /health
// answers.
// Errors: no free port, the binary does not start or exits, or it is not
// healthy within a minute.
func startImgproxy(ctx context.Context, bin, root string, workers int, q imgproxyQuality) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	bind := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin)
	cmd.Env = childEnv(map[string]string{
		"IMGPROXY_BIND":                  bind,
		"IMGPROXY_LOCAL_FILESYSTEM_ROOT": root,
		"IMGPROXY_WORKERS":               fmt.Sprint(workers),
		"IMGPROXY_QUALITY":               "80",
		"IMGPROXY_FORMAT_QUALITY":        "jpeg=80,webp=80,avif=50",
		"IMGPROXY_AVIF_SPEED":            fmt.Sprint(q.avifSpeed),
		"IMGPROXY_WEBP_EFFORT":           fmt.Sprint(q.webpEffort),
		// Its default already, spelled out because it is part of "the same
		// job": assetd's variants carry no EXIF/XMP either.
		"IMGPROXY_STRIP_METADATA": "true",
		"MALLOC_ARENA_MAX":        "2",
	})
	s, err := launch("imgproxy", cmd, io.Discard)
	if err != nil {
		return nil, err
	}
	s.url = "http://" + bind
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if err := s.alive(); err != nil {
			return nil, err
		}
		if resp, err := client.Get(s.url + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-ctx.Done():
			s.stop(10 * time.Second)
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	s.stop(10 * time.Second)
	return nil, errors.New("imgproxy was not healthy within a minute; its last output:\n" + s.log.String())
}

// freePort asks the kernel for a free TCP port on 127.0.0.1. imgproxy
// cannot be told to pick one and report it, so another process could take
// the port in between; unlikely on a developer's machine, and it shows as
// a start-up failure.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
