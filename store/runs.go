package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

var _ payrecon.RunStore = (*DB)(nil)

// Runs, run items and discrepancies (identity and review state across
// re-runs); tables from migration 0002_runs.sql. Run locks and attempts are
// in locks.go.

// ---- runs ----

const runSelect = `SELECT id, account, provider, day, state, started_at, finished_at,
	totals_json, bills_json, error, version, superseded_by FROM runs`

type runRow struct {
	ID           int64         `db:"id"`
	Account      string        `db:"account"`
	Provider     string        `db:"provider"`
	Day          string        `db:"day"`
	State        string        `db:"state"`
	StartedAt    dbTime        `db:"started_at"`
	FinishedAt   dbTime        `db:"finished_at"`
	TotalsJSON   string        `db:"totals_json"`
	BillsJSON    string        `db:"bills_json"`
	Error        string        `db:"error"`
	Version      string        `db:"version"`
	SupersededBy sql.NullInt64 `db:"superseded_by"`
}

func (r runRow) run() (payrecon.Run, error) {
	run := payrecon.Run{
		ID: r.ID, Account: r.Account, Provider: r.Provider, Day: payrecon.Day(r.Day),
		State: payrecon.RunState(r.State), StartedAt: r.StartedAt.Time, FinishedAt: r.FinishedAt.Time,
		Error: r.Error, Version: r.Version,
	}
	if s := strings.TrimSpace(r.TotalsJSON); s != "" {
		if err := json.Unmarshal([]byte(s), &run.Totals); err != nil {
			return run, fmt.Errorf("run %d totals_json: %w", r.ID, err)
		}
	}
	if s := strings.TrimSpace(r.BillsJSON); s != "" {
		if err := json.Unmarshal([]byte(s), &run.Bills); err != nil {
			return run, fmt.Errorf("run %d bills_json: %w", r.ID, err)
		}
	}
	return run, nil
}

