package sqldb

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"assetd/internal/asset"
	"assetd/internal/asset/repotest"
	"assetd/internal/testenv"
)

// backend is one database the tests run against.
type backend struct {
	name    string
	driver  string
	dialect goose.Dialect
	dsn     func(t *testing.T) string
}

var backends = []backend{
	{"SQLite", DriverSQLite, goose.DialectSQLite3, func(t *testing.T) string {
		// A directory that does not exist yet: Open must create it.
		return filepath.Join(t.TempDir(), "new", "dir", "assetd.db")
	}},
	{"PostgreSQL", DriverPostgres, goose.DialectPostgres, func(t *testing.T) string {
		return testenv.PostgresDSN(t)
	}},
}

func open(t *testing.T, driver, dsn string) *DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := Open(ctx, driver, dsn)
	if err != nil {
		t.Fatalf("Open(%s): %v", driver, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestRepository(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			repotest.Run(t, func(t *testing.T) asset.Repository {
				return open(t, b.driver, b.dsn(t))
			})
		})
	}
}

func TestMigrations(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.dsn(t)
			db := open(t, b.driver, dsn)
			a := &asset.Asset{Class: asset.ClassFile, Path: "keep", Source: asset.SourceUpload,
				Variants: []asset.Variant{{IsOriginal: true, Bucket: "b", Key: "k"}}}
			if err := db.Create(ctx, a); err != nil {
				t.Fatalf("Create: %v", err)
			}

			// Applying again is a no-op that keeps the data.
			res, err := migrate(ctx, db.sql, b.dialect)
			if err != nil || len(res) != 0 {
				t.Fatalf("second migrate applied %v, err %v; want nothing", res, err)
			}
			db.Close()
			db = open(t, b.driver, dsn)
			if got, err := db.List(ctx, asset.Selection{Path: "keep", Now: time.Now()}); err != nil || len(got) != 1 {
				t.Fatalf("List after reopening = %v, %v; want the entry", got, err)
			}

			// Every Down undoes its Up: all the way down and up again works.
			p, err := provider(db.sql, b.dialect)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.DownTo(ctx, 0); err != nil {
				t.Fatalf("migrate down: %v", err)
			}
			if _, err := db.List(ctx, asset.Selection{Path: "keep", Now: time.Now()}); asset.CodeOf(err) != asset.CodeInternal {
				t.Fatalf("List with the tables dropped = %v; want an internal error", err)
			}
			if res, err := migrate(ctx, db.sql, b.dialect); err != nil || len(res) == 0 {
				t.Fatalf("migrate up again applied %v, err %v; want the migrations", res, err)
			}
			if got, err := db.List(ctx, asset.Selection{Path: "keep", Now: time.Now()}); err != nil || len(got) != 0 {
				t.Fatalf("List on the fresh schema = %v, %v; want nothing", got, err)
			}
		})
	}
}

// TestTimesStoredAsUTC checks the stored text itself, which other tools (and
// SQLite's text comparison of expiry times) see.
func TestTimesStoredAsUTC(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t, b.driver, b.dsn(t))
			at := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.FixedZone("UTC+5", 5*3600))
			a := &asset.Asset{Class: asset.ClassFile, Path: "t", Source: asset.SourceUpload,
				CreatedAt: at, ModifiedAt: at, ExpiresAt: &at,
				Variants: []asset.Variant{{IsOriginal: true, Bucket: "b", Key: "k", CreatedAt: at}}}
			if err := db.Create(ctx, a); err != nil {
				t.Fatalf("Create: %v", err)
			}
			var created, expires string
			if err := db.sql.QueryRowContext(ctx, "SELECT CAST(created_at AS TEXT), CAST(expires_at AS TEXT) FROM assets").
				Scan(&created, &expires); err != nil {
				t.Fatal(err)
			}
			const want = "2026-03-01 05:00:00.123456"
			if created != want || expires != want {
				t.Fatalf("stored created_at %q, expires_at %q; want %q (UTC, microseconds)", created, expires, want)
			}
			// Create reports the times as stored, so they equal what List returns.
			stored := time.Date(2026, 3, 1, 5, 0, 0, 123456000, time.UTC)
			if a.CreatedAt != stored || *a.ExpiresAt != stored || a.Variants[0].CreatedAt != stored {
				t.Fatalf("Create left times %v, %v, %v; want %v", a.CreatedAt, *a.ExpiresAt, a.Variants[0].CreatedAt, stored)
			}
		})
	}
}

func TestOpenUnreachablePostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Port 1 on loopback refuses connections.
	_, err := Open(ctx, DriverPostgres, "postgres://assetd:s3cret-pw@127.0.0.1:1/assetd?sslmode=disable&connect_timeout=5")
	if asset.CodeOf(err) != asset.CodeUnavailable {
		t.Fatalf("Open of an unreachable server = %v; want CodeUnavailable", err)
	}
	var ae *asset.Error
	if !asErr(err, &ae) || strings.Contains(ae.Detail, "s3cret") || strings.Contains(ae.Detail, "127.0.0.1") {
		t.Fatalf("detail %q leaks connection details", ae.Detail)
	}
}

func TestOpenUnknownDriver(t *testing.T) {
	if _, err := Open(context.Background(), "mysql", "x"); err == nil || !strings.Contains(err.Error(), "mysql") {
		t.Fatalf("Open(mysql) = %v; want an error naming the driver", err)
	}
}

func TestSQLiteSettings(t *testing.T) {
	db := open(t, DriverSQLite, filepath.Join(t.TempDir(), "a.db"))
	conn, err := db.sql.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000"} {
		var got string
		if err := conn.QueryRowContext(context.Background(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q; want %q", pragma, got, want)
		}
	}
}

func TestErrorsHideSQL(t *testing.T) {
	db := open(t, DriverSQLite, filepath.Join(t.TempDir(), "a.db"))
	if _, err := db.sql.Exec("DROP TABLE tags"); err != nil {
		t.Fatal(err)
	}
	a := &asset.Asset{Class: asset.ClassFile, Path: "p", Source: asset.SourceUpload, Tags: []string{"t"},
		Variants: []asset.Variant{{IsOriginal: true, Bucket: "b", Key: "k"}}}
	err := db.Create(context.Background(), a)
	var ae *asset.Error
	if !asErr(err, &ae) || ae.Code != asset.CodeInternal {
		t.Fatalf("Create with a table missing = %v; want CodeInternal", err)
	}
	if strings.Contains(strings.ToLower(ae.Detail), "tags") || strings.Contains(ae.Detail, "INSERT") {
		t.Fatalf("detail %q shows database internals", ae.Detail)
	}
	if a.ID != 0 {
		t.Fatalf("a failed Create assigned ID %d", a.ID)
	}
	// The transaction rolled back: the entry is not half there.
	if got, err := db.List(context.Background(), asset.Selection{Path: "p", Now: time.Now()}); err != nil || len(got) != 0 {
		t.Fatalf("List after a failed Create = %v, %v; want nothing", got, err)
	}
}

func asErr(err error, target **asset.Error) bool {
	return errors.As(err, target)
}

func TestSQLiteDSN(t *testing.T) {
	for _, c := range []struct{ dsn, file, want string }{
		{"data/assetd.db", "data/assetd.db",
			"data/assetd.db?_busy_timeout=10000&_foreign_keys=on&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate"},
		// The operator's tuning is kept; what correctness needs is forced.
		{"file:/var/x.db?_busy_timeout=500&_txlock=deferred&_foreign_keys=off", "/var/x.db",
			"file:/var/x.db?_busy_timeout=500&_foreign_keys=on&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate"},
		{":memory:", "",
			":memory:?_busy_timeout=10000&_foreign_keys=on&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate"},
	} {
		file, full, err := sqliteDSN(c.dsn)
		if err != nil || file != c.file || full != c.want {
			t.Errorf("sqliteDSN(%q) = %q, %q, %v; want %q, %q", c.dsn, file, full, err, c.file, c.want)
		}
	}
	if _, _, err := sqliteDSN("?_txlock=immediate"); err == nil {
		t.Errorf("sqliteDSN without a file name succeeded")
	}
}

