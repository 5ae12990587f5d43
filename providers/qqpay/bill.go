package qqpay

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

// Errors the bill parser wraps.
var (
	// ErrBillFormat: the statement is not in a layout the parser knows.
	ErrBillFormat = errors.New("malformed qqpay bill")
	// ErrSummaryMismatch: the statement's summary disagrees with its lines.
	ErrSummaryMismatch = billread.ErrSummary
)

// Placeholder is the text QQ Wallet prints in empty cells (read as "").
const Placeholder = "暂无数据"

// The statement's columns the parser reads, as the documented ALL header
// spells them (shared/providers/qqpay.md). Columns are found by name with
// the "(元)" unit and full-width brackets ignored (see headerName); the
// aliases other spellings use are listed where newTradeCols looks them up.
const (
	ColTime             = "交易时间"
	ColMerchantOrderNo  = "商户订单号"
	ColTxnNo            = "QQ钱包订单号"
	ColCurrency         = "货币种类"
	ColOrderAmount      = "订单金额(元)"
	ColMerchantPromo    = "商户优惠金额(元)"
	ColReceivable       = "商户应收金额(元)"
	ColQQPromo          = "QQ钱包优惠金额(元)"
	ColPayerAmount      = "用户支付金额(元)"
	ColStatus           = "交易状态"
	ColRefundAt         = "退款提交时间"
	ColMerchantRefundNo = "商户退款订单号"
	ColRefundNo         = "QQ钱包退款订单号"
	ColRefundAmount     = "退款金额(元)"
	ColRefundQQPromo    = "退还QQ钱包优惠金额(元)"
	ColRefundStatus     = "退款状态"
	ColRefundDone       = "退款成功时间"
	ColProduct          = "商品名称"
	ColPayload          = "商户数据包"
	ColFee              = "手续费金额(元)"
	ColFeeRate          = "费率"
)

// Summary is what the statement's summary rows state (amounts fen) and what
// the parser counted.
type Summary struct {
	Lines      int64 // data lines parsed and delivered
	HasSummary bool

	Count          int64 // 交易总笔数
	OrderAmount    int64 // 订单总金额(元)
	MerchantPromo  int64 // 商户优惠总金额(元)
	Receivable     int64 // 商户应收总金额(元)
	QQPromo        int64 // QQ钱包优惠总金额(元)
	PayerAmount    int64 // 用户支付总金额(元)
	Refund         int64 // 退款总金额(元)
	RefundQQPromo  int64 // 退还QQ钱包优惠总金额(元)
	Fee            int64 // 手续费总金额(元)
	SummaryLineNo  int   // line of the summary values
	HeaderLineNo   int   // line of the column header
	DetectedFormat string
}

// readOptions is how a statement is read in encoding (auto, utf-8, gbk):
// the encoding held over the whole file, CSV quoting (a quoted cell may
// carry the ID columns' "`" guard and follow ", ").
func readOptions(encoding string) (billread.Options, error) {
	opt := billread.Options{Split: billread.SplitCSV, LeadingSpace: true}
	switch strings.ToLower(encoding) {
	case "", EncodingAuto:
		opt.Encoding = billread.Auto
	case EncodingUTF8, "utf8":
		opt.Encoding = billread.UTF8
	case EncodingGBK, "gb18030":
		opt.Encoding = billread.GBK
	default:
		return opt, fmt.Errorf("bill encoding %q: want auto, utf-8 or gbk", encoding)
	}
	return opt, nil
}

// headerName normalises a header cell: BOM, backtick and blanks dropped,
// full-width brackets made ASCII, the "(元)" unit dropped ([D] ponfee's list
// has the names without it).
func headerName(s string) string {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(s, "\ufeff")), "`"))
	s = strings.ReplaceAll(s, "（", "(")
	s = strings.ReplaceAll(s, "）", ")")
	return strings.TrimSuffix(s, "(元)")
}

