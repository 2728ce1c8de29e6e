// Package testenv gives tests the external services that `make test` starts
// (see cmd/testenv): a PostgreSQL server and a MinIO server on loopback.
//
// A test that needs one calls PostgresDSN or S3. When the service is absent the
// test is skipped, except under CI=true, where it fails: CI must never pass by
// skipping.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// Environment variables set by cmd/testenv for the tests it runs.
const (
	EnvPostgresDSN = "ASSETD_TEST_POSTGRES_DSN" // postgres://…/postgres, a superuser
	EnvS3Endpoint  = "ASSETD_TEST_S3_ENDPOINT"  // host:port of MinIO
	EnvS3AccessKey = "ASSETD_TEST_S3_ACCESS_KEY"
	EnvS3SecretKey = "ASSETD_TEST_S3_SECRET_KEY"
)

// InCI reports whether the tests run in CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

func missing(t testing.TB, what, env string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is required when CI=true but %s is not set; run the tests with `make test`", what, env)
	}
	t.Skipf("%s not available (%s unset); `make test` starts it", what, env)
}

// PostgresDSN creates a fresh, empty database on the test PostgreSQL server,
// returns its DSN, and drops it when the test ends. It skips (or, in CI,
// fails) when no server is configured.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvPostgresDSN)
	if admin == "" {
		missing(t, "PostgreSQL", EnvPostgresDSN)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("open admin connection: %v", err)
	}
	name := "t_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		db.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgresDSN, err)
	}
	u.Path = "/" + name
	return u.String()
}

// S3Config is how to reach the test MinIO server.
type S3Config struct {
	Endpoint  string // host:port, plain HTTP
	AccessKey string
	SecretKey string
}

// S3 returns the test MinIO server. It skips (or, in CI, fails) when none is
// configured. Tests should use a fresh bucket name from Bucket.
func S3(t testing.TB) S3Config {
	t.Helper()
	c := S3Config{
		Endpoint:  os.Getenv(EnvS3Endpoint),
		AccessKey: os.Getenv(EnvS3AccessKey),
		SecretKey: os.Getenv(EnvS3SecretKey),
	}
	if c.Endpoint == "" {
		missing(t, "MinIO", EnvS3Endpoint)
	}
	return c
}

// Bucket returns a fresh bucket name that is valid for S3.
func Bucket() string { return "t-" + randomHex(8) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
