package reports_test

import (
	"archive/zip"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reports"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixture is hand-made report input: two accounts on one day (one with a
// settlement bill), every class, Chinese product names, zero times,
// negative amounts, actions with audit trails. Totals are computed from
// the items, like the run does.
type fixture struct {
	runs    []payrecon.Run
	items   map[int64][]payrecon.Item
	actions []payrecon.Action
	audit   map[int64][]payrecon.AuditEntry
	reviews map[string]payrecon.Review
	pending []payrecon.Review
}

// fixtureReviewKey is the fixture's checksum key (a real one lives in the database).
var fixtureReviewKey = []byte("0123456789abcdef0123456789abcdef")

func (fx *fixture) source() reports.Source {
	return reports.Source{
		Runs: fx.runs,
		Items: func(runID int64, fn func(payrecon.Item) error) error {
			for _, it := range fx.items[runID] {
				if err := fn(it); err != nil {
					return err
				}
			}
			return nil
		},
		Actions: fx.actions,
		Audit: func(id int64) ([]payrecon.AuditEntry, error) {
			return fx.audit[id], nil
		},
		ReviewedItems: func(runID int64, fn func(payrecon.Item, payrecon.Review) error) error {
			for _, it := range fx.items[runID] {
				if err := fn(it, fx.reviews[it.Key()]); err != nil {
					return err
				}
			}
			return nil
		},
		ReviewKey:   fixtureReviewKey,
		ReasonCodes: []string{"rounding", "small_amount", "other"},
		Pending:     fx.pending,
		AsOf:        day,
	}
}

var (
	day = payrecon.MustDay("2026-11-20")
	// utc is a time written in UTC: the reports must show it in Shanghai (+8).
	utc = func(h, m int) time.Time { return time.Date(2026, 11, 20, h, m, 7, 0, time.UTC) }
)

// fixtureActions are the actions a run stores for the fixture's items, by
// class (a run decides them in jobs/classify.go).
var fixtureActions = map[payrecon.Class]payrecon.ActionKind{
	payrecon.ClassMissingInLedger: payrecon.ActionBackfillLedger, payrecon.ClassRefundMissingInLedger: payrecon.ActionBackfillLedger,
	payrecon.ClassMissingInBill: payrecon.ActionReverseLedger, payrecon.ClassRefundMissingInBill: payrecon.ActionReverseLedger,
	payrecon.ClassCarriedOver: payrecon.ActionRecheck, payrecon.ClassStatusMismatch: payrecon.ActionCorrectStatus,
	payrecon.ClassDuplicatePayment: payrecon.ActionRefundDuplicate, payrecon.ClassAgreementMismatch: payrecon.ActionCorrectAgreement,
	payrecon.ClassAmountMismatch: payrecon.ActionManualReview, payrecon.ClassRefundAmountMismatch: payrecon.ActionManualReview,
	payrecon.ClassFeeMismatch: payrecon.ActionManualReview, payrecon.ClassSettlementMismatch: payrecon.ActionManualReview,
}

// item builds an item with Delta = bill − ledger.
func item(acct string, c payrecon.Class, k payrecon.Kind, n int, ledger, bill int64, prod string) payrecon.Item {
	it := payrecon.Item{
		Account: acct, Day: day, Class: c, Kind: k,
		MerchantOrderNo: fmt.Sprintf("M%s%03d", strings.ToUpper(acct[:2]), n),
		ProviderTxnNo:   fmt.Sprintf("4200002026112%08d", n),
		LedgerAmount:    ledger, BillAmount: bill, Delta: bill - ledger,
		Product: prod, Action: fixtureActions[c],
	}
	if ledger != 0 {
		it.LedgerStatus, it.LedgerTime = payrecon.StatusSuccess, utc(1, n)
	}
	if bill != 0 {
		it.ProviderStatus, it.BillTime = payrecon.StatusSuccess, utc(2, n)
	}
	if k == payrecon.KindRefund {
		it.MerchantRefundNo = fmt.Sprintf("R%03d", n)
		it.ProviderRefundNo = fmt.Sprintf("5030002026%06d", n)
	}
	return it
}

// totals computes a run's totals from its items; matched lines add
// matchedAmount to both sides. skew (fen) is added to the bill total only,
// making the run unbalanced by that much.
func totals(items []payrecon.Item, matched, matchedAmount, skew int64) payrecon.Totals {
	t := payrecon.Totals{ByClass: map[payrecon.Class]payrecon.ClassTotal{}, Matched: matched}
	t.BillTotal, t.LedgerTotal = matchedAmount+skew, matchedAmount
	t.BillLines, t.LedgerLines = matched, matched
	t.ByClass[payrecon.ClassMatched] = payrecon.ClassTotal{Count: matched}
	for _, it := range items {
		t.BillTotal += it.BillAmount
		t.LedgerTotal += it.LedgerAmount
		if it.BillAmount != 0 {
			t.BillLines++
		}
		if it.LedgerAmount != 0 {
			t.LedgerLines++
		}
		if !it.OutsideBalance() {
			t.Explained += it.Delta
		}
		ct := t.ByClass[it.Class]
		ct.Count++
		ct.Amount += it.Delta
		t.ByClass[it.Class] = ct
	}
	t.Difference = t.BillTotal - t.LedgerTotal
	return t
}

func newFixture() *fixture {
	fx := &fixture{items: map[int64][]payrecon.Item{}, audit: map[int64][]payrecon.AuditEntry{}}
	// Run 1: wechat, balanced, every payment class.
	a := []payrecon.Item{
		item("wx_main", payrecon.ClassMissingInLedger, payrecon.KindPayment, 1, 0, 12800, "会员月卡"),
		item("wx_main", payrecon.ClassMissingInBill, payrecon.KindPayment, 2, 990, 0, "游戏币 60 枚"),
		item("wx_main", payrecon.ClassAmountMismatch, payrecon.KindPayment, 3, 10000, 9950, "年度会员（优惠）"),
		item("wx_main", payrecon.ClassStatusMismatch, payrecon.KindPayment, 4, 0, 3000, "礼包"),
		item("wx_main", payrecon.ClassDuplicatePayment, payrecon.KindPayment, 5, 0, 600, "钻石×60"),
		item("wx_main", payrecon.ClassRefundMissingInLedger, payrecon.KindRefund, 6, 0, -500, "退款：会员月卡"),
		item("wx_main", payrecon.ClassRefundMissingInBill, payrecon.KindRefund, 7, -1200, 0, "退款：礼包"),
		item("wx_main", payrecon.ClassRefundAmountMismatch, payrecon.KindRefund, 8, -800, -750, "部分退款"),
		item("wx_main", payrecon.ClassCarriedOver, payrecon.KindPayment, 9, 4500, 0, "跨日订单"),
		item("wx_main", payrecon.ClassResolvedLate, payrecon.KindPayment, 10, 0, 0, "前日挂账已到账"),
		item("wx_main", payrecon.ClassOtherBillLine, payrecon.KindOther, 11, 0, 0, "分账"),
	}
	a[3].LedgerStatus, a[3].LedgerTime = payrecon.StatusClosed, time.Time{} // zero time: empty cell
	a[4].Note = "同一商户订单两笔支付"
	a[8].OriginDay = day
	a[9].OriginDay = day.Add(-1)
	a[9].ResolvesKey = item("wx_main", payrecon.ClassCarriedOver, payrecon.KindPayment, 10, 2000, 0, "").Key()
	a[9].LedgerAmount, a[9].BillAmount = 2000, 2000
	a[9].LedgerStatus, a[9].ProviderStatus = payrecon.StatusSuccess, payrecon.StatusSuccess
	a[10].BillTime = utc(3, 0)
	// Run 2: alipay, fee, settlement and agreement classes; unbalanced by 1 fen.
	b := []payrecon.Item{
		item("ali_shop", payrecon.ClassFeeMismatch, payrecon.KindPayment, 1, 0, 0, "手续费差异"),
		item("ali_shop", payrecon.ClassSettlementMismatch, payrecon.KindOther, 2, 0, 0, ""),
		item("ali_shop", payrecon.ClassAgreementMismatch, payrecon.KindAgreement, 3, 0, 0, "自动续费协议"),
	}
	b[0].LedgerFee, b[0].BillFee = 60, 66
	b[0].LedgerAmount, b[0].BillAmount = 10000, 10000
	b[1].Note = "结算总额与交易净额不符"
	b[1].Kind, b[1].MerchantOrderNo, b[1].ProviderTxnNo, b[1].Action = payrecon.KindSettlement, "", "", payrecon.ActionManualReview
	b[1].Delta = 69579 - (70000 - 420) // settlement total − trade net less fees
	b[1].BillFiles = []string{"20881234_20261120_业务明细.csv", "20881234_20261120_账务明细.csv"}
	b[2].AgreementNo, b[2].LedgerStatus, b[2].ProviderStatus = "AGR202611200001", payrecon.StatusSigned, payrecon.StatusUnsigned
	b[2].MerchantOrderNo, b[2].ProviderTxnNo = "", ""
	started := time.Date(2026, 11, 20, 18, 5, 0, 0, time.UTC) // 02:05 next day in Shanghai
	t1 := totals(a, 120, 3456789, 0)
	t1.Fees = 2074
	t1.Tolerated = payrecon.ClassTotal{Count: 1, Amount: a[2].Delta} // the amount mismatch, by a tolerance rule
	t2 := totals(b, 7, 70000, 1)
	t2.Fees, t2.Settlement, t2.Deductions = 420, 69544, 35 // 0.35 commission kept: the same 0.01 settlement difference
	t2.Tolerated = payrecon.ClassTotal{Count: 1}           // the fee mismatch (its amounts agree)
	fx.runs = []payrecon.Run{
		{ID: 11, Account: "wx_main", Provider: "wechat", Day: day, State: payrecon.RunFindings,
			StartedAt: started, FinishedAt: started.Add(42 * time.Second), Totals: t1, Version: "v1.2.3",
			Bills: []payrecon.BillFile{{Kind: payrecon.BillTrade, Name: "wx_main_20261120_ALL.csv", SHA256: strings.Repeat("ab", 32), Lines: 131}}},
		{ID: 12, Account: "ali_shop", Provider: "alipay", Day: day, State: payrecon.RunFindings,
			StartedAt: started, FinishedAt: started.Add(3 * time.Second), Totals: t2, Version: "v1.2.3",
			Error: "dial root:hunter2@tcp(10.0.0.1:3306)/payrecon: refused",
			Bills: []payrecon.BillFile{
				{Kind: payrecon.BillTrade, Name: "20881234_20261120_业务明细.csv", SHA256: strings.Repeat("cd", 32), Lines: 9},
				{Kind: payrecon.BillSettlement, Name: "20881234_20261120_账务明细.csv", SHA256: strings.Repeat("ef", 32), Lines: 4},
			}},
	}
	fx.items[11], fx.items[12] = a, b
	// Reviews: the amount mismatch and the fee mismatch tolerated, a
	// duplicate being investigated by 王五 (with a note that looks like a
	// formula), the missing-in-bill written off.
	// Pending discrepancies of every age bucket (ages 0, 1, 3, 5, 12, 40
	// days), one overdue, one not pending (left out).
	for i, age := range []int{0, 1, 3, 5, 12, 40} {
		acct := "wx_main"
		if i%2 == 1 {
			acct = "ali_shop"
		}
		rv := payrecon.Review{Key: fmt.Sprintf("p%d", i), Account: acct, State: payrecon.ReviewOpen,
			FirstSeenDay: day.Add(-age), Amount: int64(100 * (i + 1)), DueDay: day.Add(-age + 7)}
		if i == 2 {
			rv.State = payrecon.ReviewInvestigating
		}
		fx.pending = append(fx.pending, rv)
	}
	fx.pending = append(fx.pending, payrecon.Review{Key: "done", Account: "wx_main", State: payrecon.ReviewResolved, FirstSeenDay: day, Amount: 99999})
	fx.reviews = map[string]payrecon.Review{}
	for _, rv := range []payrecon.Review{
		{Key: a[2].Key(), State: payrecon.ReviewTolerated, Rule: "promo_cents", Version: 1, DueDay: day.Add(7)},
		{Key: b[0].Key(), State: payrecon.ReviewTolerated, Rule: "fee_rounding", Version: 1, DueDay: day.Add(7)},
		{Key: a[4].Key(), State: payrecon.ReviewInvestigating, Assignee: "王五", Note: "=HYPERLINK(\"x\") 已联系渠道", Version: 2, DueDay: day.Add(3)},
		{Key: a[1].Key(), State: payrecon.ReviewWrittenOff, ReasonCode: "small_amount", Version: 1, DueDay: day.Add(7)},
	} {
		fx.reviews[rv.Key] = rv
	}
	// Actions: approved+applied backfill, a proposed refund, a dismissed review.
	mk := func(id int64, it payrecon.Item, st payrecon.ActionState) payrecon.Action {
		return payrecon.Action{ID: id, DiscrepancyKey: it.Key(), Account: it.Account, Day: it.Day, Kind: it.Action,
			State: st, Item: it, IdempotencyKey: "idem-" + it.Key()[:8],
			CreatedAt: started.Add(time.Minute), UpdatedAt: started.Add(time.Hour)}
	}
	act1 := mk(101, a[0], payrecon.ActionApplied)
	act1.ApprovedBy, act1.Reason, act1.Result = "张三", "查询确认已支付", "已补记账本 #9001"
	act2 := mk(102, a[4], payrecon.ActionProposed)
	act3 := mk(103, b[0], payrecon.ActionDismissed)
	act3.Reason = "费率调整当日生效"
	fx.actions = []payrecon.Action{act1, act2, act3}
	fx.audit[101] = []payrecon.AuditEntry{
		{ActionID: 101, At: started.Add(time.Minute), Actor: "scheduler", Step: "proposed"},
		{ActionID: 101, At: started.Add(30 * time.Minute), Actor: "张三", Step: "approved", Detail: "查询确认已支付"},
		{ActionID: 101, At: started.Add(time.Hour), Actor: "张三", Step: "applied", Detail: "ledger entry 9001"},
	}
	fx.audit[103] = []payrecon.AuditEntry{{ActionID: 103, At: started.Add(time.Hour), Actor: "李四", Step: "dismissed", Detail: "费率调整当日生效"}}
	return fx
}

// dump renders every sheet of a workbook as text: one line per row, cells
// quoted and separated by " | ".
func dump(t testing.TB, data []byte) string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("open workbook: %v", err)
	}
	defer f.Close()
	var b strings.Builder
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatalf("rows of %s: %v", sheet, err)
		}
		fmt.Fprintf(&b, "== %s ==\n", sheet)
		for i, row := range rows {
			q := make([]string, len(row))
			for j, c := range row {
				q[j] = strconv.Quote(c)
			}
			fmt.Fprintf(&b, "%d: %s\n", i+1, strings.Join(q, " | "))
		}
	}
	return b.String()
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs at line %d (run with -update if intended):\n got: %s\nwant: %s", path, i+1, g, w)
			}
		}
	}
}

// zipText returns the concatenated text of every part in an xlsx file.
func zipText(t testing.TB, data []byte) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", f.Name, body)
	}
	return b.String()
}

func writeXLSX(t testing.TB, src reports.Source, opts reports.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := reports.WriteXLSX(&buf, src, opts); err != nil {
		t.Fatalf("WriteXLSX: %v", err)
	}
	return buf.Bytes()
}
