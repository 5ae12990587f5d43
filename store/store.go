// Package store keeps payrecon's ledger, callbacks, bill files, runs and
// actions in SQL, with one code path for SQLite (modernc.org/sqlite, the
// embedded default) and MySQL (go-sql-driver/mysql; MariaDB and TiDB speak
// it too), through sqlx.
//
// # Adding methods (for contributors)
//
//   - One file per area (callbacks.go, ledger.go, bills.go, runs.go,
//     actions.go). The schema lives in ../sql/{mysql,sqlite}/NNNN_name.sql;
//     add a new numbered file to BOTH folders, never edit a released one.
//   - Each public method is one transaction: db.inTx(ctx, func(tx *sqlx.Tx)
//     error {...}) with private helpers taking the tx. inTx retries the whole
//     function on SQLite "busy" and MySQL deadlocks, so fn must not have side
//     effects outside the tx (other than setting result variables).
//     Read-only streaming may use db.x directly.
//   - Rows are private structs with `db:"column"` tags, scanned with
//     tx.GetContext / SelectContext / rows.StructScan. Name every column:
//     no SELECT *. Write queries with "?" placeholders and pass them through
//     db.x.Rebind (or tx.Rebind) — both drivers take "?", but Rebind keeps us
//     honest should a dialect change.
//   - Times: pass db.timeArg(t) as the argument and scan into dbTime; both
//     dialects then read back the same value (UTC, microsecond precision, the
//     zero time stored as NULL). Use DATETIME(6) NULL on MySQL and INTEGER
//     NULL (unix microseconds) on SQLite for time columns.
//   - Money is BIGINT / INTEGER fen. Booleans are BOOLEAN / INTEGER 0-1.
//   - Idempotent writes rely on UNIQUE keys: db.insertIgnore builds an
//     INSERT that does nothing on a duplicate key (every table using it needs
//     an `id` column) and reports whether a row was written.
//   - Dialect differences go through db.dialect ("sqlite" or "mysql"); keep
//     them to a string choice inside the method, not separate files.
//   - Errors: wrap once with lowercase context naming what was being done
//     ("store callback account %s: %w"); payrecon.ErrNotFound for misses.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	schema "github.com/payrecon/payrecon/sql"
)

// Dialect names.
const (
	SQLite = "sqlite"
	MySQL  = "mysql"
)

// DB is payrecon's store. It is safe for concurrent use.
type DB struct {
	x       *sqlx.DB
	dialect string
	log     *slog.Logger
	// writer lets one SQLite write transaction of this process run at a
	// time, so that writers queue here instead of sleeping in SQLite's busy
	// handler (other processes still meet busy_timeout).
	writer chan struct{}
	memory bool // in-memory SQLite: one connection only
	// Now stamps history rows and the like; time.Now unless a test sets it
	// (set it before the DB is shared).
	Now func() time.Time
}

// Open connects to a database. driver is "sqlite" or "mysql".
//
// For SQLite, dsn is a file path or a "file:" URI; the pragmas payrecon needs
// (WAL, busy_timeout, synchronous NORMAL, foreign keys, immediate write
// transactions) are added unless the DSN sets its own, and the file's folder
// is created. For MySQL, dsn is a go-sql-driver DSN that must carry
// parseTime=true and loc=UTC (the default loc).
//
// Open pings the database but does not migrate it: call Migrate.
func Open(ctx context.Context, driverName, dsn string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var (
		x   *sqlx.DB
		err error
	)
	switch driverName {
	case SQLite:
		full, memory, perr := sqliteDSN(dsn)
		if perr != nil {
			return nil, perr
		}
		x, err = sqlx.Open("sqlite", full)
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		if memory {
			x.SetMaxOpenConns(1) // every connection would get its own empty database
		}
	case MySQL:
		cfg, perr := mysql.ParseDSN(dsn)
		if perr != nil {
			return nil, fmt.Errorf("parse mysql dsn: %w", perr) // the driver's error does not echo the password
		}
		if !cfg.ParseTime {
			return nil, errors.New("mysql dsn: parseTime=true is required")
		}
		if cfg.Loc != time.UTC {
			return nil, errors.New("mysql dsn: loc must be UTC")
		}
		x, err = sqlx.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return nil, fmt.Errorf("open mysql: %w", err)
		}
	default:
		return nil, fmt.Errorf("unknown database driver %q: must be sqlite or mysql", driverName)
	}
	if err := x.PingContext(ctx); err != nil {
		_ = x.Close()
		return nil, fmt.Errorf("connect %s: %w", driverName, err)
	}
	db := &DB{x: x, dialect: driverName, log: logger, Now: time.Now, writer: make(chan struct{}, 1), memory: driverName == SQLite && x.Stats().MaxOpenConnections == 1}
	db.SetPool(DefaultPool)
	return db, nil
}

