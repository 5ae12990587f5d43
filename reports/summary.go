package reports

import (
	"fmt"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
)

// money is fen on its way into a summary cell.
type money int64

// grid writes a small sheet with the normal API and fits column widths to
// what was written.
type grid struct {
	b      *book
	sheet  string
	widths map[int]float64
	err    error
}

func (b *book) grid(sheet string) *grid {
	return &grid{b: b, sheet: sheet, widths: map[int]float64{}}
}

// set writes v at (col, row), 1-based; style 0 picks the value's default.
func (g *grid) set(col, row int, v any, style int) {
	if g.err != nil {
		return
	}
	ref, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		g.err = err
		return
	}
	w := 0.0
	switch x := v.(type) {
	case money:
		if style == 0 {
			style = g.b.sMoney
		}
		g.err = g.b.f.SetCellFloat(g.sheet, ref, yuanCell(int64(x)), -1, 64)
		w = float64(len(payrecon.FormatYuan(int64(x))))
	case time.Time:
		if x.IsZero() {
			return
		}
		if style == 0 {
			style = g.b.sTime
		}
		g.err = g.b.f.SetCellValue(g.sheet, ref, x.In(payrecon.Shanghai))
		w = 19
	case int64:
		g.err = g.b.f.SetCellInt(g.sheet, ref, x)
		w = float64(len(strconv.FormatInt(x, 10)))
	case string:
		if x == "" {
			return
		}
		g.err = g.b.f.SetCellStr(g.sheet, ref, x)
		w = textWidth(x)
	default:
		g.err = fmt.Errorf("cell %s: unsupported value %T", ref, v)
	}
	if g.err == nil && style != 0 {
		g.err = g.b.f.SetCellStyle(g.sheet, ref, ref, style)
	}
	if w+2 > g.widths[col] {
		g.widths[col] = min(w+2, 70)
	}
}

// loose writes a cell that does not count toward the column's width
// (titles that may run across empty cells).
func (g *grid) loose(col, row int, s string, style int) {
	saved := g.widths[col]
	g.set(col, row, s, style)
	g.widths[col] = saved
}

func (g *grid) header(row int, hs ...string) {
	for i, h := range hs {
		g.set(i+1, row, h, g.b.sHeader)
	}
}

func (g *grid) finish() error {
	if g.err != nil {
		return g.err
	}
	for col, w := range g.widths {
		name, err := excelize.ColumnNumberToName(col)
		if err != nil {
			return err
		}
		if err := g.b.f.SetColWidth(g.sheet, name, name, max(w, 8)); err != nil {
			return err
		}
	}
	return nil
}

// period is the runs' first and last day, "D" or "D1 ~ D2".
func period(runs []payrecon.Run) string {
	if len(runs) == 0 {
		return ""
	}
	lo, hi := runs[0].Day, runs[0].Day
	for _, r := range runs[1:] {
		lo, hi = min(lo, r.Day), max(hi, r.Day)
	}
	if lo == hi {
		return string(lo)
	}
	return string(lo) + " ~ " + string(hi)
}

// runCounts are the per-run figures the summary shows besides Totals.
type runCounts struct {
	discCount, discAmount       int64
	carriedCount, carriedAmount int64
	// of the discrepancies: those a tolerance rule covers, and the rest
	tolCount, tolAmount   int64
	openCount, openAmount int64
}

func countsOf(t payrecon.Totals) runCounts {
	var c runCounts
	for cl, ct := range t.ByClass {
		if cl.IsDiscrepancy() {
			c.discCount += ct.Count
			if cl != payrecon.ClassSettlementMismatch { // its amount is on the settlement sheet, outside the balance
				c.discAmount += ct.Amount
			}
		}
	}
	co := t.ByClass[payrecon.ClassCarriedOver]
	c.carriedCount, c.carriedAmount = co.Count, co.Amount
	c.tolCount, c.tolAmount = t.Tolerated.Count, t.Tolerated.Amount
	c.openCount, c.openAmount = c.discCount-c.tolCount, c.discAmount-c.tolAmount
	return c
}

