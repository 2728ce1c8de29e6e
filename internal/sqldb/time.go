package sqldb

import (
	"fmt"
	"time"
)

// timeLayout is how times are written: UTC, fixed width, microseconds. Fixed
// width makes SQLite's text comparison chronological; PostgreSQL parses it
// into a TIMESTAMP exactly.
const timeLayout = "2006-01-02 15:04:05.000000"

// storedTime is t as the database keeps it.
func storedTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// timeArg is t as a statement argument.
func timeArg(t time.Time) string {
	return storedTime(t).Format(timeLayout)
}

// nullTimeArg is timeArg, or NULL for nil.
func nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return timeArg(*t)
}

// dbTime scans a stored time. go-sqlite3 hands TIMESTAMP columns over as
// time.Time or, should it not recognise the column, as text; pgx hands over a
// time.Time whose location is the connection's (UTC unless the DSN says
// otherwise), so its wall clock, which is UTC, is what counts.
type dbTime struct{ t time.Time }

func (d *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		d.t = time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), time.UTC)
		return nil
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	}
	return fmt.Errorf("sqldb: cannot scan %T into a time", src)
}

func (d *dbTime) parse(s string) error {
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, time.UTC)
	if err != nil {
		return fmt.Errorf("sqldb: stored time %q: %w", s, err)
	}
	d.t = t
	return nil
}
