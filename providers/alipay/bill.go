package alipay

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/billread"
)

// Errors the bill parsers wrap.
var (
	// ErrBillFormat: the bill is not in a layout the parser knows.
	ErrBillFormat = errors.New("malformed alipay bill")
	// ErrSummaryMismatch: a footer total disagrees with the lines.
	ErrSummaryMismatch = billread.ErrSummary
)

// Summary is what a bill's footer states next to what the parser counted.
// Amounts are fen, signed as printed (refund totals are negative).
type Summary struct {
	Lines int64 // detail lines delivered

	// What the rows of a 业务明细 add up to (whether or not a footer said so).
	RowTrades, RowRefunds int64
	RowReceived           int64 // 商家实收 of all rows, signed

	// 业务明细: #交易合计：N笔，商家实收共X元，商家优惠共Y元 and
	// #退款合计：N笔，商家实收退款共X元，商家优惠退款共Y元.
	HasTradeTotal, HasRefundTotal bool
	TradeCount, RefundCount       int64
	TradeReceived, RefundReceived int64 // 商家实收
	TradeDiscount, RefundDiscount int64 // 商家优惠

	// 账务明细: #收入合计：N笔，共X元 and #支出合计：N笔，共X元.
	HasIncomeTotal, HasExpenseTotal bool
	IncomeCount, ExpenseCount       int64
	Income, Expense                 int64 // Expense as printed (negative)
}

// HasSummary reports whether the footer carried every total of its kind.
func (s Summary) HasSummary() bool {
	return (s.HasTradeTotal && s.HasRefundTotal) || (s.HasIncomeTotal && s.HasExpenseTotal)
}

// ReadOptions is how Alipay bills are read: GBK as Alipay writes them, or
// UTF-8 (re-saved copies), decided by the file and held over the whole
// file; CSV quoting.
var ReadOptions = billread.Options{Encoding: billread.Auto, Split: billread.SplitCSV}

// cell trims the anti-Excel TAB Alipay appends to text cells, and spaces.
func cell(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == '\t' || s[i] == ' ') {
		i++
	}
	for j > i && (s[j-1] == '\t' || s[j-1] == ' ') {
		j--
	}
	s = s[i:j]
	if strings.HasPrefix(s, "\u3000") || strings.HasSuffix(s, "\u3000") {
		return strings.Trim(s, "\t \u3000")
	}
	return s
}

// headerName normalises a header cell: trimmed, half-width brackets and
// colons turned full-width, so 订单金额(元) matches 订单金额（元）.
func headerName(s string) string {
	s = cell(strings.TrimPrefix(s, "\ufeff"))
	return strings.NewReplacer("(", "（", ")", "）").Replace(s)
}

// columns maps header names to positions.
type columns map[string]int

func parseHeader(vals []string) columns {
	c := columns{}
	for i, v := range vals {
		name := headerName(v)
		if _, dup := c[name]; !dup && name != "" {
			c[name] = i
		}
	}
	return c
}

// index returns the first of names present, or -1.
func (c columns) index(names ...string) int {
	for _, n := range names {
		if i, ok := c[n]; ok {
			return i
		}
	}
	return -1
}

func get(vals []string, i int) string {
	if i < 0 || i >= len(vals) {
		return ""
	}
	return cell(vals[i])
}

// amount parses a yuan cell (empty is zero) exactly.
func amount(vals []string, i int) (int64, error) {
	s := get(vals, i)
	if s == "" {
		return 0, nil
	}
	return payrecon.ParseYuan(s)
}

// billTime parses 2019-09-16 10:55:23 (Asia/Shanghai); also 2019/09/16
// 10:55[:23] as spreadsheet re-saves print it. Empty is the zero time.
func billTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, ok := payrecon.ParseWallTime(s); ok {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006/01/02 15:04:05", "2006/1/2 15:04:05", "2006/1/2 15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, payrecon.Shanghai); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is not yyyy-MM-dd HH:mm:ss", s)
}