// summaryLine is one row of the summary's first block: a run, or (run
// nil) the total of the runs above it.
type summaryLine struct {
	run      *payrecon.Run
	t        payrecon.Totals
	c        runCounts
	balanced bool
}

func (s *summaryLine) add(o *summaryLine) {
	s.t.BillLines += o.t.BillLines
	s.t.BillTotal += o.t.BillTotal
	s.t.LedgerLines += o.t.LedgerLines
	s.t.LedgerTotal += o.t.LedgerTotal
	s.t.Difference += o.t.Difference
	s.t.Explained += o.t.Explained
	s.t.Matched += o.t.Matched
	s.t.Fees += o.t.Fees
	s.c.discCount += o.c.discCount
	s.c.discAmount += o.c.discAmount
	s.c.carriedCount += o.c.carriedCount
	s.c.carriedAmount += o.c.carriedAmount
	s.c.tolCount += o.c.tolCount
	s.c.tolAmount += o.c.tolAmount
	s.c.openCount += o.c.openCount
	s.c.openAmount += o.c.openAmount
	s.balanced = s.balanced && o.balanced
}

// cellKind picks a summary cell's style: plain (counts, text), money, or
// the balanced flag's green/red.
type cellKind uint8

const (
	cellPlain cellKind = iota
	cellMoney
	cellBalanced
)

// summaryColumn is one column of the summary's first block: its header
// and what it shows of a line ("" and cellPlain for nothing, e.g. the
// provider on the total line).
type summaryColumn struct {
	head label
	cell func(b *book, l *summaryLine) (any, cellKind)
}

// summaryColumns is the first block, in sheet order: the one place a
// column's header, value and style are decided (like the detail sheets'
// column tables).
var summaryColumns = []summaryColumn{
	{label{"账户", "Account"}, func(b *book, l *summaryLine) (any, cellKind) {
		if l.run == nil {
			return b.tr("合计", "Total"), cellPlain
		}
		return text(l.run.Account), cellPlain
	}},
	{label{"服务商", "Provider"}, runText(func(r *payrecon.Run) string { return r.Provider })},
	{label{"账单日", "Bill day"}, runText(func(r *payrecon.Run) string { return string(r.Day) })},
	{label{"状态", "State"}, func(b *book, l *summaryLine) (any, cellKind) {
		if l.run == nil {
			return "", cellPlain
		}
		return enumLabel(runStateLabels, l.run.State, b.lang), cellPlain
	}},
	{label{"账单笔数", "Bill lines"}, colCount(func(l *summaryLine) int64 { return l.t.BillLines })},
	{label{"账单总额(元)", "Bill total"}, colAmount(func(l *summaryLine) int64 { return l.t.BillTotal })},
	{label{"账本笔数", "Ledger entries"}, colCount(func(l *summaryLine) int64 { return l.t.LedgerLines })},
	{label{"账本总额(元)", "Ledger total"}, colAmount(func(l *summaryLine) int64 { return l.t.LedgerTotal })},
	{label{"差额(元)", "Difference"}, colAmount(func(l *summaryLine) int64 { return l.t.Difference })},
	{label{"差异解释合计(元)", "Explained"}, colAmount(func(l *summaryLine) int64 { return l.t.Explained })},
	{label{"是否平账", "Balanced"}, func(b *book, l *summaryLine) (any, cellKind) {
		return yesNo(l.balanced, b.lang), cellBalanced
	}},
	{label{"匹配笔数", "Matched"}, colCount(func(l *summaryLine) int64 { return l.t.Matched })},
	{label{"差异笔数", "Discrepancies"}, colCount(func(l *summaryLine) int64 { return l.c.discCount })},
	{label{"差异金额(元)", "Discrepancy amount"}, colAmount(func(l *summaryLine) int64 { return l.c.discAmount })},
	{label{"跨日挂账笔数", "Carried over"}, colCount(func(l *summaryLine) int64 { return l.c.carriedCount })},
	{label{"跨日挂账金额(元)", "Carried-over amount"}, colAmount(func(l *summaryLine) int64 { return l.c.carriedAmount })},
	{label{"手续费(元)", "Fees"}, colAmount(func(l *summaryLine) int64 { return l.t.Fees })},
	{label{"容差笔数", "Tolerated"}, colCount(func(l *summaryLine) int64 { return l.c.tolCount })},
	{label{"容差金额(元)", "Tolerated amount"}, colAmount(func(l *summaryLine) int64 { return l.c.tolAmount })},
	{label{"待处理差异笔数", "Open discrepancies"}, colCount(func(l *summaryLine) int64 { return l.c.openCount })},
	{label{"待处理差异金额(元)", "Open amount"}, colAmount(func(l *summaryLine) int64 { return l.c.openAmount })},
}

