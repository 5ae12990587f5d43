package wechat

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/billread"
)

// Summary is what a bill's own summary rows state, next to what the parser
// counted. Trade bills fill the trade fields, fund-flow bills the fund-flow
// ones. Amounts are fen.
type Summary struct {
	Lines      int64 // detail lines parsed and delivered
	HasSummary bool

	// Trade bill (总交易单数, 应结订单总金额, 退款总金额, 充值券退款总金额,
	// 手续费总金额, 订单总金额, 申请退款总金额; legacy: 总交易额, 总退款金额,
	// 总企业红包退款金额).
	Count         int64
	Amount        int64 // 应结订单总金额 / 总交易额
	Refund        int64 // 退款总金额 / 总退款金额
	CouponRefund  int64 // 充值券退款总金额 / 总企业红包退款金额
	Fee           int64 // 手续费总金额
	OrderAmount   int64 // 订单总金额
	RefundApplied int64 // 申请退款总金额

	// Fund-flow bill (资金流水总笔数, 收入笔数, 收入金额, 支出笔数, 支出金额).
	IncomeCount  int64
	Income       int64
	ExpenseCount int64
	Expense      int64
}

// Errors the bill parsers wrap.
var (
	// ErrBillFormat: the bill is not in a layout the parser knows.
	ErrBillFormat = errors.New("malformed wechat bill")
	// ErrSummaryMismatch: the bill's summary rows disagree with its lines.
	ErrSummaryMismatch = billread.ErrSummary
)

// ReadOptions is how WeChat Pay bills are read: UTF-8 only (a BOM is
// dropped), values prefixed by "`".
var ReadOptions = billread.Options{Encoding: billread.UTF8, Split: billread.SplitBacktick}

// lineReader yields the lines of a bill through the shared reader: their
// text and their values.
type lineReader struct {
	r    *billread.Reader
	n    int
	name string
	vals []string
}

func newLineReader(r io.Reader, name string) *lineReader {
	return &lineReader{r: billread.NewReader(r, name, ReadOptions), name: name}
}

// next returns the next non-empty line's text or io.EOF; lr.vals holds its
// values until the next call.
func (lr *lineReader) next() (string, error) {
	rec, err := lr.r.Read()
	if err != nil {
		return "", err
	}
	lr.n, lr.vals = lr.r.Line(), rec
	return lr.r.Text(), nil
}

// wrap names err with the current line (and its column, when err is a
// billread.Col error).
func (lr *lineReader) wrap(err error) error { return lr.r.Wrap("", err) }

// headerName normalises a header cell: backticks, blanks and a BOM dropped,
// full-width brackets made ASCII ("收支金额（元）" == "收支金额(元)").
func headerName(s string) string {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(s, "\ufeff"), "`"))
	s = strings.ReplaceAll(s, "（", "(")
	return strings.ReplaceAll(s, "）", ")")
}

// columns maps header names to their index.
type columns map[string]int

func parseHeader(line string) columns {
	cols := columns{}
	for i, c := range strings.Split(line, ",") {
		name := headerName(c)
		if name == "" {
			continue
		}
		if _, dup := cols[name]; !dup {
			cols[name] = i
		}
	}
	return cols
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
	return vals[i]
}

// yuan parses an amount column exactly; an empty value is zero. The usual
// form ("123.45", "-0.01") is read without allocating; anything else goes
// through payrecon.ParseYuanPadded.
func yuan(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	return payrecon.ParseYuanPadded(s)
}

// feeUnits parses a fee printed with up to 5 decimals into units of
// 0.00001 yuan, exactly (for the summary check, which compares sums).
func feeUnits(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	neg := false
	t := s
	switch {
	case strings.HasPrefix(t, "-"):
		neg, t = true, t[1:]
	case strings.HasPrefix(t, "+"):
		t = t[1:]
	}
	ip, fp, _ := strings.Cut(t, ".")
	if ip == "" && fp == "" || len(fp) > 5 || len(ip) > 12 {
		return 0, fmt.Errorf("%w %q: want at most 5 decimals", payrecon.ErrAmountSyntax, s)
	}
	var v int64
	for _, part := range []string{ip, fp + strings.Repeat("0", 5-len(fp))} {
		for i := 0; i < len(part); i++ {
			c := part[i]
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("%w %q: unexpected %q", payrecon.ErrAmountSyntax, s, c)
			}
			v = v*10 + int64(c-'0')
		}
	}
	if neg {
		v = -v
	}
	return v, nil
}

