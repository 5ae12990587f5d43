package douyin

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/billread"
)

// Bill types of /api/apps/bill.
const (
	BillPayment = "payment"
	BillRefund  = "refund"
	BillSettle  = "settle"
)

// Column names as the bill's header row prints them (C D1 doc text).
const (
	colSeq          = "序号"
	colPayTime      = "支付时间"
	colOrderNo      = "订单号"
	colPlatformNo   = "平台订单号"
	colChannelNo    = "渠道订单号"
	colOrderAmount  = "订单金额"
	colWay          = "支付方式"
	colPayStatus    = "支付状态"
	colSettleTime   = "分账时间"
	colSettleNo     = "分账单号"
	colSettleStatus = "分账状态"
	colSettleParts  = "分账方和分账金额"
	colServiceFee   = "技术服务费"
	colCommission   = "抽佣金额"
	colRefundTime   = "退款时间"
	colRefundType   = "退款类型"
	colRefundNo     = "退款单号"
	colPlatRefundNo = "平台退款单号"
	colRefundStatus = "退款状态"
	colRefundDone   = "退款完成时间"
	colRefundAmount = "退款金额"
)

// required columns per bill type.
var required = map[string][]string{
	BillPayment: {colPayTime, colOrderNo, colPlatformNo, colOrderAmount},
	BillRefund:  {colRefundTime, colOrderNo, colRefundNo, colPlatRefundNo, colRefundAmount},
	BillSettle:  {colSettleTime, colOrderNo, colPlatformNo, colOrderAmount},
}

// amountColumn is the column a summary row's total is checked on.
var amountColumn = map[string]string{BillPayment: colOrderAmount, BillRefund: colRefundAmount, BillSettle: colOrderAmount}

// Summary is what a parse saw: the data lines and, when the bill printed a
// 合计 / 总计 row, the totals it stated (already checked against the lines).
type Summary struct {
	Lines      int64
	Amount     int64 // sum of the amount column over the lines
	HasSummary bool
	Count      int64 // stated count, when the summary row gives one
	Total      int64 // stated amount
}

// ParseOptions says how to read a bill.
type ParseOptions struct {
	File string // file name for errors and BillLine.File
	// Unit is the amount unit: UnitAuto (default), UnitYuan or UnitFen.
	Unit string
}

var (
	summaryRow = regexp.MustCompile(`^(合计|总计|汇总|总额|统计)`)
	countCell  = regexp.MustCompile(`^(?:共|总笔数[:：]?|笔数[:：]?)?\s*(\d+)\s*(?:笔|条)$`)
)

