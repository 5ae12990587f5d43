// Package sandbox is a fake WeChat Pay API v3 server on loopback serving a
// scenario.Scenario with the real paths and formats: it verifies the
// merchant's WECHATPAY2-SHA256-RSA2048 Authorization, signs its answers with
// its own platform key (a self-signed certificate, or a WeChat Pay public
// key ID), serves gzipped trade and fund-flow bills with their SHA1 and
// summary rows, answers order / refund / papay contract queries, applies
// refunds and closes orders, and renders signed, encrypted notifications.
package sandbox

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/sign"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat"
)

// Fixed identifiers of the sandbox merchant.
const (
	MchID = "1900000109"
	AppID = "wxd678efh567hg6787"
)

// BillFault makes the next bills wrong on purpose, for tests.
type BillFault int

const (
	FaultNone            BillFault = iota
	FaultHashMismatch              // hash_value is not the bill's SHA1
	FaultTruncatedGzip             // the gzip stream stops half way
	FaultSummaryMismatch           // the summary's 应结订单总金额 is one fen more than the lines
)

// Options configure a sandbox.
type Options struct {
	// Now is the sandbox clock (signature timestamps, today's bill); default time.Now.
	Now func() time.Time
	// NoStatementWhenEmpty: a day without payments and refunds has no
	// bill (NO_STATEMENT_EXIST, as WeChat Pay answers) instead of an empty one.
	NoStatementWhenEmpty bool
	// NotifyNow, when set, is the clock of rendered notifications only
	// (create_time and Wechatpay-Timestamp), e.g. the bill day's evening
	// while the API clock stands days later.
	NotifyNow func() time.Time
	// PublicKeyID, when set, makes the sandbox sign as a WeChat Pay public
	// key with this ID ("PUB_KEY_ID_…") instead of a platform certificate.
	PublicKeyID string
	// SubMchID, when set, runs the sandbox in partner (服务商) mode: MchID
	// is the service provider, SubMchID the sub-merchant, and the partner
	// paths and parameters are required.
	SubMchID string
	// RevokedRefunds makes the trade bill print every refund the way
	// WeChat Pay prints a payment reversed (撤销) after it succeeded, under
	// the original order's numbers: 交易状态 REVOKED, 应结订单金额 and
	// 订单金额 0.00, the amount in 退款金额 and 申请退款金额, 微信退款单号
	// and 商户退款单号 "0", 退款类型 and 退款状态 empty. Such a row has no
	// refund number of its own: its key is the 微信订单号.
	RevokedRefunds bool
}

// Sandbox is a running fake WeChat Pay server.
type Sandbox struct {
	srv       *httptest.Server
	sc        *scenario.Scenario
	now       func() time.Time
	notifyNow func() time.Time
	keys      *keySet

	subMchID string // partner mode when set
	revoked  bool   // Options.RevokedRefunds
	noStmt   bool   // Options.NoStatementWhenEmpty
	serial   string // Wechatpay-Serial the sandbox signs with
	keyText  []byte // what MerchantConfig lists as the platform key
	apiv3    []byte

	scenario.TamperHook

	mu      sync.Mutex
	calls   []string
	tokens  map[string][]byte // download token → gzipped bill
	fault   BillFault
	refunds int
	// holdRefunds: new refunds start pending (control.go).
	holdRefunds bool
}

// keySet is generated once per process: RSA key generation is slow and
// tests build many sandboxes.
type keySet struct {
	merchant, platform *rsa.PrivateKey
	merchantSerial     string
	platformSerial     string
	platformCert       []byte
	merchantPEM        []byte
}

var (
	keysOnce sync.Once
	keys     *keySet
	keysErr  error
)

func loadKeys() (*keySet, error) {
	keysOnce.Do(func() {
		ks := &keySet{}
		if ks.merchant, keysErr = rsa.GenerateKey(rand.Reader, 2048); keysErr != nil {
			return
		}
		if ks.platform, keysErr = rsa.GenerateKey(rand.Reader, 2048); keysErr != nil {
			return
		}
		if ks.merchantPEM, keysErr = sign.MarshalRSAPrivateKeyPEM(ks.merchant); keysErr != nil {
			return
		}
		serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
		serial.Add(serial, big.NewInt(1<<40))
		tmpl := &x509.Certificate{
			SerialNumber: serial,
			Subject:      pkix.Name{CommonName: "Tenpay.com Root CA sandbox", Organization: []string{"payrecon sandbox"}},
			NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:     time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
			KeyUsage:     x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ks.platform.PublicKey, ks.platform)
		if err != nil {
			keysErr = err
			return
		}
		cert, _ := x509.ParseCertificate(der)
		ks.platformSerial = sign.CertSerialHex(cert)
		ks.platformCert = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		ks.merchantSerial = randomHex(20) // 40 hex digits, like a real merchant certificate serial
		keys = ks
	})
	return keys, keysErr
}