// Pool bounds the connection pool.
type Pool struct {
	MaxOpen     int           // connections open at most (waiters queue; their context bounds the wait)
	MaxIdle     int           // connections kept idle
	MaxLifetime time.Duration // a connection is reused for at most this long
}

// DefaultPool is what Open applies: safe for MySQL servers with the usual
// max_connections of 151 and for SQLite, whose writers queue anyway.
var DefaultPool = Pool{MaxOpen: 20, MaxIdle: 10, MaxLifetime: 30 * time.Minute}

// SetPool applies p (zero fields keep DefaultPool's values). An in-memory
// SQLite database stays on its single connection.
func (db *DB) SetPool(p Pool) {
	if p.MaxOpen <= 0 {
		p.MaxOpen = DefaultPool.MaxOpen
	}
	if p.MaxIdle <= 0 {
		p.MaxIdle = min(DefaultPool.MaxIdle, p.MaxOpen)
	}
	if p.MaxLifetime <= 0 {
		p.MaxLifetime = DefaultPool.MaxLifetime
	}
	if db.memory {
		p.MaxOpen, p.MaxIdle = 1, 1
	}
	db.x.SetMaxOpenConns(p.MaxOpen)
	db.x.SetMaxIdleConns(min(p.MaxIdle, p.MaxOpen))
	db.x.SetConnMaxLifetime(p.MaxLifetime)
}

// Ping checks that the database answers (for readiness probes).
func (db *DB) Ping(ctx context.Context) error {
	if err := db.x.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", db.dialect, err)
	}
	return nil
}

// sqliteDSN turns a path or file: URI into a modernc DSN with payrecon's pragmas.
func sqliteDSN(dsn string) (full string, memory bool, err error) {
	if strings.TrimSpace(dsn) == "" {
		return "", false, errors.New("sqlite dsn: empty (want a file path)")
	}
	path, query, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", false, fmt.Errorf("sqlite dsn query: %w", err)
	}
	memory = path == ":memory:" || strings.Contains(query, "mode=memory")
	if len(q["_pragma"]) == 0 {
		for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)"} {
			q.Add("_pragma", p)
		}
	}
	if q.Get("_txlock") == "" {
		// Writers take the lock at BEGIN, so busy_timeout applies instead of
		// a deferred transaction failing at its first write.
		q.Set("_txlock", "immediate")
	}
	if !memory {
		if dir := filepath.Dir(path); dir != "" && dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return "", false, fmt.Errorf("sqlite dsn: create folder: %w", err)
			}
		}
	}
	return "file:" + path + "?" + q.Encode(), memory, nil
}

// Close closes the database.
func (db *DB) Close() error { return db.x.Close() }

// Dialect is "sqlite" or "mysql".
func (db *DB) Dialect() string { return db.dialect }

// Migrate applies, in file-name order, every embedded migration of the
// dialect that schema_migrations does not list yet. It is idempotent.
func (db *DB) Migrate(ctx context.Context) error {
	files, err := fs.Glob(schema.FS, db.dialect+"/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(files)
	create := `CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR(191) NOT NULL PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)`
	if _, err := db.x.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	if db.dialect == MySQL {
		// Serialise concurrent migrators (two processes starting at once).
		conn, err := db.x.Connx(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer conn.Close()
		var got sql.NullInt64
		if err := conn.GetContext(ctx, &got, `SELECT GET_LOCK('payrecon_migrate', 60)`); err != nil || got.Int64 != 1 {
			return fmt.Errorf("migrate: take lock: %v", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT RELEASE_LOCK('payrecon_migrate')`) //nolint:errcheck
	}
	for _, f := range files {
		version := strings.TrimSuffix(filepath.Base(f), ".sql")
		body, err := fs.ReadFile(schema.FS, f)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", f, err)
		}
		err = db.inTx(ctx, func(tx *sqlx.Tx) error {
			var n int
			if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version); err != nil {
				return err
			}
			if n > 0 {
				return errAlreadyApplied
			}
			for i, stmt := range splitStatements(string(body)) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					if ddlDone(err) {
						// MySQL commits each DDL statement at once: an
						// attempt interrupted before the version was
						// recorded already made this change.
						db.log.Warn("migration statement already applied", "version", version, "statement", i+1, "err", err)
						continue
					}
					return fmt.Errorf("statement %d: %w", i+1, err)
				}
			}
			_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`),
				version, db.Now().UTC().Format(time.RFC3339))
			return err
		})
		switch {
		case errors.Is(err, errAlreadyApplied):
			continue
		case err != nil:
			return fmt.Errorf("migration %s: %w", f, err)
		}
		db.log.Info("migration applied", "version", version, "dialect", db.dialect)
	}
	return nil
}

var errAlreadyApplied = errors.New("already applied")