// cell normalises a data cell: blanks and the ID columns' backtick dropped,
// the 暂无数据 placeholder read as empty.
func cell(s string) string {
	if s == "" {
		return s
	}
	if c0, c1 := s[0], s[len(s)-1]; c0 > ' ' && c0 != '`' && c0 != 0xe6 && c1 > ' ' && c1 < 0x80 {
		return s // fast path: nothing to trim, no backtick, not 暂无数据 (starts 0xe6)
	}
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "`")
	s = strings.TrimSpace(s)
	if s == Placeholder {
		return ""
	}
	return s
}

// BillTime parses a statement time: yyyy/M/d H:mm (the sample's, single
// digits allowed), yyyy-MM-dd HH:mm:ss, with / or - and with or without
// seconds, in Asia/Shanghai. "" is the zero time.
func BillTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if strings.IndexByte(s, ' ') < 0 {
		return time.Time{}, fmt.Errorf("time %q has no clock part", s)
	}
	var n [6]int
	k, digits := 0, 0
	seps := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= '0' && ch <= '9':
			if digits == 4 {
				return time.Time{}, fmt.Errorf("time %q has a field of more than 4 digits", s)
			}
			n[k] = n[k]*10 + int(ch-'0')
			digits++
		case (k < 2 && (ch == '/' || ch == '-')) || k == 2 && ch == ' ' || (k >= 3 && k < 5 && ch == ':'):
			if digits == 0 {
				return time.Time{}, fmt.Errorf("time %q has an empty field", s)
			}
			if k < 2 && seps == 0 {
				seps = int(ch)
			} else if k < 2 && int(ch) != seps {
				return time.Time{}, fmt.Errorf("time %q mixes date separators", s)
			}
			k++
			digits = 0
		default:
			return time.Time{}, fmt.Errorf("time %q is not yyyy/M/d H:mm or yyyy-MM-dd HH:mm:ss", s)
		}
	}
	if digits == 0 || k < 4 {
		return time.Time{}, fmt.Errorf("time %q is not yyyy/M/d H:mm or yyyy-MM-dd HH:mm:ss", s)
	}
	if n[0] < 1970 || n[1] < 1 || n[1] > 12 || n[2] < 1 || n[2] > 31 || n[3] > 23 || n[4] > 59 || n[5] > 59 {
		return time.Time{}, fmt.Errorf("time %q is out of range", s)
	}
	t := time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], 0, payrecon.Shanghai)
	if t.Day() != n[2] {
		return time.Time{}, fmt.Errorf("time %q is not a calendar date", s)
	}
	return t, nil
}

// billYuan parses an amount cell exactly ("" is 0; extra zero decimals are allowed).
func billYuan(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	return payrecon.ParseYuanPadded(s)
}

// billRefundStatus maps a statement's 退款状态: the documented words, else
// a Chinese status phrase by what it says (payrecon.StatusPhrase: 退款处理中,
// 退款已成功 …: the statement's words are not all published; a negated one
// such as 退款不成功 is not read as success); anything else is refused.
func billRefundStatus(word string) (payrecon.Status, error) {
	st, err := RefundStatuses.Map("refund_status", payrecon.StatusWord(word))
	if err == nil {
		return st, nil
	}
	if st, ok := payrecon.StatusPhrase(word); ok {
		return st, nil
	}
	return "", err
}

// paidPhrase reports whether a 交易状态 says the order was paid in other
// words than 支付成功 (交易成功, 已支付, 支付完成 …; payrecon.StatusPhrase).
func paidPhrase(word string) bool {
	st, ok := payrecon.StatusPhrase(word)
	return ok && st == payrecon.StatusSuccess
}

// billFee parses a fee cell, rounded to the fen ("" is 0), and says
// whether rounding changed it.
func billFee(s string) (fee int64, rounded bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	if v, err := payrecon.ParseYuanPadded(s); err == nil {
		return v, false, nil
	}
	v, err := payrecon.ParseYuanRound(s)
	return v, err == nil, err
}

