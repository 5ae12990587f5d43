// Package storetest gives tests a fresh, migrated store on SQLite and, when
// PAYRECON_TEST_MYSQL_DSN is set, on MySQL/MariaDB.
//
//	func TestX(t *testing.T) {
//		storetest.Each(t, func(t *testing.T, db *store.DB) { ... })
//	}
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/payrecon/payrecon/store"
)

// EnvMySQLDSN names the variable holding a MySQL DSN for tests, e.g.
// root@tcp(127.0.0.1:3306)/payrecon_test?parseTime=true&loc=UTC&charset=utf8mb4&interpolateParams=true
// Each test database is created beside the named one and dropped afterwards.
const EnvMySQLDSN = "PAYRECON_TEST_MYSQL_DSN"

// Dialects are the dialects Each runs.
var Dialects = []string{store.SQLite, store.MySQL}

// Each runs fn as a subtest per dialect ("sqlite", "mysql"), each on a
// fresh migrated database. The mysql subtest skips, saying why, when
// PAYRECON_TEST_MYSQL_DSN is unset.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh, migrated database of the dialect, closed (and on
// MySQL dropped) when the test ends. On MySQL it skips when
// PAYRECON_TEST_MYSQL_DSN is unset.
func Open(tb testing.TB, dialect string) *store.DB {
	tb.Helper()
	db, _, _ := OpenDSN(tb, dialect)
	return db
}

// OpenDSN is Open that also returns the database's driver and DSN, for
// tests that open it again (a child process, a raw connection).
func OpenDSN(tb testing.TB, dialect string) (db *store.DB, driver, dsn string) {
	tb.Helper()
	driver, dsn = DSN(tb, dialect)
	ctx := context.Background()
	db, err := store.Open(ctx, driver, dsn, Logger(tb))
	if err != nil {
		tb.Fatalf("open %s store: %v", dialect, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate %s store: %v", dialect, err)
	}
	return db, driver, dsn
}

// DSN returns the driver and DSN of a fresh, empty database of the dialect
// (a temp-file SQLite path, or a newly created MySQL database dropped at
// cleanup), for tests that open the store themselves (e.g. in a child
// process).
func DSN(tb testing.TB, dialect string) (driver, dsn string) {
	tb.Helper()
	switch dialect {
	case store.SQLite:
		return store.SQLite, filepath.Join(tb.TempDir(), "payrecon.db")
	case store.MySQL:
		return store.MySQL, newMySQLDatabase(tb)
	}
	tb.Fatalf("storetest: unknown dialect %q", dialect)
	return "", ""
}

func newMySQLDatabase(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(EnvMySQLDSN)
	if base == "" {
		tb.Skipf("mysql: %s is not set; skipping the MySQL half (CI sets it, see .ci/run)", EnvMySQLDSN)
	}
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		tb.Fatalf("parse %s: %v", EnvMySQLDSN, err)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	name := "payrecon_t_" + hex.EncodeToString(suffix[:])

	admin := cfg.Clone()
	admin.DBName = ""
	conn, err := sql.Open("mysql", admin.FormatDSN())
	if err != nil {
		tb.Fatalf("mysql: %v", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		tb.Fatalf("mysql: create test database: %v", err)
	}
	tb.Cleanup(func() {
		c, err := sql.Open("mysql", admin.FormatDSN())
		if err != nil {
			tb.Errorf("mysql: %v", err)
			return
		}
		defer c.Close()
		if _, err := c.Exec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
			tb.Errorf("mysql: drop test database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

// Logger returns a logger writing to the test log at info level (warn for
// benchmarks, whose logs are always printed).
func Logger(tb testing.TB) *slog.Logger {
	level := slog.LevelInfo
	if _, ok := tb.(*testing.B); ok {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: level}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(string(p))
	return len(p), nil
}

// Must fails the test on err.
func Must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(fmt.Errorf("unexpected error: %w", err))
	}
}