func runText(f func(r *payrecon.Run) string) func(*book, *summaryLine) (any, cellKind) {
	return func(_ *book, l *summaryLine) (any, cellKind) {
		if l.run == nil {
			return "", cellPlain
		}
		return text(f(l.run)), cellPlain
	}
}

func colCount(f func(l *summaryLine) int64) func(*book, *summaryLine) (any, cellKind) {
	return func(_ *book, l *summaryLine) (any, cellKind) { return f(l), cellPlain }
}

func colAmount(f func(l *summaryLine) int64) func(*book, *summaryLine) (any, cellKind) {
	return func(_ *book, l *summaryLine) (any, cellKind) { return money(f(l)), cellMoney }
}

// summaryRow writes one line of the first block; the total line is bold.
func (b *book) summaryRow(g *grid, row int, l *summaryLine) {
	for i, c := range summaryColumns {
		v, kind := c.cell(b, l)
		if s, ok := v.(string); ok && s == "" {
			continue
		}
		style := 0
		switch {
		case kind == cellBalanced:
			style = b.balancedStyle(l.balanced)
		case l.run == nil && kind == cellMoney:
			style = b.sBoldMoney
		case l.run == nil:
			style = b.sBold
		}
		g.set(i+1, row, v, style)
	}
}

// SummaryTitle is the summary sheet's title for a language.
func SummaryTitle(lang string) string {
	return label{summaryTitleZh, summaryTitleEn}.in(lang)
}