// ParseBill reads one ecpay bill (payment, refund or settle) from r and
// calls fn for every data line, in file order, streaming in constant
// memory. Columns are found by header NAME (extra and reordered columns are
// fine); cells are split on "," with any spaces after it (both ", " as the
// doc prints and bare ","); a quoted cell must close on its row. Text is
// UTF-8 (a BOM is skipped) or GBK/GB18030, decided by the file and held
// over all of it (billread) — the encoding is undocumented [?]. Every row
// has the header's column count.
//
// Rows before the header (titles) and blank or "#" rows are skipped; a row
// whose first cell starts with 合计/总计/汇总 is a summary row whose amount
// (and "共N笔" count, if printed) must equal the lines' total — a mismatch
// is an error naming the total. No summary row is documented; none is
// required, but 序号, where printed, must count consecutively, up from 0
// or 1 or down to 0 or 1 (a row taken out of a bill, or repeated, fails
// it). A bad cell is an error naming file, line and column.
//
// Payment rows are KindPayment; refund rows KindRefund with the original
// 订单号 (the refund bill carries no 平台订单号, so ProviderTxnNo stays
// empty); settle (分账) rows are KindOther of Type "分账".
func ParseBill(r io.Reader, billType string, opt ParseOptions, fn func(payrecon.BillLine) error) (Summary, error) {
	var sum Summary
	req, ok := required[billType]
	if !ok {
		return sum, fmt.Errorf("douyin bill type %q: want payment, refund or settle", billType)
	}
	unit := opt.Unit
	if unit == "" {
		unit = UnitAuto
	}
	if unit != UnitYuan && unit != UnitFen && unit != UnitAuto {
		return sum, fmt.Errorf("douyin bill amount unit %q: want auto, yuan or fen", unit)
	}
	file := opt.File
	if file == "" {
		file = "douyin_" + billType + ".csv"
	}
	cr := billread.NewReader(r, file, ReadOptions)
	p := &billParser{file: file, billType: billType, unit: unit}
	var idx map[string]int
	seen := false
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return sum, fmt.Errorf("douyin %s bill: %w", billType, err)
		}
		line := cr.Line()
		for i := range rec {
			rec[i] = cleanCell(rec[i])
		}
		if blankRow(rec) || strings.HasPrefix(rec[0], "#") {
			continue
		}
		seen = true
		if idx == nil {
			// the header row is the first row that names every required column
			m := map[string]int{}
			for i, h := range rec {
				if _, dup := m[h]; !dup && h != "" {
					m[h] = i
				}
			}
			complete := true
			for _, h := range req {
				if _, ok := m[h]; !ok {
					complete = false
				}
			}
			if complete {
				idx = m
				p.index(idx)
				p.width = len(rec)
				cr.SetHeader(rec)
				continue
			}
			if line > 20 {
				return sum, &billread.Error{File: file, Err: fmt.Errorf("%w: no header row naming %s in the first 20 lines", billread.ErrFormat, strings.Join(req, ", "))}
			}
			continue // a title row before the header
		}
		if c := rec[0]; c != "" && (c[0] < '0' || c[0] > '9') && summaryRow.MatchString(c) {
			if err := p.checkSummary(rec, line, &sum); err != nil {
				return sum, err
			}
			continue
		}
		if len(rec) > p.width {
			// a settle row's 分账方和分账金额 listing several parties, unquoted
			if folded, ok := billread.Fold(rec, p.width, ",", p.freeText(), p.readable); ok {
				rec = folded
			}
		}
		if err := cr.CheckWidth(rec, p.width); err != nil {
			return sum, err
		}
		if err := p.sequence(rec, line); err != nil {
			return sum, err
		}
		l, err := p.line(rec, line)
		if err != nil {
			return sum, err
		}
		sum.Lines++
		sum.Amount += p.amountOf(l)
		if err := fn(l); err != nil {
			return sum, err
		}
	}
	if idx == nil {
		if seen {
			return sum, fmt.Errorf("douyin %s bill %s: no header row naming %s", billType, file, strings.Join(req, ", "))
		}
		return sum, nil // an empty file: no lines
	}
	return sum, p.finish()
}

// ReadOptions is how Douyin bills are read: UTF-8 (BOM dropped) or GBK,
// decided by the file and held over the whole file (the encoding is
// undocumented [?]); CSV quoting after ", " separators.
var ReadOptions = billread.Options{Encoding: billread.Auto, Split: billread.SplitCSV, LeadingSpace: true}

func cleanCell(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "`")
	s = strings.TrimPrefix(s, "\ufeff")
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return strings.TrimSpace(s)
}

func blankRow(rec []string) bool {
	for _, c := range rec {
		if c != "" {
			return false
		}
	}
	return true
}

type billParser struct {
	file, billType, unit string
	unitAt               string // where the auto unit was decided
	cols                 map[string]int
	width                int
	// 序号 check: the last number read, the first and its line, the line
	// of the last, how many numbered rows and the direction (+1 / -1; 0
	// until the second numbered row).
	seq, seqFirst             int64
	seqFirstLine, seqLastLine int
	seqRows                   int
	seqDir                    int64
}

// sequence checks the 序号 column, where the bill prints it: the numbers
// must run consecutively from the first one seen, ascending from 0 or 1
// (0, 1, 2… or 1, 2, 3…) or descending to 0 or 1 (…, 3, 2, 1); which way
// is read from the first two numbered rows. A gap or a repeat means a row
// was lost or repeated and is refused, naming the row and the number
// expected; so is an ascending count that starts above 1 (rows lost before
// it) and, at the end (finish), a descending one that stops above 1.
func (p *billParser) sequence(rec []string, line int) error {
	s := p.cell(rec, colSeq)
	if s == "" || !isDigits(s) {
		return nil // checked by line
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return &billread.Error{File: p.file, Line: line, Column: colSeq, Err: fmt.Errorf("%w: row number %s is out of range", billread.ErrFormat, s)}
	}
	switch {
	case p.seqRows == 0:
		p.seqFirst, p.seqFirstLine = n, line
	case p.seqRows == 1 && n == p.seq+1:
		if p.seq > 1 {
			return &billread.Error{File: p.file, Line: p.seqFirstLine, Column: colSeq, Err: fmt.Errorf("%w: row numbers count up from %d, not from 0 or 1: rows are missing before it", billread.ErrSummary, p.seq)}
		}
		p.seqDir = 1
	case p.seqRows == 1 && n == p.seq-1:
		p.seqDir = -1
	case p.seqRows > 1 && n == p.seq+p.seqDir:
	default:
		return &billread.Error{File: p.file, Line: line, Column: colSeq, Err: fmt.Errorf("%w: row number %s after %d, want %s: a row is missing or repeated", billread.ErrSummary, s, p.seq, p.seqWant())}
	}
	p.seq = n
	p.seqRows++
	p.seqLastLine = line
	return nil
}

