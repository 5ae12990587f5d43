package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/ledgersrc"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// tableRow is one row of the merchant's own order table.
type tableRow struct {
	order, txn, kind, refund string
	fen                      int64
	state                    string
	at                       time.Time
}

// tablePlan is the ground truth of a merchant-table account: the
// provider's truth (sc), the merchant's order table (rows) and the class of
// every planted item by class|merchant order number.
type tablePlan struct {
	sc      *scenario.Scenario
	rows    []tableRow
	want    map[string]payrecon.Class
	matched int64
	ledger  int64
	bill    int64
}

var tableMapping = payrecon.TableMapping{
	Columns: map[string]string{
		payrecon.FieldMerchantOrderNo: "order_no", payrecon.FieldProviderTxnNo: "pay_no", payrecon.FieldKind: "type",
		payrecon.FieldMerchantRefundNo: "refund_no", payrecon.FieldAmount: "total", payrecon.FieldStatus: "state",
		payrecon.FieldOccurredAt: "updated",
	},
	StatusMap: map[string]payrecon.Status{"PAID": payrecon.StatusSuccess, "WAIT": payrecon.StatusPending, "CLOSED": payrecon.StatusClosed, "DONE": payrecon.StatusSuccess},
	KindMap:   map[string]payrecon.Kind{"pay": payrecon.KindPayment, "refund": payrecon.KindRefund},
}

func newTablePlan() *tablePlan {
	p := &tablePlan{sc: &scenario.Scenario{}, want: map[string]payrecon.Class{}}
	n := 0
	pay := func(amount int64) (scenario.Payment, tableRow) {
		n++
		at := jobstest.DayD.Start().Add(time.Duration(8*3600+n*311) * time.Second)
		sp := scenario.Payment{MerchantOrderNo: fmt.Sprintf("SO%05d", n), ProviderTxnNo: fmt.Sprintf("T%08d", n), Status: payrecon.StatusSuccess,
			Amount: amount, PayerAmount: amount, CreatedAt: at.Add(-time.Minute), PaidAt: at}
		return sp, tableRow{order: sp.MerchantOrderNo, txn: sp.ProviderTxnNo, kind: "pay", fen: amount, state: "PAID", at: at}
	}
	both := func(sp scenario.Payment, row tableRow) {
		p.sc.Payments = append(p.sc.Payments, sp)
		p.rows = append(p.rows, row)
		p.bill += sp.Amount
		if row.state == "PAID" {
			p.ledger += row.fen
		}
	}
	for i := 0; i < 6; i++ {
		sp, row := pay(int64(1999 + i*100))
		if i%2 == 1 {
			row.txn = "" // the table does not keep the provider's number: matched by order number
		}
		both(sp, row)
		p.matched++
	}
	sp, _ := pay(3100) // paid, not in the table
	p.sc.Payments = append(p.sc.Payments, sp)
	p.bill += sp.Amount
	p.want[string(payrecon.ClassMissingInLedger)+"|"+sp.MerchantOrderNo] = payrecon.ClassMissingInLedger
	sp, row := pay(3200) // PAID in the table, never paid at the provider
	sp.Status, sp.PaidAt = payrecon.StatusNotPaid, time.Time{}
	p.sc.Payments = append(p.sc.Payments, sp)
	p.rows = append(p.rows, row)
	p.ledger += row.fen
	p.want[string(payrecon.ClassMissingInBill)+"|"+sp.MerchantOrderNo] = payrecon.ClassMissingInBill
	sp, row = pay(3300) // the table says 33.30, the provider took 33.00
	row.fen = 3330
	both(sp, row)
	p.want[string(payrecon.ClassAmountMismatch)+"|"+sp.MerchantOrderNo] = payrecon.ClassAmountMismatch
	sp, row = pay(3400) // still WAIT in the table
	row.state = "WAIT"
	both(sp, row)
	p.want[string(payrecon.ClassStatusMismatch)+"|"+sp.MerchantOrderNo] = payrecon.ClassStatusMismatch
	sp, row = pay(3500) // a closed order, nothing in the bill: no money moved
	row.state = "CLOSED"
	sp.Status, sp.PaidAt = payrecon.StatusClosed, time.Time{}
	p.sc.Payments = append(p.sc.Payments, sp)
	p.rows = append(p.rows, row)
	p.matched++
	// Refunds: one matched, one with another amount.
	for i, fen := range []int64{700, 800} {
		sp, row := pay(5000)
		both(sp, row)
		p.matched++
		at := row.at.Add(time.Hour)
		r := scenario.Refund{MerchantRefundNo: fmt.Sprintf("RF%05d", i), ProviderRefundNo: fmt.Sprintf("PR%05d", i), MerchantOrderNo: sp.MerchantOrderNo,
			ProviderTxnNo: sp.ProviderTxnNo, Status: payrecon.StatusSuccess, Amount: fen, PayerAmount: fen, CreatedAt: at, FinishedAt: at}
		p.sc.Refunds = append(p.sc.Refunds, r)
		p.bill -= fen
		rr := tableRow{order: sp.MerchantOrderNo, kind: "refund", refund: r.MerchantRefundNo, fen: fen, state: "DONE", at: at}
		if i == 1 {
			rr.fen = 900
			p.want[string(payrecon.ClassRefundAmountMismatch)+"|"+sp.MerchantOrderNo] = payrecon.ClassRefundAmountMismatch
		} else {
			p.matched++
		}
		p.rows = append(p.rows, rr)
		p.ledger -= rr.fen
	}
	// A row of the next day is not part of this day's ledger.
	_, row = pay(9999)
	row.at = jobstest.DayD.End().Add(time.Hour)
	p.rows = append(p.rows, row)
	return p
}