// tradeCols are the statement's column positions, found by name (-1 absent).
type tradeCols struct {
	n                                         int
	time, mchOrder, txn, currency             int
	total, mchPromo, receivable, qqPromo, pay int
	status, refundAt, mchRefund, refund       int
	refundAmt, refundQQPromo, refundStatus    int
	refundDone, product, payload, fee, rate   int
	names                                     []string
}

func newTradeCols(header []string) (tradeCols, error) {
	idx := map[string]int{}
	names := make([]string, len(header))
	for i, h := range header {
		name := headerName(h)
		names[i] = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(h), "\ufeff"), "`"))
		if _, dup := idx[name]; !dup && name != "" {
			idx[name] = i
		}
	}
	get := func(col string, alias ...string) int {
		if i, ok := idx[headerName(col)]; ok {
			return i
		}
		for _, a := range alias {
			if i, ok := idx[a]; ok {
				return i
			}
		}
		return -1
	}
	c := tradeCols{
		n:             len(header),
		names:         names,
		time:          get(ColTime),
		mchOrder:      get(ColMerchantOrderNo),
		txn:           get(ColTxnNo, "QQ钱包交易单号"),
		currency:      get(ColCurrency),
		total:         get(ColOrderAmount, "总金额"),
		mchPromo:      get(ColMerchantPromo),
		receivable:    get(ColReceivable),
		qqPromo:       get(ColQQPromo),
		pay:           get(ColPayerAmount),
		status:        get(ColStatus),
		refundAt:      get(ColRefundAt, "退款申请时间"),
		mchRefund:     get(ColMerchantRefundNo, "商户退款单号"),
		refund:        get(ColRefundNo, "QQ钱包退款单号"),
		refundAmt:     get(ColRefundAmount),
		refundQQPromo: get(ColRefundQQPromo),
		refundStatus:  get(ColRefundStatus),
		refundDone:    get(ColRefundDone),
		product:       get(ColProduct),
		payload:       get(ColPayload),
		fee:           get(ColFee, "手续费"),
		rate:          get(ColFeeRate),
	}
	var missing []string
	for _, r := range []struct {
		i    int
		name string
	}{{c.time, ColTime}, {c.mchOrder, ColMerchantOrderNo}, {c.txn, ColTxnNo}, {c.total, ColOrderAmount}, {c.status, ColStatus}} {
		if r.i < 0 {
			missing = append(missing, r.name)
		}
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("%w: header lacks %s", ErrBillFormat, strings.Join(missing, ", "))
	}
	return c, nil
}

// sums are what the lines add up to, for the summary check.
type sums struct {
	count, total, payTotal, mchPromo, receivable, qqPromo, pay, refund, refundQQPromo, fee int64
	// feeRounded counts the fees printed to more than 2 decimals: the
	// printed fee total may differ from the rounded ones' sum by one fen
	// for each.
	feeRounded int64
}

func isSummaryHeader(first string) bool {
	h := headerName(first)
	return h == "交易总笔数" || h == "总交易单数" || h == "总笔数"
}

// ParseTradeBill parses a QQ Wallet statement (对账单, bill_type ALL or
// SUCCESS) of any encoding (auto-detected), streaming every data line to
// fn. See ParseTradeBillEncoding.
func ParseTradeBill(r io.Reader, name string, fn func(payrecon.BillLine) error) (Summary, error) {
	return ParseTradeBillEncoding(r, name, EncodingAuto, fn)
}

