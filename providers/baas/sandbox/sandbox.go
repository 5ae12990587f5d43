// Package sandbox is a fake of MinCloud's (知晓云) order API on loopback:
// the order list GET /hserve/v2.2/idp/pay/order/ (filters trade_no,
// transaction_no, status, refund_status, gateway_type, paid_at__gte,
// paid_at__lte; paging limit/offset with meta next/previous/total_count)
// and the order detail GET /hserve/v2.0/idp/pay/order/:transaction_no/,
// both checking X-Hydrogen-Client-ID and "Authorization: Hydrogen-r1
// <token>". Orders are rendered from the scenario: trade_no is the
// payment's merchant order number, transaction_no its provider number,
// refunds are aggregated on the order (refund_status, refund_amount) as
// MinCloud does. Payment-trigger webhooks are rendered as the order record
// signed with the shared-secret HMAC payrecon requires.
package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/baas"
	"github.com/payrecon/payrecon/providers/scenario"
)

// Test credentials.
const (
	ClientID       = "sandbox0client0id"
	AccessToken    = "sandbox-access-token-0001"
	CallbackSecret = "sandbox-callback-secret-0001"
)

// Options tune the sandbox.
type Options struct {
	// GatewayType is the gateway_type of every order (default weixin_tenpay_js).
	GatewayType string
	// StringAmounts renders total_cost / refund_amount as strings
	// ("398.00", v2.0 style) instead of numbers (100.00, v2.2 style) in the
	// order list and detail.
	StringAmounts bool
	// ISOTimes renders paid_at / created_at / updated_at as ISO times
	// without a zone, Shanghai wall time ("2018-10-12T17:18:10.992125",
	// older list output) instead of unix seconds, in the order list and
	// detail.
	ISOTimes bool
	// FractionalTimes renders unix-second times with their fraction
	// (paid_at 1793721599.5) and makes the paid_at filters compare the
	// exact time held, as a server keeping sub-second times does (without
	// it times are held and rendered in whole seconds).
	FractionalTimes bool
	// LatestRefundStatus makes refund_status the state of the order's
	// latest refund attempt (in scenario order), as MinCloud's one
	// refund_status per order reads: a failed attempt after a partial
	// refund leaves refund_status "failed" while refund_amount keeps the
	// refunds made. Without it a failed attempt shows only when nothing
	// was refunded.
	LatestRefundStatus bool
	// ListFormWebhooks makes the webhooks carry the order record exactly
	// as the list renders it (StringAmounts and ISOTimes apply) instead of
	// the trigger's documented numbers and unix seconds: MinCloud
	// serialises the record inconsistently (baas.md: "parse both").
	ListFormWebhooks bool
	// EventEnvelope wraps webhook bodies as {"event":{"data": record}}
	// instead of sending the bare record.
	EventEnvelope bool
	// FlatEnvelope wraps webhook bodies as {"event":"payment","data": record}.
	FlatEnvelope bool
	// Gateways sets the gateway_type of single orders by merchant order
	// number (others have GatewayType): one MinCloud app pays through
	// several channels.
	Gateways map[string]string
	// MaxLimit caps a page (default 1000).
	MaxLimit int
	// SwapNumbers renders the payment's merchant order number as
	// transaction_no and its provider number as trade_no (the reading of
	// the cloud-function doc [D]); MerchantConfig then sets
	// order_no_mapping: transaction_no.
	SwapNumbers bool
}

// Sandbox is the fake server.
type Sandbox struct {
	sc   *scenario.Scenario
	opts Options
	srv  *httptest.Server

	scenario.TamperHook

	mu       sync.Mutex
	calls    []string
	failures []int // statuses to answer the next requests with
	// TotalCountDelta is added to meta.total_count (a lying list).
	totalDelta int
}

var _ scenario.Sandbox = (*Sandbox)(nil)