func runTablePlan(t *testing.T, db *store.DB, p *tablePlan, src payrecon.LedgerSource) {
	t.Helper()
	ctx := context.Background()
	clk := &jobstest.Clock{}
	clk.RunAfter(jobstest.DayD)
	target := jobs.Target{Account: payrecon.Account{Name: jobstest.Account, Provider: "fake"}, Provider: &jobstest.Provider{Sc: p.sc}, Ledger: src}
	r := jobs.NewRunner(db, map[string]jobs.Target{jobstest.Account: target}, storetest.Logger(t), clk.Now, jobs.Options{QueryBackoff: time.Millisecond, Version: "test"})
	for pass := 0; pass < 2; pass++ { // the second run pulls again and adds nothing
		run, err := r.RunDay(ctx, jobstest.Account, jobstest.DayD)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		got := map[string]payrecon.Class{}
		for _, it := range jobstest.RunItems(t, db, run.ID) {
			got[string(it.Class)+"|"+it.MerchantOrderNo] = it.Class
		}
		for id := range p.want {
			if _, ok := got[id]; !ok {
				t.Errorf("recall: planted %s not found", id)
			}
		}
		for id := range got {
			if _, ok := p.want[id]; !ok {
				t.Errorf("precision: unexpected %s", id)
			}
		}
		tot := run.Totals
		if tot.BillTotal != p.bill || tot.LedgerTotal != p.ledger || !tot.Balanced() || tot.Matched != p.matched {
			t.Errorf("totals %+v, want bill %d ledger %d matched %d, balanced", tot, p.bill, p.ledger, p.matched)
		}
		if tot.LedgerLines != int64(len(p.rows)-1) {
			t.Errorf("pass %d: %d ledger entries, want %d", pass, tot.LedgerLines, len(p.rows)-1)
		}
	}
}

// ledgerCount counts the account's ledger entries of the test days.
func ledgerCount(t *testing.T, db *store.DB) int {
	n := 0
	storetest.Must(t, db.LedgerEntries(context.Background(), jobstest.Account, jobstest.DayD.Start(), jobstest.DayD.Add(3).End(), func(payrecon.LedgerEntry) error { n++; return nil }))
	return n
}

func TestGroundTruthMerchantTableCSV(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newTablePlan()
		dir := t.TempDir()
		var b strings.Builder
		b.WriteString("\ufefforder_no,pay_no,type,refund_no,total,state,updated\n")
		for _, r := range p.rows {
			fmt.Fprintf(&b, "%s,%s,%s,%s,%d,%s,%s\n", r.order, r.txn, r.kind, r.refund, r.fen, r.state, r.at.In(payrecon.Shanghai).Format("2006-01-02 15:04:05"))
		}
		name := filepath.Join(dir, "orders-"+string(jobstest.DayD)+".csv")
		storetest.Must(t, os.WriteFile(name, []byte(b.String()), 0o600))
		m := tableMapping
		m.AmountUnit = payrecon.UnitFen
		src := &ledgersrc.CSV{Account: jobstest.Account, Provider: "fake", Path: filepath.Join(dir, "orders-{date}.csv"), Mapping: m}
		runTablePlan(t, db, p, src)

		// A bad row: the pull fails naming file, line and column; nothing is written.
		before := ledgerCount(t, db)
		// A good extra row first (line 3), then the third table row (now
		// line 5) with an amount that is not fen.
		lines := strings.Split(b.String(), "\n")
		lines[3] = strings.Replace(lines[3], fmt.Sprintf(",%d,", p.rows[2].fen), ",12.5x,", 1)
		lines = append(lines[:2], append([]string{"SO99999,,pay,,100,PAID," + jobstest.DayD.Start().Add(time.Hour).Format("2006-01-02 15:04:05")}, lines[2:]...)...)
		storetest.Must(t, os.WriteFile(name, []byte(strings.Join(lines, "\n")), 0o600))
		_, err := jobs.PullLedger(context.Background(), src, db, jobstest.Account, jobstest.DayD, nil)
		want := name + " line 5 column total (amount)"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("bad row: %v, want %q", err, want)
		}
		if n := ledgerCount(t, db); n != before {
			t.Errorf("a failed pull wrote %d entries", n-before)
		}
	})
}

