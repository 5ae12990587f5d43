package huawei

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/billread"
)

// Bill column names (trade bill §4.2, settlement bill §4.3). Headers are
// matched by name after trimming and folding full-width parentheses.
const (
	ColMercNo       = "商户号"
	ColCreated      = "交易创建时间"
	ColFinished     = "交易完成时间"
	ColSysNo        = "系统交易订单号"
	ColMercOrderNo  = "商户订单号"
	ColStatus       = "交易状态"
	ColType         = "交易类型"
	ColProduct      = "产品名称"
	ColCurrency     = "交易币种"
	ColPaid         = "交易金额(元)"
	ColOrderAmount  = "订单金额(元)"
	ColPromotion    = "优惠金额(元)"
	ColFee          = "手续费金额(元)"
	ColOrigSysNo    = "原系统交易订单号"
	ColOrigMercNo   = "原商户订单号"
	ColPayload      = "商户预留信息"
	ColSettleAmount = "结算金额(元)"
)

// Transaction types (交易类型) payrecon reconciles. 商户收单 is listed in
// both bills' type lists (§4.2, §4.3) for orders paid through Huawei Pay:
// a payment like 收单 (the row keeps its own Type text).
const (
	TypePayment         = "收单"
	TypeMerchantPayment = "商户收单"
	TypeRefund          = "退款"
)

// BillDownload is billDownloadParam of the downloadInfo response.
type BillDownload struct {
	Headers     map[string]string `json:"headers"`
	Method      string            `json:"method"`
	DownloadURL string            `json:"downloadUrl"`
}

type billInfoResponse struct {
	BillDownloadParam *BillDownload `json:"billDownloadParam"`
}

// Bill downloads and parses the trade (BillTrade) or settlement
// (BillSettlement) bill of day: downloadInfo, then the zip from the
// returned URL with the returned headers replayed, then every .csv inside.
// An absent billDownloadParam (or a day that has not ended) is
// ErrBillNotReady. Lines stream to fn as they are parsed; the zip is kept
// in a temporary file, never in memory.
func (c *Client) Bill(ctx context.Context, day payrecon.Day, kind payrecon.BillKind, fn func(payrecon.BillLine) error) (payrecon.BillFile, error) {
	file := payrecon.BillFile{Account: c.account, Day: day, Kind: kind}
	var p string
	var parse func(io.Reader, string, func(payrecon.BillLine) error) error
	switch kind {
	case payrecon.BillTrade:
		p, parse = c.path(pathTradeBillInfo, pathTradeBillInfoP), ParseTradeBill
	case payrecon.BillSettlement:
		p, parse = c.path(pathSettleBillInfo, pathSettleBillInfoP), ParseSettlementBill
	default:
		return file, fmt.Errorf("huawei bill %s: %w", kind, payrecon.ErrNotSupported)
	}
	if day >= payrecon.DayOf(c.now()) {
		return file, fmt.Errorf("huawei %s bill %s: day has not ended: %w", kind, day, payrecon.ErrBillNotReady)
	}
	q := url.Values{"billDate": {day.Compact()}}
	if c.partner() && c.cfg.SubMercNo != "" {
		q.Set("subMercNo", c.cfg.SubMercNo)
	}
	var info billInfoResponse
	err := c.call(ctx, "GET", p, q, nil, &info)
	var pe *payrecon.ProviderError
	switch {
	case errors.As(err, &pe) && pe.SubCode == "NOT_SETTLEMENT_DATE" && kind == payrecon.BillSettlement:
		// No settlement on that day: not an empty bill (a settlement of 0
		// set against the day's trade net would be a false mismatch) but
		// nothing to compare.
		return file, fmt.Errorf("huawei settlement bill %s: no settlement on that day (NOT_SETTLEMENT_DATE): %w: %w", day, payrecon.ErrNotSupported, err)
	case errors.As(err, &pe) && pe.SubCode == "BILL_SWITCH_NOT_TURN_ON":
		return file, fmt.Errorf("huawei settlement bill: turn on 结算单接口获取开关 in the merchant portal: %w: %w", payrecon.ErrNotSupported, err)
	case err != nil:
		return file, err
	case info.BillDownloadParam == nil || info.BillDownloadParam.DownloadURL == "":
		return file, fmt.Errorf("huawei %s bill %s: no billDownloadParam: %w", kind, day, payrecon.ErrBillNotReady)
	}
	tmp, sum, err := c.download(ctx, *info.BillDownloadParam)
	if err != nil {
		return file, fmt.Errorf("huawei %s bill %s: %w", kind, day, err)
	}
	defer os.Remove(tmp)
	file.SHA256 = sum
	zf, err := os.Open(tmp)
	if err != nil {
		return file, fmt.Errorf("huawei %s bill %s: %w", kind, day, err)
	}
	defer zf.Close()
	st, err := zf.Stat()
	if err != nil {
		return file, fmt.Errorf("huawei %s bill %s: %w", kind, day, err)
	}
	zr, err := billread.OpenZip(zf, st.Size(), fmt.Sprintf("huawei_%s_%s.zip", kind, day.Compact()), BillLimits)
	if err != nil {
		return file, fmt.Errorf("huawei %s bill %s: %w", kind, day, err)
	}
	var names []string
	for _, e := range zr.Entries {
		if !strings.EqualFold(path.Ext(e.Name), ".csv") {
			continue
		}
		names = append(names, e.Name)
		rc, err := zr.Open(e)
		if err != nil {
			return file, fmt.Errorf("huawei %s bill %s: %w", kind, day, err)
		}
		err = parse(rc, e.Name, func(l payrecon.BillLine) error {
			l.Account, l.Day, l.Bill = c.account, day, kind
			file.Lines++
			return fn(l)
		})
		if err == nil {
			// the rest of the entry (nothing, normally) so that its CRC is checked
			if _, err = io.Copy(io.Discard, rc); err != nil {
				err = billread.Errorf(e.Name, 0, "", err)
			}
		}
		rc.Close()
		if err != nil {
			return file, fmt.Errorf("huawei %s bill %s: %w", kind, day, err)
		}
	}
	if len(names) == 0 {
		return file, fmt.Errorf("huawei %s bill %s: zip holds no .csv file", kind, day)
	}
	sort.Strings(names)
	file.Name = strings.Join(names, ",")
	return file, nil
}

