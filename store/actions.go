package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

var (
	_ payrecon.ActionStore   = (*DB)(nil)
	_ payrecon.ActionChanger = (*DB)(nil)
)

// The actions and action_audit tables come with migration 0002_runs.sql;
// SaveRun (runs.go) inserts proposed actions, this file moves them along.

const actionSelect = `SELECT id, discrepancy_key, account, day, kind, state, item_json,
	idempotency_key, approved_by, reason, result, created_at, updated_at
FROM actions`

type actionRow struct {
	ID             int64          `db:"id"`
	DiscrepancyKey string         `db:"discrepancy_key"`
	Account        string         `db:"account"`
	Day            string         `db:"day"`
	Kind           string         `db:"kind"`
	State          string         `db:"state"`
	ItemJSON       sql.NullString `db:"item_json"`
	IdempotencyKey sql.NullString `db:"idempotency_key"`
	ApprovedBy     sql.NullString `db:"approved_by"`
	Reason         sql.NullString `db:"reason"`
	Result         sql.NullString `db:"result"`
	CreatedAt      dbTime         `db:"created_at"`
	UpdatedAt      dbTime         `db:"updated_at"`
}

func (r actionRow) action() (payrecon.Action, error) {
	a := payrecon.Action{
		ID: r.ID, DiscrepancyKey: r.DiscrepancyKey, Account: r.Account, Day: payrecon.Day(r.Day),
		Kind: payrecon.ActionKind(r.Kind), State: payrecon.ActionState(r.State),
		IdempotencyKey: r.IdempotencyKey.String, ApprovedBy: r.ApprovedBy.String,
		Reason: r.Reason.String, Result: r.Result.String,
		CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time,
	}
	if s := strings.TrimSpace(r.ItemJSON.String); s != "" {
		if err := json.Unmarshal([]byte(s), &a.Item); err != nil {
			return a, fmt.Errorf("action %d item_json: %w", r.ID, err)
		}
	}
	return a, nil
}