// seqWant says which 序号 the next numbered row must carry.
func (p *billParser) seqWant() string {
	switch {
	case p.seqDir != 0:
		return strconv.FormatInt(p.seq+p.seqDir, 10)
	case p.seq == 0:
		return "1"
	}
	return fmt.Sprintf("%d or %d", p.seq+1, p.seq-1)
}

// finish checks, once all rows are read, that a 序号 count ended where it
// must: a descending one (or a lone numbered row) at 0 or 1.
func (p *billParser) finish() error {
	if p.seqRows == 0 || p.seqDir == 1 || p.seq <= 1 {
		return nil
	}
	if p.seqDir == -1 {
		return &billread.Error{File: p.file, Line: p.seqLastLine, Column: colSeq, Err: fmt.Errorf("%w: row numbers count down from %d and stop at %d, not at 0 or 1: rows are missing after it", billread.ErrSummary, p.seqFirst, p.seq)}
	}
	return &billread.Error{File: p.file, Line: p.seqLastLine, Column: colSeq, Err: fmt.Errorf("%w: the only numbered row is %d, not 0 or 1: rows are missing", billread.ErrSummary, p.seq)}
}

func (p *billParser) index(m map[string]int) {
	p.cols = m
	for _, i := range m {
		if i+1 > p.width {
			p.width = i + 1
		}
	}
}

// cell returns a column's value ("" when the bill has no such column).
// freeText are the columns whose text may hold the separator (the settle
// bill's list of parties and amounts).
func (p *billParser) freeText() []int {
	if i, ok := p.cols[colSettleParts]; ok {
		return []int{i}
	}
	return nil
}

// amountText is what an amount cell may hold.
var amountText = regexp.MustCompile(`^-?[¥￥]?\d+(?:\.\d+)?$`)

// readable reports whether a row's amount and time cells hold an amount
// and a time: a folded row must, to be taken.
func (p *billParser) readable(rec []string) bool {
	for _, col := range []string{colOrderAmount, colRefundAmount, colServiceFee, colCommission} {
		if i, ok := p.cols[col]; ok && i < len(rec) && rec[i] != "" && !amountText.MatchString(strings.TrimSpace(rec[i])) {
			return false
		}
	}
	for _, col := range []string{colPayTime, colSettleTime, colRefundTime} {
		if i, ok := p.cols[col]; ok && i < len(rec) {
			if _, err := parseTime(rec[i]); err != nil || strings.TrimSpace(rec[i]) == "" {
				return false
			}
		}
	}
	return true
}

func (p *billParser) cell(rec []string, col string) string {
	i, ok := p.cols[col]
	if !ok || i >= len(rec) {
		return ""
	}
	return rec[i]
}

func (p *billParser) errAt(line int, col, format string, args ...any) error {
	return &billread.Error{File: p.file, Line: line, Column: col, Err: fmt.Errorf("douyin %s bill: %s", p.billType, fmt.Sprintf(format, args...))}
}

func (p *billParser) amount(rec []string, col string, line int, allowNeg bool) (int64, error) {
	s := p.cell(rec, col)
	if s == "" {
		return 0, p.errAt(line, col, "empty amount")
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "¥"), "￥")
	if p.unit == UnitAuto && strings.Trim(s, "-0.") != "" {
		// the first non-zero amount decides the file's unit
		p.unit, p.unitAt = UnitFen, fmt.Sprintf("%s line %d", col, line)
		if strings.Contains(s, ".") {
			p.unit = UnitYuan
		}
	}
	var v int64
	var err error
	if p.unit == UnitFen {
		neg := strings.HasPrefix(s, "-")
		v, err = parseFen(strings.TrimPrefix(s, "-"))
		if neg {
			v = -v
		}
	} else {
		v, err = payrecon.ParseYuanPadded(s)
	}
	if err != nil {
		if p.unitAt != "" {
			return 0, p.errAt(line, col, "%v (amounts read as %s, as %s printed them; set bill_amount_unit)", err, p.unit, p.unitAt)
		}
		return 0, p.errAt(line, col, "%v (amounts are %s)", err, p.unit)
	}
	if v < 0 {
		if !allowNeg {
			return 0, p.errAt(line, col, "negative amount %q", s)
		}
		v = -v // refunds may be printed negative
	}
	return v, nil
}

