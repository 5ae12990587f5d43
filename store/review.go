package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// Review state of discrepancies (columns added to discrepancies by
// migration 0004_review.sql), its audit trail (review_audit), comments
// (review_comments) and the workbook checksum key (app_keys).
//
// Every change of a review bumps review_version and writes one
// review_audit row (who, when, source, the fields before and after) in
// the same transaction; the workbook exports the version so that an
// import can tell rows changed since.

const reviewSelect = `SELECT item_key, account, class, kind, ref, first_seen_day, last_day, delta, amount,
	review_state, reason_code, tolerance_rule, assignee, review_note, due_day, review_version, reviewer, updated_at
FROM discrepancies`

type reviewRow struct {
	Key          string `db:"item_key"`
	Account      string `db:"account"`
	Class        string `db:"class"`
	Kind         string `db:"kind"`
	Ref          string `db:"ref"`
	FirstSeenDay string `db:"first_seen_day"`
	LastDay      string `db:"last_day"`
	Delta        int64  `db:"delta"`
	Amount       int64  `db:"amount"`
	State        string `db:"review_state"`
	ReasonCode   string `db:"reason_code"`
	Rule         string `db:"tolerance_rule"`
	Assignee     string `db:"assignee"`
	Note         string `db:"review_note"`
	DueDay       string `db:"due_day"`
	Version      int64  `db:"review_version"`
	UpdatedBy    string `db:"reviewer"`
	UpdatedAt    dbTime `db:"updated_at"`
}

func (r reviewRow) review() payrecon.Review {
	return payrecon.Review{
		Key: r.Key, Account: r.Account, Class: payrecon.Class(r.Class), Kind: payrecon.Kind(r.Kind), Ref: r.Ref,
		FirstSeenDay: payrecon.Day(r.FirstSeenDay), LastDay: payrecon.Day(r.LastDay), Delta: r.Delta, Amount: r.Amount,
		State: payrecon.ReviewState(r.State), ReasonCode: r.ReasonCode, Rule: r.Rule, Assignee: r.Assignee,
		Note: r.Note, DueDay: payrecon.Day(r.DueDay), Version: r.Version, UpdatedBy: r.UpdatedBy, UpdatedAt: r.UpdatedAt.Time,
	}
}

