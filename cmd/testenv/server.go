package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Time limits for a server to become ready and to shut down. They are
// generous because CI machines can be slow and busy.
const (
	readyTimeout = 90 * time.Second
	stopTimeout  = 15 * time.Second
)

// server is a running background process and the temporary directory that
// holds its data and its log.
type server struct {
	where   string         // one line for the user: what runs where
	dir     string         // removed by stop
	cmd     *exec.Cmd      //
	stopSig syscall.Signal // asks the process to shut down quickly
	exited  chan struct{}  // closed when the process has exited
}

// startServer starts cmd with its output going to dir/log. The process gets
// its own process group, so a ^C in the terminal reaches only the command
// under test and testenv can stop the servers after it, in order.
func startServer(cmd *exec.Cmd, dir string, stopSig syscall.Signal) (*server, error) {
	log, err := os.OpenFile(filepath.Join(dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child holds its own descriptor
	cmd.Stdout, cmd.Stderr = log, log
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	dieWithParent(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{dir: dir, cmd: cmd, stopSig: stopSig, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

// waitReady polls ready until it succeeds, and fails when the process exits,
// ctx ends or readyTimeout passes. Its errors include the end of the log.
func (s *server) waitReady(ctx context.Context, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("exited during start-up (%v); log:\n%s", s.cmd.ProcessState, s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("not ready (%v: last error: %v); log:\n%s", ctx.Err(), err, s.logTail())
		case <-tick.C:
		}
	}
}

// stop shuts the process down, killing it if it takes longer than
// stopTimeout, and removes its directory.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(s.stopSig)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	_ = os.RemoveAll(s.dir)
}

// logTail returns the last lines of the server's log, for error messages.
func (s *server) logTail() []byte {
	b, _ := os.ReadFile(filepath.Join(s.dir, "log"))
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another
// process may take it before the server binds it; that is rare enough to
// accept, and the server's start-up then fails with a clear log.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// hostPort is 127.0.0.1:port.
func hostPort(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// findExecutable returns the first dir/name that is an executable regular
// file. Empty dirs are skipped. It returns an error naming every place it
// looked when there is none.
func findExecutable(name string, dirs []string) (string, error) {
	var looked []string
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		looked = append(looked, p)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found (looked for %q)", name, looked)
}
