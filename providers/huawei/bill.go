package huawei

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/payrecon/payrecon"
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

// Transaction types (交易类型) payrecon reconciles.
const (
	TypePayment = "收单"
	TypeRefund  = "退款"
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
	case errors.As(err, &pe) && pe.SubCode == "NOT_SETTLEMENT_DATE":
		return file, nil // no settlement that day: an empty bill
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
	zr, err := zip.OpenReader(tmp)
	if err != nil {
		return file, fmt.Errorf("huawei %s bill %s: open zip: %w", kind, day, err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !strings.EqualFold(path.Ext(f.Name), ".csv") {
			continue
		}
		names = append(names, f.Name)
		rc, err := f.Open()
		if err != nil {
			return file, fmt.Errorf("huawei %s bill %s: open %s: %w", kind, day, f.Name, err)
		}
		err = parse(rc, f.Name, func(l payrecon.BillLine) error {
			l.Account, l.Day, l.Bill = c.account, day, kind
			file.Lines++
			return fn(l)
		})
		rc.Close()
		if err != nil {
			return file, err
		}
	}
	if len(names) == 0 {
		return file, fmt.Errorf("huawei %s bill %s: zip holds no .csv file", kind, day)
	}
	sort.Strings(names)
	file.Name = strings.Join(names, ",")
	return file, nil
}

// download fetches the bill zip into a temporary file and returns its path
// and SHA-256. The presigned headers are replayed verbatim except Host,
// which Go's client takes from the URL.
func (c *Client) download(ctx context.Context, d BillDownload) (string, string, error) {
	method := strings.ToUpper(d.Method)
	if method == "" {
		method = http.MethodGet
	}
	u, err := url.Parse(d.DownloadURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", "", fmt.Errorf("download url %q is not http(s)", d.DownloadURL)
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
// memory. 收单 rows are payments, 退款 rows refunds (refund ids in
// 系统交易订单号/商户订单号, the payment's in 原系统交易订单号/原商户订单号), other
// 交易类型 rows KindOther. Amounts are positive fen whatever sign the file
// prints (fees keep their sign). Blank and summary rows are skipped; any
// other malformed row is an error naming name, line and column.
func ParseTradeBill(r io.Reader, name string, fn func(payrecon.BillLine) error) error {
	return parseBill(r, name, payrecon.BillTrade, fn)
}

// ParseSettlementBill parses one settlement bill CSV like ParseTradeBill;
// 结算金额(元) goes to Settlement, signed as printed.
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

// decodeBill returns a UTF-8 reader: BOM stripped; GB18030 (a GBK
// superset) decoded when the first non-blank line is not valid UTF-8.
func decodeBill(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, billBufSize)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
		return br, nil
	}
	// Peek up to the first non-blank line (bounded).
	for n := 512; ; n *= 2 {
		b, err := br.Peek(n)
		s := bytes.TrimLeft(b, "\r\n \t")
		if i := bytes.IndexByte(s, '\n'); i >= 0 || err != nil || n >= 64<<10 {
			line := s
			if i >= 0 {
				line = s[:i]
			}
			if !utf8.Valid(line) && !(err == nil && i < 0 && validUTF8Prefix(line)) {
				return transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), nil
			}
			return br, nil
		}
	}
}

// validUTF8Prefix tolerates a multi-byte rune cut at the end of a peek.
func validUTF8Prefix(b []byte) bool {
	for i := 0; i < 3 && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return true
		}
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
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

