package jobs_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/reports"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

var reasons = []string{"rounding", "small_amount", "other"}

// exportWorkbook writes the workbook of day the way `payrecon report` does.
func exportWorkbook(t *testing.T, db *store.DB, day payrecon.Day) []byte {
	t.Helper()
	ctx := context.Background()
	src, err := reports.StoreSource(ctx, db, db, nil, day, day)
	storetest.Must(t, err)
	src, err = reports.WithReviews(ctx, src, db, nil, reasons)
	storetest.Must(t, err)
	var buf bytes.Buffer
	storetest.Must(t, reports.WriteXLSX(&buf, src, reports.Options{}))
	return buf.Bytes()
}

// sheetEditor edits the Discrepancies sheet by header and discrepancy key,
// as a reviewer (or a forger) would with a spreadsheet program.
type sheetEditor struct {
	t     *testing.T
	f     *excelize.File
	cols  map[string]int
	byKey map[string]int // discrepancy key → sheet row
}

const discSheet = "差异明细 Discrepancies"

func openEditor(t *testing.T, data []byte) *sheetEditor {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	storetest.Must(t, err)
	rows, err := f.GetRows(discSheet)
	storetest.Must(t, err)
	e := &sheetEditor{t: t, f: f, cols: map[string]int{}, byKey: map[string]int{}}
	for i, h := range rows[0] {
		e.cols[h] = i + 1
	}
	for r := 2; r <= len(rows); r++ {
		e.byKey[e.get("差异标识", r)] = r
	}
	return e
}

func (e *sheetEditor) ref(header string, row int) string {
	c, ok := e.cols[header]
	if !ok {
		e.t.Fatalf("no column %q", header)
	}
	ref, _ := excelize.CoordinatesToCellName(c, row)
	return ref
}

func (e *sheetEditor) get(header string, row int) string {
	v, err := e.f.GetCellValue(discSheet, e.ref(header, row))
	storetest.Must(e.t, err)
	return v
}

func (e *sheetEditor) set(key, header, value string) int {
	row, ok := e.byKey[key]
	if !ok {
		e.t.Fatalf("no row for %s", key)
	}
	storetest.Must(e.t, e.f.SetCellStr(discSheet, e.ref(header, row), value))
	return row
}

func (e *sheetEditor) bytes() []byte {
	var buf bytes.Buffer
	storetest.Must(e.t, e.f.Write(&buf))
	return buf.Bytes()
}

func importFile(t *testing.T, db *store.DB, data []byte, actor string) jobs.ImportResult {
	t.Helper()
	edits, err := reports.ReadReviewEdits(bytes.NewReader(data))
	storetest.Must(t, err)
	res, err := jobs.ImportReviewEdits(context.Background(), db, edits, actor, reasons)
	storetest.Must(t, err)
	return res
}

func rowsOf(list []jobs.ImportRow) []int {
	var out []int
	for _, r := range list {
		out = append(out, r.Row)
	}
	slices.Sort(out)
	return out
}