// Column headers the parsers read, as fact file B3 (业务明细) and B5
// (账务明细) spell them: full-width brackets, which headerName also makes of
// half-width ones. The parsers find their columns by these names and
// BillColumns declares them, so the two cannot drift.
const (
	// 业务明细 (trade bill).
	ColTradeNo        = "支付宝交易号"
	ColOrderNo        = "商户订单号" // also a 账务明细 column
	ColType           = "业务类型"  // also a 账务明细 column
	ColProduct        = "商品名称"  // also a 账务明细 column
	ColCreated        = "创建时间"
	ColFinished       = "完成时间"
	ColTotal          = "订单金额（元）"
	ColReceived       = "商家实收（元）"
	ColAlipayRed      = "支付宝红包（元）"
	ColJFB            = "集分宝（元）"
	ColAlipayDiscount = "支付宝优惠（元）"
	ColMerchDiscount  = "商家优惠（元）"
	ColRefundNo       = "退款批次号/请求号"
	ColRefundBatchNo  = "退款批次号" // other spellings of ColRefundNo
	ColRefundReqNo    = "退款请求号"
	ColFee            = "服务费（元）"
	ColRemark         = "备注" // also a 账务明细 column

	// 账务明细 (fund bill, the settlement bill).
	ColFlowNo      = "账务流水号"
	ColBizNo       = "业务流水号"
	ColOccurred    = "发生时间"
	ColPosted      = "入账时间" // another spelling of ColOccurred
	ColPeer        = "对方账号"
	ColPeerAccount = "对方账户"
	ColIncome      = "收入金额（+元）"
	ColIncomeAlt   = "收入金额（元）"
	ColExpense     = "支出金额（-元）"
	ColExpenseAlt  = "支出金额（元）"
	ColBalance     = "账户余额（元）"
	ColChannel     = "交易渠道"
	ColBizBaseNo   = "业务基础订单号"
	ColBizOrderNo  = "业务订单号"
)

// footer totals: #交易合计：6笔，商家实收共0.06元，商家优惠共0.00元. Half-width
// punctuation is accepted too.
var (
	reTotal  = regexp.MustCompile(`^#?\s*(交易|退款|收入|支出)合计\s*[：:]\s*(\d+)\s*笔`)
	reAmount = regexp.MustCompile(`(商家实收(?:退款)?|商家优惠(?:退款)?|共)\s*共?\s*(-?[\d,]+(?:\.\d+)?)\s*元`)
)

// total is one parsed footer line.
type total struct {
	line    int
	kind    string // 交易, 退款, 收入, 支出
	count   int64
	amounts map[string]int64 // 商家实收…, 商家优惠…, 共
}

func parseTotal(line string) (total, bool, error) {
	m := reTotal.FindStringSubmatch(line)
	if m == nil {
		return total{}, false, nil
	}
	t := total{kind: m[1], amounts: map[string]int64{}}
	fmt.Sscan(m[2], &t.count)
	for _, a := range reAmount.FindAllStringSubmatch(line[len(m[0]):], -1) {
		v, err := payrecon.ParseYuan(strings.ReplaceAll(a[2], ",", "")) // 1,000.00 as well
		if err != nil {
			return t, true, err
		}
		key := strings.TrimSuffix(a[1], "退款")
		t.amounts[key] = v
	}
	return t, true, nil
}

// tradeCols are the resolved column positions of a 业务明细 header.
type tradeCols struct {
	n                                                    int
	txn, order, typ, product, created, finished          int
	total, received, alipayRed, jfb, alipayDisc, merDisc int
	refundNo, fee, remark                                int
}

