// Package sandbox is a fake ByteDance mini-program 担保交易 (ecpay v1)
// server on loopback serving a scenario.Scenario with the real paths and
// formats: it checks the merchant's MD5 value-sort sign (with its own
// SALT) on POST /api/apps/ecpay/v1/{query_order,query_refund,create_refund}
// and GET /api/apps/bill, answers {err_no, err_tips, …}, applies refunds
// idempotently on out_refund_no, serves the payment / refund / settle
// bills as header-first tables, and renders callbacks signed with its own
// Token (sha1 over the sorted token, timestamp, nonce and msg).
//
// ecpay v1 answers carry no signature, so the sandbox signs none.
package sandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/douyin"
	"github.com/payrecon/payrecon/providers/scenario"
)

// Fixed identifiers of the sandbox mini-program.
const (
	AppID       = "tt07e3715e98c9aac0"
	MerchantUID = "70001234567"
)

// Bill text encodings the sandbox can serve (the real one is undocumented).
const (
	EncodingUTF8    = "utf-8"
	EncodingUTF8BOM = "utf-8-bom"
	EncodingGBK     = "gbk"
)

// Options configure a sandbox.
type Options struct {
	// Now is the sandbox clock (today's bill is not ready); default time.Now.
	Now func() time.Time
	// Unit is the bills' amount unit: douyin.UnitYuan (default) or UnitFen.
	Unit string
	// Separator between cells: ", " as the doc prints (default) or ",".
	Separator string
	// Encoding of the bills: EncodingUTF8 (default), EncodingUTF8BOM, EncodingGBK.
	Encoding string
	// Summary appends a "合计, 共N笔, …, <total>" row (not documented; for
	// the parser's summary check). SummaryDelta is added to its total.
	Summary      bool
	SummaryDelta int64
	// SettleTrades makes the settle bill of a day settle that day's bills:
	// one row per payment of the payment bill (订单金额, 技术服务费 = the
	// scenario payment's Fee) and one negative row per refund of the
	// refund bill (its Fee returned), besides the scenario's 分账 Others;
	// the day's SettlementDelta is printed as an adjustment row.
	SettleTrades bool
	// CommissionPPM, with SettleTrades, charges each settled order a 抽佣金额
	// of that rate (payrecon.FeeFor of its amount; returned on a refund):
	// it is out of the 分账方和分账金额 like the 技术服务费.
	CommissionPPM int64
	// Numbering is how 序号 counts the data rows (its values are
	// undocumented [?]): NumberFromOne (default: 1, 2, 3…), NumberFromZero
	// (0, 1, 2…) or NumberDown (N, …, 2, 1).
	Numbering string
	// DoneWords, by bill type (douyin.BillPayment, BillRefund, BillSettle),
	// is the word printed in the 支付状态 / 退款状态 / 分账状态 cell of a
	// completed row instead of the API's SUCCESS (the bills' value formats
	// are undocumented [?]): e.g. 支付完成, 退款完成, 分账完成.
	DoneWords map[string]string
}

// 序号 numberings the sandbox can print (Options.Numbering).
const (
	NumberFromOne  = "from-one"
	NumberFromZero = "from-zero"
	NumberDown     = "down"
)

// Sandbox is a running fake ecpay v1 server.
type Sandbox struct {
	srv   *httptest.Server
	sc    *scenario.Scenario
	opts  Options
	salt  string
	token string

	scenario.TamperHook

	mu    sync.Mutex
	calls []string
	seq   int
}

var _ scenario.Sandbox = (*Sandbox)(nil)

