package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// Run leases (run_locks, migration 0002), their audit trail (lock_audit)
// and run attempts (run_attempts, migration 0003).

var _ payrecon.AttemptRecorder = (*DB)(nil)

// Lease audit steps.
const (
	LockStepRelease  = "release"  // an operator released a lease (payrecon locks release)
	LockStepTakeover = "takeover" // a run took over a lease that had expired
)

// LockRun implements payrecon.RunStore with a lease row in run_locks: it
// updates the row when the lease has expired or owner already holds it
// (a renewal), and inserts it when absent. Taking over another owner's
// expired lease is written to lock_audit. It returns a
// *payrecon.LockHeldError (wrapping payrecon.ErrLocked) while another
// owner's lease is live. The release function deletes the row if owner
// still holds it.
func (db *DB) LockRun(ctx context.Context, account string, day payrecon.Day, owner string, ttl time.Duration) (func() error, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("lock run %s %s: ttl must be positive", account, day)
	}
	now := db.Now()
	exp := now.Add(ttl)
	var held lockRow
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		held = lockRow{}
		var prev lockRow
		sel := `SELECT account, day, owner, expires_at FROM run_locks WHERE account = ? AND day = ?`
		if db.dialect == MySQL {
			sel += ` FOR UPDATE`
		}
		err := tx.GetContext(ctx, &prev, tx.Rebind(sel), account, string(day))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE run_locks SET owner = ?, expires_at = ?
			WHERE account = ? AND day = ? AND (owner = ? OR expires_at <= ?)`),
			owner, db.timeArg(exp), account, string(day), owner, db.timeArg(now))
		if err != nil {
			return err
		}
		ins := `INSERT INTO run_locks (account, day, owner, expires_at) VALUES (?, ?, ?, ?)`
		if db.dialect == MySQL {
			ins += ` ON DUPLICATE KEY UPDATE owner = owner`
		} else {
			ins += ` ON CONFLICT DO NOTHING`
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(ins), account, string(day), owner, db.timeArg(exp)); err != nil {
			return err
		}
		// Whoever holds it now (our update or insert, or another owner).
		if err := tx.GetContext(ctx, &held, tx.Rebind(sel), account, string(day)); err != nil {
			return err
		}
		if held.Owner == owner && prev.Owner != "" && prev.Owner != owner {
			return db.auditLock(ctx, tx, account, day, owner, LockStepTakeover, prev,
				fmt.Sprintf("lease of %s expired at %s", prev.Owner, prev.ExpiresAt.Time.Format(time.RFC3339)))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lock run %s %s: %w", account, day, err)
	}
	if held.Owner != owner {
		return nil, fmt.Errorf("lock run %s %s: %w", account, day, &payrecon.LockHeldError{Owner: held.Owner, Expires: held.ExpiresAt.Time})
	}
	release := func() error {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, err := db.x.ExecContext(rctx, db.x.Rebind(`DELETE FROM run_locks WHERE account = ? AND day = ? AND owner = ?`), account, string(day), owner)
		if err != nil {
			return fmt.Errorf("release run lock %s %s: %w", account, day, err)
		}
		return nil
	}
	return release, nil
}

type lockRow struct {
	Account   string `db:"account"`
	Day       string `db:"day"`
	Owner     string `db:"owner"`
	ExpiresAt dbTime `db:"expires_at"`
}

func (db *DB) auditLock(ctx context.Context, tx *sqlx.Tx, account string, day payrecon.Day, actor, step string, lease lockRow, detail string) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO lock_audit (account, day, at, actor, step, owner, expires_at, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		account, string(day), db.timeArg(db.Now()), actor, step, lease.Owner, db.timeArg(lease.ExpiresAt.Time), detail)
	if err != nil {
		return fmt.Errorf("audit lease: %w", err)
	}
	return nil
}

// RunLock is one run lease as stored.
type RunLock struct {
	Account   string
	Day       payrecon.Day
	Owner     string
	ExpiresAt time.Time
}

// Live reports whether the lease still holds at now.
func (l RunLock) Live(now time.Time) bool { return l.ExpiresAt.After(now) }

// ListLocks returns every stored run lease, live or expired, by account
// and day.
func (db *DB) ListLocks(ctx context.Context) ([]RunLock, error) {
	var rows []lockRow
	if err := db.x.SelectContext(ctx, &rows, `SELECT account, day, owner, expires_at FROM run_locks ORDER BY account, day`); err != nil {
		return nil, fmt.Errorf("list run locks: %w", err)
	}
	out := make([]RunLock, len(rows))
	for i, r := range rows {
		out[i] = RunLock{Account: r.Account, Day: payrecon.Day(r.Day), Owner: r.Owner, ExpiresAt: r.ExpiresAt.Time}
	}
	return out, nil
}

// ReleaseLock deletes the run lease of (account, day), whoever holds it,
// and writes who released it, when, which lease and why to lock_audit, in
// one transaction. It returns the released lease, or an error wrapping
// payrecon.ErrNotFound when there is none. Meant for a holder that is
// gone (whose lease would lapse within its TTL anyway): a run that still
// works on the day takes the lease again at its next renewal, unless
// another run took it first, in which case it stops without saving.
func (db *DB) ReleaseLock(ctx context.Context, account string, day payrecon.Day, actor, reason string) (RunLock, error) {
	if actor == "" || reason == "" {
		return RunLock{}, fmt.Errorf("release run lock %s %s: actor and reason are required", account, day)
	}
	var lk lockRow
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		sel := `SELECT account, day, owner, expires_at FROM run_locks WHERE account = ? AND day = ?`
		if db.dialect == MySQL {
			sel += ` FOR UPDATE`
		}
		if err := tx.GetContext(ctx, &lk, tx.Rebind(sel), account, string(day)); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return payrecon.ErrNotFound
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM run_locks WHERE account = ? AND day = ? AND owner = ?`),
			account, string(day), lk.Owner); err != nil {
			return err
		}
		return db.auditLock(ctx, tx, account, day, actor, LockStepRelease, lk, reason)
	})
	if err != nil {
		return RunLock{}, fmt.Errorf("release run lock %s %s: %w", account, day, err)
	}
	return RunLock{Account: lk.Account, Day: payrecon.Day(lk.Day), Owner: lk.Owner, ExpiresAt: lk.ExpiresAt.Time}, nil
}