func newTradeCols(c columns, n int) (tradeCols, error) {
	tc := tradeCols{
		n:          n,
		txn:        c.index(ColTradeNo),
		order:      c.index(ColOrderNo),
		typ:        c.index(ColType),
		product:    c.index(ColProduct),
		created:    c.index(ColCreated),
		finished:   c.index(ColFinished),
		total:      c.index(ColTotal),
		received:   c.index(ColReceived),
		alipayRed:  c.index(ColAlipayRed),
		jfb:        c.index(ColJFB),
		alipayDisc: c.index(ColAlipayDiscount),
		merDisc:    c.index(ColMerchDiscount),
		refundNo:   c.index(ColRefundNo, ColRefundBatchNo, ColRefundReqNo),
		fee:        c.index(ColFee),
		remark:     c.index(ColRemark),
	}
	var missing []string
	// In the bill's header order, the same on every run.
	for _, col := range []struct {
		name string
		i    int
	}{{ColTradeNo, tc.txn}, {ColOrderNo, tc.order}, {ColType, tc.typ}, {ColTotal, tc.total}, {ColReceived, tc.received}} {
		if col.i < 0 {
			missing = append(missing, col.name)
		}
	}
	if len(missing) > 0 {
		return tc, fmt.Errorf("%w: header lacks %s", ErrBillFormat, strings.Join(missing, ", "))
	}
	return tc, nil
}

// ParseTradeBill reads a 业务明细.csv (trade bill) from r (GBK or UTF-8),
// delivering each detail row to fn as it is read, and checks the 交易合计 /
// 退款合计 footer against the rows. Columns are found by header name, in any
// order, extra ones ignored. 业务类型 交易 is a payment, 退款 a refund
// (amounts printed negative, delivered positive; MerchantRefundNo is the
// 退款批次号/请求号, or the 商户订单号 when Alipay printed none; Alipay has no
// refund number of its own); other types are KindOther. Lines starting with
// "#" (preamble, separators, footer, export time) and blank lines are not
// data. Errors name the file, line and column.
func ParseTradeBill(r io.Reader, name string, fn func(payrecon.BillLine) error) (Summary, error) {
	var sum Summary
	var tc tradeCols
	header := false
	var nTrade, nRefund, recTrade, recRefund, discTrade, discRefund int64
	var stop error
	totals, err := scanExport(r, name, func(cr *billread.Reader, vals []string) error {
		if !header {
			c := parseHeader(vals)
			if _, ok := c[ColTradeNo]; !ok {
				return fmt.Errorf("%w: expected the header (支付宝交易号,商户订单号,…), got %q", ErrBillFormat, clip(cr.Text()))
			}
			var err error
			if tc, err = newTradeCols(c, len(vals)); err != nil {
				return err
			}
			cr.SetHeader(vals)
			header = true
			return nil
		}
		vals, err := width(cr, vals, tc.n, []int{tc.product, tc.remark}, func(v []string) bool {
			// A folded row must read and add up: a trade or refund whose
			// 商家实收 is its 订单金额 less the 商家优惠 (a cell inserted among
			// the money columns would break it; folding must not misread one).
			if !readable(v, []int{tc.total, tc.received, tc.alipayRed, tc.jfb, tc.alipayDisc, tc.merDisc, tc.fee}, []int{tc.created, tc.finished}) {
				return false
			}
			if typ := get(v, tc.typ); typ != "交易" && typ != "退款" {
				return false
			}
			total, _ := amount(v, tc.total)
			received, _ := amount(v, tc.received)
			disc, _ := amount(v, tc.merDisc)
			return abs(received) == abs(total)-abs(disc)
		})
		if err != nil {
			return err
		}
		n := cr.Line()
		l, rec, disc, err := tc.line(vals)
		if err != nil {
			return err
		}
		l.Bill, l.File, l.LineNo = payrecon.BillTrade, name, n
		if l.Kind == payrecon.KindRefund {
			nRefund++
			recRefund += rec
			discRefund += disc
		} else {
			nTrade++
			recTrade += rec
			discTrade += disc
		}
		if err := fn(l); err != nil {
			stop = err
			return err
		}
		sum.Lines++
		return nil
	})
	if stop != nil {
		return sum, stop
	}
	if err != nil {
		return sum, err
	}
	if !header {
		return sum, &billread.Error{File: name, Err: fmt.Errorf("%w: no header line (支付宝交易号,…) found", ErrBillFormat)}
	}
	sum.RowTrades, sum.RowRefunds, sum.RowReceived = nTrade, nRefund, recTrade+recRefund
	for _, t := range totals {
		switch t.kind {
		case "交易":
			sum.HasTradeTotal, sum.TradeCount, sum.TradeReceived, sum.TradeDiscount = true, t.count, t.amounts["商家实收"], t.amounts["商家优惠"]
			if err := check(name, "交易合计", t, nTrade, recTrade, discTrade); err != nil {
				return sum, err
			}
		case "退款":
			sum.HasRefundTotal, sum.RefundCount, sum.RefundReceived, sum.RefundDiscount = true, t.count, t.amounts["商家实收"], t.amounts["商家优惠"]
			if err := check(name, "退款合计", t, nRefund, recRefund, discRefund); err != nil {
				return sum, err
			}
		}
	}
	if !sum.HasTradeTotal {
		return sum, missingTotal(name, "交易合计")
	}
	if !sum.HasRefundTotal {
		return sum, missingTotal(name, "退款合计")
	}
	return sum, nil
}