// ParseTradeBillEncoding parses a statement in the given encoding (auto,
// utf-8, gbk). Columns are found by header name (any order, extra columns
// ignored); blank lines, and title / comment lines before the header that
// hold no comma, are skipped; the summary header (交易总笔数,…) and values at
// the end are required and checked against the lines. The file is read by
// billread (the encoding held over all of it, quotes that close, the
// header's column count on every row). Payments are 支付成功 / SUCCESS
// rows, refunds 转入退款 / REFUND rows (or any row with a refund number);
// other rows (已撤销 …) are KindOther with their status as Type. A bad cell
// is an error naming the file, line and column. Memory does not grow with
// the file.
func ParseTradeBillEncoding(r io.Reader, name, encoding string, fn func(payrecon.BillLine) error) (sum Summary, err error) {
	opt, err := readOptions(encoding)
	if err != nil {
		return sum, fmt.Errorf("read %s: %w", name, err)
	}
	cr := billread.NewReader(r, name, opt)
	defer func() {
		if e := cr.Encoding(); e == billread.GBK {
			sum.DetectedFormat = EncodingGBK
		} else {
			sum.DetectedFormat = EncodingUTF8
		}
	}()
	next := func() ([]string, string, bool, error) {
		vals, err := cr.Read()
		if err == io.EOF {
			return nil, "", false, nil
		}
		if err != nil {
			return nil, "", false, err
		}
		return vals, cr.Text(), true, nil
	}

	// header
	var cols tradeCols
	for {
		vals, line, ok, err := next()
		if err != nil {
			return sum, err
		}
		if !ok {
			return sum, &billread.Error{File: name, Err: fmt.Errorf("%w: no header line (交易时间,…)", ErrBillFormat)}
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if headerName(vals[0]) == ColTime || (len(vals) > 1 && strings.Contains(line, ColTime) && strings.Contains(line, ColMerchantOrderNo)) {
			if cols, err = newTradeCols(vals); err != nil {
				return sum, cr.Wrap("", err)
			}
			cr.SetHeader(vals)
			sum.HeaderLineNo = cr.Line()
			break
		}
		if !strings.Contains(line, ",") || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue // a title or comment line: clearly not data
		}
		return sum, cr.Errorf("", "%w: expected the header line (交易时间,…), got %q", ErrBillFormat, clip(line))
	}

	// data lines, then the summary
	var s sums
	var summaryHeader []string
	for {
		vals, line, ok, err := next()
		if err != nil {
			return sum, err
		}
		if !ok {
			break
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if isSummaryHeader(vals[0]) {
			summaryHeader = append([]string(nil), vals...)
			break
		}
		if len(vals) == cols.n+1 && strings.TrimSpace(vals[cols.n]) == "" {
			vals = vals[:cols.n] // a trailing comma
		}
		if err := cr.CheckWidth(vals, cols.n); err != nil {
			return sum, err
		}
		bl, err := cols.line(vals, &s)
		if err != nil {
			return sum, cr.Wrap("", err)
		}
		bl.File, bl.LineNo = name, cr.Line()
		sum.Lines++
		if err := fn(bl); err != nil {
			return sum, err
		}
	}
	if summaryHeader == nil {
		// QQ Wallet prints the summary at the end of every statement: a
		// statement without it was cut short.
		return sum, &billread.Error{File: name, Line: cr.Line(), Err: fmt.Errorf("%w: %w: no summary (交易总笔数,…) at the end", ErrBillFormat, billread.ErrTruncated)}
	}
	if err := checkSummary(cr, summaryHeader, next, s, &sum); err != nil {
		return sum, err
	}
	// after the summary only blank, comment or text lines may follow
	for {
		_, line, ok, err := next()
		if err != nil {
			return sum, err
		}
		if !ok {
			return sum, nil
		}
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") || !strings.Contains(t, ",") {
			continue
		}
		return sum, cr.Errorf("", "%w: data after the summary: %q", ErrBillFormat, clip(line))
	}
}

func get(vals []string, i int) string {
	if i < 0 || i >= len(vals) {
		return ""
	}
	return cell(vals[i])
}

func (c tradeCols) amount(vals []string, i int) (int64, error) {
	v, err := billYuan(get(vals, i))
	if err != nil {
		return 0, billread.Col(c.names[i], err)
	}
	return v, nil
}

