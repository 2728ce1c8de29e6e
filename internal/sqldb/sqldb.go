// Package sqldb is the asset.Repository on SQLite or PostgreSQL, through gorm.
// Open applies the migrations of package migrations before it returns.
//
// # Portability
//
// One schema and one set of statements serve both databases. Row ids are
// allocated by the application from the sequences table, in a statement of
// their own before the writing transaction (like a PostgreSQL sequence, an
// allocation is never rolled back, so ids may have gaps but are never reused).
// Entry ids come from entry_counters inside the writing transaction: the
// upsert on the path's counter row serialises creates at one path on
// PostgreSQL (a row lock) and on SQLite (every transaction begins
// IMMEDIATE), so no retry is ever needed and entry ids have no gaps.
// Deletes lock the rows they select with a no-op UPDATE … RETURNING before
// reading their variants, which both databases accept (SELECT … FOR UPDATE
// is PostgreSQL's alone). Where a row lock of another strength is needed,
// CreateVariant's FOR SHARE and ClaimJobs' FOR UPDATE SKIP LOCKED, the
// clause is added on PostgreSQL only: SQLite's IMMEDIATE transactions
// already serialise every writer.
//
// Expired entries are invisible to List, Update and Delete; only
// DeleteExpired removes them.
//
// # Locks
//
// TryLock is a PostgreSQL advisory lock, shared by all processes; on SQLite,
// which one process serves, it is a lock in this process.
//
// Times are stored as UTC text of fixed width with microseconds (see package
// migrations): times are truncated to the microsecond on the way in and
// always come back in UTC.
//
// # Errors
//
// Database errors are translated here: an unreachable, busy or overloaded
// database is asset.CodeUnavailable, anything else asset.CodeInternal. The
// Detail is a generic sentence; the driver's error (never a statement) is kept
// as the cause, for logs.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"assetd/internal/asset"
	"assetd/migrations"
)

// The drivers Open accepts, as in the database.driver setting.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Pool sizes. SQLite has one writer at a time anyway; a few connections let
// WAL readers run beside it without many writers spinning in busy waits.
// PostgreSQL's default max_connections is 100, shared with other clients.
const (
	sqliteMaxConns   = 8
	postgresMaxConns = 16
)

// sqliteBusyTimeout is how long a SQLite writer waits for the write lock
// before the database reports busy (asset.CodeUnavailable).
const sqliteBusyTimeout = 10 * time.Second

// DB is an asset.Repository backed by SQLite or PostgreSQL. It is safe for
// concurrent use, also by several processes sharing one database (but see
// TryLock on SQLite).
type DB struct {
	gorm   *gorm.DB
	sql    *sql.DB
	driver string // DriverSQLite or DriverPostgres

	// The locks TryLock holds on SQLite, by name.
	locksMu sync.Mutex
	locks   map[string]bool
}

var _ asset.Repository = (*DB)(nil)