func (b *book) summary() error {
	g := b.grid(sheetSummary)
	runs := b.src.Runs
	row := 1
	g.loose(1, row, SummaryTitle(b.lang)+" "+period(runs), b.sTitle)
	row++
	if b.opts.Now != nil {
		g.loose(1, row, b.tr("生成时间", "Generated at"), b.sBold)
		g.set(2, row, b.opts.Now(), 0)
		row++
	}
	row++

	// Block 1: one row per account and day, then their total.
	for i, c := range summaryColumns {
		g.set(i+1, row, c.head.in(b.lang), b.sHeader)
	}
	row++
	total := summaryLine{balanced: true}
	for i := range runs {
		r := &runs[i]
		line := summaryLine{run: r, t: r.Totals, c: countsOf(r.Totals), balanced: r.Totals.Balanced()}
		b.summaryRow(g, row, &line)
		row++
		total.add(&line)
	}
	if len(runs) > 1 {
		b.summaryRow(g, row, &total)
		row++
	}
	if len(runs) == 0 {
		g.loose(1, row, b.tr("没有对账结果", "No reconciliation runs"), 0)
		row++
	}
	row++

	// Block 2: what explains each account and day's difference.
	g.loose(1, row, b.tr("差异构成（按账户、账单日、类别）", "What explains the difference (by account, day and class)"), b.sBold)
	row++
	g.header(row, b.tr("账户", "Account"), b.tr("账单日", "Bill day"), b.tr("差异类别", "Class"),
		b.tr("类别代码", "Class code"), b.tr("笔数", "Count"), b.tr("金额(元)", "Amount"))
	row++
	byClass := map[payrecon.Class]payrecon.ClassTotal{}
	for _, r := range runs {
		for _, cl := range payrecon.Classes {
			ct, ok := r.Totals.ByClass[cl]
			if cl == payrecon.ClassMatched || !ok || (ct.Count == 0 && ct.Amount == 0) {
				continue
			}
			g.set(1, row, text(r.Account), 0)
			g.set(2, row, text(string(r.Day)), 0)
			g.set(3, row, ClassLabel(cl, b.lang), 0)
			g.set(4, row, string(cl), 0)
			g.set(5, row, ct.Count, 0)
			g.set(6, row, money(ct.Amount), 0)
			row++
			s := byClass[cl]
			s.Count += ct.Count
			s.Amount += ct.Amount
			byClass[cl] = s
		}
	}
	row++

	// Block 3: totals by class, with the chart beside them.
	g.loose(1, row, b.tr("按类别合计", "Totals by class"), b.sBold)
	row++
	g.header(row, b.tr("差异类别", "Class"), b.tr("类别代码", "Class code"), b.tr("笔数", "Count"), b.tr("金额(元)", "Amount"))
	chartTop := row
	row++
	first := row
	var totalCount, totalAmount int64
	for _, cl := range payrecon.Classes {
		if cl == payrecon.ClassMatched {
			continue
		}
		ct := byClass[cl]
		g.set(1, row, ClassLabel(cl, b.lang), 0)
		g.set(2, row, string(cl), 0)
		g.set(3, row, ct.Count, 0)
		g.set(4, row, money(ct.Amount), 0)
		totalCount += ct.Count
		totalAmount += ct.Amount
		row++
	}
	last := row - 1
	g.set(1, row, b.tr("合计", "Total"), b.sBold)
	g.set(3, row, totalCount, b.sBold)
	g.set(4, row, money(totalAmount), b.sBoldMoney)
	row++
	if g.err != nil {
		return g.err
	}
	ref := func(col string, r int) string { return fmt.Sprintf("'%s'!$%s$%d", sheetSummary, col, r) }
	chart := &excelize.Chart{
		Type: excelize.Col,
		Series: []excelize.ChartSeries{{
			Name:       ref("D", chartTop),
			Categories: ref("A", first) + ":" + fmt.Sprintf("$A$%d", last),
			Values:     ref("D", first) + ":" + fmt.Sprintf("$D$%d", last),
		}},
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: b.tr("差异金额（元）按类别", "Discrepancy amount by class (yuan)")}}},
		Legend:    excelize.ChartLegend{Position: "none"},
		Dimension: excelize.ChartDimension{Width: 720, Height: 340},
		Format:    excelize.GraphicOptions{OffsetX: 10},
	}
	if err := b.f.AddChart(sheetSummary, fmt.Sprintf("F%d", chartTop), chart); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	row = max(row, chartTop+19) + 1

	// Block 4: run metadata.
	g.loose(1, row, b.tr("运行信息", "Run information"), b.sBold)
	row++
	g.header(row, b.tr("账户", "Account"), b.tr("账单日", "Bill day"), b.tr("批次号", "Run ID"),
		b.tr("开始时间", "Started at"), b.tr("完成时间", "Finished at"), b.tr("软件版本", "Version"),
		b.tr("账单类型", "Bill kind"), b.tr("账单行数", "Bill lines"))
	// The file and its hash are long: last, in one cell that may run on to
	// the right, so they do not widen the columns of the blocks above.
	g.loose(9, row, b.tr("账单文件 / SHA-256", "Bill file / SHA-256"), b.sHeader)
	row++
	for _, r := range runs {
		bills := r.Bills
		if len(bills) == 0 {
			bills = []payrecon.BillFile{{}}
		}
		for _, bf := range bills {
			g.set(1, row, text(r.Account), 0)
			g.set(2, row, text(string(r.Day)), 0)
			g.set(3, row, r.ID, 0)
			g.set(4, row, r.StartedAt, 0)
			g.set(5, row, r.FinishedAt, 0)
			g.set(6, row, text(r.Version), 0)
			if bf.Kind != "" {
				g.set(7, row, enumLabel(billKindLabels, bf.Kind, b.lang), 0)
				g.set(8, row, bf.Lines, 0)
				g.loose(9, row, text(bf.Name+"  SHA-256 "+bf.SHA256), 0)
			}
			row++
		}
	}

	// Block 5, only when there are any: attempts that produced no run
	// after the run shown (refused while another process held the lease,
	// failed, bill not ready), so a day whose re-run did not happen says so.
	firstAttempt := true
	for _, r := range runs {
		a := r.LastAttempt
		if a.At.IsZero() {
			continue
		}
		if firstAttempt {
			row++
			g.loose(1, row, b.tr("未完成的运行尝试", "Attempts without a run"), b.sBold)
			row++
			g.header(row, b.tr("账户", "Account"), b.tr("账单日", "Bill day"), b.tr("尝试时间", "Attempted at"),
				b.tr("结果", "Outcome"), b.tr("尝试进程", "Attempted by"), b.tr("租约持有者", "Lease holder"),
				b.tr("租约到期", "Lease expires"))
			row++
			firstAttempt = false
		}
		g.set(1, row, text(r.Account), 0)
		g.set(2, row, text(string(r.Day)), 0)
		g.set(3, row, a.At, 0)
		g.set(4, row, enumLabel(attemptLabels, a.Outcome, b.lang), 0)
		g.set(5, row, text(a.Owner), 0)
		g.set(6, row, text(a.Holder), 0)
		if !a.HolderExpires.IsZero() {
			g.set(7, row, a.HolderExpires, 0)
		}
		row++
	}
	return g.finish()
}