func (p *billParser) optAmount(rec []string, col string, line int) (int64, error) {
	if _, ok := p.cols[col]; !ok || p.cell(rec, col) == "" {
		return 0, nil
	}
	return p.amount(rec, col, line, true)
}

func (p *billParser) time(rec []string, col string, line int, need bool) (time.Time, error) {
	s := p.cell(rec, col)
	if s == "" {
		if need {
			return time.Time{}, p.errAt(line, col, "empty time")
		}
		return time.Time{}, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, p.errAt(line, col, "%v", err)
	}
	return t, nil
}

func (p *billParser) text(rec []string, col string, line int) (string, error) {
	s := p.cell(rec, col)
	if s == "" {
		return "", p.errAt(line, col, "empty")
	}
	return s, nil
}

// BillStatus maps a bill's 支付状态 / 退款状态 / 分账状态 cell; the values
// are undocumented [?], so both the API's words (SUCCESS, FAIL, TIMEOUT,
// PROCESSING) and Chinese ones are read: a word saying the payment, refund
// or 分账 is done (…成功, …完成 as 支付完成 / 退款完成 / 分账完成, 已支付,
// 已退款, 已分账, 已结算 …) is success; 未支付 / 待支付 is not paid.
// An empty cell is success (the bill lists completed items).
// A word it does not know is refused (ok false), never read as pending;
// so is a negated word (未完成, 不成功 …) it does not list, never read as
// the word it negates.
func BillStatus(s string) (st payrecon.Status, ok bool) {
	u := strings.ToUpper(strings.TrimSpace(s))
	switch u {
	case "", "SUCCESS":
		return payrecon.StatusSuccess, true
	case "FAIL", "FAILED":
		return payrecon.StatusFailed, true
	case "TIMEOUT":
		return payrecon.StatusClosed, true
	case "PROCESSING":
		return payrecon.StatusPending, true
	case "未支付", "待支付":
		return payrecon.StatusNotPaid, true
	}
	return payrecon.StatusPhrase(u)
}

// status reads a status cell through BillStatus, refusing unknown words.
func (p *billParser) status(rec []string, col string, line int) (payrecon.Status, error) {
	v := p.cell(rec, col)
	st, ok := BillStatus(v)
	if !ok {
		return "", p.errAt(line, col, "status %q is not a known status word (read as success, failure, pending, closed or not paid)", v)
	}
	return st, nil
}

