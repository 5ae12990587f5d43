package main_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
)

func TestLocksListAndRelease(t *testing.T) {
	cfg, dbPath := actionsConfig(t)
	day := payrecon.MustDay("2026-11-20")
	ctx := context.Background()
	db, err := store.Open(ctx, store.SQLite, dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LockRun(ctx, "hw1", day, "gone-host:777:0a1b", time.Hour); err != nil {
		t.Fatal(err)
	}
	db.Close()

	r := run(t, "--config", cfg, "locks", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "hw1") || !strings.Contains(r.stdout, "gone-host:777:0a1b") || !strings.Contains(r.stdout, "live") {
		t.Fatalf("locks list: %+v", r)
	}
	if r := run(t, "--config", cfg, "locks", "release", "--account", "hw1", "--date", "2026-11-20"); r.code != 2 ||
		!strings.Contains(r.stderr, "--operator is required") || !strings.Contains(r.stderr, "--reason is required") {
		t.Errorf("release without operator and reason: %+v", r)
	}
	r = run(t, "--config", cfg, "locks", "release", "--account", "hw1", "--date", "2026-11-20", "--operator", "alice", "--reason", "host decommissioned")
	if r.code != 0 || !strings.Contains(r.stdout, "released the lease of hw1 2026-11-20 held by gone-host:777:0a1b") {
		t.Fatalf("release: %+v", r)
	}
	if r := run(t, "--config", cfg, "locks", "list"); r.code != 0 || strings.Contains(r.stdout, "hw1") {
		t.Errorf("locks list after release: %+v", r)
	}
	r = run(t, "--config", cfg, "locks", "list", "--audit")
	if r.code != 0 || !strings.Contains(r.stdout, "release") || !strings.Contains(r.stdout, "alice") ||
		!strings.Contains(r.stdout, "gone-host:777:0a1b") || !strings.Contains(r.stdout, "host decommissioned") {
		t.Errorf("locks list --audit: %+v", r)
	}
	if r := run(t, "--config", cfg, "locks", "release", "--account", "hw1", "--date", "2026-11-20", "--operator", "alice", "--reason", "again"); r.code != 4 {
		t.Errorf("release of no lease: %+v", r)
	}

	// The audit row is in the database with who, when and which lease.
	db, err = store.Open(ctx, store.SQLite, dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	audit, err := db.LockAudit(ctx, "hw1")
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].Actor != "alice" || audit[0].Owner != "gone-host:777:0a1b" || audit[0].At.IsZero() || audit[0].ExpiresAt.IsZero() {
		t.Errorf("audit: %+v", audit)
	}
}