// line maps one data row and adds it to s.
func (c tradeCols) line(vals []string, s *sums) (payrecon.BillLine, error) {
	var l payrecon.BillLine
	var err error
	amt := func(i int) int64 {
		if err != nil || i < 0 {
			return 0
		}
		var v int64
		v, err = c.amount(vals, i)
		return v
	}
	total, mchPromo, receivable, qqPromo, pay := amt(c.total), amt(c.mchPromo), amt(c.receivable), amt(c.qqPromo), amt(c.pay)
	refundAmt, refundQQPromo := amt(c.refundAmt), amt(c.refundQQPromo)
	if err != nil {
		return l, err
	}
	// The fee may be printed to more decimals (the WeChat v2 bills QQ
	// Wallet follows print 5): rounded to the fen, half away from zero.
	fee, rounded, ferr := billFee(get(vals, c.fee))
	if ferr != nil {
		return l, billread.Col(c.colName(c.fee, ColFee), ferr)
	}
	if rounded {
		s.feeRounded++
	}
	s.count++
	s.total += total
	s.mchPromo += mchPromo
	s.receivable += receivable
	s.qqPromo += qqPromo
	s.pay += pay
	s.refund += refundAmt
	s.refundQQPromo += refundQQPromo
	s.fee += fee

	if l.FinishedAt, err = BillTime(get(vals, c.time)); err != nil {
		return l, billread.Col(ColTime, err)
	}
	if l.FinishedAt.IsZero() {
		return l, billread.Col(ColTime, errors.New("empty"))
	}
	l.CreatedAt = l.FinishedAt
	l.MerchantOrderNo, l.ProviderTxnNo = get(vals, c.mchOrder), get(vals, c.txn)
	l.MerchantRefundNo, l.ProviderRefundNo = get(vals, c.mchRefund), get(vals, c.refund)
	l.Type = get(vals, c.status)
	l.Currency = currency(get(vals, c.currency))
	l.Product, l.Payload = get(vals, c.product), get(vals, c.payload)
	l.Fee = fee
	l.FeeStated = get(vals, c.fee) != "" // absent column and 暂无数据 state none
	if r := get(vals, c.rate); r != "" {
		if l.FeeRatePPM, err = payrecon.ParseRate(r); err != nil {
			return l, billread.Col(c.names[c.rate], err)
		}
	}
	l.Status = payrecon.StatusSuccess
	payment := func() {
		l.Kind = payrecon.KindPayment
		s.payTotal += total
		l.Amount, l.PayerAmount, l.PromotionAmount = total, pay, mchPromo+qqPromo
		if get(vals, c.pay) == "" { // column absent or 暂无数据: derive it
			l.PayerAmount = total - mchPromo - qqPromo
		}
	}
	switch st := strings.ToUpper(l.Type); {
	case st == "支付成功" || st == "SUCCESS":
		payment()
	case st == "转入退款" || st == "REFUND" || st == "退款" || ((l.MerchantRefundNo != "" || l.ProviderRefundNo != "") && refundAmt != 0):
		l.Kind = payrecon.KindRefund
		if refundAmt < 0 {
			refundAmt = -refundAmt // some bills sign refunds; payrecon's are positive
		}
		if refundAmt == 0 {
			return l, billread.Col(c.colName(c.refundAmt, ColRefundAmount), errors.New("refund line without a refund amount"))
		}
		l.Amount, l.PromotionAmount = refundAmt, refundQQPromo
		l.PayerAmount = refundAmt - refundQQPromo
		if rs := get(vals, c.refundStatus); rs != "" {
			st, err := billRefundStatus(rs)
			if err != nil {
				return l, fmt.Errorf("column %s: %w", c.colName(c.refundStatus, ColRefundStatus), err)
			}
			l.Status = st
		}
		if l.CreatedAt, err = BillTime(get(vals, c.refundAt)); err != nil {
			return l, billread.Col(ColRefundAt, err)
		}
		done, err := BillTime(get(vals, c.refundDone))
		if err != nil {
			return l, billread.Col(ColRefundDone, err)
		}
		if !done.IsZero() {
			l.FinishedAt = done
		}
		if l.CreatedAt.IsZero() {
			l.CreatedAt = l.FinishedAt
		}
		if l.MerchantRefundNo == "" && l.ProviderRefundNo == "" {
			return l, billread.Col(c.colName(c.mchRefund, ColMerchantRefundNo), errors.New("refund line without a refund number"))
		}
	case total > 0 && !strings.Contains(st, "退款") && paidPhrase(st):
		// a paid order in other words (交易成功, 已支付 …: the statement's
		// words are not all published): filed as other, every such payment
		// would be missing from the bill.
		payment()
	default:
		l.Kind = payrecon.KindOther
		l.Amount = total
		if l.Amount == 0 {
			l.Amount = refundAmt
		}
	}
	return l, nil
}