func (p *billParser) line(rec []string, line int) (payrecon.BillLine, error) {
	l := payrecon.BillLine{File: p.file, LineNo: line, Bill: payrecon.BillTrade, Currency: "CNY"}
	if s := p.cell(rec, colSeq); s != "" && !isDigits(s) {
		return l, p.errAt(line, colSeq, "%q is not a row number", s)
	}
	var err error
	if l.MerchantOrderNo, err = p.text(rec, colOrderNo, line); err != nil {
		return l, err
	}
	switch p.billType {
	case BillPayment:
		l.Kind, l.Type = payrecon.KindPayment, "支付"
		if l.ProviderTxnNo, err = p.text(rec, colPlatformNo, line); err != nil {
			return l, err
		}
		// 订单金额 only: the bill does not say what the payer paid, so
		// PayerAmount stays 0 (unknown) rather than a guess.
		if l.Amount, err = p.amount(rec, colOrderAmount, line, false); err != nil {
			return l, err
		}
		if l.FinishedAt, err = p.time(rec, colPayTime, line, true); err != nil {
			return l, err
		}
		l.CreatedAt = l.FinishedAt
		if l.Status, err = p.status(rec, colPayStatus, line); err != nil {
			return l, err
		}
	case BillRefund:
		l.Kind, l.Type = payrecon.KindRefund, "退款"
		if t := p.cell(rec, colRefundType); t != "" {
			l.Type = t
		}
		if l.MerchantRefundNo, err = p.text(rec, colRefundNo, line); err != nil {
			return l, err
		}
		if l.ProviderRefundNo, err = p.text(rec, colPlatRefundNo, line); err != nil {
			return l, err
		}
		if l.Amount, err = p.amount(rec, colRefundAmount, line, true); err != nil {
			return l, err
		}
		l.PayerAmount = l.Amount
		if l.CreatedAt, err = p.time(rec, colRefundTime, line, true); err != nil {
			return l, err
		}
		if l.FinishedAt, err = p.time(rec, colRefundDone, line, false); err != nil {
			return l, err
		}
		if l.FinishedAt.IsZero() {
			l.FinishedAt = l.CreatedAt
		}
		if l.Status, err = p.status(rec, colRefundStatus, line); err != nil {
			return l, err
		}
	case BillSettle:
		// 分账 rows are not payments or refunds: KindOther in the
		// settlement bill, Settlement = what stays with the merchant
		// (order amount − 技术服务费 − 抽佣金额) [I].
		l.Kind, l.Type, l.Bill = payrecon.KindOther, "分账", payrecon.BillSettlement
		if l.ProviderTxnNo, err = p.text(rec, colPlatformNo, line); err != nil {
			return l, err
		}
		// A negative 订单金额 is a refund settled back (with its
		// 技术服务费 returned): the layout is undocumented [?], so both
		// signs are read and the line keeps it in Settlement and Fee.
		if l.Amount, err = p.amount(rec, colOrderAmount, line, true); err != nil {
			return l, err
		}
		if l.Fee, err = p.optAmount(rec, colServiceFee, line); err != nil {
			return l, err
		}
		l.FeeStated = p.cell(rec, colServiceFee) != ""
		if l.Deduction, err = p.optAmount(rec, colCommission, line); err != nil {
			return l, err
		}
		l.Settlement = l.Amount - l.Fee - l.Deduction
		if negative(p.cell(rec, colOrderAmount)) {
			l.Settlement, l.Fee, l.Deduction = -l.Settlement, -l.Fee, -l.Deduction
		}
		if l.FinishedAt, err = p.time(rec, colSettleTime, line, true); err != nil {
			return l, err
		}
		l.CreatedAt = l.FinishedAt
		if l.Status, err = p.status(rec, colSettleStatus, line); err != nil {
			return l, err
		}
		l.Payload = p.cell(rec, colSettleParts)
		l.Product = p.cell(rec, colSettleNo)
	}
	return l, nil
}

// amountOf is a line's contribution to its bill's amount total: settle
// lines count signed (a refund settled back is negative).
func (p *billParser) amountOf(l payrecon.BillLine) int64 {
	if l.Bill == payrecon.BillSettlement && l.Settlement < 0 {
		return -l.Amount
	}
	return l.Amount
}

// negative reports whether an amount cell is printed with a minus sign.
func negative(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "¥"), "￥")
	return strings.HasPrefix(strings.TrimSpace(s), "-")
}

// checkSummary checks a 合计 row: its amount column against the lines'
// total and a "共N笔" cell against the line count.
func (p *billParser) checkSummary(rec []string, line int, sum *Summary) error {
	col := amountColumn[p.billType]
	sum.HasSummary = true
	if s := p.cell(rec, col); s != "" {
		v, err := p.amount(rec, col, line, true)
		if err != nil {
			return err
		}
		if p.billType == BillSettle && negative(s) {
			v = -v // settle totals are signed
		}
		sum.Total = v
		if v != sum.Amount {
			return &billread.Error{File: p.file, Line: line, Column: col, Err: fmt.Errorf("%w: summary %s total %s does not match the lines' %s (%d lines)", billread.ErrSummary, col, p.format(v), p.format(sum.Amount), sum.Lines)}
		}
	}
	for _, c := range rec {
		if m := countCell.FindStringSubmatch(c); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			sum.Count = n
			if n != sum.Lines {
				return &billread.Error{File: p.file, Line: line, Err: fmt.Errorf("%w: summary count %d does not match the %d lines", billread.ErrSummary, n, sum.Lines)}
			}
		}
	}
	return nil
}

func (p *billParser) format(fen int64) string {
	if p.unit == UnitFen {
		return strconv.FormatInt(fen, 10) + " fen"
	}
	return payrecon.FormatYuan(fen) + " yuan"
}