// saveReviews is SaveRun's part: the identity rows of the run's
// discrepancies (new ones open, with their SLA due day; existing ones keep
// their review and get the latest day, delta and amount), then the
// tolerance rules' verdicts: an open item a rule covers becomes tolerated,
// a tolerated one no rule covers any more is reopened, each audited as a
// change by "run".
func (db *DB) saveReviews(ctx context.Context, tx *sqlx.Tx, runID int64, day payrecon.Day, items []payrecon.Item) error {
	now := db.timeArg(db.Now())
	seen := map[string]bool{}
	tolerance := map[string]string{}
	var args []any
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		q := `INSERT INTO discrepancies (item_key, account, class, kind, ref, first_seen_day, last_day, last_run_id,
			delta, amount, due_day, review_state, reviewer, review_note, updated_at) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', '', '', ?), ", n), ", ")
		if db.dialect == MySQL {
			q += ` ON DUPLICATE KEY UPDATE last_run_id = VALUES(last_run_id), updated_at = VALUES(updated_at),
				first_seen_day = LEAST(first_seen_day, VALUES(first_seen_day)),
				kind = VALUES(kind), ref = VALUES(ref), delta = VALUES(delta), amount = VALUES(amount),
				last_day = GREATEST(last_day, VALUES(last_day)),
				due_day = IF(due_day = '', VALUES(due_day), due_day)`
		} else {
			q += ` ON CONFLICT (item_key) DO UPDATE SET last_run_id = excluded.last_run_id, updated_at = excluded.updated_at,
				first_seen_day = MIN(first_seen_day, excluded.first_seen_day),
				kind = excluded.kind, ref = excluded.ref, delta = excluded.delta, amount = excluded.amount,
				last_day = MAX(last_day, excluded.last_day),
				due_day = CASE WHEN due_day = '' THEN excluded.due_day ELSE due_day END`
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("upsert discrepancies: %w", err)
		}
		args, n = args[:0], 0
		return nil
	}
	for _, it := range items {
		if !it.Class.IsDiscrepancy() {
			continue
		}
		key := it.Key()
		if seen[key] {
			continue
		}
		seen[key] = true
		tolerance[key] = it.Tolerance
		first := day
		if it.OriginDay != "" && it.OriginDay < first {
			first = it.OriginDay
		}
		args = append(args, key, it.Account, string(it.Class), string(it.Kind), payrecon.ItemRef(it), string(first), string(day),
			runID, it.Delta, payrecon.ItemAmount(it), string(it.DueDay), now)
		if n++; n == 150 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	// Tolerance verdicts: read back the rows a rule covers now (when still
	// open or tolerated) and the rows of this run tolerated before.
	var keys []string
	for k, rule := range tolerance {
		if rule != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var rows []reviewRow
	for start := 0; start < len(keys); start += 500 {
		part := keys[start:min(start+500, len(keys))]
		q, qargs, err := sqlx.In(reviewSelect+` WHERE item_key IN (?) AND review_state IN ('open', 'tolerated')`, part)
		if err != nil {
			return fmt.Errorf("tolerated discrepancies: %w", err)
		}
		var got []reviewRow
		if err := tx.SelectContext(ctx, &got, tx.Rebind(q), qargs...); err != nil {
			return fmt.Errorf("tolerated discrepancies: %w", err)
		}
		rows = append(rows, got...)
	}
	var was []reviewRow
	if err := tx.SelectContext(ctx, &was, tx.Rebind(reviewSelect+` WHERE last_run_id = ? AND review_state = 'tolerated'`), runID); err != nil {
		return fmt.Errorf("tolerated discrepancies: %w", err)
	}
	for _, r := range was {
		if tolerance[r.Key] == "" {
			rows = append(rows, r)
		}
	}
	for _, r := range rows {
		rule := tolerance[r.Key]
		if r.UpdatedBy != "" && r.UpdatedBy != "run" {
			continue // a person decided on it: runs leave it alone
		}
		c := payrecon.ReviewChange{Actor: "run", Source: payrecon.SourceRun, IfVersion: -1}
		switch {
		case rule != "" && (r.State == string(payrecon.ReviewOpen) || r.Rule != rule):
			st := payrecon.ReviewTolerated
			c.State, c.Rule = &st, &rule
			c.Comment = fmt.Sprintf("run %d: tolerance rule %s", runID, rule)
		case rule == "" && r.State == string(payrecon.ReviewTolerated):
			st := payrecon.ReviewOpen
			c.State = &st
			c.Comment = fmt.Sprintf("run %d: no tolerance rule covers it any more", runID)
		default:
			continue
		}
		if _, _, err := db.changeReview(ctx, tx, r.review(), c); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) getReview(ctx context.Context, tx *sqlx.Tx, key string, lock bool) (payrecon.Review, error) {
	q := reviewSelect + ` WHERE item_key = ?`
	if lock && db.dialect == MySQL {
		q += ` FOR UPDATE`
	}
	var r reviewRow
	err := tx.GetContext(ctx, &r, tx.Rebind(q), key)
	if errors.Is(err, sql.ErrNoRows) {
		return payrecon.Review{}, fmt.Errorf("discrepancy %s: %w", key, payrecon.ErrNotFound)
	}
	if err != nil {
		return payrecon.Review{}, fmt.Errorf("discrepancy %s: %w", key, err)
	}
	return r.review(), nil
}

// applyChange computes the fields after c, checking them.
func applyChange(old payrecon.ReviewFields, c payrecon.ReviewChange) (payrecon.ReviewFields, error) {
	nf := old
	if c.State != nil {
		nf.State = *c.State
	}
	if c.ReasonCode != nil {
		nf.ReasonCode = strings.TrimSpace(*c.ReasonCode)
	}
	if c.Rule != nil {
		nf.Rule = *c.Rule
	}
	if c.Assignee != nil {
		nf.Assignee = strings.TrimSpace(*c.Assignee)
	}
	if c.Note != nil {
		nf.Note = *c.Note
	}
	if !nf.State.Valid() {
		return nf, fmt.Errorf("review state %q: want one of open, investigating, resolved, written_off, tolerated", nf.State)
	}
	if nf.State != payrecon.ReviewWrittenOff {
		nf.ReasonCode = ""
	} else if nf.ReasonCode == "" {
		return nf, errors.New("written_off needs a reason code")
	}
	if nf.State != payrecon.ReviewTolerated {
		nf.Rule = ""
	} else {
		if c.Source != payrecon.SourceRun && old.State != payrecon.ReviewTolerated {
			return nf, errors.New("tolerated is set by the tolerance rules of a run, not by hand")
		}
		if nf.Rule == "" {
			return nf, errors.New("tolerated needs a rule")
		}
	}
	return nf, nil
}

// changeReview applies c to cur inside tx: version + 1, one audit row, a
// comment row when c has one, and, when the review leaves repair behind
// (written_off, tolerated), the discrepancy's pending actions dismissed
// with the reason. It reports whether anything changed.
func (db *DB) changeReview(ctx context.Context, tx *sqlx.Tx, cur payrecon.Review, c payrecon.ReviewChange) (payrecon.Review, bool, error) {
	if c.IfVersion >= 0 && cur.Version != c.IfVersion {
		return cur, false, fmt.Errorf("discrepancy %s at version %d, not %d: %w", cur.Key, cur.Version, c.IfVersion, payrecon.ErrReviewConflict)
	}
	before := cur.Fields()
	after, err := applyChange(before, c)
	if err != nil {
		return cur, false, fmt.Errorf("discrepancy %s: %w", cur.Key, err)
	}
	comment := strings.TrimSpace(c.Comment)
	if after == before && comment == "" {
		return cur, false, nil
	}
	now := db.Now()
	next := cur.Version + 1
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE discrepancies SET review_state = ?, reason_code = ?, tolerance_rule = ?,
		assignee = ?, review_note = ?, review_version = ?, reviewer = ?, updated_at = ? WHERE item_key = ? AND review_version = ?`),
		string(after.State), after.ReasonCode, after.Rule, after.Assignee, after.Note, next, c.Actor, db.timeArg(now), cur.Key, cur.Version)
	if err != nil {
		return cur, false, fmt.Errorf("change review %s: %w", cur.Key, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return cur, false, fmt.Errorf("change review %s: %w", cur.Key, payrecon.ErrReviewConflict)
	}
	bj, _ := json.Marshal(before) // plain strings: always marshal
	aj, _ := json.Marshal(after)
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO review_audit (item_key, version, at, actor, source, before_json, after_json, comment)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), cur.Key, next, db.timeArg(now), c.Actor, c.Source, string(bj), string(aj), comment); err != nil {
		return cur, false, fmt.Errorf("audit review %s: %w", cur.Key, err)
	}
	if comment != "" {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO review_comments (item_key, at, author, source, body) VALUES (?, ?, ?, ?, ?)`),
			cur.Key, db.timeArg(now), c.Actor, c.Source, comment); err != nil {
			return cur, false, fmt.Errorf("comment on %s: %w", cur.Key, err)
		}
	}
	if !after.State.ProposesRepair() && before.State != after.State {
		why := "written off (" + after.ReasonCode + ")"
		if after.State == payrecon.ReviewTolerated {
			why = "tolerated by rule " + after.Rule
		}
		if err := db.dismissActionsOf(ctx, tx, cur.Key, c.Actor, why); err != nil {
			return cur, false, err
		}
	}
	out := cur
	out.State, out.ReasonCode, out.Rule, out.Assignee, out.Note = after.State, after.ReasonCode, after.Rule, after.Assignee, after.Note
	out.Version, out.UpdatedBy, out.UpdatedAt = next, c.Actor, now.UTC().Truncate(time.Microsecond)
	return out, true, nil
}

// dismissActionsOf dismisses the discrepancy's actions that were not
// applied yet, each with an audit row.
func (db *DB) dismissActionsOf(ctx context.Context, tx *sqlx.Tx, key, actor, why string) error {
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, tx.Rebind(`SELECT id FROM actions WHERE discrepancy_key = ? AND state IN ('proposed', 'approved', 'failed') ORDER BY id`), key); err != nil {
		return fmt.Errorf("actions of %s: %w", key, err)
	}
	now := db.timeArg(db.Now())
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE actions SET state = 'dismissed', reason = ?, updated_at = ? WHERE id = ?`), why, now, id); err != nil {
			return fmt.Errorf("dismiss action %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO action_audit (action_id, at, actor, step, detail) VALUES (?, ?, ?, ?, ?)`),
			id, now, actor, string(payrecon.ActionDismissed), "review: "+why); err != nil {
			return fmt.Errorf("audit action %d: %w", id, err)
		}
	}
	return nil
}

