package qqpay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/payrecon/payrecon"
)

// Errors the bill parser wraps.
var (
	// ErrBillFormat: the statement is not in a layout the parser knows.
	ErrBillFormat = errors.New("malformed qqpay bill")
	// ErrSummaryMismatch: the statement's summary disagrees with its lines.
	ErrSummaryMismatch = errors.New("bill summary disagrees with its lines")
)

// Placeholder is the text QQ Wallet prints in empty cells (read as "").
const Placeholder = "暂无数据"

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

// maxLine bounds one statement line; real lines are a few hundred bytes.
const maxLine = 1 << 20

// decodeBill wraps r in the statement's decoder: UTF-8 (BOM dropped) or
// GB18030 (a superset of GBK). auto looks at what it can peek of the start
// of the file: valid UTF-8 stays UTF-8, anything else is read as GB18030.
func decodeBill(r io.Reader, encoding string) (io.Reader, string, error) {
	br := bufio.NewReaderSize(r, 16<<10)
	switch strings.ToLower(encoding) {
	case EncodingUTF8, "utf8":
		return br, EncodingUTF8, nil
	case EncodingGBK, "gb18030":
		return transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), EncodingGBK, nil
	}
	head, err := br.Peek(16 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, "", err
	}
	if !errors.Is(err, io.EOF) {
		// cut at the last line end so that no rune is split
		if i := bytes.LastIndexByte(head, '\n'); i >= 0 {
			head = head[:i]
		} else {
			// no line end in the window: drop a rune cut at its end
			start := len(head) - 1
			for start > 0 && start > len(head)-utf8.UTFMax && !utf8.RuneStart(head[start]) {
				start--
			}
			if start >= 0 && !utf8.FullRune(head[start:]) {
				head = head[:start]
			}
		}
	}
	if utf8.Valid(head) {
		return br, EncodingUTF8, nil
	}
	return transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), EncodingGBK, nil
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

