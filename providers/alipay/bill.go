package alipay

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/payrecon/payrecon"
)

// Errors the bill parsers wrap.
var (
	// ErrBillFormat: the bill is not in a layout the parser knows.
	ErrBillFormat = errors.New("malformed alipay bill")
	// ErrSummaryMismatch: a footer total disagrees with the lines.
	ErrSummaryMismatch = errors.New("bill total disagrees with its lines")
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

// maxLine bounds one bill line.
const maxLine = 1 << 20

// Decode returns r decoded to UTF-8: a UTF-8 BOM is dropped and the text is
// read as UTF-8; otherwise, when the first 64 KiB are not valid UTF-8, as
// GBK (decoded with GB18030, its superset). Alipay writes GBK; UTF-8 copies
// (re-saved by hand, or other channels) are accepted as well.
func Decode(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(64 << 10)
	if bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
		return br
	}
	if validUTF8Prefix(head) {
		return br
	}
	return transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder())
}

// validUTF8Prefix is utf8.Valid allowing a rune cut at the end of the peek.
func validUTF8Prefix(b []byte) bool {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return true
		}
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}

// lineReader yields lines without "\r\n" / "\n".
type lineReader struct {
	br   *bufio.Reader
	n    int
	name string
	buf  []byte
}

func (lr *lineReader) next() (string, error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.br.ReadSlice('\n')
		lr.buf = append(lr.buf, chunk...)
		if len(lr.buf) > maxLine {
			return "", fmt.Errorf("%s line %d: %w: line longer than %d bytes", lr.name, lr.n+1, ErrBillFormat, maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(lr.buf) == 0 {
			return "", io.EOF
		}
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("%s line %d: read: %w", lr.name, lr.n+1, err)
		}
		lr.n++
		s := string(bytes.TrimRight(lr.buf, "\r\n"))
		if lr.n == 1 {
			s = strings.TrimPrefix(s, "\ufeff")
		}
		return s, nil
	}
}

// splitCells splits a CSV line into dst. Alipay does not quote; a line with
// a quote is read with encoding/csv (lazy quotes) to be safe.
func splitCells(line string, dst []string) ([]string, error) {
	dst = dst[:0]
	if strings.IndexByte(line, '"') < 0 {
		for {
			i := strings.IndexByte(line, ',')
			if i < 0 {
				return append(dst, line), nil
			}
			dst = append(dst, line[:i])
			line = line[i+1:]
		}
	}
	cr := csv.NewReader(strings.NewReader(line))
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	rec, err := cr.Read()
	if err != nil {
		return dst, err
	}
	return append(dst, rec...), nil
}

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

// footer totals: #交易合计：6笔，商家实收共0.06元，商家优惠共0.00元. Half-width
// punctuation is accepted too.
var (
	reTotal   = regexp.MustCompile(`^#?\s*(交易|退款|收入|支出)合计\s*[：:]\s*(\d+)\s*笔`)
	reAmount  = regexp.MustCompile(`(商家实收(?:退款)?|商家优惠(?:退款)?|共)\s*共?\s*(-?\d+(?:\.\d+)?)\s*元`)
	tradeHead = "支付宝交易号"
)