// GetReview returns one discrepancy's review, or an error wrapping
// payrecon.ErrNotFound.
func (db *DB) GetReview(ctx context.Context, key string) (payrecon.Review, error) {
	var out payrecon.Review
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		out, err = db.getReview(ctx, tx, key, false)
		return err
	})
	return out, err
}

// ChangeReview applies c to the discrepancy key in one transaction and
// reports whether anything changed (a change that sets what is already
// there changes nothing and writes no audit row). Errors wrap
// payrecon.ErrNotFound, payrecon.ErrReviewConflict (c.IfVersion), or name
// the bad field.
func (db *DB) ChangeReview(ctx context.Context, key string, c payrecon.ReviewChange) (payrecon.Review, bool, error) {
	if err := checkChange(c); err != nil {
		return payrecon.Review{}, false, err
	}
	var (
		out     payrecon.Review
		changed bool
	)
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		cur, err := db.getReview(ctx, tx, key, true)
		if err != nil {
			return err
		}
		out, changed, err = db.changeReview(ctx, tx, cur, c)
		return err
	})
	return out, changed, err
}

func checkChange(c payrecon.ReviewChange) error {
	if strings.TrimSpace(c.Actor) == "" {
		return errors.New("review change: no actor")
	}
	switch c.Source {
	case payrecon.SourceCLI, payrecon.SourceWorkbook, payrecon.SourceRun:
	default:
		return fmt.Errorf("review change: source %q: want cli, workbook or run", c.Source)
	}
	return nil
}

