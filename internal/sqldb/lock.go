package sqldb

import (
	"context"
	"database/sql/driver"
	"hash/fnv"
	"sync"
	"time"
)

// unlockTimeout bounds the unlock statement of a release, which runs after
// the caller's context may be gone.
const unlockTimeout = 10 * time.Second

// TryLock takes the lock called name without waiting. When acquired is true
// the caller holds it until it calls release (once; more calls do nothing);
// when false someone else holds it. Of concurrent attempts at most one
// acquires the lock; after release it can be acquired again.
//
// On PostgreSQL the lock is a session-level advisory lock, keyed by a 64-bit
// FNV-1a hash of "assetd:"+name, held on a connection of its own that
// release unlocks and gives back to the pool; so it is shared by every
// process that uses the database, and a crashed holder's lock goes with its
// connection. On SQLite it is a lock of this DB value alone: a SQLite
// database is served by one process, and several processes running
// background jobs on one SQLite file are not supported (a lock row in the
// file would outlive a crashed holder and block its jobs for good).
//
// Errors: the database failing to answer, classified as the package says;
// acquired is then false.
func (db *DB) TryLock(ctx context.Context, name string) (release func(), acquired bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, classify(err)
	}
	if db.driver != DriverPostgres {
		return db.tryLocal(name)
	}

	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, false, classify(err)
	}
	key := lockKey(name)
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&acquired); err != nil || !acquired {
		conn.Close()
		return nil, false, classify(err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
			defer cancel()
			var unlocked bool
			if err := conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock($1)`, key).Scan(&unlocked); err != nil || !unlocked {
				// The session may still hold the lock: the connection must
				// not go back to the pool. A Raw that answers ErrBadConn
				// makes database/sql close it, which ends the session and
				// with it the lock.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			conn.Close()
		})
	}, true, nil
}

// tryLocal is TryLock within this DB value.
func (db *DB) tryLocal(name string) (func(), bool, error) {
	db.locksMu.Lock()
	defer db.locksMu.Unlock()
	if db.locks[name] {
		return nil, false, nil
	}
	db.locks[name] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			db.locksMu.Lock()
			delete(db.locks, name)
			db.locksMu.Unlock()
		})
	}, true, nil
}

// lockKey is the advisory lock key of name, stable across processes and
// versions. The prefix keeps assetd's keys apart from other users' (goose
// uses a fixed key of its own).
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("assetd:" + name))
	return int64(h.Sum64())
}