func TestGroundTruthMerchantTableSQL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newTablePlan()
		_, dsn := storetest.DSN(t, store.MySQL)
		shop, err := ledgersrc.OpenSQL(dsn)
		storetest.Must(t, err)
		defer shop.Close()
		ctx := context.Background()
		_, err = shop.ExecContext(ctx, `CREATE TABLE orders (
  id BIGINT AUTO_INCREMENT PRIMARY KEY, order_no VARCHAR(64) NOT NULL, pay_no VARCHAR(64) NULL, type VARCHAR(16) NOT NULL,
  refund_no VARCHAR(64) NULL, total DECIMAL(12,2) NOT NULL, state VARCHAR(16) NOT NULL, updated DATETIME NOT NULL, note DOUBLE NULL)`)
		storetest.Must(t, err)
		insert := func(r tableRow) {
			var txn, ref any
			if r.txn != "" {
				txn = r.txn
			}
			if r.refund != "" {
				ref = r.refund
			}
			_, err := shop.ExecContext(ctx, `INSERT INTO orders (order_no, pay_no, type, refund_no, total, state, updated, note) VALUES (?, ?, ?, ?, ?, ?, ?, 0.1)`,
				r.order, txn, r.kind, ref, payrecon.FormatYuan(r.fen), r.state, r.at.In(payrecon.Shanghai).Format("2006-01-02 15:04:05"))
			storetest.Must(t, err)
		}
		for _, r := range p.rows {
			insert(r)
		}
		m := tableMapping
		m.AmountUnit = payrecon.UnitYuan
		src := &ledgersrc.SQL{Account: jobstest.Account, Provider: "fake", DB: shop, Mapping: m,
			Query: `SELECT order_no, pay_no, type, refund_no, total, state, updated FROM orders WHERE updated >= ? AND updated < ? ORDER BY id`}
		runTablePlan(t, db, p, src)

		// A status the mapping does not know, then a floating-point amount:
		// the pull fails naming the row and column; nothing is written.
		before := ledgerCount(t, db)
		insert(tableRow{order: "SO88888", kind: "pay", fen: 100, state: "REVERSED", at: jobstest.DayD.Start().Add(2 * time.Hour)})
		_, err = jobs.PullLedger(ctx, src, db, jobstest.Account, jobstest.DayD, nil)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("merchant order query row %d column state (status)", len(p.rows))) {
			t.Fatalf("bad status: %v", err)
		}
		_, err = shop.ExecContext(ctx, `DELETE FROM orders WHERE order_no = 'SO88888'`)
		storetest.Must(t, err)
		src.Query = strings.Replace(src.Query, "total,", "note AS total,", 1)
		_, err = jobs.PullLedger(ctx, src, db, jobstest.Account, jobstest.DayD, nil)
		if err == nil || !strings.Contains(err.Error(), "merchant order query row 1 column total (amount): floating-point") {
			t.Fatalf("float amount: %v", err)
		}
		if n := ledgerCount(t, db); n != before {
			t.Errorf("a failed pull wrote %d entries", n-before)
		}
	})
}

// TestPulledEntriesPassTheDomainValidation: a pulled entry is checked like
// a verified callback's (payrecon.Policy.CheckEntry); the run fails naming
// the line and the rule, and nothing of the pull is written.
func TestPulledEntriesPassTheDomainValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dir := t.TempDir()
		name := filepath.Join(dir, "o.csv")
		storetest.Must(t, os.WriteFile(name, []byte("order_no,total,state,updated\nA1,100,PAID,2026-11-20 10:00:00\nA2,-5,PAID,2026-11-20 11:00:00\n"), 0o600))
		m := payrecon.TableMapping{AmountUnit: payrecon.UnitFen, Columns: map[string]string{
			payrecon.FieldMerchantOrderNo: "order_no", payrecon.FieldAmount: "total", payrecon.FieldStatus: "state", payrecon.FieldOccurredAt: "updated"},
			StatusMap: map[string]payrecon.Status{"PAID": payrecon.StatusSuccess}}
		acct := payrecon.Account{Name: jobstest.Account, Provider: "fake"}
		src := &ledgersrc.CSV{Account: jobstest.Account, Provider: "fake", Path: name, Mapping: m, Check: payrecon.PolicyFor(acct, nil).CheckEntry}
		clk := &jobstest.Clock{}
		clk.RunAfter(jobstest.DayD)
		r := jobs.NewRunner(db, map[string]jobs.Target{jobstest.Account: {Account: acct, Provider: &jobstest.Provider{Sc: &scenario.Scenario{}}, Ledger: src}},
			storetest.Logger(t), clk.Now, jobs.Options{Version: "test"})
		_, err := r.RunDay(context.Background(), jobstest.Account, jobstest.DayD)
		if err == nil || !strings.Contains(err.Error(), name+" line 3: "+payrecon.RuleAmountPositive) {
			t.Fatalf("run: %v", err)
		}
		if n := ledgerCount(t, db); n != 0 {
			t.Errorf("%d entries written by a failed pull", n)
		}
	})
}