// splitCSV splits one line on commas; a cell may be double-quoted (a comma
// inside a quoted product name stays in its cell, "" is a quote).
func splitCSV(line string, dst []string) ([]string, error) {
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
	for {
		s := strings.TrimLeft(line, " ")
		if strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "`\"") {
			pre := ""
			if s[0] == '`' {
				pre, s = "`", s[1:]
			}
			var b strings.Builder
			b.WriteString(pre)
			i := 1
			for {
				j := strings.IndexByte(s[i:], '"')
				if j < 0 {
					return nil, errors.New("unterminated quoted cell")
				}
				b.WriteString(s[i : i+j])
				i += j + 1
				if i < len(s) && s[i] == '"' {
					b.WriteByte('"')
					i++
					continue
				}
				break
			}
			dst = append(dst, b.String())
			rest := strings.TrimLeft(s[i:], " ")
			if rest == "" {
				return dst, nil
			}
			if rest[0] != ',' {
				return nil, errors.New("text after a quoted cell")
			}
			line = rest[1:]
			continue
		}
		i := strings.IndexByte(line, ',')
		if i < 0 {
			return append(dst, line), nil
		}
		dst = append(dst, line[:i])
		line = line[i+1:]
	}
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
	get := func(alias ...string) int {
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
		time:          get("交易时间"),
		mchOrder:      get("商户订单号"),
		txn:           get("QQ钱包订单号", "QQ钱包交易单号"),
		currency:      get("货币种类"),
		total:         get("订单金额", "总金额"),
		mchPromo:      get("商户优惠金额"),
		receivable:    get("商户应收金额"),
		qqPromo:       get("QQ钱包优惠金额"),
		pay:           get("用户支付金额"),
		status:        get("交易状态"),
		refundAt:      get("退款提交时间", "退款申请时间"),
		mchRefund:     get("商户退款订单号", "商户退款单号"),
		refund:        get("QQ钱包退款订单号", "QQ钱包退款单号"),
		refundAmt:     get("退款金额"),
		refundQQPromo: get("退还QQ钱包优惠金额"),
		refundStatus:  get("退款状态"),
		refundDone:    get("退款成功时间"),
		product:       get("商品名称"),
		payload:       get("商户数据包"),
		fee:           get("手续费金额", "手续费"),
		rate:          get("费率"),
	}
	var missing []string
	for _, r := range []struct {
		i    int
		name string
	}{{c.time, "交易时间"}, {c.mchOrder, "商户订单号"}, {c.txn, "QQ钱包订单号"}, {c.total, "订单金额(元)"}, {c.status, "交易状态"}} {
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
// the end are checked against the lines. Payments are 支付成功 / SUCCESS
// rows, refunds 转入退款 / REFUND rows (or any row with a refund number);
// other rows (已撤销 …) are KindOther with their status as Type. A bad cell
// is an error naming the file, line and column. Memory does not grow with
// the file.
func ParseTradeBillEncoding(r io.Reader, name, encoding string, fn func(payrecon.BillLine) error) (Summary, error) {
	var sum Summary
	dr, enc, err := decodeBill(r, encoding)
	if err != nil {
		return sum, fmt.Errorf("read %s: %w", name, err)
	}
	sum.DetectedFormat = enc
	sc := bufio.NewScanner(dr)
	sc.Buffer(make([]byte, 0, 16<<10), maxLine)
	lineNo := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		lineNo++
		b := sc.Bytes()
		if lineNo == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		return string(bytes.TrimSuffix(b, []byte("\r"))), true
	}
	scanErr := func() error {
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read %s after line %d: %w", name, lineNo, err)
		}
		return nil
	}

	// header
	var cols tradeCols
	var vals []string
	for {
		line, ok := next()
		if !ok {
			if err := scanErr(); err != nil {
				return sum, err
			}
			return sum, fmt.Errorf("%s: %w: no header line (交易时间,…)", name, ErrBillFormat)
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if vals, err = splitCSV(line, vals); err != nil {
			return sum, fmt.Errorf("%s line %d: %w: %v", name, lineNo, ErrBillFormat, err)
		}
		if headerName(vals[0]) == "交易时间" || (len(vals) > 1 && strings.Contains(line, "交易时间") && strings.Contains(line, "商户订单号")) {
			if cols, err = newTradeCols(vals); err != nil {
				return sum, fmt.Errorf("%s line %d: %w", name, lineNo, err)
			}
			sum.HeaderLineNo = lineNo
			break
		}
		if !strings.Contains(line, ",") || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue // a title or comment line: clearly not data
		}
		return sum, fmt.Errorf("%s line %d: %w: expected the header line (交易时间,…), got %q", name, lineNo, ErrBillFormat, clip(line))
	}

	// data lines, then the summary
	var s sums
	var summaryHeader []string
	for {
		line, ok := next()
		if !ok {
			if err := scanErr(); err != nil {
				return sum, err
			}
			break
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if vals, err = splitCSV(line, vals); err != nil {
			return sum, fmt.Errorf("%s line %d: %w: %v", name, lineNo, ErrBillFormat, err)
		}
		if isSummaryHeader(vals[0]) {
			summaryHeader = append([]string(nil), vals...)
			break
		}
		if len(vals) == cols.n+1 && strings.TrimSpace(vals[cols.n]) == "" {
			vals = vals[:cols.n] // a trailing comma
		}
		if len(vals) != cols.n {
			return sum, fmt.Errorf("%s line %d: %w: %d columns, the header has %d", name, lineNo, ErrBillFormat, len(vals), cols.n)
		}
		bl, err := cols.line(vals, &s)
		if err != nil {
			return sum, fmt.Errorf("%s line %d %w", name, lineNo, err)
		}
		bl.File, bl.LineNo = name, lineNo
		sum.Lines++
		if err := fn(bl); err != nil {
			return sum, err
		}
	}
	if summaryHeader == nil {
		return sum, nil // no summary printed: nothing to check
	}
	if err := checkSummary(name, summaryHeader, next, &lineNo, s, &sum); err != nil {
		return sum, err
	}
	// after the summary only blank, comment or text lines may follow
	for {
		line, ok := next()
		if !ok {
			return sum, scanErr()
		}
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") || !strings.Contains(t, ",") {
			continue
		}
		return sum, fmt.Errorf("%s line %d: %w: data after the summary: %q", name, lineNo, ErrBillFormat, clip(line))
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
		return 0, fmt.Errorf("column %s: %w", c.names[i], err)
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
	refundAmt, refundQQPromo, fee := amt(c.refundAmt), amt(c.refundQQPromo), amt(c.fee)
	if err != nil {
		return l, err
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
		return l, fmt.Errorf("column 交易时间: %w", err)
	}
	if l.FinishedAt.IsZero() {
		return l, errors.New("column 交易时间: empty")
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
			return l, fmt.Errorf("column %s: %w", c.names[c.rate], err)
		}
	}
	l.Status = payrecon.StatusSuccess
	switch st := strings.ToUpper(l.Type); {
	case st == "支付成功" || st == "SUCCESS":
		l.Kind = payrecon.KindPayment
		s.payTotal += total
		l.Amount, l.PayerAmount, l.PromotionAmount = total, pay, mchPromo+qqPromo
		if get(vals, c.pay) == "" { // column absent or 暂无数据: derive it
			l.PayerAmount = total - mchPromo - qqPromo
		}
	case st == "转入退款" || st == "REFUND" || st == "退款" || ((l.MerchantRefundNo != "" || l.ProviderRefundNo != "") && refundAmt != 0):
		l.Kind = payrecon.KindRefund
		if refundAmt < 0 {
			refundAmt = -refundAmt // some bills sign refunds; payrecon's are positive
		}
		if refundAmt == 0 {
			return l, fmt.Errorf("column %s: refund line without a refund amount", c.colName(c.refundAmt, "退款金额(元)"))
		}
		l.Amount, l.PromotionAmount = refundAmt, refundQQPromo
		l.PayerAmount = refundAmt - refundQQPromo
		if rs := get(vals, c.refundStatus); rs != "" {
			l.Status = RefundStatus(rs)
		}
		if l.CreatedAt, err = BillTime(get(vals, c.refundAt)); err != nil {
			return l, fmt.Errorf("column 退款提交时间: %w", err)
		}
		done, err := BillTime(get(vals, c.refundDone))
		if err != nil {
			return l, fmt.Errorf("column 退款成功时间: %w", err)
		}
		if !done.IsZero() {
			l.FinishedAt = done
		}
		if l.CreatedAt.IsZero() {
			l.CreatedAt = l.FinishedAt
		}
		if l.MerchantRefundNo == "" && l.ProviderRefundNo == "" {
			return l, fmt.Errorf("column %s: refund line without a refund number", c.colName(c.mchRefund, "商户退款订单号"))
		}
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
func checkSummary(name string, header []string, next func() (string, bool), lineNo *int, s sums, sum *Summary) error {
	var line string
	for {
		l, ok := next()
		if !ok {
			return fmt.Errorf("%s line %d: %w: summary header without values", name, *lineNo, ErrBillFormat)
		}
		if strings.TrimSpace(l) != "" {
			line = l
			break
		}
	}
	vals, err := splitCSV(line, nil)
	if err != nil || len(vals) < len(header) {
		return fmt.Errorf("%s line %d: %w: summary values do not match the summary header", name, *lineNo, ErrBillFormat)
	}
	sum.HasSummary, sum.SummaryLineNo = true, *lineNo
	type check struct {
		dst   *int64
		got   []int64 // what the lines add up to (any of them matches)
		count bool
	}
	checks := map[string]check{
		"交易总笔数":       {&sum.Count, []int64{s.count}, true},
		"总交易单数":       {&sum.Count, []int64{s.count}, true},
		"订单总金额":       {&sum.OrderAmount, []int64{s.total, s.payTotal}, false}, // all rows, or the payments only [?]
		"商户优惠总金额":     {&sum.MerchantPromo, []int64{s.mchPromo}, false},
		"商户应收总金额":     {&sum.Receivable, []int64{s.receivable}, false},
		"QQ钱包优惠总金额":   {&sum.QQPromo, []int64{s.qqPromo}, false},
		"用户支付总金额":     {&sum.PayerAmount, []int64{s.pay}, false},
		"退款总金额":       {&sum.Refund, []int64{s.refund, -s.refund}, false},
		"退还QQ钱包优惠总金额": {&sum.RefundQQPromo, []int64{s.refundQQPromo, -s.refundQQPromo}, false},
		"手续费总金额":      {&sum.Fee, []int64{s.fee}, false},
	}
	for i, h := range header {
		hn := headerName(h)
		ck, ok := checks[hn]
		if !ok {
			continue
		}
		raw := cell(vals[i])
		var v int64
		if ck.count {
			v, err = strconv.ParseInt(raw, 10, 64)
		} else {
			v, err = billYuan(raw)
		}
		if err != nil {
			return fmt.Errorf("%s line %d column %s: %w: %v", name, *lineNo, strings.TrimSpace(h), ErrBillFormat, err)
		}
		*ck.dst = v
		match := false
		for _, g := range ck.got {
			match = match || g == v
		}
		if !match {
			say, got := payrecon.FormatYuan(v), payrecon.FormatYuan(ck.got[0])
			if ck.count {
				say, got = strconv.FormatInt(v, 10), strconv.FormatInt(ck.got[0], 10)
			}
			return fmt.Errorf("%s line %d: %w: %s says %s, the lines add up to %s", name, *lineNo, ErrSummaryMismatch, strings.TrimSpace(h), say, got)
		}
	}
	return nil
}