// New starts a sandbox serving sc.
func New(sc *scenario.Scenario, opts Options) *Sandbox {
	if opts.GatewayType == "" {
		opts.GatewayType = "weixin_tenpay_js"
	}
	if opts.MaxLimit == 0 {
		opts.MaxLimit = 1000
	}
	s := &Sandbox{sc: sc, opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+baas.PathOrderList, s.list)
	mux.HandleFunc("GET "+baas.PathOrderDetail+"{id}/", s.detail)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls = append(s.calls, r.Method+" "+r.URL.Path)
		var fail int
		if len(s.failures) > 0 {
			fail, s.failures = s.failures[0], s.failures[1:]
		}
		s.mu.Unlock()
		if fail != 0 {
			writeJSON(w, fail, map[string]string{"error_msg": http.StatusText(fail)})
			return
		}
		if r.Header.Get(baas.HeaderClientID) != ClientID {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error_msg": "invalid client id"})
			return
		}
		if r.Header.Get("Authorization") != baas.AuthPrefix+" "+AccessToken {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error_msg": "Authentication credentials were not provided."})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	return s
}

// URL implements scenario.Sandbox.
func (s *Sandbox) URL() string { return s.srv.URL }

// ProviderName implements scenario.Sandbox.
func (s *Sandbox) ProviderName() string { return baas.Name }

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

// FailNext makes the next len(statuses) requests answer those HTTP statuses.
func (s *Sandbox) FailNext(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, statuses...)
}

// SetTotalCountDelta makes the list's meta.total_count lie by delta.
func (s *Sandbox) SetTotalCountDelta(delta int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.totalDelta = delta
}

// MerchantConfig returns a client configuration for this sandbox.
func (s *Sandbox) MerchantConfig() baas.Config {
	mapping := baas.MappingTradeNo
	if s.opts.SwapNumbers {
		mapping = baas.MappingTransactionNo
	}
	return baas.Config{
		Account:        "baas-sandbox",
		ClientID:       ClientID,
		AccessToken:    payrecon.NewSecret(AccessToken),
		CallbackSecret: payrecon.NewSecret(CallbackSecret),
		BaseURL:        s.srv.URL,
		PageSize:       3, // small pages: the tests exercise paging
		OrderNoMapping: mapping,
	}
}

// order is one rendered record plus what the filters need.
type order struct {
	rec    map[string]any
	paidAt time.Time // as held: whole seconds unless FractionalTimes; zero when unpaid
	status string
	refund string
	seq    int
}

// recordForm says how a record's amounts and times are serialised.
type recordForm struct{ stringAmounts, isoTimes, fractional bool }

// form is the serialisation of the list and detail answers, or (trigger)
// of the payment trigger's webhooks.
func (s *Sandbox) form(trigger bool) recordForm {
	if trigger && !s.opts.ListFormWebhooks {
		return recordForm{fractional: s.opts.FractionalTimes} // the trigger: numbers and unix seconds (baas.md)
	}
	return recordForm{stringAmounts: s.opts.StringAmounts, isoTimes: s.opts.ISOTimes, fractional: s.opts.FractionalTimes}
}

func (f recordForm) yuan(fen int64) any {
	if f.stringAmounts {
		return payrecon.FormatYuan(fen)
	}
	return json.Number(payrecon.FormatYuan(fen))
}

// time renders t as unix seconds (with their fraction when fractional:
// 1793721599.5, 1793721600.0), or as an ISO time without a zone in
// Shanghai wall time with microseconds when it has any (Python's
// isoformat, as MinCloud's older list output shows).
func (f recordForm) time(t time.Time) any {
	if !f.isoTimes {
		if !f.fractional {
			return t.Unix()
		}
		frac := strings.TrimRight(fmt.Sprintf("%09d", t.Nanosecond()), "0")
		if frac == "" {
			frac = "0"
		}
		return json.Number(strconv.FormatInt(t.Unix(), 10) + "." + frac)
	}
	t = t.In(payrecon.Shanghai)
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000")
	}
	return t.Format("2006-01-02T15:04:05")
}

func rawStatus(st payrecon.Status) string {
	switch st {
	case payrecon.StatusSuccess:
		return "success"
	case payrecon.StatusFailed, payrecon.StatusClosed:
		return "failed"
	}
	return "pending"
}

