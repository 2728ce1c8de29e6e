package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
)

// startPostgres initialises a fresh PostgreSQL cluster in a temporary
// directory, starts it on a free loopback port and waits until it accepts
// queries. It returns the server and the DSN of its superuser "postgres".
// Durability is switched off: the data lives only as long as the tests.
func startPostgres(ctx context.Context) (*server, string, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, "", fmt.Errorf("PostgreSQL: %w", err)
	}
	srv, dsn, err := startPostgresIn(ctx, bin)
	if err != nil {
		return nil, "", fmt.Errorf("PostgreSQL (%s): %w", bin, err)
	}
	return srv, dsn, nil
}

func startPostgresIn(ctx context.Context, bin string) (*server, string, error) {
	dir, err := os.MkdirTemp("", "assetd-testenv-pg-")
	if err != nil {
		return nil, "", err
	}
	cred, err := unprivileged(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	// run prepares a PostgreSQL program to run as cred, from dir: the
	// server refuses to run as root, and the unprivileged user may not be
	// able to enter the current directory.
	run := func(name string, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		return cmd
	}

	data := filepath.Join(dir, "data")
	initdb := run("initdb", "-D", data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("initdb: %v\n%s", err, out)
	}

	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	postgres := run("postgres", "-D", data,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+dir,
		// Tests lose nothing when a crash loses data, and gain speed.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		// go test runs packages in parallel, each with its own pools.
		"-c", "max_connections=300",
	)
	// SIGINT is PostgreSQL's "fast shutdown": it does not wait for clients.
	srv, err := startServer(postgres, dir, syscall.SIGINT)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	dsn := fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable", hostPort(port))
	if err := srv.waitReady(ctx, func(ctx context.Context) error { return ping(ctx, dsn) }); err != nil {
		srv.stop()
		return nil, "", err
	}
	srv.where = fmt.Sprintf("PostgreSQL on %s (%s, data in %s)", hostPort(port), bin, dir)
	return srv, dsn, nil
}

// ping connects to dsn and runs a query: a server that accepts connections
// may still be starting up.
func ping(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "SELECT 1")
	return err
}

// postgresBinDir finds the directory holding initdb and postgres: the one
// pg_config reports, or else the newest /usr/lib/postgresql/*/bin (Debian's
// layout, where pg_config may come from the client package alone).
func postgresBinDir() (string, error) {
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	dirs = append(dirs, newestFirst(debian)...)
	for _, dir := range dirs {
		if _, err := findExecutable("postgres", []string{dir}); err != nil {
			continue
		}
		if _, err := findExecutable("initdb", []string{dir}); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("initdb and postgres not found (looked in %q; install postgresql-15)", dirs)
}

// newestFirst sorts /usr/lib/postgresql/VERSION/bin paths by numeric
// version, newest first, so that 15 comes before 9.6.
func newestFirst(dirs []string) []string {
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	dirs = slices.Clone(dirs)
	slices.SortStableFunc(dirs, func(a, b string) int {
		va, vb := version(a), version(b)
		switch {
		case va > vb:
			return -1
		case va < vb:
			return 1
		}
		return 0
	})
	return dirs
}

// unprivileged returns the credential to run PostgreSQL with, after giving
// dir to that user. As a normal user it returns nil: run as ourselves. As
// root, whom initdb refuses, it is the "postgres" user if there is one, else
// "nobody".
func unprivileged(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		if u, err = user.Lookup("nobody"); err != nil {
			return nil, fmt.Errorf("running as root and found neither user postgres nor nobody to run PostgreSQL as")
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: uid %q: %v", u.Username, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: gid %q: %v", u.Username, u.Gid, err)
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}