// LockAuditEntry is one lease audit row.
type LockAuditEntry struct {
	ID        int64
	Account   string
	Day       payrecon.Day
	At        time.Time
	Actor     string
	Step      string // LockStepRelease or LockStepTakeover
	Owner     string // the lease's owner
	ExpiresAt time.Time
	Detail    string
}

type lockAuditRow struct {
	ID        int64  `db:"id"`
	Account   string `db:"account"`
	Day       string `db:"day"`
	At        dbTime `db:"at"`
	Actor     string `db:"actor"`
	Step      string `db:"step"`
	Owner     string `db:"owner"`
	ExpiresAt dbTime `db:"expires_at"`
	Detail    string `db:"detail"`
}

// LockAudit returns the lease audit trail, oldest first; account "" means
// every account.
func (db *DB) LockAudit(ctx context.Context, account string) ([]LockAuditEntry, error) {
	q := `SELECT id, account, day, at, actor, step, owner, expires_at, detail FROM lock_audit`
	var args []any
	if account != "" {
		q += ` WHERE account = ?`
		args = append(args, account)
	}
	var rows []lockAuditRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q+` ORDER BY id`), args...); err != nil {
		return nil, fmt.Errorf("lock audit: %w", err)
	}
	out := make([]LockAuditEntry, len(rows))
	for i, r := range rows {
		out[i] = LockAuditEntry{ID: r.ID, Account: r.Account, Day: payrecon.Day(r.Day), At: r.At.Time, Actor: r.Actor,
			Step: r.Step, Owner: r.Owner, ExpiresAt: r.ExpiresAt.Time, Detail: r.Detail}
	}
	return out, nil
}

// ---- attempts ----