// splitStatements splits a migration file at lines ending with ";",
// dropping "--" comment lines and blank statements.
func splitStatements(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			s := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")
			if strings.TrimSpace(s) != "" {
				out = append(out, s)
			}
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// inTx runs fn in one transaction and commits it; fn's error (or a failed
// commit) rolls everything back. When the database reports a transient
// conflict — SQLite busy/locked, MySQL deadlock (1213) or lock wait timeout
// (1205) — the whole transaction is retried a few times with a short random
// back-off, so fn must be safe to run again. The error fn returns is
// returned as is (unwrapped) when it is not retried. Do not call inTx (or a
// method using it) from inside fn: on SQLite the inner call would wait for
// the outer transaction's lock.
func (db *DB) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	const attempts = 6
	var err error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			backoff := time.Duration(5<<i)*time.Millisecond + time.Duration(rand.IntN(10))*time.Millisecond
			db.log.Debug("retrying transaction", "attempt", i+1, "err", err)
			select {
			case <-ctx.Done():
				return errors.Join(ctx.Err(), err)
			case <-time.After(backoff):
			}
		}
		err = db.tryTx(ctx, fn)
		if err == nil || !retryable(err) {
			return err
		}
	}
	return err
}

func (db *DB) tryTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	if db.dialect == SQLite {
		select {
		case db.writer <- struct{}{}:
			defer func() { <-db.writer }()
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
			// Not worth waiting longer here: fall through to SQLite's own
			// locking (busy_timeout), which reports a real deadlock as busy.
		}
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// begin starts a transaction. On SQLite, BEGIN IMMEDIATE waits for another
// process's write lock in SQLite's busy handler (busy_timeout), which does
// not watch ctx: it then runs aside, and when ctx ends first begin returns
// ctx's error at once (the late transaction, if any, is rolled back), so a
// caller with a deadline is answered on time.
func (db *DB) begin(ctx context.Context) (*sqlx.Tx, error) {
	if db.dialect != SQLite {
		return db.x.BeginTxx(ctx, nil)
	}
	type begun struct {
		tx  *sqlx.Tx
		err error
	}
	ch := make(chan begun, 1)
	go func() {
		tx, err := db.x.BeginTxx(context.WithoutCancel(ctx), nil)
		ch <- begun{tx, err}
	}()
	select {
	case b := <-ch:
		return b.tx, b.err
	case <-ctx.Done():
		go func() {
			if b := <-ch; b.tx != nil {
				_ = b.tx.Rollback()
			}
		}()
		return nil, ctx.Err()
	}
}

// ddlDone reports a MySQL DDL error saying the change is already there: a
// duplicate column (1060), index (1061) or table (1050). DDL is not
// transactional on MySQL, so a migration interrupted between its
// statements leaves them applied without its version recorded.
func ddlDone(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1060 || me.Number == 1061 || me.Number == 1050)
}

// retryable reports a transient lock conflict worth retrying the transaction for.
func retryable(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205
	}
	return errors.Is(err, driver.ErrBadConn)
}

// insertIgnore inserts one row into table unless it would violate a unique
// key, in which case it writes nothing. It returns whether a row was written
// and, if so, its id. The table must have an `id` column.
func (db *DB) insertIgnore(ctx context.Context, tx *sqlx.Tx, table string, cols []string, args []any) (inserted bool, id int64, err error) {
	q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	if db.dialect == MySQL {
		// Unlike INSERT IGNORE, this does not turn other errors (truncation,
		// bad values) into warnings.
		q += " ON DUPLICATE KEY UPDATE id = id"
	} else {
		q += " ON CONFLICT DO NOTHING"
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(q), args...)
	if err != nil {
		return false, 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, 0, err
	}
	if n == 0 {
		return false, 0, nil
	}
	id, err = res.LastInsertId()
	if err != nil {
		return false, 0, err
	}
	return true, id, nil
}

// timeArg is the argument to write t into a time column: unix microseconds
// on SQLite, a UTC time on MySQL, NULL for the zero time. Times are
// truncated to the microsecond.
func (db *DB) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if db.dialect == SQLite {
		return t.UnixMicro()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// dbTime scans a time column of either dialect into a UTC time.Time
// (the zero time for NULL).
type dbTime struct{ time.Time }

func (t *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		t.Time = time.Time{}
	case int64:
		t.Time = time.UnixMicro(v).UTC()
	case time.Time:
		t.Time = v.UTC()
	case []byte:
		return t.parse(string(v))
	case string:
		return t.parse(v)
	default:
		return fmt.Errorf("scan time: unsupported %T", src)
	}
	return nil
}

func (t *dbTime) parse(s string) error {
	for _, layout := range []string{"2006-01-02 15:04:05.999999", time.RFC3339Nano} {
		if v, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("scan time: cannot parse %q", s)
}