func (b *book) balancedStyle(ok bool) int {
	if ok {
		return b.sGood
	}
	return b.sBad
}

// hasSettlement reports whether the run's provider delivered a settlement bill.
func hasSettlement(r payrecon.Run) bool {
	if r.Totals.Settlement != 0 {
		return true
	}
	for _, bf := range r.Bills {
		if bf.Kind == payrecon.BillSettlement {
			return true
		}
	}
	return false
}

// settlement writes the settlement sheet, only when some run has a
// settlement bill: its total against the trade bill's net less fees.
func (b *book) settlement() error {
	var runs []payrecon.Run
	for _, r := range b.src.Runs {
		if hasSettlement(r) {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		return nil
	}
	if _, err := b.f.NewSheet(sheetSettlement); err != nil {
		return err
	}
	if err := printFit(b.f, sheetSettlement, true); err != nil {
		return err
	}
	g := b.grid(sheetSettlement)
	g.header(1, b.tr("账户", "Account"), b.tr("账单日", "Bill day"),
		b.tr("结算账单总额(元)", "Settlement total"), b.tr("交易账单净额(元)", "Trade net"),
		b.tr("手续费(元)", "Fees"), b.tr("其他扣款(元)", "Other deductions"),
		b.tr("交易净额减手续费及扣款(元)", "Trade net less fees and deductions"),
		b.tr("结算差额(元)", "Settlement difference"),
		b.tr("结算差异笔数", "Settlement mismatches"), b.tr("结算差异金额(元)", "Settlement mismatch amount"),
		b.tr("结算账单文件", "Settlement bill file"), "SHA-256")
	row := 2
	for _, r := range runs {
		t := r.Totals
		expected := t.BillTotal - t.Fees - t.Deductions
		sm := t.ByClass[payrecon.ClassSettlementMismatch]
		g.set(1, row, text(r.Account), 0)
		g.set(2, row, text(string(r.Day)), 0)
		g.set(3, row, money(t.Settlement), 0)
		g.set(4, row, money(t.BillTotal), 0)
		g.set(5, row, money(t.Fees), 0)
		g.set(6, row, money(t.Deductions), 0)
		g.set(7, row, money(expected), 0)
		g.set(8, row, money(t.Settlement-expected), 0)
		g.set(9, row, sm.Count, 0)
		g.set(10, row, money(sm.Amount), 0)
		for _, bf := range r.Bills {
			if bf.Kind == payrecon.BillSettlement {
				g.set(11, row, text(bf.Name), 0)
				g.set(12, row, text(bf.SHA256), 0)
				break
			}
		}
		row++
	}
	if err := b.f.SetPanes(sheetSettlement, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return g.finish()
}