// Open connects to the database, applies the pending migrations, and returns
// the repository. driver is DriverSQLite, with dsn a file name (its directory
// is created if missing) optionally followed by "?" and go-sqlite3 options,
// or DriverPostgres, with dsn a PostgreSQL URL or keyword/value string.
//
// Errors: an unknown driver or a malformed DSN is a plain error; a database
// that cannot be reached is asset.CodeUnavailable; a failed migration is
// asset.CodeInternal. The DSN (which may hold a password) is never part of
// an error.
func Open(ctx context.Context, driver, dsn string) (*DB, error) {
	var (
		dialector gorm.Dialector
		dialect   goose.Dialect
		maxConns  = postgresMaxConns
	)
	switch driver {
	case DriverSQLite:
		file, full, err := sqliteDSN(dsn)
		if err != nil {
			return nil, err
		}
		if file == "" {
			// Every connection to ":memory:" is a database of its own.
			maxConns = 1
		} else if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return nil, fmt.Errorf("sqldb: create the database directory: %w", err)
		}
		dialector, dialect = sqlite.Open(full), goose.DialectSQLite3
	case DriverPostgres:
		dialector, dialect = postgres.Open(dsn), goose.DialectPostgres
	default:
		return nil, fmt.Errorf("sqldb: unknown database driver %q; use %q or %q", driver, DriverSQLite, DriverPostgres)
	}

	g, err := gorm.Open(dialector, &gorm.Config{
		// Statements and their arguments must never reach a log.
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		// Open pings below, with ctx.
		DisableAutomaticPing: true,
		// SQLite compiles every statement it is given, and parsing was a
		// third of its CPU per delivery: keep the compiled statements
		// (pgx already caches PostgreSQL's). Bounded, since label
		// filters make statements of varying length.
		PrepareStmt:        driver == DriverSQLite,
		PrepareStmtMaxSize: 256,
	})
	if err != nil {
		return nil, classify(err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, classify(err)
	}
	sqlDB.SetMaxOpenConns(maxConns)
	sqlDB.SetMaxIdleConns(maxConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{gorm: g, sql: sqlDB, driver: driver, locks: map[string]bool{}}

	if err := db.Ping(ctx); err != nil {
		sqlDB.Close()
		return nil, err
	}
	if _, err := migrate(ctx, sqlDB, dialect); err != nil {
		sqlDB.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the database connections. The DB is unusable afterwards.
func (db *DB) Close() error {
	return db.sql.Close()
}

// Ping reports whether the database is reachable: nil, or an *asset.Error
// with asset.CodeUnavailable.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return unavailable(err)
	}
	return nil
}

// migrate applies the pending migrations and returns what it applied (none
// when the schema is current). Concurrent PostgreSQL processes take turns
// through an advisory lock; on SQLite the migration transactions serialise.
func migrate(ctx context.Context, sqlDB *sql.DB, dialect goose.Dialect) ([]*goose.MigrationResult, error) {
	p, err := provider(sqlDB, dialect)
	if err != nil {
		return nil, err
	}
	// p.Close would close sqlDB, which belongs to the caller.
	res, err := p.Up(ctx)
	if err != nil {
		return nil, classifyAs(err, "Applying the database migrations failed.")
	}
	return res, nil
}

func provider(sqlDB *sql.DB, dialect goose.Dialect) (*goose.Provider, error) {
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if dialect == goose.DialectPostgres {
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("sqldb: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, sqlDB, migrations.FS, opts...)
	if err != nil {
		return nil, fmt.Errorf("sqldb: load migrations: %w", err)
	}
	return p, nil
}

// sqliteDSN returns the database file named by dsn ("" for an in-memory
// database) and the DSN with the options assetd relies on: WAL so readers do
// not block the writer, a busy timeout so writers wait for each other,
// foreign keys for the cascading deletes, and IMMEDIATE transactions so a
// transaction takes the write lock when it begins, not halfway through (which
// would fail with SQLITE_BUSY instead of waiting).
func sqliteDSN(dsn string) (file, full string, err error) {
	base, rawQuery, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", "", fmt.Errorf("sqldb: malformed SQLite options in the database DSN: %w", err)
	}
	setDefault := func(key, value string) {
		if q.Get(key) == "" {
			q.Set(key, value)
		}
	}
	setDefault("_journal_mode", "WAL")
	setDefault("_busy_timeout", fmt.Sprint(sqliteBusyTimeout.Milliseconds()))
	// FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power
	// loss, and a 201 promises that the row is durable.
	setDefault("_synchronous", "FULL")
	q.Set("_foreign_keys", "on")
	q.Set("_txlock", "immediate")

	file = strings.TrimPrefix(base, "file:")
	if file == "" || file == ":memory:" || q.Get("mode") == "memory" {
		file = ""
	}
	if base == "" {
		return "", "", errors.New("sqldb: the SQLite database DSN names no file")
	}
	return file, base + "?" + q.Encode(), nil
}