// ListActions returns the actions f selects, ordered by id.
func (db *DB) ListActions(ctx context.Context, f payrecon.ActionFilter) ([]payrecon.Action, error) {
	var where []string
	var args []any
	if f.Account != "" {
		where = append(where, "account = ?")
		args = append(args, f.Account)
	}
	if f.From != "" {
		where = append(where, "day >= ?")
		args = append(args, string(f.From))
	}
	if f.To != "" {
		where = append(where, "day <= ?")
		args = append(args, string(f.To))
	}
	if len(f.States) > 0 {
		where = append(where, "state IN (?)")
		s := make([]string, len(f.States))
		for i, st := range f.States {
			s[i] = string(st)
		}
		args = append(args, s)
	}
	if len(f.Kinds) > 0 {
		where = append(where, "kind IN (?)")
		k := make([]string, len(f.Kinds))
		for i, kd := range f.Kinds {
			k[i] = string(kd)
		}
		args = append(args, k)
	}
	q := actionSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id"
	q, args, err := sqlx.In(q, args...)
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	var rows []actionRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	out := make([]payrecon.Action, 0, len(rows))
	for _, r := range rows {
		a, err := r.action()
		if err != nil {
			return nil, fmt.Errorf("list actions: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}

// GetAction returns one action or payrecon.ErrNotFound.
func (db *DB) GetAction(ctx context.Context, id int64) (payrecon.Action, error) {
	a, err := getAction(ctx, db.x, id)
	if err != nil {
		return a, fmt.Errorf("get action %d: %w", id, err)
	}
	return a, nil
}

// rebindQueryer is a *sqlx.DB or *sqlx.Tx.
type rebindQueryer interface {
	sqlx.QueryerContext
	Rebind(string) string
}

func getAction(ctx context.Context, q rebindQueryer, id int64) (payrecon.Action, error) {
	var r actionRow
	err := sqlx.GetContext(ctx, q, &r, q.Rebind(actionSelect+" WHERE id = ?"), id)
	if errors.Is(err, sql.ErrNoRows) {
		return payrecon.Action{}, payrecon.ErrNotFound
	}
	if err != nil {
		return payrecon.Action{}, err
	}
	return r.action()
}

// TransitionAction moves an action from one of from to to with its audit
// row (step = to), setting by convention: approved → approved_by = actor and
// reason = detail; dismissed → reason = detail; applied or failed → result =
// detail. See ChangeAction.
func (db *DB) TransitionAction(ctx context.Context, id int64, from []payrecon.ActionState, to payrecon.ActionState, actor, detail string) (payrecon.Action, error) {
	c := payrecon.ActionChange{From: from, To: to, Actor: actor, Detail: detail}
	switch to {
	case payrecon.ActionApproved:
		c.ApprovedBy, c.Reason = actor, detail
	case payrecon.ActionDismissed:
		c.Reason = detail
	case payrecon.ActionApplied, payrecon.ActionFailed:
		c.Result = detail
	}
	return db.ChangeAction(ctx, id, c)
}

// ChangeAction records one step of an action in one transaction: a
// conditional UPDATE … WHERE id = ? AND state IN (from…) whose affected rows
// decide (so of two operators racing, one wins and the other gets
// payrecon.ErrInvalidState), then the audit row.
func (db *DB) ChangeAction(ctx context.Context, id int64, c payrecon.ActionChange) (payrecon.Action, error) {
	if len(c.From) == 0 || c.To == "" {
		return payrecon.Action{}, fmt.Errorf("change action %d: from and to states are required", id)
	}
	step := c.Step
	if step == "" {
		step = string(c.To)
	}
	now := db.Now()
	var out payrecon.Action
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		set := []string{"state = ?", "updated_at = ?"}
		args := []any{string(c.To), db.timeArg(now)}
		for _, f := range []struct{ col, v string }{
			{"approved_by", c.ApprovedBy}, {"reason", c.Reason},
			{"result", c.Result}, {"idempotency_key", c.IdempotencyKey},
		} {
			if f.v != "" {
				set = append(set, f.col+" = ?")
				args = append(args, f.v)
			}
		}
		if c.SpendApproval {
			set = append(set, "approved_by = ''")
		}
		from := make([]string, len(c.From))
		for i, s := range c.From {
			from[i] = string(s)
		}
		q, qargs, err := sqlx.In("UPDATE actions SET "+strings.Join(set, ", ")+" WHERE id = ? AND state IN (?)", append(args, id, from)...)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(q), qargs...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			// Absent, in another state, or (MySQL) matched but unchanged.
			var state string
			err := tx.GetContext(ctx, &state, tx.Rebind(`SELECT state FROM actions WHERE id = ?`), id)
			if errors.Is(err, sql.ErrNoRows) {
				return payrecon.ErrNotFound
			}
			if err != nil {
				return err
			}
			if !slices.Contains(c.From, payrecon.ActionState(state)) {
				return fmt.Errorf("action is %s: %w", state, payrecon.ErrInvalidState)
			}
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO action_audit (action_id, at, actor, step, detail) VALUES (?, ?, ?, ?, ?)`),
			id, db.timeArg(now), c.Actor, step, c.Detail); err != nil {
			return err
		}
		out, err = getAction(ctx, tx, id)
		return err
	})
	if err != nil {
		return payrecon.Action{}, fmt.Errorf("change action %d to %s: %w", id, c.To, err)
	}
	return out, nil
}

type auditRow struct {
	ActionID int64          `db:"action_id"`
	At       dbTime         `db:"at"`
	Actor    string         `db:"actor"`
	Step     string         `db:"step"`
	Detail   sql.NullString `db:"detail"`
}

// ActionAudit returns an action's audit trail, oldest first.
func (db *DB) ActionAudit(ctx context.Context, id int64) ([]payrecon.AuditEntry, error) {
	var rows []auditRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(`SELECT action_id, at, actor, step, detail FROM action_audit WHERE action_id = ? ORDER BY id`), id); err != nil {
		return nil, fmt.Errorf("action %d audit: %w", id, err)
	}
	out := make([]payrecon.AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = payrecon.AuditEntry{ActionID: r.ActionID, At: r.At.Time, Actor: r.Actor, Step: r.Step, Detail: r.Detail.String}
	}
	return out, nil
}

// ProposeAction stores a proposed action with its "proposed" audit row (by
// actor, with detail) unless an action for the same (discrepancy key, kind)
// exists, in which case it writes nothing and returns the existing one with
// created=false. Runs propose through SaveRun; this is for an operator who
// picks another action for a discrepancy (e.g. unsign instead of
// correct_agreement) and for tests.
func (db *DB) ProposeAction(ctx context.Context, a payrecon.Action, actor, detail string) (out payrecon.Action, created bool, err error) {
	if a.DiscrepancyKey == "" {
		a.DiscrepancyKey = a.Item.Key()
	}
	if a.Account == "" {
		a.Account = a.Item.Account
	}
	if a.Day == "" {
		a.Day = a.Item.Day
	}
	if a.Kind == "" || a.Account == "" || a.Day == "" {
		return out, false, fmt.Errorf("propose action: kind, account and day are required")
	}
	if a.State == "" {
		a.State = payrecon.ActionProposed
	}
	item, err := json.Marshal(a.Item)
	if err != nil {
		return out, false, fmt.Errorf("propose action %s: item: %w", a.DiscrepancyKey, err)
	}
	now := db.Now()
	err = db.inTx(ctx, func(tx *sqlx.Tx) error {
		ins, id, err := db.insertIgnore(ctx, tx, "actions",
			[]string{"discrepancy_key", "account", "day", "kind", "state", "item_json", "idempotency_key", "approved_by", "reason", "result", "created_at", "updated_at"},
			[]any{a.DiscrepancyKey, a.Account, string(a.Day), string(a.Kind), string(a.State), string(item), a.IdempotencyKey, a.ApprovedBy, a.Reason, a.Result, db.timeArg(now), db.timeArg(now)})
		if err != nil {
			return err
		}
		created = ins
		if !ins {
			err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM actions WHERE discrepancy_key = ? AND kind = ?`), a.DiscrepancyKey, string(a.Kind))
			if err != nil {
				return err
			}
		} else if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO action_audit (action_id, at, actor, step, detail) VALUES (?, ?, ?, ?, ?)`),
			id, db.timeArg(now), actor, "proposed", detail); err != nil {
			return err
		}
		out, err = getAction(ctx, tx, id)
		return err
	})
	if err != nil {
		return payrecon.Action{}, false, fmt.Errorf("propose action %s %s: %w", a.Kind, a.DiscrepancyKey, err)
	}
	return out, created, nil
}