func (c tradeCols) colName(i int, fallback string) string {
	if i < 0 {
		return fallback
	}
	return c.names[i]
}

// checkSummary reads the summary values line under summaryHeader and checks
// every total it knows against the lines.
func checkSummary(cr *billread.Reader, header []string, next func() ([]string, string, bool, error), s sums, sum *Summary) error {
	name := cr.File()
	var vals []string
	for {
		v, l, ok, err := next()
		if err != nil {
			return err
		}
		if !ok {
			return cr.Errorf("", "%w: %w: summary header without values", ErrBillFormat, billread.ErrTruncated)
		}
		if strings.TrimSpace(l) != "" {
			vals = v
			break
		}
	}
	lineNo := new(int)
	*lineNo = cr.Line()
	var err error
	if len(vals) < len(header) {
		return cr.Errorf("", "%w: summary values do not match the summary header", ErrBillFormat)
	}
	sum.HasSummary, sum.SummaryLineNo = true, *lineNo
	type check struct {
		dst   *int64
		got   []int64 // what the lines add up to (any of them matches)
		count bool
		tol   int64 // fen either way (fees rounded per line)
	}
	checks := map[string]check{
		"交易总笔数":       {&sum.Count, []int64{s.count}, true, 0},
		"总交易单数":       {&sum.Count, []int64{s.count}, true, 0},
		"订单总金额":       {&sum.OrderAmount, []int64{s.total, s.payTotal}, false, 0}, // all rows, or the payments only [?]
		"商户优惠总金额":     {&sum.MerchantPromo, []int64{s.mchPromo}, false, 0},
		"商户应收总金额":     {&sum.Receivable, []int64{s.receivable}, false, 0},
		"QQ钱包优惠总金额":   {&sum.QQPromo, []int64{s.qqPromo}, false, 0},
		"用户支付总金额":     {&sum.PayerAmount, []int64{s.pay}, false, 0},
		"退款总金额":       {&sum.Refund, []int64{s.refund, -s.refund}, false, 0},
		"退还QQ钱包优惠总金额": {&sum.RefundQQPromo, []int64{s.refundQQPromo, -s.refundQQPromo}, false, 0},
		"手续费总金额":      {&sum.Fee, []int64{s.fee}, false, s.feeRounded},
	}
	for i, h := range header {
		hn := headerName(h)
		ck, ok := checks[hn]
		if !ok {
			continue
		}
		raw := cell(vals[i])
		var v int64
		switch {
		case ck.count:
			v, err = strconv.ParseInt(raw, 10, 64)
		case ck.tol > 0:
			v, _, err = billFee(raw)
		default:
			v, err = billYuan(raw)
		}
		if err != nil {
			return &billread.Error{File: name, Line: *lineNo, Column: strings.TrimSpace(h), Err: fmt.Errorf("%w: %v", ErrBillFormat, err)}
		}
		*ck.dst = v
		match := false
		for _, g := range ck.got {
			match = match || (v >= g-ck.tol && v <= g+ck.tol)
		}
		if !match {
			say, got := payrecon.FormatYuan(v), payrecon.FormatYuan(ck.got[0])
			if ck.count {
				say, got = strconv.FormatInt(v, 10), strconv.FormatInt(ck.got[0], 10)
			}
			return &billread.Error{File: name, Line: *lineNo, Column: strings.TrimSpace(h), Err: fmt.Errorf("%w: %s says %s, the lines add up to %s", ErrSummaryMismatch, strings.TrimSpace(h), say, got)}
		}
	}
	return nil
}