// New starts a sandbox serving sc on 127.0.0.1. It panics only when the
// machine cannot generate keys or listen on loopback.
func New(sc *scenario.Scenario, opts Options) *Sandbox {
	ks, err := loadKeys()
	if err != nil {
		panic(fmt.Sprintf("wechat sandbox: generate keys: %v", err))
	}
	if sc == nil {
		sc = &scenario.Scenario{}
	}
	s := &Sandbox{sc: sc, now: opts.Now, keys: ks, tokens: map[string][]byte{}, subMchID: opts.SubMchID, revoked: opts.RevokedRefunds, noStmt: opts.NoStatementWhenEmpty}
	if s.now == nil {
		s.now = time.Now
	}
	s.notifyNow = opts.NotifyNow
	if s.notifyNow == nil {
		s.notifyNow = s.now
	}
	s.serial, s.keyText = ks.platformSerial, ks.platformCert
	if opts.PublicKeyID != "" {
		pub, err := sign.MarshalRSAPublicKeyPEM(&ks.platform.PublicKey)
		if err != nil {
			panic(err)
		}
		s.serial, s.keyText = opts.PublicKeyID, pub
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	s.apiv3 = []byte(hex.EncodeToString(key)) // 32 ASCII bytes, like a real APIv3 key
	s.srv = httptest.NewServer(s.routes())
	return s
}

// URL is the base URL to configure as base_url.
func (s *Sandbox) URL() string { return s.srv.URL }

// ProviderName is "wechat".
func (s *Sandbox) ProviderName() string { return wechat.Name }

// Scenario is the truth the sandbox serves.
func (s *Sandbox) Scenario() *scenario.Scenario { return s.sc }

// Close stops the server.
func (s *Sandbox) Close() { s.srv.Close() }

// Calls lists the API calls received, "METHOD /path".
func (s *Sandbox) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// SetBillFault makes the following bill applications faulty (FaultNone to stop).
func (s *Sandbox) SetBillFault(f BillFault) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

// APIv3Key is the sandbox merchant's APIv3 key.
func (s *Sandbox) APIv3Key() []byte { return append([]byte(nil), s.apiv3...) }

// PlatformSerial is the serial the sandbox signs with.
func (s *Sandbox) PlatformSerial() string { return s.serial }

// MerchantConfig is a wechat.Config for the sandbox merchant: its generated
// merchant key and serial, the APIv3 key and the sandbox's platform key.
// Account is "sandbox"; callers may change it.
func (s *Sandbox) MerchantConfig() wechat.Config {
	return wechat.Config{
		Account:    "sandbox",
		MchID:      MchID,
		AppID:      AppID,
		SubMchID:   s.subMchID,
		SerialNo:   s.keys.merchantSerial,
		PrivateKey: payrecon.NewSecret(string(s.keys.merchantPEM)),
		APIv3Key:   payrecon.NewSecret(string(s.apiv3)),
		PlatformKeys: []wechat.PlatformKey{
			{Serial: s.serial, KeyOrCert: payrecon.NewSecret(string(s.keyText))},
		},
		BaseURL: s.URL(),
	}
}

// SignHeaders returns the Wechatpay-* headers signing body at time at with
// the sandbox's platform key.
func (s *Sandbox) SignHeaders(body []byte, at time.Time) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	n := randomHex(16)
	msg := []byte(ts + "\n" + n + "\n" + string(body) + "\n")
	sig, err := sign.SignSHA256RSA(s.keys.platform, msg)
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set("Wechatpay-Serial", s.serial)
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", n)
	h.Set("Wechatpay-Signature", sig)
	h.Set("Wechatpay-Signature-Type", wechat.AuthScheme)
	return h
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

func (s *Sandbox) record(r *http.Request) {
	s.mu.Lock()
	s.calls = append(s.calls, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
}

// writeJSON answers a signed JSON response.
func (s *Sandbox) writeJSON(w http.ResponseWriter, status int, v any) {
	var body []byte
	if v != nil {
		body, _ = json.Marshal(v)
	}
	for k, vs := range s.SignHeaders(body, s.now()) {
		w.Header()[k] = vs
	}
	w.Header().Set("Request-ID", randomHex(8))
	if body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Sandbox) fail(w http.ResponseWriter, status int, code, msg string) {
	s.writeJSON(w, status, map[string]string{"code": code, "message": msg})
}

// authenticate checks the merchant's Authorization header.
func (s *Sandbox) authenticate(r *http.Request, body []byte) error {
	f, err := wechat.ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	if f["mchid"] != MchID {
		return fmt.Errorf("mchid %s is not the sandbox merchant", f["mchid"])
	}
	if f["serial_no"] != s.keys.merchantSerial {
		return fmt.Errorf("serial_no %s is not the merchant certificate", f["serial_no"])
	}
	sec, err := strconv.ParseInt(f["timestamp"], 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q", f["timestamp"])
	}
	if d := s.now().Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp %s is %s off", f["timestamp"], d)
	}
	msg := wechat.SignatureMessage(r.Method, r.URL.RequestURI(), f["timestamp"], f["nonce_str"], body)
	return sign.VerifySHA256RSA(&s.keys.merchant.PublicKey, msg, f["signature"])
}

func (s *Sandbox) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h func(http.ResponseWriter, *http.Request, []byte)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			s.record(r)
			var body bytes.Buffer
			if _, err := body.ReadFrom(http.MaxBytesReader(w, r.Body, 1<<20)); err != nil {
				s.fail(w, http.StatusBadRequest, "PARAM_ERROR", "body too large")
				return
			}
			if err := s.authenticate(r, body.Bytes()); err != nil {
				s.fail(w, http.StatusUnauthorized, "SIGN_ERROR", "签名错误: "+err.Error())
				return
			}
			h(w, r, body.Bytes())
		})
	}
	txn := "/v3/pay/transactions"
	contracts := "/v3/papay/sign/contracts"
	if s.subMchID != "" {
		txn, contracts = "/v3/pay/partner/transactions", "/v3/papay/sign/partner/contracts"
	}
	handle("GET "+txn+"/id/{id}", s.queryOrder)
	handle("GET "+txn+"/out-trade-no/{no}", s.queryOrder)
	handle("POST "+txn+"/out-trade-no/{no}/close", s.closeOrder)
	handle("GET /v3/refund/domestic/refunds/{no}", s.queryRefund)
	handle("POST /v3/refund/domestic/refunds", s.applyRefund)
	handle("GET /v3/bill/tradebill", s.applyBill)
	handle("GET /v3/bill/fundflowbill", s.applyBill)
	handle("GET /v3/billdownload/file", s.downloadBill)
	handle("GET "+contracts+"/plan-id/{plan}/out-contract-code/{code}", s.queryContract)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		s.fail(w, http.StatusNotFound, "NOT_FOUND", "no such API in the sandbox")
	})
	return mux
}