func (db *DB) insertRun(ctx context.Context, tx *sqlx.Tx, run *payrecon.Run) (int64, error) {
	totals, err := json.Marshal(run.Totals)
	if err != nil {
		return 0, fmt.Errorf("totals: %w", err)
	}
	bills := run.Bills
	if bills == nil {
		bills = []payrecon.BillFile{}
	}
	billsJSON, err := json.Marshal(bills)
	if err != nil {
		return 0, fmt.Errorf("bills: %w", err)
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO runs (account, provider, day, state, started_at, finished_at,
		totals_json, bills_json, error, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		run.Account, run.Provider, string(run.Day), string(run.State), db.timeArg(run.StartedAt), db.timeArg(run.FinishedAt),
		string(totals), string(billsJSON), run.Error, run.Version)
	if err != nil {
		return 0, fmt.Errorf("insert run: %w", err)
	}
	return res.LastInsertId()
}

// SaveRun implements payrecon.RunStore: the run, its items, the
// discrepancies' identity rows and the proposed actions (each with a
// "proposed" audit row) in one transaction. Earlier runs of the same
// (account, day) get superseded_by = this run; the good ones among them
// become RunSuperseded, failed ones stay failed. Review state in
// discrepancies is never touched here.
func (db *DB) SaveRun(ctx context.Context, run *payrecon.Run, items []payrecon.Item, actions []payrecon.Action) error {
	if run.State != payrecon.RunClean && run.State != payrecon.RunFindings {
		return fmt.Errorf("save run %s %s: state %q is not a finished run", run.Account, run.Day, run.State)
	}
	var id int64
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if id, err = db.insertRun(ctx, tx, run); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE runs SET
			state = CASE WHEN state IN ('clean', 'discrepancy') THEN 'superseded' ELSE state END,
			superseded_by = ? WHERE account = ? AND day = ? AND id < ? AND superseded_by IS NULL`),
			id, run.Account, string(run.Day), id); err != nil {
			return fmt.Errorf("supersede: %w", err)
		}
		if err := db.insertItems(ctx, tx, id, items); err != nil {
			return err
		}
		if err := db.saveReviews(ctx, tx, id, run.Day, items); err != nil {
			return err
		}
		return db.insertProposed(ctx, tx, id, actions)
	})
	if err != nil {
		return fmt.Errorf("save run %s %s: %w", run.Account, run.Day, err)
	}
	run.ID = id
	return nil
}

// FailRun implements payrecon.RunStore.
func (db *DB) FailRun(ctx context.Context, run *payrecon.Run) error {
	if run.State == "" || run.State == payrecon.RunRunning {
		run.State = payrecon.RunFailed
	}
	var id int64
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		id, err = db.insertRun(ctx, tx, run)
		return err
	})
	if err != nil {
		return fmt.Errorf("record failed run %s %s: %w", run.Account, run.Day, err)
	}
	run.ID = id
	return nil
}

var itemCols = []string{"run_id", "item_key", "account", "day", "class", "kind",
	"merchant_order_no", "provider_txn_no", "merchant_refund_no", "provider_refund_no", "agreement_no",
	"ledger_amount", "bill_amount", "delta", "ledger_status", "provider_status", "ledger_fee", "bill_fee",
	"ledger_time", "bill_time", "origin_day", "note", "product", "ledger_entry_id", "action", "resolves_key"}

func (db *DB) itemArgs(runID int64, it payrecon.Item) []any {
	var resolves any
	if it.ResolvesKey != "" {
		resolves = it.ResolvesKey
	}
	return []any{runID, it.Key(), it.Account, string(it.Day), string(it.Class), string(it.Kind),
		it.MerchantOrderNo, it.ProviderTxnNo, it.MerchantRefundNo, it.ProviderRefundNo, it.AgreementNo,
		it.LedgerAmount, it.BillAmount, it.Delta, string(it.LedgerStatus), string(it.ProviderStatus), it.LedgerFee, it.BillFee,
		db.timeArg(it.LedgerTime), db.timeArg(it.BillTime), string(it.OriginDay), it.Note, it.Product, it.LedgerEntryID,
		string(it.Action), resolves}
}

// insertItems writes items in multi-row INSERTs (well under both
// dialects' placeholder limits).
func (db *DB) insertItems(ctx context.Context, tx *sqlx.Tx, runID int64, items []payrecon.Item) error {
	const batch = 400
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(itemCols)), ", ") + ")"
	head := "INSERT INTO run_items (" + strings.Join(itemCols, ", ") + ") VALUES "
	for start := 0; start < len(items); start += batch {
		end := min(start+batch, len(items))
		args := make([]any, 0, (end-start)*len(itemCols))
		rows := make([]string, 0, end-start)
		for _, it := range items[start:end] {
			args = append(args, db.itemArgs(runID, it)...)
			rows = append(rows, row)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(head+strings.Join(rows, ", ")), args...); err != nil {
			return fmt.Errorf("insert run items: %w", err)
		}
	}
	return nil
}

func (db *DB) insertProposed(ctx context.Context, tx *sqlx.Tx, runID int64, actions []payrecon.Action) error {
	cols := []string{"discrepancy_key", "account", "day", "kind", "state", "item_json", "idempotency_key",
		"approved_by", "reason", "result", "created_at", "updated_at"}
	for _, a := range actions {
		item, err := json.Marshal(a.Item)
		if err != nil {
			return fmt.Errorf("action %s item: %w", a.DiscrepancyKey, err)
		}
		state := a.State
		if state == "" {
			state = payrecon.ActionProposed
		}
		inserted, id, err := db.insertIgnore(ctx, tx, "actions", cols, []any{
			a.DiscrepancyKey, a.Account, string(a.Day), string(a.Kind), string(state), string(item), a.IdempotencyKey,
			a.ApprovedBy, a.Reason, a.Result, db.timeArg(a.CreatedAt), db.timeArg(a.UpdatedAt)})
		if err != nil {
			return fmt.Errorf("insert action %s %s: %w", a.DiscrepancyKey, a.Kind, err)
		}
		if !inserted {
			continue
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO action_audit (action_id, at, actor, step, detail) VALUES (?, ?, ?, ?, ?)`),
			id, db.timeArg(a.CreatedAt), "run", "proposed", fmt.Sprintf("proposed by run %d: %s", runID, a.Item.Class)); err != nil {
			return fmt.Errorf("audit action %d: %w", id, err)
		}
	}
	return nil
}