// A DSN may set the session time zone; gorm then scans timestamps in that
// zone. Times must still come back as stored.
func TestPostgresSessionTimeZone(t *testing.T) {
	ctx := context.Background()
	db := open(t, DriverPostgres, testenv.PostgresDSN(t)+"&timezone=Asia/Tokyo")
	at := time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)
	a := &asset.Asset{Class: asset.ClassFile, Path: "tz", Source: asset.SourceUpload, CreatedAt: at, ModifiedAt: at,
		ExpiresAt: ptr(at.Add(time.Hour)), Variants: []asset.Variant{{IsOriginal: true, Bucket: "b", Key: "k", CreatedAt: at}}}
	if err := db.Create(ctx, a); err != nil {
		t.Fatalf("Create: %v", err)
	}
	list, err := db.List(ctx, asset.Selection{Path: "tz", Now: at.Add(59 * time.Minute)})
	if err != nil || len(list) != 1 {
		t.Fatalf("List before expiry = %v, %v; want the entry", list, err)
	}
	got := list[0]
	if got.CreatedAt != at || *got.ExpiresAt != at.Add(time.Hour) || got.Variants[0].CreatedAt != at {
		t.Fatalf("times came back as %v, %v, %v; want %v (+1h)", got.CreatedAt, *got.ExpiresAt, got.Variants[0].CreatedAt, at)
	}
	if list, err := db.List(ctx, asset.Selection{Path: "tz", Now: at.Add(time.Hour)}); err != nil || len(list) != 0 {
		t.Fatalf("List at expiry = %v, %v; want nothing", list, err)
	}
	// Cursors and updates compare times in the session's zone too.
	if list, err := db.List(ctx, asset.Selection{Path: "tz", Now: at, After: &asset.Cursor{At: at, EntryID: 1}}); err != nil || len(list) != 1 {
		t.Fatalf("List after a cursor at the entry's time and a higher entry id = %v, %v; want the entry", list, err)
	}
	if err := db.Update(ctx, &asset.Asset{Path: "tz", ModifiedAt: at.Add(time.Minute)}, at); err != nil {
		t.Fatalf("Update if modified at the stored time: %v", err)
	}
}

// TryLock on PostgreSQL is shared by every process that uses the database:
// two repositories (as two processes would) exclude each other, and a lock
// is released when its holder's connection closes.
func TestPostgresLockAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresDSN(t)
	first, second := open(t, DriverPostgres, dsn), open(t, DriverPostgres, dsn)

	release, ok, err := first.TryLock(ctx, "sweeper")
	if err != nil || !ok {
		t.Fatalf("first TryLock = %v, %v; want acquired", ok, err)
	}
	if _, ok, err := second.TryLock(ctx, "sweeper"); err != nil || ok {
		t.Fatalf("TryLock from another process while held = %v, %v; want not acquired", ok, err)
	}
	release()
	release2, ok, err := second.TryLock(ctx, "sweeper")
	if err != nil || !ok {
		t.Fatalf("TryLock from another process after release = %v, %v; want acquired", ok, err)
	}
	// The holder dies without releasing (its backend is killed, as when its
	// process crashes): its session, and with it the lock, end.
	var killed bool
	if err := first.sql.QueryRowContext(ctx, `SELECT pg_terminate_backend(pid, 30000) FROM pg_locks
		WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).
		Scan(&killed); err != nil || !killed {
		t.Fatalf("terminating the holder = %v, %v", killed, err)
	}
	// Releasing on a dead connection neither panics nor blocks.
	release2()
	if release, ok, err := first.TryLock(ctx, "sweeper"); err != nil || !ok {
		t.Fatalf("TryLock after the holder's connections closed = %v, %v; want acquired", ok, err)
	} else {
		release()
	}
	// Released locks went back to the pool unlocked: every pooled
	// connection can take the lock again.
	var held int
	if err := first.sql.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&held); err != nil || held != 0 {
		t.Fatalf("advisory locks held after every release = %d, %v; want 0", held, err)
	}
}

func TestTryLockCancelled(t *testing.T) {
	db := open(t, DriverSQLite, filepath.Join(t.TempDir(), "a.db"))
	release, ok, err := db.TryLock(context.Background(), "x")
	if err != nil || !ok {
		t.Fatalf("TryLock = %v, %v; want acquired", ok, err)
	}
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok, err := db.TryLock(ctx, "y"); ok || asset.CodeOf(err) != asset.CodeUnavailable {
		t.Fatalf("TryLock with a cancelled context = %v, %v; want CodeUnavailable", ok, err)
	}
}

func ptr[T any](v T) *T { return &v }
