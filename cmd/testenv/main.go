// Command testenv runs a command next to a throwaway PostgreSQL and MinIO, so
// that `make test` exercises the real servers instead of skipping:
//
//	go run ./cmd/testenv -- go test -count=1 ./...
//
// Both servers listen on 127.0.0.1 on free ports and keep their data in
// temporary directories. Their addresses reach the command through the
// variables that internal/testenv reads (ASSETD_TEST_POSTGRES_DSN,
// ASSETD_TEST_S3_ENDPOINT, ASSETD_TEST_S3_ACCESS_KEY,
// ASSETD_TEST_S3_SECRET_KEY). When the command ends, or testenv receives
// SIGINT or SIGTERM, both servers are stopped and their directories removed,
// and testenv exits with the command's exit status.
//
// A server that cannot be found or started is a warning (its tests skip),
// except under CI=true, where it is an error: CI must never pass by skipping.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// Variables read by internal/testenv; main_test.go keeps them in step. They
// are repeated here because internal/testenv may only be imported by tests.
const (
	envPostgresDSN = "ASSETD_TEST_POSTGRES_DSN"
	envS3Endpoint  = "ASSETD_TEST_S3_ENDPOINT"
	envS3AccessKey = "ASSETD_TEST_S3_ACCESS_KEY"
	envS3SecretKey = "ASSETD_TEST_S3_SECRET_KEY"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

// run starts the servers, runs the command in args (after an optional "--")
// and returns the exit status for testenv.
func run(args []string, getenv func(string) string, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: testenv -- command [args...]")
		return 2
	}
	ci := getenv("CI") == "true"

	// Catch the signals for the whole run: during start-up they abort it,
	// afterwards they are forwarded to the command, and in both cases the
	// servers are still stopped and removed.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan startResult, 1)
	go func() { started <- startAll(ctx) }()
	var env startResult
	select {
	case env = <-started:
	case sig := <-signals:
		cancel()
		env = <-started
		env.stop()
		return signalStatus(sig)
	}
	defer env.stop()

	for _, err := range env.errs {
		if ci {
			fmt.Fprintf(stderr, "testenv: %v\ntestenv: CI=true requires every test server; giving up\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "testenv: warning: %v; the tests that need it will be skipped\n", err)
	}
	for _, s := range env.servers {
		fmt.Fprintf(stderr, "testenv: %s\n", s.where)
	}
	return runCommand(args, env.vars, signals, stderr)
}

// startResult is what startAll managed to start, and what it could not.
type startResult struct {
	servers []*server
	vars    []string // NAME=value for the command
	errs    []error
}

func (r startResult) stop() {
	for _, s := range r.servers {
		s.stop()
	}
}

// startAll starts PostgreSQL and MinIO side by side, because each spends most
// of its start-up time waiting.
func startAll(ctx context.Context) startResult {
	type started struct {
		srv  *server
		vars []string
		err  error
	}
	pg, s3 := make(chan started, 1), make(chan started, 1)
	go func() {
		srv, dsn, err := startPostgres(ctx)
		pg <- started{srv, []string{envPostgresDSN + "=" + dsn}, err}
	}()
	go func() {
		srv, endpoint, err := startMinio(ctx)
		s3 <- started{srv, []string{
			envS3Endpoint + "=" + endpoint,
			envS3AccessKey + "=" + minioUser,
			envS3SecretKey + "=" + minioPassword,
		}, err}
	}()
	var r startResult
	for _, s := range []started{<-pg, <-s3} {
		if s.err != nil {
			r.errs = append(r.errs, s.err)
			continue
		}
		r.servers = append(r.servers, s.srv)
		r.vars = append(r.vars, s.vars...)
	}
	return r
}

// runCommand runs args with stdio passed through and vars added to the
// environment, forwards signals to it, and returns its exit status.
func runCommand(args, vars []string, signals <-chan os.Signal, stderr io.Writer) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), vars...)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "testenv: %v\n", err)
		return 127
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case err := <-done:
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				fmt.Fprintf(stderr, "testenv: %v\n", err)
				return 1
			}
			return exitStatus(cmd.ProcessState)
		case sig := <-signals:
			// The command shares our process group, so a ^C in a terminal
			// reached it already; a kill aimed at testenv alone did not.
			_ = cmd.Process.Signal(sig)
		}
	}
}

// exitStatus is the shell's view of how a process ended: its exit code, or
// 128 plus the number of the signal that killed it.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func signalStatus(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}