// BulkResult is what a bulk review change found and did.
type BulkResult struct {
	Matched int   // reviews the filter selected
	Changed int   // of those, the ones the change altered
	Amount  int64 // sum of the matched reviews' Amount (fen)
}

// ChangeReviews applies c to every review f selects, in one transaction
// (all or nothing). c.IfVersion is ignored.
func (db *DB) ChangeReviews(ctx context.Context, f payrecon.ReviewFilter, c payrecon.ReviewChange) (BulkResult, error) {
	if err := checkChange(c); err != nil {
		return BulkResult{}, err
	}
	c.IfVersion = -1
	var res BulkResult
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		res = BulkResult{}
		q, args, err := db.reviewQuery(f)
		if err != nil {
			return err
		}
		if db.dialect == MySQL {
			q += ` FOR UPDATE`
		}
		var rows []reviewRow
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("bulk review: %w", err)
		}
		for _, r := range rows {
			res.Matched++
			res.Amount += r.Amount
			_, changed, err := db.changeReview(ctx, tx, r.review(), c)
			if err != nil {
				return err
			}
			if changed {
				res.Changed++
			}
		}
		return nil
	})
	return res, err
}

// ListReviews returns the reviews f selects, oldest first (first seen day,
// then key).
func (db *DB) ListReviews(ctx context.Context, f payrecon.ReviewFilter) ([]payrecon.Review, error) {
	q, args, err := db.reviewQuery(f)
	if err != nil {
		return nil, err
	}
	var rows []reviewRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list reviews: %w", err)
	}
	out := make([]payrecon.Review, len(rows))
	for i, r := range rows {
		out[i] = r.review()
	}
	return out, nil
}