// RecordAttempt implements payrecon.AttemptRecorder; it sets a.ID.
func (db *DB) RecordAttempt(ctx context.Context, a *payrecon.RunAttempt) error {
	switch a.Outcome {
	case payrecon.AttemptRefused, payrecon.AttemptFailed, payrecon.AttemptNotReady:
	default:
		return fmt.Errorf("record run attempt %s %s: outcome %q", a.Account, a.Day, a.Outcome)
	}
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO run_attempts (account, day, at, outcome, owner, holder, holder_expires_at, reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			a.Account, string(a.Day), db.timeArg(a.At), string(a.Outcome), a.Owner, a.Holder, db.timeArg(a.HolderExpires), a.Reason)
		if err != nil {
			return err
		}
		a.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return fmt.Errorf("record run attempt %s %s: %w", a.Account, a.Day, err)
	}
	return nil
}

type attemptRow struct {
	ID            int64  `db:"id"`
	Account       string `db:"account"`
	Day           string `db:"day"`
	At            dbTime `db:"at"`
	Outcome       string `db:"outcome"`
	Owner         string `db:"owner"`
	Holder        string `db:"holder"`
	HolderExpires dbTime `db:"holder_expires_at"`
	Reason        string `db:"reason"`
}

func (r attemptRow) attempt() payrecon.RunAttempt {
	return payrecon.RunAttempt{ID: r.ID, Account: r.Account, Day: payrecon.Day(r.Day), At: r.At.Time,
		Outcome: payrecon.AttemptOutcome(r.Outcome), Owner: r.Owner, Holder: r.Holder, HolderExpires: r.HolderExpires.Time, Reason: r.Reason}
}

const attemptSelect = `SELECT id, account, day, at, outcome, owner, holder, holder_expires_at, reason FROM run_attempts`

// RunAttempts lists the attempts at (account, day), oldest first.
func (db *DB) RunAttempts(ctx context.Context, account string, day payrecon.Day) ([]payrecon.RunAttempt, error) {
	var rows []attemptRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(attemptSelect+` WHERE account = ? AND day = ? ORDER BY id`), account, string(day)); err != nil {
		return nil, fmt.Errorf("run attempts %s %s: %w", account, day, err)
	}
	out := make([]payrecon.RunAttempt, len(rows))
	for i, r := range rows {
		out[i] = r.attempt()
	}
	return out, nil
}

// withAttempts sets LastAttempt on runs (the newest attempt at the same
// account and day made after the run started) and adds, in order, a run
// without ID for each (account, day) in [from, to] that has attempts but
// no run: its State is the newest attempt's outcome.
func (db *DB) withAttempts(ctx context.Context, runs []payrecon.Run, accounts []string, from, to payrecon.Day) ([]payrecon.Run, error) {
	q := attemptSelect + ` WHERE day >= ? AND day <= ?`
	args := []any{string(from), string(to)}
	if len(accounts) > 0 {
		q += ` AND account IN (?)`
		var err error
		if q, args, err = sqlx.In(q, string(from), string(to), accounts); err != nil {
			return nil, fmt.Errorf("run attempts: %w", err)
		}
	}
	var rows []attemptRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q+` ORDER BY id`), args...); err != nil {
		return nil, fmt.Errorf("run attempts %s..%s: %w", from, to, err)
	}
	if len(rows) == 0 {
		return runs, nil
	}
	type dayKey struct{ account, day string }
	last := map[dayKey]payrecon.RunAttempt{}
	for _, r := range rows {
		last[dayKey{r.Account, r.Day}] = r.attempt() // ordered by id: the newest wins
	}
	out := make([]payrecon.Run, 0, len(runs)+len(last))
	for _, run := range runs {
		k := dayKey{run.Account, string(run.Day)}
		if a, ok := last[k]; ok {
			if !a.At.Before(run.StartedAt) {
				run.LastAttempt = a
			}
			delete(last, k)
		}
		out = append(out, run)
	}
	for _, a := range last {
		out = append(out, payrecon.Run{Account: a.Account, Day: a.Day, State: payrecon.RunState(a.Outcome), LastAttempt: a})
	}
	sortRuns(out)
	return out, nil
}

// sortRuns orders runs by day, then account (LatestRuns' order).
func sortRuns(runs []payrecon.Run) {
	sort.SliceStable(runs, func(i, j int) bool {
		if runs[i].Day != runs[j].Day {
			return runs[i].Day < runs[j].Day
		}
		return runs[i].Account < runs[j].Account
	})
}