// New starts a sandbox serving sc on 127.0.0.1 with a fresh SALT and Token.
func New(sc *scenario.Scenario, opts Options) (*Sandbox, error) {
	if sc == nil {
		sc = &scenario.Scenario{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Unit == "" {
		opts.Unit = douyin.UnitYuan
	}
	if opts.Separator == "" {
		opts.Separator = ", "
	}
	if opts.Encoding == "" {
		opts.Encoding = EncodingUTF8
	}
	switch opts.Encoding {
	case EncodingUTF8, EncodingUTF8BOM, EncodingGBK:
	default:
		return nil, fmt.Errorf("sandbox encoding %q", opts.Encoding)
	}
	if opts.Numbering == "" {
		opts.Numbering = NumberFromOne
	}
	switch opts.Numbering {
	case NumberFromOne, NumberFromZero, NumberDown:
	default:
		return nil, fmt.Errorf("sandbox numbering %q", opts.Numbering)
	}
	s := &Sandbox{sc: sc, opts: opts, salt: randomHex(16), token: randomHex(12)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+douyin.APIPath+"query_order", s.queryOrder)
	mux.HandleFunc("POST "+douyin.APIPath+"query_refund", s.queryRefund)
	mux.HandleFunc("POST "+douyin.APIPath+"create_refund", s.createRefund)
	mux.HandleFunc("GET "+douyin.BillPath, s.bill)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls = append(s.calls, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	return s, nil
}

// URL implements scenario.Sandbox.
func (s *Sandbox) URL() string { return s.srv.URL }

// ProviderName implements scenario.Sandbox.
func (s *Sandbox) ProviderName() string { return douyin.Name }

// Scenario implements scenario.Sandbox.
func (s *Sandbox) Scenario() *scenario.Scenario { return s.sc }

// Close implements scenario.Sandbox.
func (s *Sandbox) Close() { s.srv.Close() }

// Calls implements scenario.Sandbox.
func (s *Sandbox) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// Token is the callback token (for tests that forge with another one).
func (s *Sandbox) Token() string { return s.token }

// MerchantConfig returns a Config that talks to this sandbox.
func (s *Sandbox) MerchantConfig() douyin.Config {
	return douyin.Config{
		AppID:          AppID,
		Salt:           payrecon.NewSecret(s.salt),
		Token:          payrecon.NewSecret(s.token),
		MerchantUID:    MerchantUID,
		BaseURL:        s.srv.URL,
		BillAmountUnit: s.opts.Unit,
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// answer writes {err_no, err_tips, …fields}.
func answer(w http.ResponseWriter, errNo int, tips string, fields map[string]any) {
	m := map[string]any{"err_no": errNo, "err_tips": tips}
	for k, v := range fields {
		m[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(m)
}

// request decodes and checks a signed POST body; false when it answered.
func (s *Sandbox) request(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		answer(w, 1000, "参数错误: body is not json", nil)
		return nil, false
	}
	if m["app_id"] != AppID {
		answer(w, 1000, "app_id 错误", nil)
		return nil, false
	}
	got, _ := m["sign"].(string)
	if !douyin.VerifySign(m, s.salt, got) {
		answer(w, 2003, "签名校验失败 (sign error)", nil)
		return nil, false
	}
	return m, true
}

func str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

var orderStatus = map[payrecon.Status]string{
	payrecon.StatusSuccess: "SUCCESS",
	payrecon.StatusPending: "PROCESSING",
	payrecon.StatusNotPaid: "PROCESSING",
	payrecon.StatusFailed:  "FAIL",
	payrecon.StatusClosed:  "TIMEOUT",
}

var refundStatus = map[payrecon.Status]string{
	payrecon.StatusSuccess: "SUCCESS",
	payrecon.StatusPending: "PROCESSING",
	payrecon.StatusFailed:  "FAIL",
	payrecon.StatusClosed:  "FAIL",
}

const timeLayout = "2006-01-02 15:04:05"

func channelNo(txn string) string { return "CH" + txn }

func (s *Sandbox) queryOrder(w http.ResponseWriter, r *http.Request) {
	m, ok := s.request(w, r)
	if !ok {
		return
	}
	no := str(m, "out_order_no")
	if no == "" {
		answer(w, 1000, "参数错误: out_order_no", nil)
		return
	}
	p, found := s.sc.FindPayment(no, "")
	if !found {
		answer(w, 2008, "订单不存在", nil)
		return
	}
	pay := ""
	if p.Status == payrecon.StatusSuccess {
		pay = p.PaidAt.In(payrecon.Shanghai).Format(timeLayout)
	}
	answer(w, 0, "", map[string]any{
		"out_order_no": p.MerchantOrderNo,
		"order_id":     p.ProviderTxnNo,
		"payment_info": map[string]any{
			"total_fee":          p.Amount,
			"order_status":       orderStatus[p.Status],
			"pay_time":           pay,
			"way":                1,
			"channel_no":         channelNo(p.ProviderTxnNo),
			"channel_gateway_no": "",
			"seller_uid":         MerchantUID,
			"item_id":            "",
			"cps_info":           "",
		},
	})
}

func refundInfo(rf scenario.Refund) map[string]any {
	var at int64
	if !rf.FinishedAt.IsZero() {
		at = rf.FinishedAt.Unix()
	}
	return map[string]any{
		"refund_no":      rf.ProviderRefundNo,
		"refund_amount":  rf.Amount,
		"refund_status":  refundStatus[rf.Status],
		"refunded_at":    at,
		"is_all_settled": false,
		"cp_extra":       "",
		"msg":            "",
	}
}

func (s *Sandbox) queryRefund(w http.ResponseWriter, r *http.Request) {
	m, ok := s.request(w, r)
	if !ok {
		return
	}
	no := str(m, "out_refund_no")
	if no == "" {
		answer(w, 1000, "参数错误: out_refund_no", nil)
		return
	}
	rf, found := s.sc.FindRefund(no, "")
	if !found {
		answer(w, 2008, "退款单不存在", nil)
		return
	}
	answer(w, 0, "", map[string]any{"refundInfo": refundInfo(rf)})
}

func (s *Sandbox) createRefund(w http.ResponseWriter, r *http.Request) {
	m, ok := s.request(w, r)
	if !ok {
		return
	}
	orderNo, refundNo, reason := str(m, "out_order_no"), str(m, "out_refund_no"), str(m, "reason")
	num, _ := m["refund_amount"].(json.Number)
	amt, err := num.Int64()
	if orderNo == "" || refundNo == "" || reason == "" || err != nil || amt <= 0 {
		answer(w, 1000, "参数错误: out_order_no, out_refund_no, reason and a positive integer refund_amount are required", nil)
		return
	}
	p, found := s.sc.FindPayment(orderNo, "")
	if !found {
		answer(w, 2008, "订单不存在", nil)
		return
	}
	if p.Status != payrecon.StatusSuccess {
		answer(w, 2009, "订单未支付", nil)
		return
	}
	if amt > p.Amount {
		answer(w, 2010, "退款金额超过订单金额", nil)
		return
	}
	s.mu.Lock()
	s.seq++
	n := s.seq
	s.mu.Unlock()
	now := s.opts.Now()
	rf, _ := s.sc.AddRefund(scenario.Refund{
		MerchantRefundNo: refundNo,
		ProviderRefundNo: fmt.Sprintf("R7%s%08d", now.In(payrecon.Shanghai).Format("20060102"), n),
		MerchantOrderNo:  p.MerchantOrderNo,
		ProviderTxnNo:    p.ProviderTxnNo,
		Status:           payrecon.StatusPending,
		Amount:           amt,
		PayerAmount:      amt,
		CreatedAt:        now,
		BillDay:          payrecon.DayOf(now),
		Reason:           reason,
	})
	if rf.MerchantOrderNo != p.MerchantOrderNo || rf.Amount != amt {
		answer(w, 2011, "out_refund_no 已存在 (duplicate out_refund_no for another refund)", nil)
		return
	}
	answer(w, 0, "", map[string]any{"refund_no": rf.ProviderRefundNo})
}

// bill serves GET /api/apps/bill.
func (s *Sandbox) bill(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	params := map[string]any{}
	for k := range q {
		params[k] = q.Get(k)
	}
	if q.Get("app_id") != AppID {
		answer(w, 1, "app_id 错误", nil)
		return
	}
	if !douyin.VerifySign(params, s.salt, q.Get("sign")) {
		answer(w, 1, "sign error", nil)
		return
	}
	if q.Get("seller") != MerchantUID {
		answer(w, 1, "seller 错误", nil)
		return
	}
	start, err1 := time.ParseInLocation("20060102", q.Get("start_date"), payrecon.Shanghai)
	end, err2 := time.ParseInLocation("20060102", q.Get("end_date"), payrecon.Shanghai)
	if err1 != nil || err2 != nil {
		answer(w, 1, "start_date/end_date must be yyyyMMdd", nil)
		return
	}
	if end.Before(start) {
		answer(w, 1, "end_date is before start_date", nil)
		return
	}
	if !end.Equal(start) {
		answer(w, 1, "sandbox serves one day per request", nil)
		return
	}
	day := payrecon.DayOf(start)
	if !s.sc.Ready(day) || day >= payrecon.DayOf(s.opts.Now()) {
		answer(w, 1, "账单未生成 (bill not ready)", nil)
		return
	}
	var body []byte
	switch bt := q.Get("bill_type"); bt {
	case douyin.BillPayment:
		body = s.paymentBill(day)
	case douyin.BillRefund:
		body = s.refundBill(day)
	case douyin.BillSettle:
		body = s.settleBill(day)
	default:
		answer(w, 1, "bill_type must be payment, settle or refund", nil)
		return
	}
	out, err := s.encode(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset="+s.opts.Encoding)
	s.serveTampered(w, day, q.Get("bill_type"), out)
}

// table collects header-first rows, joined by the separator; data rows
// (item) get their 序号 in front when the table is rendered.
type table struct {
	rows      [][]string
	items     []int // indexes in rows of the data rows
	sep       string
	numbering string
}

func (s *Sandbox) table() *table { return &table{sep: s.opts.Separator, numbering: s.opts.Numbering} }

// row adds a row as is (the header, a summary).
func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

// item adds a data row; its 序号 cell is added by bytes.
func (t *table) item(cells ...string) {
	t.items = append(t.items, len(t.rows))
	t.rows = append(t.rows, cells)
}

func (t *table) bytes() []byte {
	seq := map[int]string{}
	for k, i := range t.items {
		n := k + 1
		switch t.numbering {
		case NumberFromZero:
			n = k
		case NumberDown:
			n = len(t.items) - k
		}
		seq[i] = fmt.Sprint(n)
	}
	var b bytes.Buffer
	for i, cells := range t.rows {
		if n, ok := seq[i]; ok {
			cells = append([]string{n}, cells...)
		}
		b.WriteString(strings.Join(cells, t.sep))
		b.WriteString("\n")
	}
	return b.Bytes()
}

// done is the status word of a completed row of a bill type.
func (s *Sandbox) done(billType string) string {
	if w := s.opts.DoneWords[billType]; w != "" {
		return w
	}
	return "SUCCESS"
}

func (s *Sandbox) amount(fen int64) string {
	if s.opts.Unit == douyin.UnitFen {
		return fmt.Sprint(fen)
	}
	return payrecon.FormatYuan(fen)
}

// signed prints an amount that may be negative.
func (s *Sandbox) signed(fen int64) string {
	if fen < 0 {
		return "-" + s.amount(-fen)
	}
	return s.amount(fen)
}

func (s *Sandbox) summary(t *table, width, amountCol, n int, total int64) {
	if !s.opts.Summary {
		return
	}
	cells := make([]string, width)
	cells[0] = "合计"
	cells[1] = fmt.Sprintf("共%d笔", n)
	cells[amountCol] = s.signed(total + s.opts.SummaryDelta)
	t.row(cells...)
}

func fmtTime(t time.Time) string { return t.In(payrecon.Shanghai).Format(timeLayout) }

func (s *Sandbox) paymentBill(day payrecon.Day) []byte {
	t := s.table()
	t.row("序号", "支付时间", "商户号", "openId", "订单号", "平台订单号", "渠道订单号", "订单金额", "支付方式", "支付状态")
	var total int64
	ps := s.sc.BillPayments(day)
	for _, p := range ps {
		t.item(fmtTime(p.PaidAt), MerchantUID, p.OpenID, p.MerchantOrderNo, p.ProviderTxnNo, channelNo(p.ProviderTxnNo), s.amount(p.Amount), "微信", s.done(douyin.BillPayment))
		total += p.Amount
	}
	s.summary(t, 10, 7, len(ps), total)
	return t.bytes()
}

func (s *Sandbox) refundBill(day payrecon.Day) []byte {
	t := s.table()
	t.row("序号", "退款时间", "商户号", "openId", "订单号", "渠道订单号", "订单金额", "支付方式", "退款类型", "退款单号", "平台退款单号", "退款状态", "退款完成时间", "退款金额")
	var total int64
	rs := s.sc.BillRefunds(day)
	for _, rf := range rs {
		p, _ := s.sc.FindPayment(rf.MerchantOrderNo, rf.ProviderTxnNo)
		typ := "部分退款"
		if rf.Amount == p.Amount {
			typ = "全额退款"
		}
		created := rf.CreatedAt
		if created.IsZero() {
			created = rf.FinishedAt
		}
		t.item(fmtTime(created), MerchantUID, p.OpenID, rf.MerchantOrderNo, channelNo(rf.ProviderTxnNo), s.amount(p.Amount), "微信", typ,
			rf.MerchantRefundNo, rf.ProviderRefundNo, s.done(douyin.BillRefund), fmtTime(rf.FinishedAt), s.amount(rf.Amount))
		total += rf.Amount
	}
	s.summary(t, 14, 13, len(rs), total)
	return t.bytes()
}

// SettleFeePPM is the 技术服务费 rate the sandbox prints in settle bills.
const SettleFeePPM = 10000

func (s *Sandbox) settleBill(day payrecon.Day) []byte {
	t := s.table()
	t.row("序号", "分账时间", "商户号", "openId", "订单号", "平台订单号", "渠道订单号", "订单金额", "支付方式", "分账单号", "分账状态", "分账方和分账金额", "技术服务费", "抽佣金额")
	var total int64
	n := 0
	if s.opts.SettleTrades {
		commission := func(amount int64) int64 {
			com := payrecon.FeeFor(max(amount, -amount), s.opts.CommissionPPM)
			if amount < 0 {
				com = -com
			}
			return com
		}
		row := func(at time.Time, p scenario.Payment, amount, fee, com int64) {
			n++
			t.item(fmtTime(at), MerchantUID, p.OpenID, p.MerchantOrderNo, p.ProviderTxnNo, channelNo(p.ProviderTxnNo), s.signed(amount), "微信",
				"S"+p.ProviderTxnNo+fmt.Sprint(n), s.done(douyin.BillSettle), MerchantUID+":"+s.signed(amount-fee-com), s.signed(fee), s.signed(com))
			total += amount
		}
		for _, p := range s.sc.BillPayments(day) {
			row(p.PaidAt, p, p.Amount, p.Fee, commission(p.Amount))
		}
		for _, rf := range s.sc.BillRefunds(day) {
			p, _ := s.sc.FindPayment(rf.MerchantOrderNo, rf.ProviderTxnNo)
			row(rf.FinishedAt, p, -rf.Amount, -rf.Fee, commission(-rf.Amount))
		}
		s.sc.RLock()
		delta := s.sc.SettlementDelta[day]
		s.sc.RUnlock()
		if delta != 0 {
			row(day.Start().Add(23*time.Hour), scenario.Payment{MerchantOrderNo: "ADJUST" + day.Compact(), ProviderTxnNo: "ADJ" + day.Compact()}, delta, 0, 0)
		}
	}
	for _, o := range s.sc.BillOthers(day) {
		if o.Type != "分账" {
			continue
		}
		n++
		p, ok := s.sc.FindPayment("", o.ProviderTxnNo)
		orderNo := p.MerchantOrderNo
		if !ok {
			orderNo = "O" + o.ProviderTxnNo
		}
		fee := payrecon.FeeFor(o.Amount, SettleFeePPM)
		t.item(fmtTime(o.At), MerchantUID, p.OpenID, orderNo, o.ProviderTxnNo, channelNo(o.ProviderTxnNo), s.amount(o.Amount), "微信",
			"S"+o.ProviderTxnNo, s.done(douyin.BillSettle), MerchantUID+":"+s.amount(o.Amount-fee), s.amount(fee), s.amount(0))
		total += o.Amount
	}
	s.summary(t, 14, 7, n, total)
	return t.bytes()
}