// The workbook round trip: exported, edited as a reviewer would (a state
// from the drop-down, a comment, a reviewer), imported with audit; a
// tampered identity, a moved row and an edited locked cell refused and
// named; a row changed in payrecon after the export reported, not
// overwritten; a second import of the same file changes nothing.
func TestReviewWorkbookRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &jobstest.Clock{}
		clk.Set(time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC))
		db.Now = clk.Now
		day := jobstest.DayD
		var items []payrecon.Item
		var acts []payrecon.Action
		for i := 1; i <= 7; i++ {
			it := payrecon.Item{Account: jobstest.Account, Day: day, Class: payrecon.ClassMissingInLedger, Kind: payrecon.KindPayment,
				MerchantOrderNo: fmt.Sprintf("M%d", i), ProviderTxnNo: fmt.Sprintf("T%d", i), BillAmount: int64(i) * 100, Delta: int64(i) * 100,
				Action: payrecon.ActionBackfillLedger, Note: "=cmd|' /C calc'!A0"}
			items = append(items, it)
			acts = append(acts, payrecon.Action{DiscrepancyKey: it.Key(), Account: jobstest.Account, Day: day, Kind: it.Action, Item: it})
		}
		run := &payrecon.Run{Account: jobstest.Account, Provider: "fake", Day: day, State: payrecon.RunFindings}
		storetest.Must(t, db.SaveRun(ctx, run, items, acts))
		k := func(i int) string { return items[i].Key() }

		data := exportWorkbook(t, db, day)

		// Before the import, someone changes item 5 in payrecon.
		clk.Set(clk.Now().Add(time.Hour))
		inv := payrecon.ReviewInvestigating
		_, _, err := db.ChangeReview(ctx, k(5), payrecon.ReviewChange{State: &inv, Assignee: ptrTo("陈六"), Actor: "陈六", Source: payrecon.SourceCLI, IfVersion: -1})
		storetest.Must(t, err)

		ed := openEditor(t, data)
		// The reviewer picks states from the sheet's drop-down.
		dvs, err := ed.f.GetDataValidations(discSheet)
		storetest.Must(t, err)
		if len(dvs) != 1 || !strings.Contains(dvs[0].Formula1, "已解决") || !strings.Contains(dvs[0].Formula1, "已核销:rounding") {
			t.Fatalf("state drop-down: %+v", dvs)
		}
		rowResolved := ed.set(k(0), "处理状态", "已解决")
		ed.set(k(0), "处理人", "张三")
		rowWrittenOff := ed.set(k(1), "处理状态", "已核销:rounding")
		ed.set(k(1), "处理意见", "渠道四舍五入，金额很小")
		ed.set(k(1), "处理人", "李四")
		rowComment := ed.set(k(2), "处理意见", "已联系渠道，等回复")
		// Forger: item 3's identity cell now names item 6 (its checksum stays item 3's).
		rowForged := ed.byKey[k(3)]
		storetest.Must(t, ed.f.SetCellStr(discSheet, ed.ref("审核标识", rowForged), k(6)+":0"))
		ed.set(k(3), "处理状态", "已解决")
		// Edited locked cell: item 4's merchant order number changed.
		rowEdited := ed.set(k(4), "商户订单号", "M999")
		ed.set(k(4), "处理状态", "已解决")
		// Changed in payrecon since the export: the reviewer resolves it too.
		rowConflict := ed.set(k(5), "处理状态", "已解决")
		// Item 6 untouched.
		edited := ed.bytes()

		res := importFile(t, db, edited, "finance-lead")
		if got := rowsOf(res.Applied); !slices.Equal(got, []int{rowResolved, rowWrittenOff, rowComment}) {
			t.Errorf("applied rows %v, want %v: %+v", got, []int{rowResolved, rowWrittenOff, rowComment}, res)
		}
		if got := rowsOf(res.Refused); !slices.Equal(got, []int{rowForged, rowEdited}) {
			t.Errorf("refused rows %v, want %d and %d: %+v", got, rowForged, rowEdited, res.Refused)
		}
		for _, r := range res.Refused {
			if !strings.Contains(r.String(), fmt.Sprintf("row %d", r.Row)) || !strings.Contains(r.Detail, "checksum does not verify") {
				t.Errorf("refusal does not name the row and reason: %s", r)
			}
		}
		if len(res.Conflicts) != 1 || res.Conflicts[0].Row != rowConflict || !strings.Contains(res.Conflicts[0].Detail, "陈六") {
			t.Errorf("conflicts: %+v", res.Conflicts)
		}
		if res.Unchanged != 1 {
			t.Errorf("unchanged: %d, want 1 (item 6)", res.Unchanged)
		}

		// State and audit.
		r0, _ := db.GetReview(ctx, k(0))
		r1, _ := db.GetReview(ctx, k(1))
		r2, _ := db.GetReview(ctx, k(2))
		r3, _ := db.GetReview(ctx, k(3))
		r4, _ := db.GetReview(ctx, k(4))
		r5, _ := db.GetReview(ctx, k(5))
		r6, _ := db.GetReview(ctx, k(6))
		if r0.State != payrecon.ReviewResolved || r0.Assignee != "张三" || r0.UpdatedBy != "finance-lead" {
			t.Errorf("resolved row: %+v", r0)
		}
		if r1.State != payrecon.ReviewWrittenOff || r1.ReasonCode != "rounding" || r1.Note != "渠道四舍五入，金额很小" || r1.Assignee != "李四" {
			t.Errorf("written-off row: %+v", r1)
		}
		if r2.State != payrecon.ReviewOpen || r2.Note != "已联系渠道，等回复" {
			t.Errorf("commented row: %+v", r2)
		}
		if r3.Version != 0 || r4.Version != 0 || r6.Version != 0 {
			t.Errorf("refused or untouched rows changed: %+v %+v %+v", r3, r4, r6)
		}
		if r5.State != payrecon.ReviewInvestigating || r5.Assignee != "陈六" || r5.Version != 1 {
			t.Errorf("conflicting row overwritten: %+v", r5)
		}
		audit, err := db.ReviewAudit(ctx, k(1))
		storetest.Must(t, err)
		if len(audit) != 1 || audit[0].Source != payrecon.SourceWorkbook || audit[0].Actor != "finance-lead" ||
			audit[0].Before.State != payrecon.ReviewOpen || audit[0].After.State != payrecon.ReviewWrittenOff ||
			audit[0].After.ReasonCode != "rounding" || audit[0].Comment != "渠道四舍五入，金额很小" || !audit[0].At.Equal(clk.Now()) {
			t.Errorf("audit of the written-off row: %+v", audit)
		}
		all, err := db.ListActions(ctx, payrecon.ActionFilter{Account: jobstest.Account})
		storetest.Must(t, err)
		for _, a := range all {
			if (a.DiscrepancyKey == k(1)) != (a.State == payrecon.ActionDismissed) {
				t.Errorf("action %d of %s is %s", a.ID, a.DiscrepancyKey, a.State)
			}
		}

		// A second import of the same file changes nothing.
		before := map[string]int64{}
		for i := range items {
			r, _ := db.GetReview(ctx, k(i))
			before[k(i)] = r.Version
		}
		clk.Set(clk.Now().Add(time.Hour))
		again := importFile(t, db, edited, "finance-lead")
		if len(again.Applied) != 0 || again.Unchanged != 4 {
			t.Errorf("second import: %+v", again)
		}
		for i := range items {
			if r, _ := db.GetReview(ctx, k(i)); r.Version != before[k(i)] {
				t.Errorf("second import changed %s: version %d → %d", k(i), before[k(i)], r.Version)
			}
		}
		// A fresh export shows the imported state, and its rows verify.
		fresh := openEditor(t, exportWorkbook(t, db, day))
		if got := fresh.get("处理状态", fresh.byKey[k(1)]); got != "已核销:rounding" {
			t.Errorf("re-export state %q", got)
		}
		if res := importFile(t, db, fresh.bytes(), "x"); len(res.Refused)+len(res.Applied)+len(res.Conflicts) != 0 {
			t.Errorf("importing an unedited export: %+v", res)
		}
	})
}

func ptrTo[T any](v T) *T { return &v }