// scanExport reads an Alipay CSV export through the shared reader: blank
// lines are skipped, "#" lines are read as 合计 totals and collected, and
// every other record is handed to row. row's error stops it, named with the
// record's line (and column, for a billread.Col error).
func scanExport(r io.Reader, name string, row func(cr *billread.Reader, vals []string) error) ([]total, error) {
	cr := billread.NewReader(r, name, ReadOptions)
	var totals []total
	for {
		vals, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return totals, err
		}
		trim := strings.TrimSpace(cr.Text())
		if trim == "" {
			continue
		}
		if strings.HasPrefix(trim, "#") {
			t, ok, err := parseTotal(trim)
			if err != nil {
				return totals, cr.Errorf("", "%w: total %q: %v", ErrBillFormat, trim, err)
			}
			if ok {
				t.line = cr.Line()
				totals = append(totals, t)
			}
			continue
		}
		if err := row(cr, vals); err != nil {
			return totals, cr.Wrap("", err)
		}
	}
	return totals, nil
}

// width checks a row against the header's column count; empty cells after
// the last column (a trailing comma) are dropped first. Alipay does not
// quote its cells: a row wider than the header whose extra cells belong to
// a free-text column (the merchant's product name or remark holding a
// comma) is folded back, into the first of free whose folding leaves a row
// the money and time columns read (ok); any other wide row is refused.
func width(cr *billread.Reader, vals []string, n int, free []int, ok func([]string) bool) ([]string, error) {
	if folded, ok := billread.Fold(vals, n, ",", free, ok); ok {
		return folded, nil
	}
	for len(vals) > n && strings.TrimSpace(vals[len(vals)-1]) == "" {
		vals = vals[:len(vals)-1]
	}
	return vals, cr.CheckWidth(vals, n)
}

// readable reports whether a row's amount cells (amounts) parse and its
// time cells (times) hold times, need the first amount and time present.
func readable(vals []string, amounts, times []int) bool {
	for n, i := range amounts {
		if i < 0 {
			continue
		}
		if _, err := amount(vals, i); err != nil || (n == 0 && get(vals, i) == "") {
			return false
		}
	}
	for _, i := range times {
		if i < 0 {
			continue
		}
		if t, err := billTime(get(vals, i)); err != nil || t.IsZero() {
			return false
		}
	}
	return true
}

// check compares a 交易合计 / 退款合计 line with the rows' count, 商家实收 and
// 商家优惠 sums.
func check(name, what string, t total, n, received, discount int64) error {
	at := func(err error) error { return &billread.Error{File: name, Line: t.line, Err: err} }
	if t.count != n {
		return at(fmt.Errorf("%w: %s says %d笔, the bill has %d rows", ErrSummaryMismatch, what, t.count, n))
	}
	// Refund totals are printed negative or positive ([?]): magnitudes.
	if v, ok := t.amounts["商家实收"]; ok && abs(v) != abs(received) {
		return at(fmt.Errorf("%w: %s 商家实收 %s元, the rows sum to %s元", ErrSummaryMismatch, what, payrecon.FormatYuan(v), payrecon.FormatYuan(received)))
	}
	if v, ok := t.amounts["商家优惠"]; ok && abs(v) != abs(discount) {
		return at(fmt.Errorf("%w: %s 商家优惠 %s元, the rows sum to %s元", ErrSummaryMismatch, what, payrecon.FormatYuan(v), payrecon.FormatYuan(discount)))
	}
	return nil
}