// render builds the order record for p with its refunds (extra is added
// when not in the scenario yet, for a refund webhook rendered ahead), as
// the list serialises it or (trigger) as the payment trigger does.
func (s *Sandbox) render(p scenario.Payment, refunds []scenario.Refund, seq int, trigger bool) order {
	f := s.form(trigger)
	var refunded int64
	var last time.Time
	anyFailed, anySuccess, lastFailed := false, false, false
	for _, r := range refunds {
		if r.MerchantOrderNo != p.MerchantOrderNo || (p.ProviderTxnNo != "" && r.ProviderTxnNo != "" && r.ProviderTxnNo != p.ProviderTxnNo) {
			continue
		}
		switch r.Status {
		case payrecon.StatusSuccess:
			anySuccess, lastFailed = true, false
			refunded += r.Amount
			if r.FinishedAt.After(last) {
				last = r.FinishedAt
			}
		case payrecon.StatusFailed:
			anyFailed, lastFailed = true, true
			if s.opts.LatestRefundStatus && r.FinishedAt.After(last) { // the record was updated by the attempt
				last = r.FinishedAt
			}
		}
	}
	var refundStatus any
	rs := ""
	switch {
	case s.opts.LatestRefundStatus && lastFailed:
		rs = "failed"
	case anySuccess && refunded >= p.Amount:
		rs = "complete"
	case anySuccess:
		rs = "partial"
	case anyFailed:
		rs = "failed"
	}
	if rs != "" {
		refundStatus = rs
	}
	st := rawStatus(p.Status)
	updated := p.CreatedAt
	if !p.PaidAt.IsZero() {
		updated = p.PaidAt
	}
	if last.After(updated) {
		updated = last
	}
	var paidAt any
	if st == "success" {
		paidAt = f.time(p.PaidAt)
	}
	tradeNo, transactionNo := p.MerchantOrderNo, p.ProviderTxnNo
	if s.opts.SwapNumbers {
		tradeNo, transactionNo = transactionNo, tradeNo
	}
	gateway := s.opts.GatewayType
	if g, ok := s.opts.Gateways[p.MerchantOrderNo]; ok {
		gateway = g
	}
	rec := map[string]any{
		"id":                      seq + 10000,
		"miniapp":                 1,
		"gateway_type":            gateway,
		"currency_type":           "CNY",
		"trade_no":                tradeNo,
		"transaction_no":          transactionNo,
		"status":                  st,
		"refund_status":           refundStatus,
		"refund_amount":           f.yuan(refunded),
		"merchandise_schema_id":   1,
		"merchandise_record_id":   "rec" + strconv.Itoa(seq),
		"merchandise_description": p.Product,
		"merchandise_snapshot":    map[string]any{},
		"total_cost":              f.yuan(p.Amount),
		"ip_address":              "127.0.0.1",
		"paid_at":                 paidAt,
		"created_by":              36395394,
		"created_at":              f.time(p.CreatedAt),
		"updated_at":              f.time(updated),
	}
	if st == "success" && strings.HasPrefix(gateway, "weixin_tenpay") {
		rec["gateway_extra_info"] = map[string]any{"wechat_response": map[string]any{
			"out_trade_no": tradeNo, "total_fee": strconv.FormatInt(p.Amount, 10),
			"time_end": p.PaidAt.In(payrecon.Shanghai).Format("20060102150405"),
		}}
	}
	var pa time.Time
	if st == "success" {
		pa = p.PaidAt.Truncate(time.Second)
		if s.opts.FractionalTimes {
			pa = p.PaidAt
		}
	}
	return order{rec: rec, paidAt: pa, status: st, refund: rs, seq: seq}
}

func (s *Sandbox) orders() []order {
	s.sc.RLock()
	pays := append([]scenario.Payment(nil), s.sc.Payments...)
	refunds := append([]scenario.Refund(nil), s.sc.Refunds...)
	s.sc.RUnlock()
	out := make([]order, 0, len(pays))
	for i, p := range pays {
		out = append(out, s.render(p, refunds, i+1, false))
	}
	return out
}