// BillLimits bound what a Huawei bill zip may make the reader do; zero
// fields are billread's defaults.
var BillLimits billread.Limits

// download fetches the bill zip into a temporary file and returns its path
// and SHA-256. The presigned headers are replayed verbatim except Host,
// which Go's client takes from the URL.
func (c *Client) download(ctx context.Context, d BillDownload) (string, string, error) {
	method := strings.ToUpper(d.Method)
	if method == "" {
		method = http.MethodGet
	}
	// Presigned by Huawei (the headers replayed are its, not the
	// merchant's credentials): https anywhere, http on loopback.
	if _, err := billread.DownloadURL(d.DownloadURL, c.cfg.BaseURL, false); err != nil {
		return "", "", fmt.Errorf("download: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.DownloadURL, nil)
	if err != nil {
		return "", "", fmt.Errorf("download: %w", err)
	}
	for k, v := range d.Headers {
		if strings.EqualFold(k, "Host") {
			continue
		}
		req.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	// the bill may be large: no client-wide timeout, the context bounds it
	hc := *c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return "", "", transientErr("download bill", err.Error())
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		pe := &payrecon.ProviderError{Provider: Name, Code: fmt.Sprintf("HTTP %d", resp.StatusCode), Message: "bill download: " + strings.TrimSpace(string(b)), Transient: resp.StatusCode >= 500}
		return "", "", fmt.Errorf("download bill: %w", pe)
	}
	f, err := os.CreateTemp("", "payrecon-huawei-bill-*.zip")
	if err != nil {
		return "", "", fmt.Errorf("download bill: %w", err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", "", transientErr("download bill", err.Error())
	}
	return f.Name(), hex.EncodeToString(h.Sum(nil)), nil
}

// ParseTradeBill parses one trade bill CSV (UTF-8 with or without BOM, or
// GBK) by header name and calls fn for every data row, in order, in constant
// memory. 收单 and 商户收单 rows are payments, 退款 rows refunds (refund ids
// in 系统交易订单号/商户订单号, the payment's in 原系统交易订单号/原商户订单号),
// other 交易类型 rows KindOther. Payment and refund amounts are positive
// fen whatever sign the file prints (fees keep their sign); KindOther
// amounts keep the printed sign (an outgoing 分账 printed -5.00 is -500:
// the run adds KindOther amounts to the trade net as listed). Blank rows are skipped; a 合计 row's
// 总笔数 / 总金额, where printed, must match the rows before it (see
// checkSummary). The file is read by billread: any malformed row is a
// *billread.Error naming name, line and column.
func ParseTradeBill(r io.Reader, name string, fn func(payrecon.BillLine) error) error {
	return parseBill(r, name, payrecon.BillTrade, fn)
}

// ParseSettlementBill parses one settlement bill CSV like ParseTradeBill;
// 结算金额(元) goes to Settlement by the trade bill's convention: negative on
// 退款 rows and positive on 收单 / 商户收单 rows whatever sign the file
// prints, as printed on other rows (冻结, 解冻, 分账…).
func ParseSettlementBill(r io.Reader, name string, fn func(payrecon.BillLine) error) error {
	return parseBill(r, name, payrecon.BillSettlement, fn)
}

var billTimeLayouts = []string{"2006-01-02 15:04:05", "2006/01/02 15:04:05", "2006/01/02 15:04", "2006-01-02 15:04", "2006/1/2 15:04:05", "2006/1/2 15:04", "20060102150405", "20060102"}

func parseBillTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, ok := payrecon.ParseWallTime(s); ok {
		return t, nil
	}
	for _, l := range billTimeLayouts {
		if len(l) != len(s) && !strings.Contains(l, "/1/") {
			continue
		}
		if t, err := time.ParseInLocation(l, s, payrecon.Shanghai); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want yyyy-MM-dd HH:mm:ss or yyyy/MM/dd HH:mm[:ss]", s)
}

func normHeader(s string) string {
	s = cleanCell(s)
	s = strings.NewReplacer("（", "(", "）", ")", " ", "", "\u3000", "").Replace(s)
	return s
}

// cleanCell trims spaces, tabs and the backtick / "=" guards spreadsheets use.
func cleanCell(s string) string {
	if s == "" {
		return s
	}
	if cleanEnds(s) {
		return s // the common case: nothing to trim
	}
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "\ufeff")
	s = strings.TrimLeft(s, "`\t")
	if strings.HasPrefix(s, `="`) && strings.HasSuffix(s, `"`) && len(s) >= 3 {
		s = s[2 : len(s)-1]
	}
	return strings.TrimSpace(s)
}

// cleanEnds reports whether cleanCell would return s (non-empty) as is: its
// first rune is no space, BOM, backtick or "=", its last rune no space.
func cleanEnds(s string) bool {
	if first := s[0]; first < utf8.RuneSelf {
		if first <= ' ' || first == '`' || first == '=' {
			return false
		}
	} else if r, _ := utf8.DecodeRuneInString(s); r == '\ufeff' || unicode.IsSpace(r) {
		return false
	}
	if last := s[len(s)-1]; last < utf8.RuneSelf {
		return last > ' '
	}
	r, _ := utf8.DecodeLastRuneInString(s)
	return !unicode.IsSpace(r)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func looksLikeSummary(rec []string) bool {
	for _, c := range rec {
		c = cleanCell(c)
		if c == "" {
			continue
		}
		for _, p := range []string{"总", "合计", "#", "汇总", "小计", "共计"} {
			if strings.HasPrefix(c, p) {
				return true
			}
		}
		return false
	}
	return false
}

// column ids of the columns the parser reads (positions found once per file)
const (
	cSysNo = iota
	cMercOrderNo
	cType
	cStatus
	cOrderAmount
	cPaid
	cPromotion
	cFee
	cSettleAmount
	cOrigSysNo
	cOrigMercNo
	cCreated
	cFinished
	cCurrency
	cProduct
	cPayload
	nCols
)

var colNames = [nCols]string{ColSysNo, ColMercOrderNo, ColType, ColStatus, ColOrderAmount, ColPaid, ColPromotion, ColFee, ColSettleAmount, ColOrigSysNo, ColOrigMercNo, ColCreated, ColFinished, ColCurrency, ColProduct, ColPayload}

type billCols struct {
	pos [nCols]int // -1 when the file lacks the column
}

func newBillCols(idx map[string]int) billCols {
	var c billCols
	for id, name := range colNames {
		c.pos[id] = -1
		if i, ok := idx[name]; ok {
			c.pos[id] = i
		}
	}
	return c
}

func (c *billCols) get(rec []string, id int) string {
	i := c.pos[id]
	if i < 0 || i >= len(rec) {
		return ""
	}
	return cleanCell(rec[i])
}

// ReadOptions is how Huawei bills are read: UTF-8 (with or without BOM) or
// GBK, decided by the file and held over the whole file; CSV quoting.
var ReadOptions = billread.Options{Encoding: billread.Auto, Split: billread.SplitCSV}

func parseBill(r io.Reader, name string, kind payrecon.BillKind, fn func(payrecon.BillLine) error) error {
	cr := billread.NewReader(r, name, ReadOptions)
	var cols billCols
	header := false
	width := 0
	var count int64    // rows delivered
	var printed totals // the printed amounts they add up to
	var sum *summaryRow
	trailer := 0        // the first row taken as a trailer (summary or not)
	afterLabel := false // the previous row was a summary row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		line := cr.Line()
		if !header {
			idx := map[string]int{}
			for i, h := range rec {
				h = normHeader(h)
				if _, dup := idx[h]; !dup && h != "" {
					idx[h] = i
				}
			}
			if _, ok := idx[ColSysNo]; !ok {
				if line > 20 {
					return cr.Errorf("", "%w: no header row with %s in the first 20 lines", billread.ErrFormat, ColSysNo)
				}
				continue // title rows before the header
			}
			for _, need := range []string{ColMercOrderNo, ColType} {
				if _, ok := idx[need]; !ok {
					return cr.Errorf(need, "%w: the header lacks the column", billread.ErrFormat)
				}
			}
			_, hasOrder := idx[ColOrderAmount]
			_, hasPaid := idx[ColPaid]
			_, hasSettle := idx[ColSettleAmount]
			if !hasOrder && !hasPaid && !hasSettle {
				return cr.Errorf(ColOrderAmount, "%w: the header lacks an amount column (%s / %s)", billread.ErrFormat, ColOrderAmount, ColPaid)
			}
			cols = newBillCols(idx)
			cr.SetHeader(rec)
			width = len(rec)
			header = true
			continue
		}
		blank := true
		for _, c := range rec {
			if cleanCell(c) != "" {
				blank = false
				break
			}
		}
		if blank {
			continue
		}
		sys := cols.get(rec, cSysNo)
		// Summary rows are not documented ([?]): a row that says it is one
		// (总…, 合计 …) is checked where it states a count or total; after
		// one, or once data rows were read, a row of another width without a
		// system order number (a values row under a label row, 下载时间 …)
		// is a trailer too and skipped. A data row of the wrong width is
		// still refused.
		// (a values row under a summary label row may start with a count)
		summaryish := looksLikeSummary(rec)
		if (!isDigits(sys) || afterLabel) && (summaryish || len(rec) != width) {
			if err := checkSummary(cr, rec, kind, count, printed, &sum); err != nil {
				return err
			}
			if !summaryish && trailer == 0 {
				trailer = cr.Line()
			}
			afterLabel = summaryish
			continue
		}
		afterLabel = false
		if sum != nil {
			return cr.Errorf("", "%w: a data row after the summary row of line %d", billread.ErrFormat, sum.line)
		}
		if trailer != 0 {
			return cr.Errorf("", "%w: a data row after the trailer row of line %d (a row without a system order number and of another width)", billread.ErrFormat, trailer)
		}
		if err := cr.CheckWidth(rec, width); err != nil {
			return err
		}
		l, err := billLine(&cols, rec, kind)
		if err != nil {
			var ce *colError
			if errors.As(err, &ce) {
				return cr.Wrap(ce.col, ce.err)
			}
			return cr.Wrap("", err)
		}
		l.File, l.LineNo = name, line
		count++
		printed.net += l.printed
		if l.printed > 0 {
			printed.in += l.printed
		}
		if err := fn(l.BillLine); err != nil {
			return err
		}
	}
	if !header {
		return &billread.Error{File: name, Err: fmt.Errorf("%w: no header row (column %s)", billread.ErrFormat, ColSysNo)}
	}
	return nil
}

// totals are the printed amounts of the rows: all of them signed, and the
// positive ones.
type totals struct{ net, in int64 }

// summaryRow is a 合计 row whose count or total was checked: the bill's
// end (only blank and further summary rows may follow it).
type summaryRow struct{ line int }

var (
	reSummaryCount  = regexp.MustCompile(`^(?:交易)?总(?:交易)?笔数\s*[:：]\s*(\d+)$`)
	reSummaryAmount = regexp.MustCompile(`^(?:交易)?总(?:交易)?金额(?:\(元\))?\s*[:：]\s*(-?[0-9.,]+)$`)
)

// checkSummary checks a 合计 row's 总笔数:N (also 总交易笔数) and 总金额:X
// cells against the rows read before it: the count of data rows, and the
// sum of the amounts as printed (订单金额 on the trade bill, 结算金额 on the
// settlement bill; whether 总金额 nets refunds out or adds the positive rows
// only is not documented [?]: either is accepted). Huawei does not document
// its summary rows; cells that say neither are ignored.
func checkSummary(cr *billread.Reader, rec []string, kind payrecon.BillKind, count int64, printed totals, sum **summaryRow) error {
	checked := false
	defer func() {
		if checked && *sum == nil {
			*sum = &summaryRow{line: cr.Line()}
		}
	}()
	for _, c := range rec {
		c = cleanCell(c)
		if m := reSummaryCount.FindStringSubmatch(c); m != nil {
			checked = true
			n, err := strconv.ParseInt(m[1], 10, 64)
			if err != nil || n != count {
				return cr.Errorf("", "%w: the summary says %s rows, the bill has %d", billread.ErrSummary, m[1], count)
			}
		}
		if m := reSummaryAmount.FindStringSubmatch(c); m != nil {
			checked = true
			v, err := payrecon.ParseYuan(strings.ReplaceAll(m[1], ",", ""))
			if err != nil {
				return cr.Errorf("", "%w: summary %s: %v", billread.ErrFormat, c, err)
			}
			if v != printed.net && v != printed.in {
				return cr.Errorf("", "%w: the summary says 总金额 %s, the rows add up to %s", billread.ErrSummary, payrecon.FormatYuan(v), payrecon.FormatYuan(printed.net))
			}
		}
	}
	return nil
}

type colError struct {
	col string
	err error
}

func (e *colError) Error() string { return "column " + e.col + ": " + e.err.Error() }
func (e *colError) Unwrap() error { return e.err }

// parsedLine is a bill line and the amount its row prints in the column a
// summary row totals (订单金额, else 交易金额, on the trade bill; 结算金额 on
// the settlement bill), signed as printed.
type parsedLine struct {
	payrecon.BillLine
	printed int64
}

func billLine(cols *billCols, rec []string, kind payrecon.BillKind) (parsedLine, error) {
	var pl parsedLine
	l := &pl.BillLine
	l.Bill = kind
	amount := func(col int) (int64, bool, error) {
		s := cols.get(rec, col)
		if s == "" {
			return 0, false, nil
		}
		if strings.IndexByte(s, ',') >= 0 {
			s = strings.ReplaceAll(s, ",", "")
		}
		v, err := payrecon.ParseYuan(s)
		if err != nil {
			return 0, false, &colError{colNames[col], err}
		}
		return v, true, nil
	}
	abs := func(v int64) int64 {
		if v < 0 {
			return -v
		}
		return v
	}
	sys, merc := cols.get(rec, cSysNo), cols.get(rec, cMercOrderNo)
	if sys == "" {
		return pl, &colError{colNames[cSysNo], errors.New("empty")}
	}
	l.Type = cols.get(rec, cType)
	switch l.Type {
	case TypePayment, TypeMerchantPayment:
		l.Kind = payrecon.KindPayment
		l.ProviderTxnNo, l.MerchantOrderNo = sys, merc
	case TypeRefund:
		l.Kind = payrecon.KindRefund
		l.ProviderRefundNo, l.MerchantRefundNo = sys, merc
		l.ProviderTxnNo, l.MerchantOrderNo = cols.get(rec, cOrigSysNo), cols.get(rec, cOrigMercNo)
	case "":
		return pl, &colError{colNames[cType], errors.New("empty")}
	default:
		l.Kind = payrecon.KindOther
		l.ProviderTxnNo, l.MerchantOrderNo = sys, merc
	}
	switch st := cols.get(rec, cStatus); st {
	case "", "成功", "SUCCESS", "交易成功":
		l.Status = payrecon.StatusSuccess
	case "失败", "FAILED", "交易失败":
		l.Status = payrecon.StatusFailed
	default:
		return pl, &colError{colNames[cStatus], fmt.Errorf("unknown status %q", st)}
	}
	order, hasOrder, err := amount(cOrderAmount)
	if err != nil {
		return pl, err
	}
	paid, hasPaid, err := amount(cPaid)
	if err != nil {
		return pl, err
	}
	promo, _, err := amount(cPromotion)
	if err != nil {
		return pl, err
	}
	if l.Fee, l.FeeStated, err = amount(cFee); err != nil {
		return pl, err
	}
	settle, hasSettle, err := amount(cSettleAmount)
	if err != nil {
		return pl, err
	}
	// One sign convention with the trade bill: a 退款 row moves money out
	// and a 收单 / 商户收单 row in, whatever sign the file prints (the trade
	// parser reads both by 交易类型 too); other types keep the printed sign.
	switch l.Kind {
	case payrecon.KindRefund:
		l.Settlement = -abs(settle)
	case payrecon.KindPayment:
		l.Settlement = abs(settle)
	default:
		l.Settlement = settle
	}
	switch {
	case kind == payrecon.BillSettlement:
		pl.printed = settle
	case hasOrder:
		pl.printed = order
	default:
		pl.printed = paid
	}
	if !hasOrder && !hasPaid && !hasSettle {
		return pl, &colError{colNames[cOrderAmount], errors.New("empty")}
	}
	if l.Kind == payrecon.KindOther {
		// Not reconciled, added to the trade net as listed: every amount
		// keeps the sign the file prints (money out is negative).
		switch {
		case hasOrder:
			l.Amount = order
		case hasPaid:
			if l.Amount, err = addFen(paid, promo); err != nil {
				return pl, err
			}
		default:
			l.Amount = settle
		}
		l.PromotionAmount = promo
		if hasPaid {
			l.PayerAmount = paid
		} else if l.PayerAmount, err = addFen(l.Amount, -l.PromotionAmount); err != nil {
			return pl, err
		}
	} else {
		switch {
		case hasOrder:
			l.Amount = abs(order)
		case hasPaid:
			if l.Amount, err = addFen(abs(paid), abs(promo)); err != nil {
				return pl, err
			}
		default:
			l.Amount = abs(settle)
		}
		l.PromotionAmount = abs(promo)
		if hasPaid {
			l.PayerAmount = abs(paid)
		} else {
			l.PayerAmount = l.Amount - l.PromotionAmount
			if l.PayerAmount < 0 {
				return pl, &colError{colNames[cPromotion], errors.New("promotion exceeds the order amount")}
			}
		}
	}
	if l.CreatedAt, err = parseBillTime(cols.get(rec, cCreated)); err != nil {
		return pl, &colError{colNames[cCreated], err}
	}
	if l.FinishedAt, err = parseBillTime(cols.get(rec, cFinished)); err != nil {
		return pl, &colError{colNames[cFinished], err}
	}
	l.Currency = cols.get(rec, cCurrency)
	l.Product = cols.get(rec, cProduct)
	l.Payload = cols.get(rec, cPayload)
	return pl, nil
}

// addFen is a + b, refused when it overflows (amounts parse up to the
// int64 range, so a hostile pair could wrap around).
func addFen(a, b int64) (int64, error) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, &colError{colNames[cPromotion], errors.New("amount out of range")}
	}
	return a + b, nil
}