// LatestRuns implements payrecon.RunStore: per (account, day) in [from, to],
// the newest finished run that no later run superseded, or, when the day
// has none, its newest failed run; ordered by day, then account. Each run
// carries its LastAttempt, and a day with attempts but no run appears as a
// run without ID in the state of its newest attempt (see withAttempts).
func (db *DB) LatestRuns(ctx context.Context, accounts []string, from, to payrecon.Day) ([]payrecon.Run, error) {
	q := runSelect + ` WHERE day >= ? AND day <= ? AND superseded_by IS NULL`
	args := []any{string(from), string(to)}
	if len(accounts) > 0 {
		q += ` AND account IN (?)`
		var err error
		q, args, err = sqlx.In(q, string(from), string(to), accounts)
		if err != nil {
			return nil, fmt.Errorf("latest runs: %w", err)
		}
	}
	q += ` ORDER BY day, account, id DESC`
	var rows []runRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("latest runs %s..%s: %w", from, to, err)
	}
	type dayKey struct{ account, day string }
	best := map[dayKey]runRow{}
	var order []dayKey
	for _, r := range rows {
		k := dayKey{r.Account, r.Day}
		cur, ok := best[k]
		if !ok {
			best[k] = r
			order = append(order, k)
			continue
		}
		if cur.State == string(payrecon.RunFailed) && r.State != string(payrecon.RunFailed) {
			best[k] = r
		}
	}
	out := make([]payrecon.Run, 0, len(order))
	for _, k := range order {
		run, err := best[k].run()
		if err != nil {
			return nil, err
		}
		out = append(out, run)
	}
	return db.withAttempts(ctx, out, accounts, from, to)
}

// RunHistory lists every run of (account, day), oldest first, superseded
// and failed ones included.
func (db *DB) RunHistory(ctx context.Context, account string, day payrecon.Day) ([]payrecon.Run, error) {
	var rows []runRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(runSelect+` WHERE account = ? AND day = ? ORDER BY id`), account, string(day)); err != nil {
		return nil, fmt.Errorf("run history %s %s: %w", account, day, err)
	}
	out := make([]payrecon.Run, 0, len(rows))
	for _, r := range rows {
		run, err := r.run()
		if err != nil {
			return nil, err
		}
		out = append(out, run)
	}
	return out, nil
}