func parseBill(r io.Reader, name string, kind payrecon.BillKind, fn func(payrecon.BillLine) error) error {
	what := "trade bill"
	if kind == payrecon.BillSettlement {
		what = "settlement bill"
	}
	dr, err := decodeBill(r)
	if err != nil {
		return fmt.Errorf("parse %s %s: %w", what, name, err)
	}
	cr := newBillReader(dr)
	var cols billCols
	header := false
	for {
		rec, line, err := cr.read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("parse %s %s line %d: %w", what, name, line, err)
		}
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
					return fmt.Errorf("parse %s %s: no header row with %s in the first 20 lines", what, name, ColSysNo)
				}
				continue // title rows before the header
			}
			for _, need := range []string{ColMercOrderNo, ColType} {
				if _, ok := idx[need]; !ok {
					return fmt.Errorf("parse %s %s line %d: header lacks column %s", what, name, line, need)
				}
			}
			_, hasOrder := idx[ColOrderAmount]
			_, hasPaid := idx[ColPaid]
			_, hasSettle := idx[ColSettleAmount]
			if !hasOrder && !hasPaid && !hasSettle {
				return fmt.Errorf("parse %s %s line %d: header lacks an amount column (%s / %s)", what, name, line, ColOrderAmount, ColPaid)
			}
			cols = newBillCols(idx)
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
		if !isDigits(sys) && looksLikeSummary(rec) {
			continue
		}
		l, err := billLine(&cols, rec, kind)
		if err != nil {
			return fmt.Errorf("parse %s %s line %d %w", what, name, line, err)
		}
		l.File, l.LineNo = name, line
		if err := fn(l); err != nil {
			return err
		}
	}
	if !header {
		return fmt.Errorf("parse %s %s: no header row (column %s)", what, name, ColSysNo)
	}
	return nil
}

type colError struct {
	col string
	err error
}

func (e *colError) Error() string { return "column " + e.col + ": " + e.err.Error() }
func (e *colError) Unwrap() error { return e.err }

func billLine(cols *billCols, rec []string, kind payrecon.BillKind) (payrecon.BillLine, error) {
	var l payrecon.BillLine
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
		return l, &colError{colNames[cSysNo], errors.New("empty")}
	}
	l.Type = cols.get(rec, cType)
	switch l.Type {
	case TypePayment:
		l.Kind = payrecon.KindPayment
		l.ProviderTxnNo, l.MerchantOrderNo = sys, merc
	case TypeRefund:
		l.Kind = payrecon.KindRefund
		l.ProviderRefundNo, l.MerchantRefundNo = sys, merc
		l.ProviderTxnNo, l.MerchantOrderNo = cols.get(rec, cOrigSysNo), cols.get(rec, cOrigMercNo)
	case "":
		return l, &colError{colNames[cType], errors.New("empty")}
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
		return l, &colError{colNames[cStatus], fmt.Errorf("unknown status %q", st)}
	}
	order, hasOrder, err := amount(cOrderAmount)
	if err != nil {
		return l, err
	}
	paid, hasPaid, err := amount(cPaid)
	if err != nil {
		return l, err
	}
	promo, _, err := amount(cPromotion)
	if err != nil {
		return l, err
	}
	if l.Fee, l.FeeStated, err = amount(cFee); err != nil {
		return l, err
	}
	settle, hasSettle, err := amount(cSettleAmount)
	if err != nil {
		return l, err
	}
	l.Settlement = settle
	switch {
	case hasOrder:
		l.Amount = abs(order)
	case hasPaid:
		l.Amount = abs(paid) + abs(promo)
	case hasSettle:
		l.Amount = abs(settle)
	default:
		return l, &colError{colNames[cOrderAmount], errors.New("empty")}
	}
	l.PromotionAmount = abs(promo)
	if hasPaid {
		l.PayerAmount = abs(paid)
	} else {
		l.PayerAmount = l.Amount - l.PromotionAmount
		if l.PayerAmount < 0 {
			return l, &colError{colNames[cPromotion], errors.New("promotion exceeds the order amount")}
		}
	}
	if l.CreatedAt, err = parseBillTime(cols.get(rec, cCreated)); err != nil {
		return l, &colError{colNames[cCreated], err}
	}
	if l.FinishedAt, err = parseBillTime(cols.get(rec, cFinished)); err != nil {
		return l, &colError{colNames[cFinished], err}
	}
	l.Currency = cols.get(rec, cCurrency)
	l.Product = cols.get(rec, cProduct)
	l.Payload = cols.get(rec, cPayload)
	return l, nil
}

// billBufSize is the read buffer of a bill: lines are sliced out of it.
const billBufSize = 256 << 10