func (db *DB) reviewQuery(f payrecon.ReviewFilter) (string, []any, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if f.Account != "" {
		add("account = ?", f.Account)
	}
	if f.From != "" {
		add("last_day >= ?", string(f.From))
	}
	if f.To != "" {
		add("last_day <= ?", string(f.To))
	}
	if len(f.Classes) > 0 {
		s := make([]string, len(f.Classes))
		for i, c := range f.Classes {
			s[i] = string(c)
		}
		add("class IN (?)", s)
	}
	if len(f.States) > 0 {
		s := make([]string, len(f.States))
		for i, st := range f.States {
			s[i] = string(st)
		}
		add("review_state IN (?)", s)
	}
	switch f.Assignee {
	case "":
	case "-":
		add("assignee = ''")
	default:
		add("assignee = ?", f.Assignee)
	}
	if f.MinAmount > 0 {
		add("amount >= ?", f.MinAmount)
	}
	if f.MaxAmount > 0 {
		add("amount <= ?", f.MaxAmount)
	}
	if f.AsOf != "" {
		if f.MinAgeDays > 0 {
			add("first_seen_day <= ?", string(f.AsOf.Add(-f.MinAgeDays)))
		}
		if f.MaxAgeDays > 0 {
			add("first_seen_day >= ?", string(f.AsOf.Add(-f.MaxAgeDays)))
		}
	}
	if len(f.Keys) > 0 {
		add("item_key IN (?)", f.Keys)
	}
	q := reviewSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY first_seen_day, item_key"
	q, args, err := sqlx.In(q, args...)
	if err != nil {
		return "", nil, fmt.Errorf("review filter: %w", err)
	}
	return q, args, nil
}

// ReviewsOfRun returns the reviews of a run's discrepancies, keyed by item key.
func (db *DB) ReviewsOfRun(ctx context.Context, runID int64) (map[string]payrecon.Review, error) {
	var rows []reviewRow
	q := reviewSelect + ` WHERE item_key IN (SELECT item_key FROM run_items WHERE run_id = ?)`
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), runID); err != nil {
		return nil, fmt.Errorf("reviews of run %d: %w", runID, err)
	}
	out := make(map[string]payrecon.Review, len(rows))
	for _, r := range rows {
		out[r.Key] = r.review()
	}
	return out, nil
}

type reviewAuditRow struct {
	Key     string `db:"item_key"`
	Version int64  `db:"version"`
	At      dbTime `db:"at"`
	Actor   string `db:"actor"`
	Source  string `db:"source"`
	Before  string `db:"before_json"`
	After   string `db:"after_json"`
	Comment string `db:"comment"`
}

func (r reviewAuditRow) audit() (payrecon.ReviewAudit, error) {
	a := payrecon.ReviewAudit{Key: r.Key, Version: r.Version, At: r.At.Time, Actor: r.Actor, Source: r.Source, Comment: r.Comment}
	if err := json.Unmarshal([]byte(r.Before), &a.Before); err != nil {
		return a, fmt.Errorf("review audit %s v%d before: %w", r.Key, r.Version, err)
	}
	if err := json.Unmarshal([]byte(r.After), &a.After); err != nil {
		return a, fmt.Errorf("review audit %s v%d after: %w", r.Key, r.Version, err)
	}
	return a, nil
}

const reviewAuditSelect = `SELECT item_key, version, at, actor, source, before_json, after_json, comment FROM review_audit`