// GetRun returns one run by id, or an error wrapping payrecon.ErrNotFound.
func (db *DB) GetRun(ctx context.Context, id int64) (payrecon.Run, error) {
	var r runRow
	err := db.x.GetContext(ctx, &r, db.x.Rebind(runSelect+` WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return payrecon.Run{}, fmt.Errorf("run %d: %w", id, payrecon.ErrNotFound)
	}
	if err != nil {
		return payrecon.Run{}, fmt.Errorf("run %d: %w", id, err)
	}
	return r.run()
}

// ---- items ----

const itemSelect = `SELECT i.id, i.account, i.day, i.class, i.kind, i.merchant_order_no, i.provider_txn_no,
	i.merchant_refund_no, i.provider_refund_no, i.agreement_no, i.ledger_amount, i.bill_amount, i.delta,
	i.ledger_status, i.provider_status, i.ledger_fee, i.bill_fee, i.ledger_time, i.bill_time, i.origin_day,
	i.note, i.product, i.ledger_entry_id, i.action, i.resolves_key FROM run_items i`

type itemRow struct {
	ID               int64          `db:"id"`
	Account          string         `db:"account"`
	Day              string         `db:"day"`
	Class            string         `db:"class"`
	Kind             string         `db:"kind"`
	MerchantOrderNo  string         `db:"merchant_order_no"`
	ProviderTxnNo    string         `db:"provider_txn_no"`
	MerchantRefundNo string         `db:"merchant_refund_no"`
	ProviderRefundNo string         `db:"provider_refund_no"`
	AgreementNo      string         `db:"agreement_no"`
	LedgerAmount     int64          `db:"ledger_amount"`
	BillAmount       int64          `db:"bill_amount"`
	Delta            int64          `db:"delta"`
	LedgerStatus     string         `db:"ledger_status"`
	ProviderStatus   string         `db:"provider_status"`
	LedgerFee        int64          `db:"ledger_fee"`
	BillFee          int64          `db:"bill_fee"`
	LedgerTime       dbTime         `db:"ledger_time"`
	BillTime         dbTime         `db:"bill_time"`
	OriginDay        string         `db:"origin_day"`
	Note             string         `db:"note"`
	Product          string         `db:"product"`
	LedgerEntryID    int64          `db:"ledger_entry_id"`
	Action           string         `db:"action"`
	ResolvesKey      sql.NullString `db:"resolves_key"`
}

func (r itemRow) item() payrecon.Item {
	return payrecon.Item{
		Account: r.Account, Day: payrecon.Day(r.Day), Class: payrecon.Class(r.Class), Kind: payrecon.Kind(r.Kind),
		MerchantOrderNo: r.MerchantOrderNo, ProviderTxnNo: r.ProviderTxnNo,
		MerchantRefundNo: r.MerchantRefundNo, ProviderRefundNo: r.ProviderRefundNo, AgreementNo: r.AgreementNo,
		LedgerAmount: r.LedgerAmount, BillAmount: r.BillAmount, Delta: r.Delta,
		LedgerStatus: payrecon.Status(r.LedgerStatus), ProviderStatus: payrecon.Status(r.ProviderStatus),
		LedgerFee: r.LedgerFee, BillFee: r.BillFee, LedgerTime: r.LedgerTime.Time, BillTime: r.BillTime.Time,
		OriginDay: payrecon.Day(r.OriginDay), Note: r.Note, Product: r.Product, LedgerEntryID: r.LedgerEntryID,
		Action: payrecon.ActionKind(r.Action), ResolvesKey: r.ResolvesKey.String,
	}
}

// RunItems implements payrecon.RunStore: the run's items in the order the
// run stored them.
func (db *DB) RunItems(ctx context.Context, runID int64, fn func(payrecon.Item) error) error {
	rows, err := db.x.QueryxContext(ctx, db.x.Rebind(itemSelect+` WHERE i.run_id = ? ORDER BY i.id`), runID)
	if err != nil {
		return fmt.Errorf("run %d items: %w", runID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r itemRow
		if err := rows.StructScan(&r); err != nil {
			return fmt.Errorf("run %d items: %w", runID, err)
		}
		if err := fn(r.item()); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("run %d items: %w", runID, err)
	}
	return nil
}

// OpenCarryOvers implements payrecon.RunStore: carried_over items of the
// current runs of days before day, minus those an item of a current run of
// a later day (still before day) resolves (resolves_key), oldest first.
func (db *DB) OpenCarryOvers(ctx context.Context, account string, day payrecon.Day) ([]payrecon.Item, error) {
	q := itemSelect + ` JOIN runs r ON r.id = i.run_id
		WHERE i.account = ? AND i.class = ? AND r.account = ? AND r.day < ?
		  AND r.superseded_by IS NULL AND r.state IN ('clean', 'discrepancy')
		  AND NOT EXISTS (SELECT 1 FROM run_items j JOIN runs r2 ON r2.id = j.run_id
			WHERE j.account = i.account AND j.resolves_key = i.item_key
			  AND r2.superseded_by IS NULL AND r2.state IN ('clean', 'discrepancy')
			  AND r2.day > r.day AND r2.day < ?)
		ORDER BY r.day, i.id`
	var rows []itemRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), account, string(payrecon.ClassCarriedOver), account, string(day), string(day)); err != nil {
		return nil, fmt.Errorf("open carry-overs %s %s: %w", account, day, err)
	}
	out := make([]payrecon.Item, 0, len(rows))
	seen := map[string]bool{}
	for _, r := range rows {
		it := r.item()
		if k := it.Key(); !seen[k] {
			seen[k] = true
			out = append(out, it)
		}
	}
	return out, nil
}

// ---- review state ----

// Review states of a discrepancy under their names before migration
// 0004 (review.go has the full review: payrecon.ReviewState).
const (
	ReviewNew          = string(payrecon.ReviewOpen)
	ReviewAcknowledged = string(payrecon.ReviewInvestigating)
	ReviewResolved     = string(payrecon.ReviewResolved)
	ReviewWontFix      = string(payrecon.ReviewWrittenOff)
)

// Discrepancy is a discrepancy's identity and review state across re-runs.
type Discrepancy struct {
	Key          string
	Account      string
	Class        payrecon.Class
	FirstSeenDay payrecon.Day
	LastRunID    int64
	ReviewState  string
	Reviewer     string
	ReviewNote   string
	UpdatedAt    time.Time
}

type discrepancyRow struct {
	Key          string `db:"item_key"`
	Account      string `db:"account"`
	Class        string `db:"class"`
	FirstSeenDay string `db:"first_seen_day"`
	LastRunID    int64  `db:"last_run_id"`
	ReviewState  string `db:"review_state"`
	Reviewer     string `db:"reviewer"`
	ReviewNote   string `db:"review_note"`
	UpdatedAt    dbTime `db:"updated_at"`
}

const discrepancySelect = `SELECT item_key, account, class, first_seen_day, last_run_id, review_state,
	reviewer, review_note, updated_at FROM discrepancies`

func (r discrepancyRow) discrepancy() Discrepancy {
	return Discrepancy{Key: r.Key, Account: r.Account, Class: payrecon.Class(r.Class), FirstSeenDay: payrecon.Day(r.FirstSeenDay),
		LastRunID: r.LastRunID, ReviewState: r.ReviewState, Reviewer: r.Reviewer, ReviewNote: r.ReviewNote, UpdatedAt: r.UpdatedAt.Time}
}

// GetDiscrepancy returns a discrepancy by item key, or an error wrapping
// payrecon.ErrNotFound.
func (db *DB) GetDiscrepancy(ctx context.Context, key string) (Discrepancy, error) {
	var r discrepancyRow
	err := db.x.GetContext(ctx, &r, db.x.Rebind(discrepancySelect+` WHERE item_key = ?`), key)
	if errors.Is(err, sql.ErrNoRows) {
		return Discrepancy{}, fmt.Errorf("discrepancy %s: %w", key, payrecon.ErrNotFound)
	}
	if err != nil {
		return Discrepancy{}, fmt.Errorf("discrepancy %s: %w", key, err)
	}
	return r.discrepancy(), nil
}

// Discrepancies returns the identity rows of the given item keys (missing
// keys are left out), keyed by item key.
func (db *DB) Discrepancies(ctx context.Context, keys []string) (map[string]Discrepancy, error) {
	out := map[string]Discrepancy{}
	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)
	for start := 0; start < len(sorted); start += 500 {
		part := sorted[start:min(start+500, len(sorted))]
		q, args, err := sqlx.In(discrepancySelect+` WHERE item_key IN (?)`, part)
		if err != nil {
			return nil, fmt.Errorf("discrepancies: %w", err)
		}
		var rows []discrepancyRow
		if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("discrepancies: %w", err)
		}
		for _, r := range rows {
			out[r.Key] = r.discrepancy()
		}
	}
	return out, nil
}

// SetReview records a reviewer's verdict on a discrepancy from the command
// line (ChangeReview with the state, assignee and note; wont_fix is
// written off with reason code "other"); re-runs keep it.
func (db *DB) SetReview(ctx context.Context, key, state, reviewer, note string) error {
	st := payrecon.ReviewState(state)
	if !st.Valid() || st == payrecon.ReviewTolerated {
		return fmt.Errorf("set review %s: state %q: want open, investigating, resolved or written_off", key, state)
	}
	c := payrecon.ReviewChange{State: &st, Assignee: &reviewer, Note: &note, Actor: reviewer, Source: payrecon.SourceCLI, IfVersion: -1}
	if st == payrecon.ReviewWrittenOff {
		other := "other"
		c.ReasonCode = &other
	}
	if c.Actor == "" {
		c.Actor = "unknown"
	}
	if _, _, err := db.ChangeReview(ctx, key, c); err != nil {
		return fmt.Errorf("set review %s: %w", key, err)
	}
	return nil
}

// ---- fast ledger scan for runs ----

var _ payrecon.LedgerScanner = (*DB)(nil)

// ScanLedger implements payrecon.LedgerScanner: the entries LedgerEntries
// would stream, with only the columns matching needs (a refund's two
// refund numbers, a payment's two payment numbers: eight columns, each
// column read costs), scanned into one reused row (no reflection, no
// per-row structs), in the order of the (account, occurred_at) index,
// whose entries end with the row id: no sort.
func (db *DB) ScanLedger(ctx context.Context, account string, from, to time.Time, fn func(*payrecon.LedgerRow) error) error {
	q := db.x.Rebind(`SELECT id, kind, status,
		CASE WHEN kind = 'refund' THEN provider_refund_no ELSE provider_txn_no END,
		CASE WHEN kind = 'refund' THEN merchant_refund_no ELSE merchant_order_no END,
		amount, payer_amount, promotion_amount FROM ledger_entries
		WHERE account = ? AND occurred_at >= ? AND occurred_at < ? ORDER BY occurred_at, id`)
	rows, err := db.x.QueryContext(ctx, q, account, db.timeArg(from), db.timeArg(to))
	if err != nil {
		return fmt.Errorf("scan ledger %s: %w", account, err)
	}
	defer rows.Close()
	var (
		r                      payrecon.LedgerRow
		kind, status, pri, sec sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&r.ID, &kind, &status, &pri, &sec, &r.Amount, &r.PayerAmount, &r.PromotionAmount); err != nil {
			return fmt.Errorf("scan ledger %s: %w", account, err)
		}
		r.Kind, r.Status = kind, status
		if string(kind) == string(payrecon.KindRefund) {
			r.ProviderRefundNo, r.MerchantRefundNo, r.ProviderTxnNo, r.MerchantOrderNo = pri, sec, nil, nil
		} else {
			r.ProviderTxnNo, r.MerchantOrderNo, r.ProviderRefundNo, r.MerchantRefundNo = pri, sec, nil, nil
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan ledger %s: %w", account, err)
	}
	return nil
}