// billReader reads CSV records with exactly the semantics of encoding/csv's
// Reader with FieldsPerRecord = -1, LazyQuotes and ReuseRecord (same record
// boundaries, fields, start line numbers and errors) but splits a line
// without a double quote itself; a line with a quote goes through a copy of
// csv's record parser, which may pull further lines for a quoted field.
type billReader struct {
	r       *bufio.Reader
	numLine int      // lines read so far, as csv.Reader counts them
	raw     []byte   // a line longer than the bufio buffer
	buf     []byte   // unquoted field bytes of a quoted record
	ends    []int    // field ends in buf
	rec     []string // the record, reused
}

func newBillReader(r io.Reader) *billReader {
	return &billReader{r: bufio.NewReaderSize(r, billBufSize)}
}

// readLine is csv.Reader.readLine: the next line with \r\n normalized to
// \n, a trailing \r before EOF dropped, and io.EOF only with no data.
func (r *billReader) readLine() ([]byte, error) {
	line, err := r.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.raw = append(r.raw[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.r.ReadSlice('\n')
			r.raw = append(r.raw, line...)
		}
		line = r.raw
	}
	readSize := len(line)
	if readSize > 0 && err == io.EOF {
		err = nil
		if line[readSize-1] == '\r' {
			line = line[:readSize-1]
		}
	}
	r.numLine++
	if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	return line, err
}

func lengthNL(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}

// read returns the next record (valid until the next call) and the line it
// starts on; io.EOF at the end. Empty lines are skipped. A read error comes
// with the (partial) record, as from csv.Reader.
func (r *billReader) read() ([]string, int, error) {
	var line []byte
	var errRead error
	for errRead == nil {
		line, errRead = r.readLine()
		if errRead == nil && len(line) == lengthNL(line) {
			line = nil
			continue // skip empty lines
		}
		break
	}
	if errRead == io.EOF {
		return nil, 0, errRead
	}
	recLine := r.numLine
	rec := r.rec[:0]
	if bytes.IndexByte(line, '"') < 0 {
		// fast path: no quote, so every field is unquoted
		s := string(line[:len(line)-lengthNL(line)])
		for {
			i := strings.IndexByte(s, ',')
			if i < 0 {
				break
			}
			rec = append(rec, s[:i])
			s = s[i+1:]
		}
		r.rec = append(rec, s)
		return r.rec, recLine, errRead
	}
	// csv.Reader.readRecord with Comma ',', LazyQuotes, no comments and no
	// TrimLeadingSpace.
	buf, ends := r.buf[:0], r.ends[:0]
parseField:
	for {
		if len(line) == 0 || line[0] != '"' {
			// unquoted field
			i := bytes.IndexByte(line, ',')
			field := line
			if i >= 0 {
				field = field[:i]
			} else {
				field = field[:len(field)-lengthNL(field)]
			}
			buf = append(buf, field...)
			ends = append(ends, len(buf))
			if i >= 0 {
				line = line[i+1:]
				continue parseField
			}
			break parseField
		}
		// quoted field
		line = line[1:]
		for {
			i := bytes.IndexByte(line, '"')
			if i >= 0 {
				buf = append(buf, line[:i]...)
				line = line[i+1:]
				switch {
				case len(line) > 0 && line[0] == '"':
					// "" is a quote
					buf = append(buf, '"')
					line = line[1:]
				case len(line) > 0 && line[0] == ',':
					// ", ends the field
					line = line[1:]
					ends = append(ends, len(buf))
					continue parseField
				case lengthNL(line) == len(line):
					// "\n ends the record
					ends = append(ends, len(buf))
					break parseField
				default:
					// a bare quote (LazyQuotes)
					buf = append(buf, '"')
				}
			} else if len(line) > 0 {
				// end of line inside the quotes: the field goes on
				buf = append(buf, line...)
				if errRead != nil {
					break parseField
				}
				line, errRead = r.readLine()
				if errRead == io.EOF {
					errRead = nil
				}
			} else {
				// end of file inside the quotes (LazyQuotes: the field ends)
				ends = append(ends, len(buf))
				break parseField
			}
		}
	}
	r.buf, r.ends = buf, ends
	str := string(buf)
	prev := 0
	for _, e := range ends {
		rec = append(rec, str[prev:e])
		prev = e
	}
	r.rec = rec
	return rec, recLine, errRead
}
