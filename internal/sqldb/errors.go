package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"

	"assetd/internal/asset"
)

// The generic details of database errors. They must never include SQL, a
// DSN or a driver message: clients see them.
const (
	detailUnavailable = "The database is unavailable; try again later."
	detailTimeout     = "The database did not answer in time; try again later."
	detailInternal    = "A database operation failed."
)

// classify translates a database error into an *asset.Error that keeps err as
// its cause. An *asset.Error passes through unchanged.
func classify(err error) error {
	return classifyAs(err, detailInternal)
}

// classifyAs is classify with the detail for errors that are not the
// database being unavailable.
func classifyAs(err error, detail string) error {
	if err == nil {
		return nil
	}
	var ae *asset.Error
	if errors.As(err, &ae) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return asset.Wrap(asset.CodeUnavailable, err, detailTimeout)
	}
	if isUnavailable(err) {
		return asset.Wrap(asset.CodeUnavailable, err, detailUnavailable)
	}
	return asset.Wrap(asset.CodeInternal, err, detail)
}

// unavailable is classify for failures of a call whose only purpose is to
// reach the database, such as a ping: any failure means it is unavailable.
func unavailable(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return asset.Wrap(asset.CodeUnavailable, err, detailTimeout)
	}
	return asset.Wrap(asset.CodeUnavailable, err, detailUnavailable)
}

// isUnavailable reports whether err says the database cannot serve now but
// may later: it is unreachable, shutting down, overloaded, locked or out of
// resources. Retrying the same request may succeed.
func isUnavailable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "53"),  // insufficient resources
			strings.HasPrefix(pgErr.Code, "57P"), // shutting down, cannot connect now
			pgErr.Code == "40001",                // serialization failure
			pgErr.Code == "40P01":                // deadlock detected
			return true
		}
		return false
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	var liteErr sqlite3.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrCantOpen,
			sqlite3.ErrIoErr, sqlite3.ErrFull, sqlite3.ErrReadonly, sqlite3.ErrNomem:
			return true
		}
	}
	return false
}

// isForeignKeyViolation reports whether err is a row referring to a row
// that does not exist, such as a variant or job of an entry deleted
// meanwhile.
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	var liteErr sqlite3.Error
	return errors.As(err, &liteErr) && liteErr.ExtendedCode == sqlite3.ErrConstraintForeignKey
}