// unitsToFen rounds 0.00001-yuan units to fen, halves away from zero.
func unitsToFen(u int64) int64 {
	q, r := u/1000, u%1000
	if r >= 500 {
		q++
	} else if r <= -500 {
		q--
	}
	return q
}

// count parses a summary count printed as "45" or "45.0".
func count(s string) (int64, error) {
	ip, fp, _ := strings.Cut(strings.TrimSpace(s), ".")
	if strings.Trim(fp, "0") != "" {
		return 0, fmt.Errorf("count %q is not a whole number", s)
	}
	n, err := strconv.ParseInt(ip, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("count %q is not a whole number", s)
	}
	return n, nil
}

const billTimeLayout = "2006-01-02 15:04:05"

func billTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, ok := payrecon.ParseWallTime(s); ok {
		return t, nil
	}
	t, err := time.ParseInLocation(billTimeLayout, s, payrecon.Shanghai)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: want yyyy-MM-dd HH:mm:ss", s)
	}
	return t, nil
}

// zeroNo blanks the "0" WeChat prints for absent refund numbers.
func zeroNo(s string) string {
	if s == "0" {
		return ""
	}
	return s
}

// Trade bill (交易账单) column headers, as WeChat Pay heads them (A5 of the
// bill format notes): the ALL, SUCCESS and REFUND layouts, and the legacy
// one's alternatives. Headers are matched by name after headerName.
const (
	ColTradeTime       = "交易时间"
	ColTxnNo           = "微信订单号"
	ColOrderNo         = "商户订单号"
	ColTradeType       = "交易类型"
	ColTradeState      = "交易状态"
	ColCurrency        = "货币种类"
	ColSettle          = "应结订单金额"
	ColTotal           = "总金额" // legacy layout
	ColCoupon          = "代金券金额"
	ColCouponAlt       = "代金券或立减优惠金额" // legacy layout
	ColRedPacket       = "企业红包金额"     // legacy layout
	ColOrderAmount     = "订单金额"
	ColRefundNo        = "微信退款单号"
	ColOutRefundNo     = "商户退款单号"
	ColRefund          = "退款金额"
	ColCouponRefund    = "充值券退款金额"
	ColRedPacketRefund = "企业红包退款金额"     // legacy layout
	ColCouponRefundAlt = "代金券或立减优惠退款金额" // legacy layout
	ColRefundApplied   = "申请退款金额"
	ColRefundStatus    = "退款状态"
	ColRefundAt        = "退款申请时间" // REFUND layout
	ColRefundDone      = "退款成功时间" // REFUND layout
	ColProduct         = "商品名称"
	ColPayload         = "商户数据包"
	ColFee             = "手续费"
	ColFeeRate         = "费率"
)

// Fund-flow bill (资金账单) column headers (A6), parentheses ASCII: the
// full-width ones of the v2 documentation read the same (headerName).
const (
	ColBookedAt   = "记账时间"
	ColBizNo      = "微信支付业务单号"
	ColFlowNo     = "资金流水单号"
	ColBizName    = "业务名称"
	ColBizType    = "业务类型"
	ColDirection  = "收支类型"
	ColFlowAmount = "收支金额(元)"
	ColBalance    = "账户结余(元)"
	ColApplicant  = "资金变更提交申请人"
	ColNote       = "备注"
	ColVoucher    = "业务凭证号"
)

// tradeCols are the indexes of the trade bill's columns (any layout).
type tradeCols struct {
	time, txn, order, typ, state, currency            int
	settle, coupon, total, orderAmt                   int
	refundNo, outRefundNo, refund, couponRefund       int
	refundApplied, refundStatus, refundAt, refundDone int
	product, payload, fee, rate                       int
	ncols                                             int
}