// merchantQuery checks the query string names the merchant: mchid, or
// sp_mchid and sub_mchid in partner mode.
func (s *Sandbox) merchantQuery(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	ok := q.Get("mchid") == MchID
	if s.subMchID != "" {
		ok = q.Get("sp_mchid") == MchID && q.Get("sub_mchid") == s.subMchID
	}
	if !ok {
		s.fail(w, http.StatusBadRequest, "PARAM_ERROR", "mchid / sp_mchid and sub_mchid do not name the sandbox merchant")
	}
	return ok
}

// subMerchant checks the sub_mchid query parameter in partner mode.
func (s *Sandbox) subMerchant(w http.ResponseWriter, got string) bool {
	if s.subMchID != "" && got != s.subMchID {
		s.fail(w, http.StatusBadRequest, "PARAM_ERROR", "sub_mchid is required in partner mode")
		return false
	}
	return true
}

func (s *Sandbox) queryOrder(w http.ResponseWriter, r *http.Request, _ []byte) {
	if !s.merchantQuery(w, r) {
		return
	}
	p, ok := s.sc.FindPayment(r.PathValue("no"), r.PathValue("id"))
	if !ok {
		s.fail(w, http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
		return
	}
	s.writeJSON(w, http.StatusOK, s.transaction(p))
}

// transaction renders a payment as the v3 transaction object.
func (s *Sandbox) transaction(p scenario.Payment) wechat.Transaction {
	var t wechat.Transaction
	t.AppID, t.MchID = AppID, MchID
	if s.subMchID != "" {
		t.MchID, t.SpMchID, t.SubMchID = "", MchID, s.subMchID
	}
	t.OutTradeNo = p.MerchantOrderNo
	t.TradeType = "JSAPI"
	t.Attach = p.Payload
	t.Payer.OpenID = p.OpenID
	t.Amount.Total = p.Amount
	t.Amount.Currency, t.Amount.PayerCurrency = "CNY", "CNY"
	switch p.Status {
	case payrecon.StatusSuccess:
		t.TradeState, t.TradeStateDesc = "SUCCESS", "支付成功"
		if s.refunded(p) {
			t.TradeState, t.TradeStateDesc = "REFUND", "转入退款"
		}
		t.TransactionID = p.ProviderTxnNo
		t.BankType = "OTHERS"
		t.SuccessTime = p.PaidAt.In(payrecon.Shanghai).Format(time.RFC3339)
		t.Amount.PayerTotal = payerAmount(p)
		if p.PromotionAmount > 0 {
			t.PromotionDetail = append(t.PromotionDetail, struct {
				CouponID string `json:"coupon_id"`
				Amount   int64  `json:"amount"`
			}{CouponID: "CP" + p.ProviderTxnNo, Amount: p.PromotionAmount})
		}
	case payrecon.StatusNotPaid:
		t.TradeState, t.TradeStateDesc = "NOTPAY", "未支付"
	case payrecon.StatusClosed:
		t.TradeState, t.TradeStateDesc = "CLOSED", "已关闭"
	case payrecon.StatusPending:
		t.TradeState, t.TradeStateDesc = "USERPAYING", "用户支付中"
	default:
		t.TradeState, t.TradeStateDesc = "PAYERROR", "支付失败"
	}
	return t
}

func payerAmount(p scenario.Payment) int64 {
	if p.PayerAmount != 0 {
		return p.PayerAmount
	}
	return p.Amount - p.PromotionAmount
}

func (s *Sandbox) refunded(p scenario.Payment) bool {
	s.sc.RLock()
	defer s.sc.RUnlock()
	for _, r := range s.sc.Refunds {
		if r.Status == payrecon.StatusSuccess && (r.ProviderTxnNo == p.ProviderTxnNo || r.ProviderTxnNo == "" && r.MerchantOrderNo == p.MerchantOrderNo) {
			return true
		}
	}
	return false
}

func (s *Sandbox) closeOrder(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		MchID    string `json:"mchid"`
		SpMchID  string `json:"sp_mchid"`
		SubMchID string `json:"sub_mchid"`
	}
	err := json.Unmarshal(body, &req)
	if s.subMchID != "" {
		req.MchID = req.SpMchID
		if req.SubMchID != s.subMchID {
			err = fmt.Errorf("sub_mchid")
		}
	}
	if err != nil || req.MchID != MchID {
		s.fail(w, http.StatusBadRequest, "PARAM_ERROR", "mchid")
		return
	}
	no := r.PathValue("no")
	p, ok := s.sc.FindPayment(no, "")
	if !ok {
		s.fail(w, http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
		return
	}
	if p.Status == payrecon.StatusSuccess {
		s.fail(w, http.StatusBadRequest, "ORDERPAID", "订单已支付")
		return
	}
	s.sc.SetPaymentStatus(no, "", payrecon.StatusClosed)
	s.writeJSON(w, http.StatusNoContent, nil)
}

// refundObject renders a refund as the v3 refund object.
func refundObject(r scenario.Refund, total int64) wechat.RefundObject {
	o := wechat.RefundObject{
		RefundID: r.ProviderRefundNo, OutRefundNo: r.MerchantRefundNo,
		TransactionID: r.ProviderTxnNo, OutTradeNo: r.MerchantOrderNo,
		Channel: "ORIGINAL", UserReceivedAccount: "支付用户零钱", FundsAccount: "AVAILABLE",
		CreateTime: r.CreatedAt.In(payrecon.Shanghai).Format(time.RFC3339),
		Status:     refundState(r.Status),
	}
	if !r.FinishedAt.IsZero() {
		o.SuccessTime = r.FinishedAt.In(payrecon.Shanghai).Format(time.RFC3339)
	}
	o.Amount.Total = total
	o.Amount.Refund = r.Amount
	o.Amount.PayerTotal = total
	o.Amount.PayerRefund = r.PayerAmount
	if o.Amount.PayerRefund == 0 {
		o.Amount.PayerRefund = r.Amount
	}
	o.Amount.Currency = "CNY"
	return o
}

func refundState(st payrecon.Status) string {
	switch st {
	case payrecon.StatusSuccess:
		return "SUCCESS"
	case payrecon.StatusClosed:
		return "CLOSED"
	case payrecon.StatusFailed:
		return "ABNORMAL"
	}
	return "PROCESSING"
}

// fillOrder completes a refund's original order numbers and total.
func (s *Sandbox) fillOrder(r scenario.Refund) (scenario.Refund, int64) {
	p, ok := s.sc.FindPayment(r.MerchantOrderNo, r.ProviderTxnNo)
	if !ok {
		return r, r.Amount
	}
	if r.ProviderTxnNo == "" {
		r.ProviderTxnNo = p.ProviderTxnNo
	}
	if r.MerchantOrderNo == "" {
		r.MerchantOrderNo = p.MerchantOrderNo
	}
	return r, p.Amount
}

func (s *Sandbox) queryRefund(w http.ResponseWriter, r *http.Request, _ []byte) {
	if !s.subMerchant(w, r.URL.Query().Get("sub_mchid")) {
		return
	}
	ref, ok := s.sc.FindRefund(r.PathValue("no"), "")
	if !ok {
		s.fail(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在")
		return
	}
	ref, total := s.fillOrder(ref)
	s.writeJSON(w, http.StatusOK, refundObject(ref, total))
}

func (s *Sandbox) applyRefund(w http.ResponseWriter, _ *http.Request, body []byte) {
	var req struct {
		SubMchID      string `json:"sub_mchid"`
		TransactionID string `json:"transaction_id"`
		OutTradeNo    string `json:"out_trade_no"`
		OutRefundNo   string `json:"out_refund_no"`
		Reason        string `json:"reason"`
		Amount        struct {
			Refund   int64  `json:"refund"`
			Total    int64  `json:"total"`
			Currency string `json:"currency"`
		} `json:"amount"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.OutRefundNo == "" || (req.TransactionID == "" && req.OutTradeNo == "") {
		s.fail(w, http.StatusBadRequest, "PARAM_ERROR", "out_refund_no and transaction_id or out_trade_no are required")
		return
	}
	if !s.subMerchant(w, req.SubMchID) {
		return
	}
	if old, ok := s.sc.FindRefund(req.OutRefundNo, ""); ok {
		old, total := s.fillOrder(old)
		s.writeJSON(w, http.StatusOK, refundObject(old, total)) // idempotent on out_refund_no
		return
	}
	p, ok := s.sc.FindPayment(req.OutTradeNo, req.TransactionID)
	if !ok {
		s.fail(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在")
		return
	}
	if p.Status != payrecon.StatusSuccess {
		s.fail(w, http.StatusForbidden, "TRADE_ERROR", "订单未支付")
		return
	}
	if req.Amount.Total != p.Amount || req.Amount.Refund <= 0 {
		s.fail(w, http.StatusBadRequest, "PARAM_ERROR", "amount.total does not match the order")
		return
	}
	var refunded int64
	s.sc.RLock()
	for _, r := range s.sc.Refunds {
		if r.ProviderTxnNo == p.ProviderTxnNo && r.Status != payrecon.StatusClosed && r.Status != payrecon.StatusFailed {
			refunded += r.Amount
		}
	}
	s.sc.RUnlock()
	if refunded+req.Amount.Refund > p.Amount {
		s.fail(w, http.StatusForbidden, "NOT_ENOUGH", "可退金额不足")
		return
	}
	now := s.now()
	s.mu.Lock()
	s.refunds++
	n := s.refunds
	s.mu.Unlock()
	st, finished := s.newRefundStatus(), now
	if st != payrecon.StatusSuccess {
		finished = time.Time{}
	}
	ref, _ := s.sc.AddRefund(scenario.Refund{
		MerchantRefundNo: req.OutRefundNo,
		ProviderRefundNo: fmt.Sprintf("50300%s%08d", now.In(payrecon.Shanghai).Format("20060102"), n),
		MerchantOrderNo:  p.MerchantOrderNo, ProviderTxnNo: p.ProviderTxnNo,
		Status: st, Amount: req.Amount.Refund, PayerAmount: req.Amount.Refund,
		CreatedAt: now, FinishedAt: finished, Reason: req.Reason,
	})
	s.writeJSON(w, http.StatusOK, refundObject(ref, p.Amount))
}

func (s *Sandbox) queryContract(w http.ResponseWriter, r *http.Request, _ []byte) {
	if !s.subMerchant(w, r.URL.Query().Get("sub_mchid")) {
		return
	}
	a, ok := s.sc.FindAgreement("", r.PathValue("code"))
	if !ok || a.PlanID != r.PathValue("plan") {
		s.fail(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "签约关系不存在")
		return
	}
	k := wechat.Contract{
		MchID: MchID, AppID: AppID, ContractID: a.AgreementNo, PlanID: a.PlanID,
		OutContractCode: a.MerchantAgreeNo, OpenID: a.OpenID, ContractState: "SIGNED",
		ContractSignedTime: a.SignedAt.In(payrecon.Shanghai).Format(time.RFC3339),
	}
	if a.Status == payrecon.StatusUnsigned {
		k.ContractState = "TERMINATED"
		k.ContractTerminateInfo = &struct {
			Mode   string `json:"contract_termination_mode"`
			Time   string `json:"contract_terminated_time"`
			Remark string `json:"contract_termination_remark"`
		}{Mode: a.ChangeMode, Time: a.TerminatedAt.In(payrecon.Shanghai).Format(time.RFC3339)}
	}
	s.writeJSON(w, http.StatusOK, k)
}

func (s *Sandbox) applyBill(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	day, err := payrecon.ParseDay(q.Get("bill_date"))
	if err != nil || len(q.Get("bill_date")) != 10 {
		s.fail(w, http.StatusBadRequest, "PARAM_ERROR", "bill_date must be yyyy-MM-dd")
		return
	}
	if day >= payrecon.DayOf(s.now()) || !s.sc.Ready(day) {
		s.fail(w, http.StatusBadRequest, "STATEMENT_CREATING", "账单生成中")
		return
	}
	if s.noStmt && len(s.sc.BillPayments(day)) == 0 && len(s.sc.BillRefunds(day)) == 0 {
		s.fail(w, http.StatusBadRequest, "NO_STATEMENT_EXIST", "请求的账单文件不存在")
		return
	}
	var text []byte
	if strings.HasSuffix(r.URL.Path, "tradebill") {
		if bt := q.Get("bill_type"); bt != "" && bt != "ALL" {
			s.fail(w, http.StatusBadRequest, "PARAM_ERROR", "the sandbox renders bill_type ALL only")
			return
		}
		if !s.subMerchant(w, q.Get("sub_mchid")) {
			return
		}
		text = s.tradeBill(day)
	} else {
		text = s.fundFlowBill(day)
	}
	s.mu.Lock()
	fault := s.fault
	s.mu.Unlock()
	if fault == FaultSummaryMismatch {
		text = bumpSummary(text)
	}
	text, archive := s.tamper(day, strings.HasSuffix(r.URL.Path, "tradebill"), text)
	sum := sha1.Sum(text)
	hash := hex.EncodeToString(sum[:])
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz) // no name, no mod time: the same bill gives the same bytes
	_, _ = zw.Write(text)
	_ = zw.Close()
	data := gz.Bytes()
	switch fault {
	case FaultHashMismatch:
		other := sha1.Sum(append(text, '\n'))
		hash = hex.EncodeToString(other[:])
	case FaultTruncatedGzip:
		data = data[:len(data)/2]
	}
	if archive != nil {
		data = archive(data)
	}
	token := randomHex(16)
	s.mu.Lock()
	s.tokens[token] = data
	s.mu.Unlock()
	s.writeJSON(w, http.StatusOK, wechat.BillLink{
		HashType: "SHA1", HashValue: hash,
		DownloadURL: s.URL() + "/v3/billdownload/file?token=" + token,
	})
}

func (s *Sandbox) downloadBill(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	data, ok := s.tokens[r.URL.Query().Get("token")]
	s.mu.Unlock()
	if !ok {
		s.fail(w, http.StatusBadRequest, "PARAM_ERROR", "token expired or unknown")
		return
	}
	// The bill download answer is not signed.
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(data)
}