// missingTotal is the error for a footer total the bill lacks: a file cut
// short loses its footer, so a bill without one is not complete.
func missingTotal(name, what string) error {
	return &billread.Error{File: name, Err: fmt.Errorf("%w: %w: no #%s footer line", ErrBillFormat, billread.ErrTruncated, what)}
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// col parses the amount at i, naming the column in errors.
func (tc tradeCols) col(vals []string, i int, field string) (int64, error) {
	v, err := amount(vals, i)
	if err != nil {
		return 0, billread.Col(field, err)
	}
	return v, nil
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// line converts one 业务明细 row; it also returns the row's 商家实收 and 商家优惠
// as printed, for the footer check.
func (tc tradeCols) line(vals []string) (l payrecon.BillLine, received, discount int64, err error) {
	l.Status, l.Currency = payrecon.StatusSuccess, "CNY"
	l.ProviderTxnNo, l.MerchantOrderNo = get(vals, tc.txn), get(vals, tc.order)
	l.Type = get(vals, tc.typ)
	l.Product = get(vals, tc.product)
	l.Payload = get(vals, tc.remark)
	if l.ProviderTxnNo == "" {
		return l, 0, 0, billread.Col(ColTradeNo, fmt.Errorf("%w: empty", ErrBillFormat))
	}
	total, err := tc.col(vals, tc.total, ColTotal)
	if err != nil {
		return l, 0, 0, err
	}
	if received, err = tc.col(vals, tc.received, ColReceived); err != nil {
		return l, 0, 0, err
	}
	var promo int64
	for _, f := range []struct {
		i    int
		name string
	}{{tc.alipayRed, ColAlipayRed}, {tc.jfb, ColJFB}, {tc.alipayDisc, ColAlipayDiscount}, {tc.merDisc, ColMerchDiscount}} {
		v, err := tc.col(vals, f.i, f.name)
		if err != nil {
			return l, 0, 0, err
		}
		if f.i == tc.merDisc {
			discount = v
		}
		promo += abs(v)
	}
	fee, err := tc.col(vals, tc.fee, ColFee)
	if err != nil {
		return l, 0, 0, err
	}
	l.FeeStated = get(vals, tc.fee) != ""
	if l.CreatedAt, err = billTime(get(vals, tc.created)); err != nil {
		return l, 0, 0, billread.Col(ColCreated, err)
	}
	if l.FinishedAt, err = billTime(get(vals, tc.finished)); err != nil {
		return l, 0, 0, billread.Col(ColFinished, err)
	}
	l.Amount = abs(total)
	l.PromotionAmount = promo
	l.PayerAmount = l.Amount - promo
	switch l.Type {
	case "交易":
		l.Kind = payrecon.KindPayment
		// 服务费 sign is [?] (printed 0.00 in the published sample): the
		// fee is taken as a positive charge on payments whatever its sign.
		l.Fee = abs(fee)
	case "退款":
		l.Kind = payrecon.KindRefund
		l.MerchantRefundNo = get(vals, tc.refundNo)
		if l.MerchantRefundNo == "" {
			// a refund sent without out_request_no is numbered by out_trade_no
			l.MerchantRefundNo = l.MerchantOrderNo
		}
		l.ProviderRefundNo = RefundKey(l.ProviderTxnNo, l.MerchantRefundNo)
		l.Fee = -abs(fee) // fee returned
	default:
		l.Kind = payrecon.KindOther
		l.Fee = fee
	}
	if l.Kind != payrecon.KindOther && get(vals, tc.received) != "" {
		// What the merchant receives (or gives back): the order amount
		// less the merchant's own discount only. Alipay funds its red
		// packets, 集分宝 and discounts, so the fund bill moves 商家实收,
		// not the buyer's payment: the settlement check nets this.
		l.Settlement = received
	}
	return l, received, discount, nil
}

// fundCols are the resolved columns of a 账务明细 header.
type fundCols struct {
	n                                                int
	flow, bizNo, order, product, at, peer, in, out   int
	balance, channel, typ, remark, bizBase, bizOrder int
}

// ParseFundBill reads a signcustomer 账务明细.csv (fund flow) from r and
// delivers each row as a BillSettlement line: Settlement is the signed
// movement (收入金额 positive, 支出金额 negative), Amount its absolute value,
// ProviderTxnNo the 业务流水号, MerchantOrderNo the 商户订单号, Type the 业务类型.
// Kind is KindRefund for 业务类型 containing 退款, KindPayment for 在线支付 /
// 交易 / 收款 types, KindOther for the rest (转账, 提现, 服务费…). Columns are
// mapped by name (newer files add 业务描述, 业务账单来源, 业务基础订单号, 业务订单号
// in varying order). #收入合计 / #支出合计 are checked against the rows.
func ParseFundBill(r io.Reader, name string, fn func(payrecon.BillLine) error) (Summary, error) {
	var sum Summary
	var fc fundCols
	header := false
	var nIn, nOut, in, out int64
	var stop error
	totals, err := scanExport(r, name, func(cr *billread.Reader, vals []string) error {
		n := cr.Line()
		if !header {
			c := parseHeader(vals)
			fc = fundCols{
				n: len(vals), flow: c.index(ColFlowNo), bizNo: c.index(ColBizNo), order: c.index(ColOrderNo),
				product: c.index(ColProduct), at: c.index(ColOccurred, ColPosted), peer: c.index(ColPeer, ColPeerAccount),
				in: c.index(ColIncome, ColIncomeAlt), out: c.index(ColExpense, ColExpenseAlt),
				balance: c.index(ColBalance), channel: c.index(ColChannel), typ: c.index(ColType), remark: c.index(ColRemark),
				bizBase: c.index(ColBizBaseNo), bizOrder: c.index(ColBizOrderNo),
			}
			if fc.flow < 0 || fc.in < 0 || fc.out < 0 {
				return fmt.Errorf("%w: expected the header (账务流水号,…,收入金额（+元）,支出金额（-元）,…), got %q", ErrBillFormat, clip(cr.Text()))
			}
			cr.SetHeader(vals)
			header = true
			return nil
		}
		// Only the product name folds: the remark is the last column, and
		// folding there would take a cell inserted among the money columns.
		vals, err := width(cr, vals, fc.n, []int{fc.product}, func(v []string) bool {
			return readable(v, []int{fc.balance, fc.in, fc.out}, []int{fc.at})
		})
		if err != nil {
			return err
		}
		inc, err := amount(vals, fc.in)
		if err != nil {
			return billread.Col(cr.Column(fc.in), err)
		}
		exp, err := amount(vals, fc.out)
		if err != nil {
			return billread.Col(cr.Column(fc.out), err)
		}
		at, err := billTime(get(vals, fc.at))
		if err != nil {
			return billread.Col(cr.Column(fc.at), err)
		}
		// A row counts where its money is printed: the column that holds
		// an amount (0.00 included), or the non-zero one when both do.
		inSet, outSet := get(vals, fc.in) != "", get(vals, fc.out) != ""
		if inSet && outSet {
			inSet, outSet = inc != 0 || exp == 0, exp != 0
		}
		if inSet {
			nIn++
			in += inc
		}
		if outSet {
			nOut++
			out += -abs(exp)
		}
		l := payrecon.BillLine{
			Bill: payrecon.BillSettlement, File: name, LineNo: n, Status: payrecon.StatusSuccess, Currency: "CNY",
			Type: get(vals, fc.typ), ProviderTxnNo: get(vals, fc.bizNo), MerchantOrderNo: get(vals, fc.order),
			Product: get(vals, fc.product), Payload: get(vals, fc.remark), FinishedAt: at,
			Settlement: inc - abs(exp),
		}
		if l.ProviderTxnNo == "" {
			l.ProviderTxnNo = get(vals, fc.bizOrder)
		}
		l.Amount = abs(l.Settlement)
		switch {
		case strings.Contains(l.Type, "退款"):
			l.Kind = payrecon.KindRefund
		case l.Type == "在线支付" || l.Type == "交易" || strings.Contains(l.Type, "交易付款") || strings.Contains(l.Type, "收款"):
			l.Kind = payrecon.KindPayment
		default:
			l.Kind = payrecon.KindOther
		}
		if err := fn(l); err != nil {
			stop = err
			return err
		}
		sum.Lines++
		return nil
	})
	if stop != nil {
		return sum, stop
	}
	if err != nil {
		return sum, err
	}
	if !header {
		return sum, &billread.Error{File: name, Err: fmt.Errorf("%w: no header line (账务流水号,…) found", ErrBillFormat)}
	}
	for _, t := range totals {
		var n, v int64
		switch t.kind {
		case "收入":
			sum.HasIncomeTotal, sum.IncomeCount, sum.Income = true, t.count, t.amounts["共"]
			n, v = nIn, in
		case "支出":
			sum.HasExpenseTotal, sum.ExpenseCount, sum.Expense = true, t.count, t.amounts["共"]
			n, v = nOut, out
		default:
			continue
		}
		what := t.kind + "合计"
		if t.count != n {
			return sum, &billread.Error{File: name, Line: t.line, Err: fmt.Errorf("%w: %s says %d笔, the bill has %d rows", ErrSummaryMismatch, what, t.count, n)}
		}
		// 支出合计 is printed negative or positive ([?]): compare magnitudes.
		if p, ok := t.amounts["共"]; ok && abs(p) != abs(v) {
			return sum, &billread.Error{File: name, Line: t.line, Err: fmt.Errorf("%w: %s 共%s元, the rows sum to %s元", ErrSummaryMismatch, what, payrecon.FormatYuan(p), payrecon.FormatYuan(v))}
		}
	}
	if !sum.HasIncomeTotal {
		return sum, missingTotal(name, "收入合计")
	}
	if !sum.HasExpenseTotal {
		return sum, missingTotal(name, "支出合计")
	}
	return sum, nil
}

// Totals is the 合计 row of a 业务明细(汇总).csv.
type Totals struct {
	Trades, Refunds int64 // 交易订单总笔数, 退款订单总笔数
	Received        int64 // 商家实收（元）, fen
}

// ParseTradeSummary reads a 业务明细(汇总).csv (one row per store, then the
// 合计 row) and returns its 合计 row. Columns are found by name; the store
// rows' exact form is [?] in the fact file and they are not read.
func ParseTradeSummary(r io.Reader, name string) (Totals, error) {
	cr := billread.NewReader(r, name, ReadOptions)
	var c columns
	for {
		vals, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Totals{}, err
		}
		trim := strings.TrimSpace(cr.Text())
		if trim == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		if c == nil {
			c = parseHeader(vals)
			if c.index("交易订单总笔数") < 0 || c.index("退款订单总笔数") < 0 || c.index(ColReceived) < 0 {
				return Totals{}, cr.Errorf("", "%w: expected the header (门店编号,门店名称,交易订单总笔数,…), got %q", ErrBillFormat, clip(cr.Text()))
			}
			cr.SetHeader(vals)
			continue
		}
		if !strings.HasPrefix(cell(vals[0]), "合计") {
			continue // a store row
		}
		var t Totals
		for _, f := range []struct {
			col string
			dst *int64
		}{{"交易订单总笔数", &t.Trades}, {"退款订单总笔数", &t.Refunds}} {
			i := c.index(f.col)
			if _, err := fmt.Sscan(get(vals, i), f.dst); err != nil {
				return t, cr.Errorf(f.col, "%w: %q is not a count", ErrBillFormat, get(vals, i))
			}
		}
		i := c.index(ColReceived)
		v, err := amount(vals, i)
		if err != nil {
			return t, cr.Wrap(ColReceived, err)
		}
		t.Received = v
		return t, nil
	}
	return Totals{}, &billread.Error{File: name, Err: fmt.Errorf("%w: %w: no 合计 row", ErrBillFormat, billread.ErrTruncated)}
}