// ReviewAudit returns a discrepancy's review changes, oldest first.
func (db *DB) ReviewAudit(ctx context.Context, key string) ([]payrecon.ReviewAudit, error) {
	var rows []reviewAuditRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(reviewAuditSelect+` WHERE item_key = ? ORDER BY version`), key); err != nil {
		return nil, fmt.Errorf("review audit %s: %w", key, err)
	}
	out := make([]payrecon.ReviewAudit, 0, len(rows))
	for _, r := range rows {
		a, err := r.audit()
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// ReviewFieldsAt returns a review's fields as they were at version v (0:
// as first stored, open), or an error wrapping payrecon.ErrNotFound.
func (db *DB) ReviewFieldsAt(ctx context.Context, key string, v int64) (payrecon.ReviewFields, error) {
	if v == 0 {
		return payrecon.ReviewFields{State: payrecon.ReviewOpen}, nil
	}
	var r reviewAuditRow
	err := db.x.GetContext(ctx, &r, db.x.Rebind(reviewAuditSelect+` WHERE item_key = ? AND version = ?`), key, v)
	if errors.Is(err, sql.ErrNoRows) {
		return payrecon.ReviewFields{}, fmt.Errorf("review %s version %d: %w", key, v, payrecon.ErrNotFound)
	}
	if err != nil {
		return payrecon.ReviewFields{}, fmt.Errorf("review %s version %d: %w", key, v, err)
	}
	a, err := r.audit()
	return a.After, err
}

// ReviewComment is one comment on a discrepancy.
type ReviewComment struct {
	At     dbTime `db:"at"`
	Author string `db:"author"`
	Source string `db:"source"`
	Body   string `db:"body"`
}

// ReviewComments returns a discrepancy's comments, oldest first.
func (db *DB) ReviewComments(ctx context.Context, key string) ([]ReviewComment, error) {
	var out []ReviewComment
	if err := db.x.SelectContext(ctx, &out, db.x.Rebind(`SELECT at, author, source, body FROM review_comments WHERE item_key = ? ORDER BY id`), key); err != nil {
		return nil, fmt.Errorf("review comments %s: %w", key, err)
	}
	return out, nil
}

// ReviewKey returns the key of the workbook's row checksums, generating it
// (32 random bytes) the first time; concurrent first calls agree on one.
// It never leaves the database except into an HMAC.
func (db *DB) ReviewKey(ctx context.Context) ([]byte, error) {
	const name = "review_mac"
	var out []byte
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var fresh [32]byte
		if _, err := rand.Read(fresh[:]); err != nil {
			return err
		}
		if _, _, err := db.insertIgnore(ctx, tx, "app_keys", []string{"name", "value", "created_at"},
			[]any{name, hex.EncodeToString(fresh[:]), db.timeArg(db.Now())}); err != nil {
			return err
		}
		var v string
		if err := tx.GetContext(ctx, &v, tx.Rebind(`SELECT value FROM app_keys WHERE name = ?`), name); err != nil {
			return err
		}
		b, err := hex.DecodeString(v)
		if err != nil || len(b) < 16 {
			return fmt.Errorf("stored key %s is malformed", name)
		}
		out = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("review key: %w", err)
	}
	return out, nil
}

// RunItemsReviewed streams a run's items like RunItems, each with its
// discrepancy's review (the zero Review for items that are not
// discrepancies), joined in SQL so that a million-row run is never held in
// memory.
func (db *DB) RunItemsReviewed(ctx context.Context, runID int64, fn func(payrecon.Item, payrecon.Review) error) error {
	q := strings.Replace(itemSelect, " FROM run_items i", `, d.item_key AS rv_key, d.review_state AS rv_state, d.reason_code AS rv_reason,
		d.tolerance_rule AS rv_rule, d.assignee AS rv_assignee, d.review_note AS rv_note, d.due_day AS rv_due,
		d.review_version AS rv_version, d.first_seen_day AS rv_first FROM run_items i
		LEFT JOIN discrepancies d ON d.item_key = i.item_key`, 1) + ` WHERE i.run_id = ? ORDER BY i.id`
	rows, err := db.x.QueryxContext(ctx, db.x.Rebind(q), runID)
	if err != nil {
		return fmt.Errorf("run %d reviewed items: %w", runID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r struct {
			itemRow
			Key      sql.NullString `db:"rv_key"`
			State    sql.NullString `db:"rv_state"`
			Reason   sql.NullString `db:"rv_reason"`
			Rule     sql.NullString `db:"rv_rule"`
			Assignee sql.NullString `db:"rv_assignee"`
			Note     sql.NullString `db:"rv_note"`
			Due      sql.NullString `db:"rv_due"`
			Version  sql.NullInt64  `db:"rv_version"`
			First    sql.NullString `db:"rv_first"`
		}
		if err := rows.StructScan(&r); err != nil {
			return fmt.Errorf("run %d reviewed items: %w", runID, err)
		}
		var rv payrecon.Review
		if r.Key.Valid {
			rv = payrecon.Review{Key: r.Key.String, State: payrecon.ReviewState(r.State.String), ReasonCode: r.Reason.String,
				Rule: r.Rule.String, Assignee: r.Assignee.String, Note: r.Note.String, DueDay: payrecon.Day(r.Due.String),
				Version: r.Version.Int64, FirstSeenDay: payrecon.Day(r.First.String)}
		}
		if err := fn(r.item(), rv); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("run %d reviewed items: %w", runID, err)
	}
	return nil
}