func newTradeCols(c columns, n int) (tradeCols, error) {
	tc := tradeCols{
		time:          c.index(ColTradeTime),
		txn:           c.index(ColTxnNo),
		order:         c.index(ColOrderNo),
		typ:           c.index(ColTradeType),
		state:         c.index(ColTradeState),
		currency:      c.index(ColCurrency),
		settle:        c.index(ColSettle),
		total:         c.index(ColTotal),
		coupon:        c.index(ColCoupon, ColCouponAlt, ColRedPacket),
		orderAmt:      c.index(ColOrderAmount),
		refundNo:      c.index(ColRefundNo),
		outRefundNo:   c.index(ColOutRefundNo),
		refund:        c.index(ColRefund),
		couponRefund:  c.index(ColCouponRefund, ColRedPacketRefund, ColCouponRefundAlt),
		refundApplied: c.index(ColRefundApplied),
		refundStatus:  c.index(ColRefundStatus),
		refundAt:      c.index(ColRefundAt),
		refundDone:    c.index(ColRefundDone),
		product:       c.index(ColProduct),
		payload:       c.index(ColPayload),
		fee:           c.index(ColFee),
		rate:          c.index(ColFeeRate),
		ncols:         n,
	}
	// In the bill's header order, so the first missing one is named, the same on every run.
	for _, col := range []struct {
		name string
		i    int
	}{{ColTradeTime, tc.time}, {ColTxnNo, tc.txn}, {ColOrderNo, tc.order}, {ColTradeState, tc.state}} {
		if col.i < 0 {
			return tc, fmt.Errorf("header lacks column %s", col.name)
		}
	}
	if tc.settle < 0 && tc.total < 0 && tc.orderAmt < 0 {
		return tc, errors.New("header lacks an amount column (" + ColSettle + ", " + ColOrderAmount + " or " + ColTotal + ")")
	}
	return tc, nil
}

// tradeSums accumulates what the summary row states.
type tradeSums struct {
	count, settle, refund, couponRefund, orderAmt, refundApplied int64
	feeUnits, feeRounded                                         int64

	rateText string // last 费率 text parsed, and its value
	rate     int64
}

