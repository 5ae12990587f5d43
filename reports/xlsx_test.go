package reports_test

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reports"
)

func TestWriteXLSXGolden(t *testing.T) {
	fx := newFixture()
	for _, lang := range []string{"zh", "en"} {
		t.Run(lang, func(t *testing.T) {
			data := writeXLSX(t, fx.source(), reports.Options{Lang: lang})
			golden(t, "workbook_"+lang+".golden", dump(t, data))
		})
	}
}

func TestWriteXLSXBadLang(t *testing.T) {
	var buf bytes.Buffer
	err := reports.WriteXLSX(&buf, newFixture().source(), reports.Options{Lang: "fr"})
	if err == nil || !strings.Contains(err.Error(), `"fr"`) {
		t.Fatalf("want an error naming the language, got %v", err)
	}
}

func openBook(t testing.TB, data []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// column finds a header's column number (1-based) in row 1-based hdrRow.
func column(t testing.TB, f *excelize.File, sheet string, hdrRow int, name string) int {
	t.Helper()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(rows[hdrRow-1], name)
	if i < 0 {
		t.Fatalf("sheet %s row %d has no column %q: %q", sheet, hdrRow, name, rows[hdrRow-1])
	}
	return i + 1
}

func raw(t testing.TB, f *excelize.File, sheet string, col, row int) string {
	t.Helper()
	ref, _ := excelize.CoordinatesToCellName(col, row)
	v, err := f.GetCellValue(sheet, ref, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fenOf reads a yuan number cell back as fen, failing unless it is exact.
func fenOf(t testing.TB, s string) int64 {
	t.Helper()
	if s == "" {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("amount cell %q: %v", s, err)
	}
	fen := math.Round(v * 100)
	if float64(fen)/100 != v {
		t.Fatalf("amount cell %q is not a whole fen", s)
	}
	return int64(fen)
}

// TestWriteXLSXAmountsAndTimes reads the detail cells back raw: every
// amount equals the item's fen / 100, every time is the Shanghai wall time,
// zero times are empty, and only discrepancies are on the sheet.
func TestWriteXLSXAmountsAndTimes(t *testing.T) {
	fx := newFixture()
	f := openBook(t, writeXLSX(t, fx.source(), reports.Options{}))
	byKey := map[string]payrecon.Item{}
	for _, items := range fx.items {
		for _, it := range items {
			byKey[it.Key()] = it
		}
	}
	for sheet, want := range map[string]func(payrecon.Class) bool{
		"差异明细 Discrepancies": payrecon.Class.IsDiscrepancy,
		"跨日挂账 Carried over": func(c payrecon.Class) bool {
			return c == payrecon.ClassCarriedOver || c == payrecon.ClassResolvedLate
		},
		"其他账单行 Other lines": func(c payrecon.Class) bool { return c == payrecon.ClassOtherBillLine },
	} {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		keyCol := column(t, f, sheet, 1, "差异标识")
		cols := map[string]int{}
		for _, h := range []string{"账本金额(元)", "账单金额(元)", "差额(元)", "应收手续费(元)", "账单手续费(元)", "账本时间", "账单时间", "类别代码"} {
			cols[h] = column(t, f, sheet, 1, h)
		}
		seen := 0
		for r := 2; r <= len(rows); r++ {
			it, ok := byKey[raw(t, f, sheet, keyCol, r)]
			if !ok {
				t.Fatalf("%s row %d: unknown key", sheet, r)
			}
			seen++
			if !want(it.Class) || raw(t, f, sheet, cols["类别代码"], r) != string(it.Class) {
				t.Errorf("%s row %d: class %s does not belong here", sheet, r, it.Class)
			}
			for h, fen := range map[string]int64{"账本金额(元)": it.LedgerAmount, "账单金额(元)": it.BillAmount, "差额(元)": it.Delta, "应收手续费(元)": it.LedgerFee, "账单手续费(元)": it.BillFee} {
				if got := fenOf(t, raw(t, f, sheet, cols[h], r)); got != fen {
					t.Errorf("%s row %d %s: got %d fen, want %d", sheet, r, h, got, fen)
				}
			}
			for h, tm := range map[string]time.Time{"账本时间": it.LedgerTime, "账单时间": it.BillTime} {
				ref, _ := excelize.CoordinatesToCellName(cols[h], r)
				shown, _ := f.GetCellValue(sheet, ref)
				want := ""
				if !tm.IsZero() {
					want = tm.In(payrecon.Shanghai).Format("2006-01-02 15:04:05")
				}
				if shown != want {
					t.Errorf("%s %s %s: shows %q, want %q", sheet, ref, h, shown, want)
				}
			}
		}
		n := 0
		for _, items := range fx.items {
			for _, it := range items {
				if want(it.Class) {
					n++
				}
			}
		}
		if seen != n || n == 0 {
			t.Errorf("%s: %d rows, want %d", sheet, seen, n)
		}
	}
}

// TestWriteXLSXSummaryExplains checks the summary numerically: each run's
// difference and totals equal the fixture's fen, and the class amounts
// listed for an account and day add up to its difference when balanced.
func TestWriteXLSXSummaryExplains(t *testing.T) {
	fx := newFixture()
	f := openBook(t, writeXLSX(t, fx.source(), reports.Options{Lang: "en"}))
	const sheet = "汇总 Summary"
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	find := func(first string, from int) int {
		for i := from; i < len(rows); i++ {
			if len(rows[i]) > 0 && rows[i][0] == first {
				return i + 1
			}
		}
		t.Fatalf("summary has no row starting %q after %d", first, from)
		return 0
	}
	hdr := find("Account", 0)
	diffCol := column(t, f, sheet, hdr, "Difference")
	billCol := column(t, f, sheet, hdr, "Bill total")
	balCol := column(t, f, sheet, hdr, "Balanced")
	classHdr := find("Account", hdr)
	amountCol := column(t, f, sheet, classHdr, "Amount")
	sums := map[string]int64{}
	for r := classHdr + 1; r <= len(rows) && len(rows[r-1]) > 0; r++ {
		sums[rows[r-1][0]+" "+rows[r-1][1]] += fenOf(t, raw(t, f, sheet, amountCol, r))
	}
	for i, run := range fx.runs {
		r := hdr + 1 + i
		if got := rows[r-1][0]; got != run.Account {
			t.Fatalf("summary row %d is %q, want %s", r, got, run.Account)
		}
		diff := fenOf(t, raw(t, f, sheet, diffCol, r))
		if diff != run.Totals.Difference || fenOf(t, raw(t, f, sheet, billCol, r)) != run.Totals.BillTotal {
			t.Errorf("%s: difference %d bill %s, want %d %d", run.Account, diff, raw(t, f, sheet, billCol, r), run.Totals.Difference, run.Totals.BillTotal)
		}
		explained := sums[run.Account+" "+string(run.Day)]
		balanced := rows[r-1][balCol-1] == "yes"
		if balanced != (explained == diff) || balanced != run.Totals.Balanced() {
			t.Errorf("%s: balanced shown %v, class amounts %d, difference %d", run.Account, balanced, explained, diff)
		}
	}
	if !fx.runs[0].Totals.Balanced() || fx.runs[1].Totals.Balanced() {
		t.Fatal("fixture must have one balanced and one unbalanced run")
	}
}

// TestWriteXLSXStructure checks what text dumps do not show: the chart,
// frozen header rows, filter tables, the sheet order.
func TestWriteXLSXStructure(t *testing.T) {
	data := writeXLSX(t, newFixture().source(), reports.Options{})
	f := openBook(t, data)
	want := []string{"汇总 Summary", "差异明细 Discrepancies", "跨日挂账 Carried over", "其他账单行 Other lines", "修复动作 Actions", "结算 Settlement", "账龄 Ageing"}
	if got := f.GetSheetList(); !slices.Equal(got, want) {
		t.Fatalf("sheets %q, want %q", got, want)
	}
	parts := zipText(t, data)
	if !strings.Contains(parts, "--- xl/charts/chart1.xml") || !strings.Contains(parts, "<barChart>") || !strings.Contains(parts, `<barDir val="col">`) {
		t.Error("summary has no column chart")
	}
	for _, sheet := range want[1:5] {
		p, err := f.GetPanes(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Freeze || p.YSplit != 1 {
			t.Errorf("%s: header not frozen: %+v", sheet, p)
		}
	}
	if n := strings.Count(parts, "<autoFilter "); n != 4 {
		t.Errorf("%d filter ranges, want one table per detail sheet (4)", n)
	}
}

// TestWriteXLSXSheetLimit sets a small row limit: discrepancy rows continue
// on numbered sheets placed right after the first, each with its header,
// frozen and filtered, and no row is lost.
func TestWriteXLSXSheetLimit(t *testing.T) {
	fx := newFixture()
	var many []payrecon.Item
	for i := range 11 {
		many = append(many, item("wx_main", payrecon.ClassMissingInBill, payrecon.KindPayment, 100+i, int64(100+i), 0, "批量"))
	}
	fx.items[11] = append(fx.items[11], many...)
	const limit = 4
	n := 0
	for _, items := range fx.items {
		for _, it := range items {
			if it.Class.IsDiscrepancy() {
				n++
			}
		}
	}
	parts := (n + limit - 1) / limit
	data := writeXLSX(t, fx.source(), reports.Options{MaxSheetRows: limit})
	f := openBook(t, data)
	sheets := f.GetSheetList()
	wantPrefix := []string{"汇总 Summary", "差异明细 Discrepancies"}
	for i := 2; i <= parts; i++ {
		wantPrefix = append(wantPrefix, "差异明细 Discrepancies ("+strconv.Itoa(i)+")")
	}
	wantPrefix = append(wantPrefix, "跨日挂账 Carried over")
	if parts < 3 || !slices.Equal(sheets[:len(wantPrefix)], wantPrefix) {
		t.Fatalf("sheets %q, want %q first", sheets, wantPrefix)
	}
	total := 0
	keys := map[string]bool{}
	for _, s := range wantPrefix[1 : 1+parts] {
		rows, _ := f.GetRows(s)
		if rows[0][0] != "账户" {
			t.Errorf("%s has no header", s)
		}
		if len(rows)-1 > limit {
			t.Errorf("%s has %d rows, limit %d", s, len(rows)-1, limit)
		}
		keyCol := column(t, f, s, 1, "差异标识")
		for _, r := range rows[1:] {
			keys[r[keyCol-1]] = true
		}
		total += len(rows) - 1
	}
	if total != n || len(keys) != n {
		t.Errorf("%d rows (%d keys) across sheets, want %d", total, len(keys), n)
	}
	if c := strings.Count(zipText(t, data), "<autoFilter "); c != parts+3 {
		t.Errorf("%d filter tables, want %d", c, parts+3)
	}
}

func TestWriteXLSXNoItems(t *testing.T) {
	fx := newFixture()
	fx.items = map[int64][]payrecon.Item{}
	fx.actions = nil
	f := openBook(t, writeXLSX(t, fx.source(), reports.Options{Lang: "en"}))
	rows, _ := f.GetRows("差异明细 Discrepancies")
	if len(rows) != 1 {
		t.Fatalf("empty run: %d rows on the discrepancy sheet, want the header only", len(rows))
	}
	if idx, _ := f.GetSheetIndex("其他账单行 Other lines"); idx >= 0 {
		t.Error("other-lines sheet created without other lines")
	}
}

func TestWriteXLSXFile(t *testing.T) {
	path := t.TempDir() + "/r.xlsx"
	if err := reports.WriteXLSXFile(path, newFixture().source(), reports.Options{}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue("汇总 Summary", "A1"); !strings.HasPrefix(v, reports.SummaryTitle("zh")) {
		t.Errorf("A1 = %q", v)
	}
}

// TestWriteXLSXPeriod: runs of several days give a period title, a total
// row over all runs and the generation time when a clock is given.
func TestWriteXLSXPeriod(t *testing.T) {
	fx := newFixture()
	next := fx.runs[0]
	next.ID, next.Day = 13, day.Add(1)
	fx.runs = append(fx.runs, next)
	gen := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	f := openBook(t, writeXLSX(t, fx.source(), reports.Options{Lang: "en", Now: func() time.Time { return gen }}))
	rows, _ := f.GetRows("汇总 Summary")
	if rows[0][0] != "Reconciliation summary 2026-11-20 ~ 2026-11-21" {
		t.Errorf("title %q", rows[0][0])
	}
	if rows[1][0] != "Generated at" || rows[1][1] != "2026-11-22 09:00:00" {
		t.Errorf("generated row %q", rows[1])
	}
	var want int64
	for _, r := range fx.runs {
		want += r.Totals.BillTotal
	}
	for r, row := range rows {
		if len(row) > 0 && row[0] == "Total" && len(row) > 5 {
			if got := fenOf(t, raw(t, f, "汇总 Summary", 6, r+1)); got != want {
				t.Errorf("total bill %d, want %d", got, want)
			}
			return
		}
	}
	t.Error("no total row")
}