// total is one parsed footer line.
type total struct {
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
		v, err := payrecon.ParseYuan(a[2])
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
		txn:        c.index("支付宝交易号"),
		order:      c.index("商户订单号"),
		typ:        c.index("业务类型"),
		product:    c.index("商品名称"),
		created:    c.index("创建时间"),
		finished:   c.index("完成时间"),
		total:      c.index("订单金额（元）"),
		received:   c.index("商家实收（元）"),
		alipayRed:  c.index("支付宝红包（元）"),
		jfb:        c.index("集分宝（元）"),
		alipayDisc: c.index("支付宝优惠（元）"),
		merDisc:    c.index("商家优惠（元）"),
		refundNo:   c.index("退款批次号/请求号", "退款批次号", "退款请求号"),
		fee:        c.index("服务费（元）"),
		remark:     c.index("备注"),
	}
	var missing []string
	for name, i := range map[string]int{"支付宝交易号": tc.txn, "商户订单号": tc.order, "业务类型": tc.typ, "订单金额（元）": tc.total, "商家实收（元）": tc.received} {
		if i < 0 {
			missing = append(missing, name)
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
	totals, err := scanExport(r, name, func(vals []string, line string, n int) error {
		if !header {
			c := parseHeader(vals)
			if _, ok := c[tradeHead]; !ok {
				return fmt.Errorf("%s line %d: %w: expected the header (支付宝交易号,商户订单号,…), got %q", name, n, ErrBillFormat, clip(line))
			}
			var err error
			if tc, err = newTradeCols(c, len(vals)); err != nil {
				return fmt.Errorf("%s line %d: %w", name, n, err)
			}
			header = true
			return nil
		}
		l, rec, disc, err := tc.line(vals)
		if err != nil {
			return fmt.Errorf("%s line %d: %w", name, n, err)
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
			return err
		}
		sum.Lines++
		return nil
	})
	if err != nil {
		return sum, err
	}
	if !header {
		return sum, fmt.Errorf("%s: %w: no header line (支付宝交易号,…) found", name, ErrBillFormat)
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
	return sum, nil
}

// scanExport reads an Alipay CSV export line by line: blank lines are
// skipped, "#" lines are read as 合计 totals and collected, and every other
// line is split into cells and handed to row with its line number. row's
// error stops it.
func scanExport(r io.Reader, name string, row func(vals []string, line string, n int) error) ([]total, error) {
	lr := &lineReader{br: bufio.NewReaderSize(Decode(r), 64<<10), name: name}
	var vals []string
	var totals []total
	for {
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return totals, err
		}
		trim := strings.TrimSpace(line)
		if trim == "" {
			continue
		}
		if strings.HasPrefix(trim, "#") {
			t, ok, err := parseTotal(trim)
			if err != nil {
				return totals, fmt.Errorf("%s line %d: %w: total %q: %v", name, lr.n, ErrBillFormat, trim, err)
			}
			if ok {
				totals = append(totals, t)
			}
			continue
		}
		if vals, err = splitCells(line, vals); err != nil {
			return totals, fmt.Errorf("%s line %d: %w: %v", name, lr.n, ErrBillFormat, err)
		}
		if err := row(vals, line, lr.n); err != nil {
			return totals, err
		}
	}
	return totals, nil
}

// check compares a 交易合计 / 退款合计 line with the rows' count, 商家实收 and
// 商家优惠 sums.
func check(name, what string, t total, n, received, discount int64) error {
	if t.count != n {
		return fmt.Errorf("%s: %w: %s says %d笔, the bill has %d rows", name, ErrSummaryMismatch, what, t.count, n)
	}
	if v, ok := t.amounts["商家实收"]; ok && v != received {
		return fmt.Errorf("%s: %w: %s 商家实收 %s元, the rows sum to %s元", name, ErrSummaryMismatch, what, payrecon.FormatYuan(v), payrecon.FormatYuan(received))
	}
	if v, ok := t.amounts["商家优惠"]; ok && v != discount {
		return fmt.Errorf("%s: %w: %s 商家优惠 %s元, the rows sum to %s元", name, ErrSummaryMismatch, what, payrecon.FormatYuan(v), payrecon.FormatYuan(discount))
	}
	return nil
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
		return 0, fmt.Errorf("column %d (%s): %w", i+1, field, err)
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
	if len(vals) < tc.n {
		return l, 0, 0, fmt.Errorf("%w: %d columns, the header has %d", ErrBillFormat, len(vals), tc.n)
	}
	l.Status, l.Currency = payrecon.StatusSuccess, "CNY"
	l.ProviderTxnNo, l.MerchantOrderNo = get(vals, tc.txn), get(vals, tc.order)
	l.Type = get(vals, tc.typ)
	l.Product = get(vals, tc.product)
	l.Payload = get(vals, tc.remark)
	if l.ProviderTxnNo == "" {
		return l, 0, 0, fmt.Errorf("column %d (支付宝交易号): %w: empty", tc.txn+1, ErrBillFormat)
	}
	total, err := tc.col(vals, tc.total, "订单金额（元）")
	if err != nil {
		return l, 0, 0, err
	}
	if received, err = tc.col(vals, tc.received, "商家实收（元）"); err != nil {
		return l, 0, 0, err
	}
	var promo int64
	for _, f := range []struct {
		i    int
		name string
	}{{tc.alipayRed, "支付宝红包（元）"}, {tc.jfb, "集分宝（元）"}, {tc.alipayDisc, "支付宝优惠（元）"}, {tc.merDisc, "商家优惠（元）"}} {
		v, err := tc.col(vals, f.i, f.name)
		if err != nil {
			return l, 0, 0, err
		}
		if f.i == tc.merDisc {
			discount = v
		}
		promo += abs(v)
	}
	fee, err := tc.col(vals, tc.fee, "服务费（元）")
	if err != nil {
		return l, 0, 0, err
	}
	l.FeeStated = get(vals, tc.fee) != ""
	if l.CreatedAt, err = billTime(get(vals, tc.created)); err != nil {
		return l, 0, 0, fmt.Errorf("column %d (创建时间): %w", tc.created+1, err)
	}
	if l.FinishedAt, err = billTime(get(vals, tc.finished)); err != nil {
		return l, 0, 0, fmt.Errorf("column %d (完成时间): %w", tc.finished+1, err)
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
		l.Fee = -abs(fee) // fee returned
	default:
		l.Kind = payrecon.KindOther
		l.Fee = fee
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
	totals, err := scanExport(r, name, func(vals []string, line string, n int) error {
		if !header {
			c := parseHeader(vals)
			fc = fundCols{
				n: len(vals), flow: c.index("账务流水号"), bizNo: c.index("业务流水号"), order: c.index("商户订单号"),
				product: c.index("商品名称"), at: c.index("发生时间", "入账时间"), peer: c.index("对方账号", "对方账户"),
				in: c.index("收入金额（+元）", "收入金额（元）"), out: c.index("支出金额（-元）", "支出金额（元）"),
				balance: c.index("账户余额（元）"), channel: c.index("交易渠道"), typ: c.index("业务类型"), remark: c.index("备注"),
				bizBase: c.index("业务基础订单号"), bizOrder: c.index("业务订单号"),
			}
			if fc.flow < 0 || fc.in < 0 || fc.out < 0 {
				return fmt.Errorf("%s line %d: %w: expected the header (账务流水号,…,收入金额（+元）,支出金额（-元）,…), got %q", name, n, ErrBillFormat, clip(line))
			}
			header = true
			return nil
		}
		if len(vals) < fc.n {
			return fmt.Errorf("%s line %d: %w: %d columns, the header has %d", name, n, ErrBillFormat, len(vals), fc.n)
		}
		inc, err := amount(vals, fc.in)
		if err != nil {
			return fmt.Errorf("%s line %d column %d (收入金额（+元）): %w", name, n, fc.in+1, err)
		}
		exp, err := amount(vals, fc.out)
		if err != nil {
			return fmt.Errorf("%s line %d column %d (支出金额（-元）): %w", name, n, fc.out+1, err)
		}
		at, err := billTime(get(vals, fc.at))
		if err != nil {
			return fmt.Errorf("%s line %d column %d (发生时间): %w", name, n, fc.at+1, err)
		}
		if inc != 0 {
			nIn++
			in += inc
		}
		if exp != 0 {
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
			return err
		}
		sum.Lines++
		return nil
	})
	if err != nil {
		return sum, err
	}
	if !header {
		return sum, fmt.Errorf("%s: %w: no header line (账务流水号,…) found", name, ErrBillFormat)
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
			return sum, fmt.Errorf("%s: %w: %s says %d笔, the bill has %d rows", name, ErrSummaryMismatch, what, t.count, n)
		}
		// 支出合计 is printed negative or positive ([?]): compare magnitudes.
		if p, ok := t.amounts["共"]; ok && abs(p) != abs(v) {
			return sum, fmt.Errorf("%s: %w: %s 共%s元, the rows sum to %s元", name, ErrSummaryMismatch, what, payrecon.FormatYuan(p), payrecon.FormatYuan(v))
		}
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
	lr := &lineReader{br: bufio.NewReaderSize(Decode(r), 64<<10), name: name}
	var c columns
	var vals []string
	for {
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Totals{}, err
		}
		trim := strings.TrimSpace(line)
		if trim == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		if vals, err = splitCells(line, vals); err != nil {
			return Totals{}, fmt.Errorf("%s line %d: %w: %v", name, lr.n, ErrBillFormat, err)
		}
		if c == nil {
			c = parseHeader(vals)
			if c.index("交易订单总笔数") < 0 || c.index("退款订单总笔数") < 0 || c.index("商家实收（元）") < 0 {
				return Totals{}, fmt.Errorf("%s line %d: %w: expected the header (门店编号,门店名称,交易订单总笔数,…), got %q", name, lr.n, ErrBillFormat, clip(line))
			}
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
				return t, fmt.Errorf("%s line %d column %d (%s): %w: %q is not a count", name, lr.n, i+1, f.col, ErrBillFormat, get(vals, i))
			}
		}
		i := c.index("商家实收（元）")
		v, err := amount(vals, i)
		if err != nil {
			return t, fmt.Errorf("%s line %d column %d (商家实收（元）): %w", name, lr.n, i+1, err)
		}
		t.Received = v
		return t, nil
	}
	return Totals{}, fmt.Errorf("%s: %w: no 合计 row", name, ErrBillFormat)
}