func (s *Sandbox) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset := 20, 0
	var err error
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error_msg": "invalid limit"})
			return
		}
	}
	limit = min(limit, s.opts.MaxLimit)
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error_msg": "invalid offset"})
			return
		}
	}
	var gte, lte int64 = -1, -1
	for name, dst := range map[string]*int64{"paid_at__gte": &gte, "paid_at__lte": &lte} {
		if v := q.Get(name); v != "" {
			if *dst, err = strconv.ParseInt(v, 10, 64); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error_msg": "invalid " + name})
				return
			}
		}
	}
	var match []order
	for _, o := range s.orders() {
		if v := q.Get("trade_no"); v != "" && o.rec["trade_no"] != v {
			continue
		}
		if v := q.Get("transaction_no"); v != "" && o.rec["transaction_no"] != v {
			continue
		}
		if v := q.Get("status"); v != "" && o.status != v {
			continue
		}
		if v := q.Get("refund_status"); v != "" && o.refund != v {
			continue
		}
		if v := q.Get("gateway_type"); v != "" && o.rec["gateway_type"] != v {
			continue
		}
		if (gte >= 0 || lte >= 0) && o.paidAt.IsZero() {
			continue
		}
		if (gte >= 0 && o.paidAt.Before(time.Unix(gte, 0))) || (lte >= 0 && o.paidAt.After(time.Unix(lte, 0))) {
			continue
		}
		match = append(match, o)
	}
	sort.SliceStable(match, func(i, j int) bool { return match[i].seq > match[j].seq }) // newest first
	s.mu.Lock()
	total := len(match) + s.totalDelta
	s.mu.Unlock()
	objs := []map[string]any{}
	for i := offset; i < len(match) && i < offset+limit; i++ {
		objs = append(objs, match[i].rec)
	}
	page := func(off int) any {
		u := *r.URL
		v := u.Query()
		v.Set("offset", strconv.Itoa(off))
		v.Set("limit", strconv.Itoa(limit))
		u.RawQuery = v.Encode()
		return baas.PathOrderList + "?" + u.RawQuery
	}
	var next, prev any
	if offset+limit < len(match) {
		next = page(offset + limit)
	}
	if offset > 0 {
		prev = page(max(0, offset-limit))
	}
	s.writeList(w, gte, offset, map[string]any{
		"meta":    map[string]any{"limit": limit, "offset": offset, "next": next, "previous": prev, "total_count": total},
		"objects": objs,
	})
}

func (s *Sandbox) detail(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, o := range s.orders() {
		if o.rec["transaction_no"] == id && id != "" {
			writeJSON(w, http.StatusOK, o.rec)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error_msg": "Not found."})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Webhook renders the payment trigger's HTTP webhook for an order record:
// the record (or {"event":{"data":record}}), signed with CallbackSecret.
func (s *Sandbox) Webhook(rec map[string]any) (scenario.Callback, error) {
	var v any = rec
	switch {
	case s.opts.EventEnvelope:
		v = map[string]any{"event": map[string]any{"type": "payment", "data": rec}}
	case s.opts.FlatEnvelope:
		v = map[string]any{"event": "payment", "data": rec}
	}
	body, err := json.Marshal(v)
	if err != nil {
		return scenario.Callback{}, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(baas.DefaultSignatureHeader, baas.SignCallback([]byte(CallbackSecret), body))
	o, err := baas.ParseCallbackOrder(body)
	if err != nil {
		return scenario.Callback{}, err
	}
	return scenario.Callback{Header: h, Body: body, EventID: baas.EventID(o)}, nil
}

func (s *Sandbox) seqOf(p scenario.Payment) int {
	s.sc.RLock()
	defer s.sc.RUnlock()
	for i, q := range s.sc.Payments {
		if q.MerchantOrderNo == p.MerchantOrderNo && q.ProviderTxnNo == p.ProviderTxnNo {
			return i + 1
		}
	}
	return len(s.sc.Payments) + 1000
}

// PaymentCallback implements scenario.Sandbox: the order record of p as the
// trigger sends it on payment.
func (s *Sandbox) PaymentCallback(p scenario.Payment) (scenario.Callback, error) {
	return s.Webhook(s.render(p, nil, s.seqOf(p), true).rec)
}

// RefundCallback implements scenario.Sandbox: the record of r's order
// after r (MinCloud notifies refunds as an update of the order record; the
// record carries no refund number).
func (s *Sandbox) RefundCallback(r scenario.Refund) (scenario.Callback, error) {
	p, ok := s.sc.FindPayment(r.MerchantOrderNo, r.ProviderTxnNo)
	if !ok {
		return scenario.Callback{}, fmt.Errorf("baas sandbox: refund %s of unknown order %s", r.MerchantRefundNo, r.MerchantOrderNo)
	}
	s.sc.RLock()
	refunds := append([]scenario.Refund(nil), s.sc.Refunds...)
	s.sc.RUnlock()
	found := false
	for _, x := range refunds {
		if x.MerchantRefundNo == r.MerchantRefundNo {
			found = true
		}
	}
	if !found {
		refunds = append(refunds, r)
	}
	return s.Webhook(s.render(p, refunds, s.seqOf(p), true).rec)
}

// AgreementCallback implements scenario.Sandbox: MinCloud has no agreements.
func (s *Sandbox) AgreementCallback(scenario.Agreement) (scenario.Callback, error) {
	return scenario.Callback{}, fmt.Errorf("baas sandbox: MinCloud has no recurring-debit agreements: %w", payrecon.ErrNotSupported)
}