// ParseTradeBill parses a WeChat Pay trade bill (交易账单: ALL, SUCCESS,
// REFUND or the legacy layout) from r, columns found by header name, and
// calls fn for every detail line in file order. It then checks the summary
// rows at the end against the lines it read (count, 应结订单总金额, 退款总金额,
// 充值券退款总金额, 手续费总金额, 订单总金额, 申请退款总金额, whichever the
// summary has); a disagreement, a missing summary or anything after it is an
// error naming the bill and the total.
//
// Because the summary comes last, an error may arrive after lines were
// delivered: callers must then discard everything fn received for this bill
// (the run stores a day in one transaction, so nothing partial is kept).
// Memory does not grow with the number of lines.
//
// Payment rows (交易状态 SUCCESS) are KindPayment; REVOKED rows KindPayment
// with StatusClosed; refund rows (REFUND) KindRefund carrying the original
// order's numbers and the refund numbers, Status from 退款状态; other states
// KindOther. A REVOKED row whose order amounts are zero and whose amount is
// in 申请退款金额/退款金额 (a payment reversed after it succeeded) is read
// as a refund row of the original payment; without refund numbers its
// ProviderRefundNo is the 微信订单号. Amount is 订单金额 (legacy 总金额; else 应结订单金额) for payments,
// 申请退款金额 (else 退款金额) for refunds; PromotionAmount the coupon;
// PayerAmount the difference. Fee is 手续费 rounded to the fen.
func ParseTradeBill(r io.Reader, name string, fn func(payrecon.BillLine) error) (Summary, error) {
	lr := newLineReader(r, name)
	var sum Summary
	header, err := firstLine(lr)
	if err != nil {
		return sum, fmt.Errorf("parse trade bill %s: %w", name, err)
	}
	lr.r.SetHeader(lr.vals)
	tc, err := newTradeCols(parseHeader(header), strings.Count(header, ",")+1)
	if err != nil {
		return sum, fmt.Errorf("parse trade bill %s line %d: %w: %v", name, lr.n, ErrBillFormat, err)
	}
	var sums tradeSums
	for {
		line, err := lr.next()
		if err == io.EOF {
			return sum, fmt.Errorf("parse trade bill: %w", &billread.Error{File: name, Line: lr.n, Err: fmt.Errorf("%w: %w: no summary rows at the end", ErrBillFormat, billread.ErrTruncated)})
		}
		if err != nil {
			return sum, fmt.Errorf("parse trade bill: %w", err)
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !strings.HasPrefix(line, "`") {
			// The summary header: data lines always start with a backtick.
			if err := checkTradeSummary(lr, line, &sums, &sum); err != nil {
				return sum, fmt.Errorf("parse trade bill: %w", lr.wrap(err))
			}
			return sum, nil
		}
		if err := lr.r.CheckWidth(lr.vals, tc.ncols); err != nil {
			return sum, err
		}
		bl, err := tc.line(lr.vals, &sums)
		if err != nil {
			return sum, lr.wrap(err)
		}
		bl.Bill, bl.File, bl.LineNo = payrecon.BillTrade, name, lr.n
		sum.Lines++
		if err := fn(bl); err != nil {
			return sum, err
		}
	}
}

func firstLine(lr *lineReader) (string, error) {
	for {
		line, err := lr.next()
		if err == io.EOF {
			return "", fmt.Errorf("%w: empty file", ErrBillFormat)
		}
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(line) != "" {
			return line, nil
		}
	}
}

func (tc tradeCols) line(vals []string, sums *tradeSums) (payrecon.BillLine, error) {
	var bl payrecon.BillLine
	var settle, total, orderAmt, coupon, refund, couponRefund, applied int64
	var err error
	if settle, err = column(vals, tc.settle, ColSettle); err != nil {
		return bl, err
	}
	if total, err = column(vals, tc.total, ColTotal); err != nil {
		return bl, err
	}
	if orderAmt, err = column(vals, tc.orderAmt, ColOrderAmount); err != nil {
		return bl, err
	}
	if coupon, err = column(vals, tc.coupon, ColCoupon); err != nil {
		return bl, err
	}
	if refund, err = column(vals, tc.refund, ColRefund); err != nil {
		return bl, err
	}
	if couponRefund, err = column(vals, tc.couponRefund, ColCouponRefund); err != nil {
		return bl, err
	}
	if applied, err = column(vals, tc.refundApplied, ColRefundApplied); err != nil {
		return bl, err
	}
	feeText := get(vals, tc.fee)
	fu, err := feeUnits(feeText)
	if err != nil {
		return bl, billread.Col(ColFee, err)
	}
	bl.Fee = unitsToFen(fu) // half away from zero, as payrecon.ParseYuanRound
	bl.FeeStated = feeText != ""
	if s := get(vals, tc.rate); s != "" {
		if s != sums.rateText { // rates repeat: parse each distinct one once
			r, err := payrecon.ParseRate(s)
			if err != nil {
				return bl, billread.Col(ColFeeRate, err)
			}
			sums.rateText, sums.rate = s, r
		}
		bl.FeeRatePPM = sums.rate
	}
	at, err := billTime(get(vals, tc.time))
	if err != nil {
		return bl, billread.Col(ColTradeTime, err)
	}
	if at.IsZero() {
		return bl, billread.Col(ColTradeTime, fmt.Errorf("%w: empty", ErrBillFormat))
	}

	sums.count++
	sums.settle += settle + total
	sums.refund += refund
	sums.couponRefund += couponRefund
	sums.orderAmt += orderAmt
	sums.refundApplied += applied
	sums.feeUnits += fu
	sums.feeRounded += bl.Fee

	bl.Type = get(vals, tc.typ)
	bl.ProviderTxnNo = get(vals, tc.txn)
	bl.MerchantOrderNo = get(vals, tc.order)
	bl.Currency = get(vals, tc.currency)
	bl.Product = get(vals, tc.product)
	bl.Payload = get(vals, tc.payload)
	bl.CreatedAt = at
	bl.Status = payrecon.StatusSuccess
	state := get(vals, tc.state)
	switch {
	case state == "REVOKED" && orderAmt == 0 && total == 0 && settle == 0 && (applied > 0 || refund > 0):
		// A payment reversed after it succeeded (撤销) carries the order's
		// numbers and, in this shape, its amounts in the refund columns:
		// the refund of the original payment.
		if err := tc.refundLine(&bl, vals, at, refund, couponRefund, applied, true); err != nil {
			return bl, err
		}
	case state == "SUCCESS" || state == "REVOKED":
		bl.Kind = payrecon.KindPayment
		if state == "REVOKED" {
			bl.Status = payrecon.StatusClosed
		}
		bl.Amount = firstNonZero(orderAmt, total, settle)
		bl.PromotionAmount = coupon
		bl.PayerAmount = bl.Amount - coupon
		// What the merchant is credited (应结订单金额, the fund flow's 交易
		// income): the order less non-recharge coupons, not what the payer paid.
		bl.Settlement = settle
		bl.FinishedAt = at
	case state == "REFUND":
		if err := tc.refundLine(&bl, vals, at, refund, couponRefund, applied, false); err != nil {
			return bl, err
		}
	default:
		bl.Kind = payrecon.KindOther
		bl.Amount = firstNonZero(orderAmt, total, settle, refund)
		bl.FinishedAt = at
		if state == "" {
			return bl, billread.Col(ColTradeState, fmt.Errorf("%w: empty", ErrBillFormat))
		}
		bl.Type = strings.TrimSpace(bl.Type + " " + state)
	}
	return bl, nil
}

// refundLine fills bl as a refund row: the original order's numbers are set
// already, the refund's come from 商户退款单号/微信退款单号. A revoke (REVOKED
// row with its amounts in the refund columns) may print no refund number
// ("0" or empty): its key is then the 微信订单号 of the payment it reverses.
func (tc tradeCols) refundLine(bl *payrecon.BillLine, vals []string, at time.Time, refund, couponRefund, applied int64, revoke bool) error {
	var err error
	bl.Kind = payrecon.KindRefund
	bl.MerchantRefundNo = zeroNo(get(vals, tc.outRefundNo))
	bl.ProviderRefundNo = zeroNo(get(vals, tc.refundNo))
	if revoke && bl.MerchantRefundNo == "" && bl.ProviderRefundNo == "" {
		bl.ProviderRefundNo = bl.ProviderTxnNo
	}
	if bl.MerchantRefundNo == "" && bl.ProviderRefundNo == "" {
		what := "refund row"
		if revoke {
			what = "REVOKED row"
		}
		return billread.Col(ColOutRefundNo, fmt.Errorf("%w: %s without %s or %s", ErrBillFormat, what, ColRefundNo, ColOutRefundNo))
	}
	bl.Amount = firstNonZero(applied, refund)
	bl.PromotionAmount = couponRefund
	bl.PayerAmount = refund - couponRefund
	bl.Settlement = -refund // 退款金额: what the fund flow debits
	if bl.Status, err = refundStatuses.Map("status", get(vals, tc.refundStatus)); err != nil {
		return fmt.Errorf("field %s: %w", ColRefundStatus, err)
	}
	// In the ALL bill 交易时间 is the refund's time; the REFUND bill
	// has the refund's own times and 交易时间 is the payment's.
	bl.FinishedAt = at
	if tc.refundDone >= 0 {
		if t, err := billTime(get(vals, tc.refundDone)); err != nil {
			return billread.Col(ColRefundDone, err)
		} else if !t.IsZero() {
			bl.FinishedAt = t
		}
	}
	if tc.refundAt >= 0 {
		if t, err := billTime(get(vals, tc.refundAt)); err != nil {
			return billread.Col(ColRefundAt, err)
		} else if !t.IsZero() {
			bl.CreatedAt = t
		}
	}
	return nil
}

// column parses the amount in column i (absent or empty: zero).
func column(vals []string, i int, field string) (int64, error) {
	v, err := yuan(get(vals, i))
	if err != nil {
		return 0, billread.Col(field, err)
	}
	return v, nil
}

func firstNonZero(vs ...int64) int64 {
	for _, v := range vs {
		if v != 0 {
			return v
		}
	}
	return 0
}

// refundStatuses are 退款状态's documented words (v3 and v2-era); an empty
// cell is success (the ALL bill lists completed refunds). Anything else is
// refused, never guessed.
var refundStatuses = payrecon.StatusMap{
	"": payrecon.StatusSuccess, "SUCCESS": payrecon.StatusSuccess,
	"PROCESSING":  payrecon.StatusPending,
	"REFUNDCLOSE": payrecon.StatusClosed, "CLOSED": payrecon.StatusClosed,
	"FAIL": payrecon.StatusFailed, "CHANGE": payrecon.StatusFailed, "ABNORMAL": payrecon.StatusFailed,
}

// summaryRows reads the summary values line after the summary header and
// checks that nothing but blank lines follows.
func summaryRows(lr *lineReader, headerLine string) (columns, []string, error) {
	cols := parseHeader(headerLine)
	var vals []string
	for {
		line, err := lr.next()
		if err == io.EOF {
			if vals == nil {
				return nil, nil, fmt.Errorf("%w: summary header at line %d has no values line", ErrBillFormat, lr.n)
			}
			return cols, vals, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if vals != nil {
			return nil, nil, fmt.Errorf("%w: line %d: unexpected text after the summary rows", ErrBillFormat, lr.n)
		}
		vals = append([]string(nil), lr.vals...)
		if len(vals) != strings.Count(headerLine, ",")+1 {
			return nil, nil, fmt.Errorf("%w: line %d: summary has %d values for %d columns", ErrBillFormat, lr.n, len(vals), strings.Count(headerLine, ",")+1)
		}
	}
}

func checkTradeSummary(lr *lineReader, headerLine string, sums *tradeSums, sum *Summary) error {
	if headerName(strings.SplitN(headerLine, ",", 2)[0]) != "总交易单数" {
		return fmt.Errorf("%w: line %d: neither a data line nor the summary header", ErrBillFormat, lr.n)
	}
	cols, vals, err := summaryRows(lr, headerLine)
	if err != nil {
		return err
	}
	sum.HasSummary = true
	n, err := count(get(vals, cols.index("总交易单数")))
	if err != nil {
		return fmt.Errorf("%w: summary 总交易单数: %v", ErrBillFormat, err)
	}
	sum.Count = n
	if n != sums.count {
		return fmt.Errorf("%w: 总交易单数 says %d lines, the bill has %d", ErrSummaryMismatch, n, sums.count)
	}
	checks := []struct {
		name   string
		dst    *int64
		parsed int64
	}{
		{"应结订单总金额", &sum.Amount, sums.settle},
		{"总交易额", &sum.Amount, sums.settle},
		{"退款总金额", &sum.Refund, sums.refund},
		{"总退款金额", &sum.Refund, sums.refund},
		{"充值券退款总金额", &sum.CouponRefund, sums.couponRefund},
		{"总企业红包退款金额", &sum.CouponRefund, sums.couponRefund},
		{"订单总金额", &sum.OrderAmount, sums.orderAmt},
		{"申请退款总金额", &sum.RefundApplied, sums.refundApplied},
	}
	for _, c := range checks {
		i := cols.index(c.name)
		if i < 0 {
			continue
		}
		v, err := payrecon.ParseYuanPadded(get(vals, i))
		if err != nil {
			return fmt.Errorf("%w: summary %s: %v", ErrBillFormat, c.name, err)
		}
		*c.dst = v
		if v != c.parsed {
			return fmt.Errorf("%w: %s says %s, the lines add up to %s", ErrSummaryMismatch, c.name, payrecon.FormatYuan(v), payrecon.FormatYuan(c.parsed))
		}
	}
	if i := cols.index("手续费总金额"); i >= 0 {
		v, err := payrecon.ParseYuanRound(get(vals, i))
		if err != nil {
			return fmt.Errorf("%w: summary 手续费总金额: %v", ErrBillFormat, err)
		}
		sum.Fee = v
		// WeChat sums the exact 5-decimal fees and rounds the total; accept
		// the sum of the per-line rounded fees as well.
		if exact := unitsToFen(sums.feeUnits); v != exact && v != sums.feeRounded {
			return fmt.Errorf("%w: 手续费总金额 says %s, the lines add up to %s", ErrSummaryMismatch, payrecon.FormatYuan(v), payrecon.FormatYuan(exact))
		}
	}
	return nil
}

// fundCols are the fund-flow bill's columns.
type fundCols struct {
	time, bizNo, flowNo, bizName, bizType, dir, amount, balance, applicant, note, voucher int
	ncols                                                                                 int
}

// ParseFundFlowBill parses a WeChat Pay fund-flow bill (资金账单) the same
// way as ParseTradeBill: lines to fn (Bill = BillSettlement, Settlement
// signed: 收入 positive, 支出 negative, Amount its absolute value; 业务类型
// 交易 → KindPayment, 退款 → KindRefund, others KindOther), then the summary
// (资金流水总笔数, 收入笔数, 收入金额, 支出笔数, 支出金额) checked against the
// lines. As for ParseTradeBill, an error means: discard everything delivered.
func ParseFundFlowBill(r io.Reader, name string, fn func(payrecon.BillLine) error) (Summary, error) {
	lr := newLineReader(r, name)
	var sum Summary
	header, err := firstLine(lr)
	if err != nil {
		return sum, fmt.Errorf("parse fund-flow bill %s: %w", name, err)
	}
	lr.r.SetHeader(lr.vals)
	c := parseHeader(header)
	fc := fundCols{
		time: c.index(ColBookedAt), bizNo: c.index(ColBizNo), flowNo: c.index(ColFlowNo),
		bizName: c.index(ColBizName), bizType: c.index(ColBizType), dir: c.index(ColDirection),
		amount: c.index(ColFlowAmount), balance: c.index(ColBalance), applicant: c.index(ColApplicant),
		note: c.index(ColNote), voucher: c.index(ColVoucher), ncols: strings.Count(header, ",") + 1,
	}
	// In the bill's header order, so the first missing one is named, the same on every run.
	for _, col := range []struct {
		name string
		i    int
	}{{ColBookedAt, fc.time}, {ColBizNo, fc.bizNo}, {ColDirection, fc.dir}, {ColFlowAmount, fc.amount}} {
		if col.i < 0 {
			return sum, fmt.Errorf("parse fund-flow bill %s line 1: %w: header lacks column %s", name, ErrBillFormat, col.name)
		}
	}
	var nIn, nOut, in, out int64
	for {
		line, err := lr.next()
		if err == io.EOF {
			return sum, fmt.Errorf("parse fund-flow bill: %w", &billread.Error{File: name, Line: lr.n, Err: fmt.Errorf("%w: %w: no summary rows at the end", ErrBillFormat, billread.ErrTruncated)})
		}
		if err != nil {
			return sum, fmt.Errorf("parse fund-flow bill: %w", err)
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !strings.HasPrefix(line, "`") {
			if err := checkFundSummary(lr, line, nIn, nOut, in, out, &sum); err != nil {
				return sum, fmt.Errorf("parse fund-flow bill: %w", lr.wrap(err))
			}
			return sum, nil
		}
		if err := lr.r.CheckWidth(lr.vals, fc.ncols); err != nil {
			return sum, err
		}
		bl, err := fc.line(lr.vals)
		if err != nil {
			return sum, lr.wrap(err)
		}
		// Counted by 收支类型 (fc.line accepted only 收入 or 支出), not by the
		// sign of Settlement: a 支出 of 0.00 is one of the 支出笔数.
		if get(lr.vals, fc.dir) == "支出" {
			nOut++
			out += bl.Amount
		} else {
			nIn++
			in += bl.Amount
		}
		bl.File, bl.LineNo = name, lr.n
		sum.Lines++
		if err := fn(bl); err != nil {
			return sum, err
		}
	}
}

func (fc fundCols) line(vals []string) (payrecon.BillLine, error) {
	bl := payrecon.BillLine{Bill: payrecon.BillSettlement, Status: payrecon.StatusSuccess}
	at, err := billTime(get(vals, fc.time))
	if err != nil || at.IsZero() {
		return bl, billread.Col(ColBookedAt, fmt.Errorf("%w: %q", ErrBillFormat, get(vals, fc.time)))
	}
	v, err := payrecon.ParseYuanPadded(get(vals, fc.amount))
	if err != nil {
		return bl, billread.Col(ColFlowAmount, err)
	}
	if v < 0 {
		return bl, billread.Col(ColFlowAmount, fmt.Errorf("%w: negative: the sign is in %s", ErrBillFormat, ColDirection))
	}
	switch d := get(vals, fc.dir); d {
	case "收入":
		bl.Settlement = v
	case "支出":
		bl.Settlement = -v
	default:
		return bl, billread.Col(ColDirection, fmt.Errorf("%w: %q: want 收入 or 支出", ErrBillFormat, d))
	}
	bl.Amount = v
	bl.CreatedAt, bl.FinishedAt = at, at
	bl.Type = get(vals, fc.bizType)
	bl.Product = get(vals, fc.note)
	switch bl.Type {
	case "交易":
		bl.Kind = payrecon.KindPayment
		bl.ProviderTxnNo, bl.MerchantOrderNo = get(vals, fc.bizNo), get(vals, fc.voucher)
	case "退款":
		bl.Kind = payrecon.KindRefund
		bl.ProviderRefundNo, bl.MerchantRefundNo = get(vals, fc.bizNo), get(vals, fc.voucher)
	default:
		bl.Kind = payrecon.KindOther
		bl.ProviderTxnNo = get(vals, fc.bizNo)
		if n := get(vals, fc.bizName); n != "" && n != bl.Type {
			bl.Type = strings.TrimSpace(n + " " + bl.Type)
		}
	}
	return bl, nil
}

func checkFundSummary(lr *lineReader, headerLine string, nIn, nOut, in, out int64, sum *Summary) error {
	if headerName(strings.SplitN(headerLine, ",", 2)[0]) != "资金流水总笔数" {
		return fmt.Errorf("%w: line %d: neither a data line nor the summary header", ErrBillFormat, lr.n)
	}
	cols, vals, err := summaryRows(lr, headerLine)
	if err != nil {
		return err
	}
	sum.HasSummary = true
	for _, c := range []struct {
		name  string
		dst   *int64
		want  int64
		isAmt bool
	}{
		{"资金流水总笔数", &sum.Count, nIn + nOut, false},
		{"收入笔数", &sum.IncomeCount, nIn, false},
		{"支出笔数", &sum.ExpenseCount, nOut, false},
		{"收入金额", &sum.Income, in, true},
		{"支出金额", &sum.Expense, out, true},
	} {
		i := cols.index(c.name)
		if i < 0 {
			continue
		}
		var v int64
		if c.isAmt {
			v, err = payrecon.ParseYuanPadded(get(vals, i))
		} else {
			v, err = count(get(vals, i))
		}
		if err != nil {
			return fmt.Errorf("%w: summary %s: %v", ErrBillFormat, c.name, err)
		}
		*c.dst = v
		if v != c.want {
			if c.isAmt {
				return fmt.Errorf("%w: %s says %s, the lines add up to %s", ErrSummaryMismatch, c.name, payrecon.FormatYuan(v), payrecon.FormatYuan(c.want))
			}
			return fmt.Errorf("%w: %s says %d, the bill has %d", ErrSummaryMismatch, c.name, v, c.want)
		}
	}
	return nil
}
