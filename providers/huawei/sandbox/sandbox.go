// Package sandbox is a fake Huawei Payment Kit server on loopback: the real
// paths (direct and partner), PayMercAuth verification with the merchant's
// public key, SM2-signed responses under its own test key and certNo,
// queries and repair calls served from a scenario, bills as zipped CSV from
// an OBS-like URL with presigned headers, and signed callbacks.
package sandbox

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/huawei"
	"github.com/payrecon/payrecon/providers/internal/sign"
	"github.com/payrecon/payrecon/providers/scenario"
)

// Bill encodings.
const (
	EncodingUTF8    = "utf8"
	EncodingUTF8BOM = "utf8bom"
	EncodingGBK     = "gbk"
)

// Bill date formats.
const (
	DatesDash     = "2006-01-02 15:04:05"
	DatesSlash    = "2006/01/02 15:04:05"
	DatesSlashMin = "2006/01/02 15:04"
)

// Options tune the sandbox.
type Options struct {
	// Model is the merchant model callbacks are rendered for (direct by default).
	Model string
	// KeyType is the merchant key the sandbox generates: sm2 (default) or rsa.
	KeyType string
	// Encoding of the bill CSV: utf8 (default), utf8bom, gbk.
	Encoding string
	// DateFormat of the bill's times: DatesDash (default), DatesSlash, DatesSlashMin.
	DateFormat string
	// NoSummary leaves out the 合计 row at the end of the bills.
	NoSummary bool
	// Folder, when set, puts the bill CSV in that folder of the zip (with
	// the folder's own entry first): the docs say to walk the attachment's
	// folders for .csv files, the layout is not documented.
	Folder string
	// Now is the sandbox clock (callbackTime, PayMercAuth time window); default time.Now.
	Now func() time.Time
	// MaxSkew is the allowed PayMercAuth time skew; default 5 minutes.
	MaxSkew time.Duration
	// CallbackURL goes into MerchantConfig.
	CallbackURL string
	// NoSettlementDays are days without a settlement: the settlement bill
	// query answers NOT_SETTLEMENT_DATE for them (§4.1).
	NoSettlementDays []payrecon.Day
	// PaymentType is the 交易类型 the bills print on payment rows: 收单
	// (default) or 商户收单, the other documented type of orders paid
	// through Huawei Pay (§4.2, §4.3).
	PaymentType string
	// OmitChangeMode leaves changeMode out of sign and unsign callbacks,
	// as both official samples do (it is optional on both pages).
	OmitChangeMode bool
}

// Merchant identities the sandbox knows.
const (
	MercNo    = "101000000001"
	AppID     = "5765880207854262001"
	SpMercNo  = "102000000001"
	SubMercNo = "102000000002"
	SpAppID   = "5765880207854262002"
	AuthID    = "120291744647139001"
)

type hwKey struct {
	certNo string
	key    sign.SM2PrivateKey
}

type presigned struct {
	headers map[string]string
	zip     []byte
}

// Sandbox is a running fake Huawei server.
type Sandbox struct {
	srv  *httptest.Server
	sc   *scenario.Scenario
	opts Options

	merchantSM2 sign.SM2PrivateKey
	merchantRSA *rsa.PrivateKey
	obsSecret   []byte

	scenario.TamperHook

	mu      sync.Mutex
	keys    []hwKey // the last one signs
	calls   []string
	traces  map[string]bool
	objects map[string]presigned
	seq     uint64
}

var _ scenario.Sandbox = (*Sandbox)(nil)

// New starts a sandbox serving sc.
func New(sc *scenario.Scenario, opts Options) (*Sandbox, error) {
	if sc == nil {
		sc = &scenario.Scenario{}
	}
	if opts.Model == "" {
		opts.Model = huawei.ModelDirect
	}
	if opts.KeyType == "" {
		opts.KeyType = huawei.KeySM2
	}
	if opts.Encoding == "" {
		opts.Encoding = EncodingUTF8
	}
	if opts.DateFormat == "" {
		opts.DateFormat = DatesDash
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxSkew == 0 {
		opts.MaxSkew = 5 * time.Minute
	}
	if opts.CallbackURL == "" {
		opts.CallbackURL = "https://merchant.example/callbacks/huawei"
	}
	if opts.PaymentType == "" {
		opts.PaymentType = huawei.TypePayment
	}
	sb := &Sandbox{sc: sc, opts: opts, traces: map[string]bool{}, objects: map[string]presigned{}}
	var err error
	if sb.merchantSM2, err = sign.GenerateSM2Key(); err != nil {
		return nil, err
	}
	if opts.KeyType == huawei.KeyRSA {
		if sb.merchantRSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("sandbox rsa key: %w", err)
		}
	}
	sb.obsSecret = make([]byte, 32)
	_, _ = rand.Read(sb.obsSecret)
	if err := sb.RotateKey(); err != nil {
		return nil, err
	}
	sb.srv = httptest.NewServer(sb.routes())
	return sb, nil
}

// RotateKey makes a new Huawei signing key with the next certNo; older keys
// stay in MerchantConfig so callbacks signed before still verify.
func (sb *Sandbox) RotateKey() error {
	k, err := sign.GenerateSM2Key()
	if err != nil {
		return err
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sb.keys = append(sb.keys, hwKey{certNo: fmt.Sprintf("12020000000%05d", len(sb.keys)+1), key: k})
	return nil
}

// CertNo is the certNo the sandbox signs with now.
func (sb *Sandbox) CertNo() string {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return sb.keys[len(sb.keys)-1].certNo
}

// URL is the API base URL.
func (sb *Sandbox) URL() string { return sb.srv.URL }

// ProviderName is "huawei".
func (sb *Sandbox) ProviderName() string { return huawei.Name }

// Scenario is the truth the sandbox serves.
func (sb *Sandbox) Scenario() *scenario.Scenario { return sb.sc }

// Close stops the server.
func (sb *Sandbox) Close() { sb.srv.Close() }

// Client is an HTTP client for the sandbox.
func (sb *Sandbox) Client() *http.Client { return sb.srv.Client() }

// Calls lists the API calls received, "METHOD /path".
func (sb *Sandbox) Calls() []string {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return append([]string(nil), sb.calls...)
}

// MerchantConfig is a huawei.Config for the sandbox's merchant in a model
// (direct or partner): its keys, the sandbox's Huawei keys, base URL.
func (sb *Sandbox) MerchantConfig(model string) huawei.Config {
	cfg := huawei.Config{
		Model: model, AuthID: AuthID, KeyType: sb.opts.KeyType, BaseURL: sb.URL(),
		Timeout: 10 * time.Second, CallbackURL: sb.opts.CallbackURL,
	}
	if model == huawei.ModelPartner {
		cfg.SpMercNo, cfg.SubMercNo, cfg.SpAppID = SpMercNo, SubMercNo, SpAppID
	} else {
		cfg.Model = huawei.ModelDirect
		cfg.MercNo, cfg.AppID = MercNo, AppID
	}
	if sb.merchantRSA != nil {
		pemBytes, _ := sign.MarshalRSAPrivateKeyPEM(sb.merchantRSA)
		cfg.MerchantKey = payrecon.NewSecret(string(pemBytes))
	} else {
		pemText, _ := sb.merchantSM2.PEM()
		cfg.MerchantKey = payrecon.NewSecret(pemText)
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	for i, k := range sb.keys {
		text := k.key.Public().Hex() // vary the accepted formats
		if i%2 == 1 {
			text, _ = k.key.Public().PEM()
		}
		cfg.HuaweiPublicKeys = append(cfg.HuaweiPublicKeys, huawei.PublicKey{CertNo: k.certNo, Key: text})
	}
	return cfg
}

func (sb *Sandbox) record(r *http.Request) {
	sb.mu.Lock()
	sb.calls = append(sb.calls, r.Method+" "+r.URL.Path)
	sb.mu.Unlock()
}

func (sb *Sandbox) nextSeq() uint64 {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sb.seq++
	return sb.seq
}

// signFields adds signType and certNo and signs all fields with the current key.
func (sb *Sandbox) signFields(fields map[string]any) ([]byte, error) {
	sb.mu.Lock()
	k := sb.keys[len(sb.keys)-1]
	sb.mu.Unlock()
	return SignWith(k.key, k.certNo, fields)
}

// SignWith signs fields as Huawei does with key under certNo (certNo ""
// leaves it out) and returns the JSON body. Tests use it to forge callbacks
// with the wrong key.
func SignWith(key sign.SM2PrivateKey, certNo string, fields map[string]any) ([]byte, error) {
	f := make(map[string]any, len(fields)+3)
	for k, v := range fields {
		f[k] = v
	}
	delete(f, "sign")
	f["signType"] = "SM2"
	if certNo != "" {
		f["certNo"] = certNo
	}
	raw, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	s, err := sign.SortJoin(raw)
	if err != nil {
		return nil, err
	}
	sig, err := key.SignBase64([]byte(s))
	if err != nil {
		return nil, err
	}
	f["sign"] = sig
	return json.Marshal(f)
}

// SignCallback renders arbitrary callback fields signed with the sandbox's
// current key (tests build unusual callbacks with it).
func (sb *Sandbox) SignCallback(fields map[string]any) (scenario.Callback, error) {
	body, err := sb.signFields(fields)
	if err != nil {
		return scenario.Callback{}, err
	}
	id, _ := fields["callbackId"].(string)
	return scenario.Callback{Header: http.Header{"Content-Type": {"application/json"}}, Body: body, EventID: id}, nil
}

// SignCallbackCert renders callback fields signed with the key registered
// under keyCertNo but labelled certNo (certNo "" leaves the label out):
// tests make old-key, wrong-certNo and unknown-certNo callbacks with it.
func (sb *Sandbox) SignCallbackCert(certNo, keyCertNo string, fields map[string]any) (scenario.Callback, error) {
	sb.mu.Lock()
	var key sign.SM2PrivateKey
	for _, k := range sb.keys {
		if k.certNo == keyCertNo {
			key = k.key
		}
	}
	sb.mu.Unlock()
	if !key.Valid() {
		return scenario.Callback{}, fmt.Errorf("no sandbox key with certNo %q", keyCertNo)
	}
	body, err := SignWith(key, certNo, fields)
	if err != nil {
		return scenario.Callback{}, err
	}
	id, _ := fields["callbackId"].(string)
	return scenario.Callback{Header: http.Header{"Content-Type": {"application/json"}}, Body: body, EventID: id}, nil
}

// CertNos lists the certNos of every key the sandbox has had, oldest first.
func (sb *Sandbox) CertNos() []string {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	var out []string
	for _, k := range sb.keys {
		out = append(out, k.certNo)
	}
	return out
}

func (sb *Sandbox) reply(w http.ResponseWriter, fields map[string]any) {
	body, err := sb.signFields(fields)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(body)
}

func (sb *Sandbox) ok(w http.ResponseWriter, fields map[string]any) {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["resultCode"], fields["resultDesc"] = huawei.CodeSuccess, "Success."
	sb.reply(w, fields)
}

func (sb *Sandbox) fail(w http.ResponseWriter, code, subCode, desc string) {
	f := map[string]any{"resultCode": code, "resultDesc": desc}
	if subCode != "" {
		f["subCode"], f["subDesc"] = subCode, desc
	}
	sb.reply(w, f)
}

// callbackID is stable for one event, so a re-rendered callback is a retry.
func callbackID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "|")))
	return fmt.Sprintf("9%018d", binary.BigEndian.Uint64(h[:8])%1_000_000_000_000_000_000)
}

func (sb *Sandbox) merchantFields(f map[string]any) {
	if sb.opts.Model == huawei.ModelPartner {
		f["spMercNo"], f["subMercNo"], f["spAppId"] = SpMercNo, SubMercNo, SpAppID
	} else {
		f["mercNo"], f["appId"] = MercNo, AppID
	}
}

func (sb *Sandbox) callbackTime() string { return huawei.FormatLocalTime(sb.opts.Now()) }

// PaymentCallback renders the payment result callback (TRX_SUCCESS or
// TRX_FAILED); Huawei sends none for other states.
func (sb *Sandbox) PaymentCallback(p scenario.Payment) (scenario.Callback, error) {
	var status string
	switch p.Status {
	case payrecon.StatusSuccess:
		status = "TRX_SUCCESS"
	case payrecon.StatusFailed:
		status = "TRX_FAILED"
	default:
		return scenario.Callback{}, fmt.Errorf("huawei sends no payment callback for status %s", p.Status)
	}
	f := map[string]any{
		"callbackId":      callbackID("payment", p.ProviderTxnNo, status),
		"callbackTime":    sb.callbackTime(),
		"dataType":        "plain",
		"currency":        "CNY",
		"mercOrderNo":     p.MerchantOrderNo,
		"sysTransOrderNo": p.ProviderTxnNo,
		"orderStatus":     status,
		"totalAmount":     p.Amount,
		"payerAmount":     p.PayerAmount,
		"promotionAmount": p.PromotionAmount,
		"paymentTools":    "AGMT",
	}
	if !p.PaidAt.IsZero() {
		f["finishTime"] = huawei.FormatTime(p.PaidAt)
	}
	if p.Payload != "" {
		f["payload"] = p.Payload
	}
	if p.OpenID != "" {
		f["payer"] = map[string]any{"openId": p.OpenID}
	}
	sb.merchantFields(f)
	return sb.SignCallback(f)
}

// RefundCallback renders the refund result callback (mercRefundNo /
// sysRefundNo; no order numbers, as at Huawei).
func (sb *Sandbox) RefundCallback(r scenario.Refund) (scenario.Callback, error) {
	status, ok := map[payrecon.Status]string{
		payrecon.StatusSuccess: "REFUND_SUCCESS", payrecon.StatusFailed: "REFUND_FAILED", payrecon.StatusPending: "REFUND_CHL_PROC",
	}[r.Status]
	if !ok {
		return scenario.Callback{}, fmt.Errorf("huawei sends no refund callback for status %s", r.Status)
	}
	f := map[string]any{
		"callbackId":            callbackID("refund", r.ProviderRefundNo, status),
		"callbackTime":          sb.callbackTime(),
		"dataType":              "plain",
		"currency":              "CNY",
		"mercRefundNo":          r.MerchantRefundNo,
		"sysRefundNo":           r.ProviderRefundNo,
		"refundOrderStatus":     status,
		"refundAmount":          r.Amount,
		"payerRefundAmount":     r.PayerAmount,
		"promotionRefundAmount": r.Amount - r.PayerAmount,
	}
	if !r.FinishedAt.IsZero() {
		f["finishTime"] = huawei.FormatTime(r.FinishedAt)
	}
	if sb.opts.Model != huawei.ModelPartner {
		f["mercNo"] = MercNo
	}
	return sb.SignCallback(f)
}

// AgreementCallback renders a sign (signed) or unsign (unsigned) callback.
func (sb *Sandbox) AgreementCallback(a scenario.Agreement) (scenario.Callback, error) {
	f := map[string]any{
		"callbackTime":     sb.callbackTime(),
		"dataType":         "plain",
		"contractId":       a.AgreementNo,
		"mercContractCode": a.MerchantAgreeNo,
		"planId":           a.PlanID,
	}
	switch a.Status {
	case payrecon.StatusSigned:
		f["changeMode"] = "USER_SIGN"
		f["operateTime"] = huawei.FormatLocalTime(a.SignedAt)
		f["expireDate"] = a.SignedAt.In(payrecon.Shanghai).AddDate(1, 0, 0).Format("2006-01-02")
		f["callbackId"] = callbackID("sign", a.AgreementNo)
	case payrecon.StatusUnsigned:
		mode := a.ChangeMode
		if mode == "" || !strings.Contains(mode, "UNSIGN") {
			mode = "USER_UNSIGN"
		}
		f["changeMode"] = mode
		if !a.TerminatedAt.IsZero() {
			f["operateTime"] = huawei.FormatLocalTime(a.TerminatedAt)
		}
		f["callbackId"] = callbackID("unsign", a.AgreementNo)
	default:
		return scenario.Callback{}, fmt.Errorf("agreement status %s has no callback", a.Status)
	}
	if sb.opts.OmitChangeMode {
		delete(f, "changeMode")
	}
	if a.OpenID != "" {
		f["payer"] = map[string]any{"openId": a.OpenID}
	}
	sb.merchantFields(f)
	return sb.SignCallback(f)
}

// ---- HTTP API ----

type handler func(w http.ResponseWriter, r *http.Request, partner bool, body []byte)

func (sb *Sandbox) routes() http.Handler {
	mux := http.NewServeMux()
	add := func(method string, paths [2]string, suffix string, h handler) {
		for i, p := range paths {
			partner := i == 1
			mux.HandleFunc(method+" "+p+suffix, func(w http.ResponseWriter, r *http.Request) {
				sb.record(r)
				body, ok := sb.authorize(w, r, partner)
				if !ok {
					return
				}
				h(w, r, partner, body)
			})
		}
	}
	P := huawei.Paths
	add("GET", P.OrderByMerc, "{no}", sb.queryOrder(false))
	add("GET", P.OrderBySys, "{no}", sb.queryOrder(true))
	add("POST", P.Close, "", sb.closeOrder)
	add("POST", P.Refunds, "", sb.applyRefund)
	add("GET", P.RefundByMerc, "{no}", sb.queryRefund(false))
	add("GET", P.RefundBySys, "{no}", sb.queryRefund(true))
	add("GET", P.ContractByID, "{no}", sb.queryContract(true))
	add("GET", P.ContractByCode, "{no}", sb.queryContract(false))
	add("POST", P.Unsign, "", sb.unsign)
	add("GET", P.TradeBillInfo, "", sb.billInfo(payrecon.BillTrade))
	add("GET", P.SettleBillInfo, "", sb.billInfo(payrecon.BillSettlement))
	mux.HandleFunc("GET /obs/petalpay-merchant-bill/{obj}", sb.obsGet)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		sb.record(r)
		http.Error(w, `{"resultCode":"404","resultDesc":"no such API"}`, http.StatusNotFound)
	})
	return mux
}

// authorize checks PayMercAuth like Huawei's gateway.
func (sb *Sandbox) authorize(w http.ResponseWriter, r *http.Request, partner bool) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		sb.fail(w, "200001", "INVALID_PARAMETER", "unreadable body")
		return nil, false
	}
	v := r.Header.Get(huawei.HeaderAuth)
	if v == "" {
		sb.fail(w, "200000", "MISSING_AUTH_HEADER", "PayMercAuth missing")
		return nil, false
	}
	a, err := huawei.ParsePayMercAuth(v)
	if err != nil {
		sb.fail(w, "200001", "INVALID_AUTH_HEADER", "PayMercAuth is not JSON")
		return nil, false
	}
	switch {
	case a.TraceID == "" || len(a.TraceID) > 32:
		sb.fail(w, "200000", "MISSING_TRACER_ID", "traceId missing or too long")
		return nil, false
	case a.BodySign == "":
		sb.fail(w, "200000", "MISSING_BODY_SIGN", "bodySign missing")
		return nil, false
	case a.HeaderSign == "":
		sb.fail(w, "200000", "MISSING_HEADER_SIGN", "headerSign missing")
		return nil, false
	case a.AuthID != AuthID:
		sb.fail(w, "200001", "INVALID_AUTH_ID", "unknown authId")
		return nil, false
	}
	want := MercNo
	if partner {
		want = SpMercNo
	}
	if a.CallerID != want {
		sb.fail(w, "200001", "INVALID_CALLER_ID", "callerId does not own this API")
		return nil, false
	}
	now := sb.opts.Now()
	if d := now.Sub(time.UnixMilli(a.Time)); d > sb.opts.MaxSkew || d < -sb.opts.MaxSkew {
		sb.fail(w, "200001", "INVALID_TIME", "time outside the window")
		return nil, false
	}
	bodyStr, err := huawei.BodySignString(r.Method, r.URL.RequestURI(), body)
	if err != nil || sb.verifyMerchant([]byte(bodyStr), a.BodySign) != nil || sb.verifyMerchant([]byte(a.HeaderSignString()), a.HeaderSign) != nil {
		sb.fail(w, huawei.CodeBadSign, "INVALID_SIGNATURE", "INVALID_SIGNATURE")
		return nil, false
	}
	sb.mu.Lock()
	dup := sb.traces[a.TraceID]
	sb.traces[a.TraceID] = true
	sb.mu.Unlock()
	if dup {
		sb.fail(w, "200001", "INVALID_DUPLICATE_REQUEST", "traceId reused")
		return nil, false
	}
	return body, true
}

func (sb *Sandbox) verifyMerchant(msg []byte, sig string) error {
	if sb.merchantRSA != nil {
		return sign.VerifyPSS(&sb.merchantRSA.PublicKey, msg, sig)
	}
	return sb.merchantSM2.Public().VerifyBase64(msg, sig)
}

func orderStatus(st payrecon.Status) (string, bool) {
	switch st {
	case payrecon.StatusSuccess:
		return "TRX_SUCCESS", true
	case payrecon.StatusFailed:
		return "TRX_FAILED", true
	case payrecon.StatusPending:
		return "TRX_PROC", true
	}
	return "", false // closed / not paid: Huawei reports the order as not existing
}

func (sb *Sandbox) merchantOut(f map[string]any, partner bool) {
	if partner {
		f["spMercNo"], f["subMercNo"], f["spAppId"] = SpMercNo, SubMercNo, SpAppID
	} else {
		f["mercNo"], f["appId"] = MercNo, AppID
	}
}

func (sb *Sandbox) queryOrder(bySys bool) handler {
	return func(w http.ResponseWriter, r *http.Request, partner bool, _ []byte) {
		no := r.PathValue("no")
		var p scenario.Payment
		var found bool
		if bySys {
			p, found = sb.sc.FindPayment("", no)
		} else {
			p, found = sb.sc.FindPayment(no, "")
		}
		st, known := orderStatus(p.Status)
		if !found || !known {
			if bySys {
				sb.fail(w, huawei.CodeBusiness, "PAY_ORDER_NOT_EXIST", "支付订单号不存在")
			} else {
				sb.fail(w, huawei.CodeBusiness, "MERC_ORDER_NOT_EXIST", "商户订单号不存在")
			}
			return
		}
		f := map[string]any{
			"sysTransOrderNo": p.ProviderTxnNo, "mercOrderNo": p.MerchantOrderNo, "orderStatus": st, "currency": "CNY",
			"totalAmount": p.Amount, "payerAmount": p.PayerAmount, "promotionAmount": p.PromotionAmount,
		}
		if p.Status == payrecon.StatusSuccess {
			f["finishTime"] = huawei.FormatTime(p.PaidAt)
			f["paymentTools"] = "AGMT"
		}
		if p.Payload != "" {
			f["payload"] = p.Payload
		}
		sb.merchantOut(f, partner)
		sb.ok(w, f)
	}
}

func (sb *Sandbox) closeOrder(w http.ResponseWriter, r *http.Request, partner bool, body []byte) {
	var req struct {
		MercOrderNo string `json:"mercOrderNo"`
	}
	if json.Unmarshal(body, &req) != nil || req.MercOrderNo == "" {
		sb.fail(w, huawei.CodeBusiness, "INVALID_ARGUMENTS", "mercOrderNo required")
		return
	}
	p, found := sb.sc.FindPayment(req.MercOrderNo, "")
	switch {
	case !found:
		sb.fail(w, huawei.CodeBusiness, "MERC_ORDER_NOT_EXIST", "商户订单号不存在")
	case p.Status == payrecon.StatusSuccess:
		sb.fail(w, huawei.CodeBusiness, "CHECK_ORDER_STATUS", "订单状态异常")
	default:
		sb.sc.SetPaymentStatus(p.MerchantOrderNo, p.ProviderTxnNo, payrecon.StatusClosed)
		sb.ok(w, nil)
	}
}

func (sb *Sandbox) applyRefund(w http.ResponseWriter, r *http.Request, partner bool, body []byte) {
	var req huawei.RefundBody
	if json.Unmarshal(body, &req) != nil || req.MercRefundOrderNo == "" || len(req.MercRefundOrderNo) > 64 || req.CallbackURL == "" {
		sb.fail(w, huawei.CodeBusiness, "INVALID_ARGUMENTS", "参数不合法")
		return
	}
	if old, ok := sb.sc.FindRefund(req.MercRefundOrderNo, ""); ok { // idempotent on mercRefundOrderNo
		sb.ok(w, refundFields(old))
		return
	}
	p, found := sb.sc.FindPayment(req.MercOrderNo, req.SysTransOrderNo)
	if !found {
		if req.SysTransOrderNo != "" {
			sb.fail(w, huawei.CodeBusiness, "PAY_ORDER_NOT_EXIST", "支付订单号不存在")
		} else {
			sb.fail(w, huawei.CodeBusiness, "MERC_ORDER_NOT_EXIST", "商户订单号不存在")
		}
		return
	}
	if p.Status != payrecon.StatusSuccess {
		sb.fail(w, huawei.CodeBusiness, "CHECK_ORDER_STATUS", "订单状态异常")
		return
	}
	amount := req.RefundAmount
	if amount == 0 {
		amount = p.Amount
	}
	var refunded int64
	sb.sc.RLock()
	for _, old := range sb.sc.Refunds {
		if old.ProviderTxnNo == p.ProviderTxnNo && old.Status != payrecon.StatusFailed {
			refunded += old.Amount
		}
	}
	sb.sc.RUnlock()
	if amount <= 0 || refunded+amount > p.Amount {
		sb.fail(w, huawei.CodeBusiness, "CHECK_AMOUNT_INVALID", "退款金额超过订单可退金额")
		return
	}
	now := sb.opts.Now()
	payer := amount
	if p.Amount > 0 && p.PromotionAmount > 0 {
		payer = amount * p.PayerAmount / p.Amount
	}
	ref := scenario.Refund{
		MerchantRefundNo: req.MercRefundOrderNo,
		ProviderRefundNo: fmt.Sprintf("5900%s%08d", now.In(payrecon.Shanghai).Format("20060102150405"), sb.nextSeq()),
		MerchantOrderNo:  p.MerchantOrderNo, ProviderTxnNo: p.ProviderTxnNo,
		Status: payrecon.StatusPending, Amount: amount, PayerAmount: payer,
		CreatedAt: now, Reason: req.Reason,
	}
	stored, _ := sb.sc.AddRefund(ref)
	sb.ok(w, refundFields(stored))
}

func refundStatus(st payrecon.Status) string {
	switch st {
	case payrecon.StatusSuccess:
		return "REFUND_SUCCESS"
	case payrecon.StatusFailed, payrecon.StatusClosed:
		return "REFUND_FAILED"
	}
	return "REFUND_CHL_PROC"
}

func refundFields(r scenario.Refund) map[string]any {
	f := map[string]any{
		"sysRefundOrderNo": r.ProviderRefundNo, "mercRefundOrderNo": r.MerchantRefundNo,
		"sysTransOrderNo": r.ProviderTxnNo, "mercOrderNo": r.MerchantOrderNo,
		"refundAmount": r.Amount, "payerRefundAmount": r.PayerAmount,
	}
	return f
}

func (sb *Sandbox) queryRefund(bySys bool) handler {
	return func(w http.ResponseWriter, r *http.Request, partner bool, _ []byte) {
		no := r.PathValue("no")
		var ref scenario.Refund
		var found bool
		if bySys {
			ref, found = sb.sc.FindRefund("", no)
		} else {
			ref, found = sb.sc.FindRefund(no, "")
		}
		if !found {
			sb.fail(w, huawei.CodeBusiness, "REFUND_ORDER_NOT_EXIST", "退款订单不存在")
			return
		}
		// the refund query carries no order numbers (as documented)
		f := map[string]any{
			"sysRefundOrderNo": ref.ProviderRefundNo, "mercRefundOrderNo": ref.MerchantRefundNo,
			"refundOrderStatus": refundStatus(ref.Status), "currency": "CNY",
			"refundAmount": ref.Amount, "payerRefundAmount": ref.PayerAmount, "promotionRefundAmount": ref.Amount - ref.PayerAmount,
		}
		if !ref.FinishedAt.IsZero() {
			f["finishTime"] = huawei.FormatTime(ref.FinishedAt)
		}
		sb.ok(w, f)
	}
}

func (sb *Sandbox) queryContract(byID bool) handler {
	return func(w http.ResponseWriter, r *http.Request, partner bool, _ []byte) {
		no := r.PathValue("no")
		var a scenario.Agreement
		var found bool
		if byID {
			a, found = sb.sc.FindAgreement(no, "")
		} else {
			a, found = sb.sc.FindAgreement("", no)
		}
		if !found {
			sb.fail(w, huawei.CodeBusiness, "CONTRACT_NOT_EXIST", "签约协议不存在")
			return
		}
		st := "1"
		if a.Status == payrecon.StatusUnsigned {
			st = "9"
		}
		f := map[string]any{
			"contractId": a.AgreementNo, "mercContractCode": a.MerchantAgreeNo, "planId": a.PlanID,
			"signedTime": huawei.FormatLocalTime(a.SignedAt), "signStatus": st,
			"expireDate": a.SignedAt.In(payrecon.Shanghai).AddDate(1, 0, 0).Format("2006-01-02"),
		}
		sb.merchantOut(f, partner)
		sb.ok(w, f)
	}
}

func (sb *Sandbox) unsign(w http.ResponseWriter, r *http.Request, partner bool, body []byte) {
	var req huawei.UnsignBody
	if json.Unmarshal(body, &req) != nil || (req.ContractID == "" && req.MercContractCode == "") {
		sb.fail(w, huawei.CodeBusiness, "INVALID_ARGUMENTS", "contractId or mercContractCode required")
		return
	}
	if (!partner && req.MercNo != MercNo) || (partner && (req.SpMercNo != SpMercNo || req.SubMercNo != SubMercNo)) {
		sb.fail(w, huawei.CodeBusiness, "INVALID_MERCNO", "无效商户号")
		return
	}
	a, found := sb.sc.FindAgreement(req.ContractID, req.MercContractCode)
	if req.ContractID != "" {
		a, found = sb.sc.FindAgreement(req.ContractID, "")
	}
	switch {
	case !found:
		sb.fail(w, huawei.CodeBusiness, "CONTRACT_NOT_EXIST", "签约协议不存在")
	case a.Status != payrecon.StatusSigned:
		sb.fail(w, huawei.CodeBusiness, "CHECK_CONTRACT_STATUS", "签约状态异常")
	default:
		sb.sc.SetAgreementStatus(a.AgreementNo, "", payrecon.StatusUnsigned, sb.opts.Now(), "MERC_API_UNSIGN")
		f := map[string]any{"mercContractCode": a.MerchantAgreeNo, "planId": a.PlanID}
		sb.merchantOut(f, partner)
		sb.ok(w, f)
	}
}

// ---- bills ----

func (sb *Sandbox) billInfo(kind payrecon.BillKind) handler {
	return func(w http.ResponseWriter, r *http.Request, partner bool, _ []byte) {
		day, err := payrecon.ParseDay(r.URL.Query().Get("billDate"))
		if err != nil || len(r.URL.Query().Get("billDate")) != 8 {
			sb.fail(w, huawei.CodeBusiness, "INVALID_ARGUMENTS", "billDate must be yyyyMMdd")
			return
		}
		if partner {
			if s := r.URL.Query().Get("subMercNo"); s != "" && s != SubMercNo {
				sb.fail(w, huawei.CodeBusiness, "INVALID_SUB_MERCNO", "子商户号无效")
				return
			}
		}
		if kind == payrecon.BillSettlement && slices.Contains(sb.opts.NoSettlementDays, day) {
			sb.fail(w, huawei.CodeBusiness, "NOT_SETTLEMENT_DATE", "非结算日")
			return
		}
		if !sb.sc.Ready(day) {
			sb.ok(w, nil) // not generated yet: billDownloadParam absent
			return
		}
		merc := MercNo
		if partner {
			merc = SubMercNo
		}
		zipBytes, err := sb.BillZip(day, kind, merc)
		if err != nil {
			sb.fail(w, huawei.CodeUnknown, "", err.Error())
			return
		}
		var idb [12]byte
		_, _ = rand.Read(idb[:])
		obj := hex.EncodeToString(idb[:]) + ".zip"
		now := sb.opts.Now().UTC()
		headers := map[string]string{
			"x-amz-content-sha256":    "UNSIGNED-PAYLOAD",
			"x-amz-date":              now.Format("20060102T150405Z"),
			"x-amz-client-request-id": hex.EncodeToString(idb[:6]),
			"Content-Type":            "application/octet-stream",
			"user-agent":              "petalpay-sandbox/1.0",
			"connection":              "keep-alive",
			"Host":                    r.Host,
		}
		mac := hmac.New(sha256.New, sb.obsSecret)
		mac.Write([]byte(obj + "\n" + headers["x-amz-date"] + "\n" + headers["x-amz-client-request-id"]))
		headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=SANDBOX/" + now.Format("20060102") + "/cn-north-4/s3/aws4_request, SignedHeaders=host;x-amz-client-request-id;x-amz-content-sha256;x-amz-date, Signature=" + hex.EncodeToString(mac.Sum(nil))
		sb.mu.Lock()
		sb.objects[obj] = presigned{headers: headers, zip: zipBytes}
		sb.mu.Unlock()
		sb.ok(w, map[string]any{"billDownloadParam": map[string]any{
			"headers": headers, "method": "GET", "downloadUrl": sb.URL() + "/obs/petalpay-merchant-bill/" + obj,
		}})
	}
}

func (sb *Sandbox) obsGet(w http.ResponseWriter, r *http.Request) {
	sb.record(r)
	obj := r.PathValue("obj")
	sb.mu.Lock()
	p, ok := sb.objects[obj]
	sb.mu.Unlock()
	if !ok {
		http.Error(w, "<Error><Code>NoSuchKey</Code></Error>", http.StatusNotFound)
		return
	}
	for k, v := range p.headers {
		switch strings.ToLower(k) {
		case "connection":
			continue // hop-by-hop: Go's transport manages it
		case "host":
			if r.Host != v {
				http.Error(w, "<Error><Code>SignatureDoesNotMatch</Code><Message>host</Message></Error>", http.StatusForbidden)
				return
			}
			continue
		}
		if r.Header.Get(k) != v {
			http.Error(w, "<Error><Code>SignatureDoesNotMatch</Code><Message>"+k+"</Message></Error>", http.StatusForbidden)
			return
		}
	}
	w.Header().Set("Content-Type", "application/zip")
	_, _ = w.Write(p.zip)
}

// BillZip renders the bill of a day as Huawei would publish it: a zip
// holding one CSV, deterministic for the same scenario.
func (sb *Sandbox) BillZip(day payrecon.Day, kind payrecon.BillKind, merc string) ([]byte, error) {
	var csvBuf bytes.Buffer
	if err := sb.WriteBillCSV(&csvBuf, day, kind, merc); err != nil {
		return nil, err
	}
	name := "TradeBill_" + merc + "_" + day.Compact() + ".csv"
	if kind == payrecon.BillSettlement {
		name = "SettleBill_" + merc + "_" + day.Compact() + ".csv"
	}
	plain, archive := sb.tamper(day, kind, name, csvBuf.Bytes())
	csvBuf = *bytes.NewBuffer(plain)
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	entry := name
	if f := sb.opts.Folder; f != "" {
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: f + "/", Modified: day.End().Add(9 * time.Hour)}); err != nil {
			return nil, err
		}
		entry = f + "/" + name
	}
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: entry, Method: zip.Deflate, Modified: day.End().Add(9 * time.Hour)})
	if err != nil {
		return nil, err
	}
	if _, err := fw.Write(csvBuf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if archive != nil {
		return archive(zbuf.Bytes()), nil
	}
	return zbuf.Bytes(), nil
}

// TradeColumns is the documented trade bill column order (§4.2).
var TradeColumns = []string{"商户名称", "商户号", "交易创建时间", "交易完成时间", "系统交易订单号", "商户订单号", "交易状态", "交易类型",
	"产品实例编号", "产品名称", "银行名称", "卡类型", "交易币种", "交易金额(元)", "订单金额(元)", "优惠金额(元)", "手续费金额(元)",
	"合作方商户号", "合作方商户名称", "原系统交易订单号", "原商户订单号", "商户预留信息", "AppID", "用户标识"}

// SettleColumns is the documented settlement bill column order (§4.3).
var SettleColumns = []string{"结算单号", "结算日", "商户名称", "商户号", "交易创建时间", "交易完成时间", "系统交易订单号", "商户订单号", "交易类型",
	"产品实例编号", "产品名称", "银行名称", "卡类型", "交易币种", "结算金额(元)", "订单金额(元)", "优惠金额(元)", "手续费金额(元)",
	"手续费收取方式", "分账类型", "合作方商户名称", "合作方商户号", "原系统交易订单号", "原商户订单号", "商户预留信息", "AppID", "用户标识"}

// WriteBillCSV writes the CSV of a day's bill in the configured encoding and date format.
func (sb *Sandbox) WriteBillCSV(w io.Writer, day payrecon.Day, kind payrecon.BillKind, merc string) error {
	rows := sb.billRows(day, kind, merc)
	return WriteCSV(w, rows, sb.opts.Encoding)
}

func (sb *Sandbox) billRows(day payrecon.Day, kind payrecon.BillKind, merc string) [][]string {
	tf := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(payrecon.Shanghai).Format(sb.opts.DateFormat)
	}
	y := payrecon.FormatYuan
	const mercName = "payrecon沙箱商户"
	appID := AppID
	settle := kind == payrecon.BillSettlement
	type row struct {
		created, finished        time.Time
		sys, merc, typ, product  string
		payer, amount, promo     int64
		fee, settlement          int64
		origSys, origMerc, extra string
		openID                   string
	}
	var rows []row
	for _, p := range sb.sc.BillPayments(day) {
		rows = append(rows, row{created: p.CreatedAt, finished: p.PaidAt, sys: p.ProviderTxnNo, merc: p.MerchantOrderNo, typ: sb.opts.PaymentType,
			product: "借记卡快捷支付", payer: p.PayerAmount, amount: p.Amount, promo: p.PromotionAmount, fee: p.Fee,
			settlement: p.PayerAmount - p.Fee, extra: p.Payload, openID: p.OpenID})
	}
	for _, r := range sb.sc.BillRefunds(day) {
		// refunds print negative amounts; the fee comes back (Fee is ≤ 0)
		rows = append(rows, row{created: r.CreatedAt, finished: r.FinishedAt, sys: r.ProviderRefundNo, merc: r.MerchantRefundNo, typ: huawei.TypeRefund,
			product: "借记卡快捷支付", payer: -r.PayerAmount, amount: -r.Amount, promo: -(r.Amount - r.PayerAmount), fee: r.Fee,
			settlement: -r.PayerAmount - r.Fee, origSys: r.ProviderTxnNo, origMerc: r.MerchantOrderNo})
	}
	for _, o := range sb.sc.BillOthers(day) {
		rows = append(rows, row{created: o.At, finished: o.At, sys: o.ProviderTxnNo, merc: "", typ: o.Type, payer: o.Amount, amount: o.Amount, settlement: o.Amount})
	}
	if settle && len(rows) > 0 {
		sb.sc.RLock()
		rows[0].settlement += sb.sc.SettlementDelta[day]
		sb.sc.RUnlock()
	}
	var out [][]string
	var total, count int64
	if settle {
		out = append(out, SettleColumns)
		for i, r := range rows {
			out = append(out, []string{fmt.Sprintf("ST%s%06d", day.Compact(), i+1), day.Compact(), mercName, merc,
				r.created.In(payrecon.Shanghai).Format("20060102"), tf(r.finished), r.sys, r.merc, r.typ,
				"", r.product, "", "", "CNY", y(r.settlement), y(r.amount), y(r.promo), y(r.fee),
				"手续费轧差收取", "不分账", "", "", r.origSys, r.origMerc, r.extra, appID, r.openID})
			total += r.settlement
			count++
		}
	} else {
		out = append(out, TradeColumns)
		for _, r := range rows {
			out = append(out, []string{mercName, merc, tf(r.created), tf(r.finished), r.sys, r.merc, "成功", r.typ,
				"", r.product, "", "", "CNY", y(r.payer), y(r.amount), y(r.promo), y(r.fee),
				"", "", r.origSys, r.origMerc, r.extra, appID, r.openID})
			total += r.amount
			count++
		}
	}
	if !sb.opts.NoSummary {
		out = append(out, []string{"合计", fmt.Sprintf("总笔数:%d", count), fmt.Sprintf("总金额:%s", y(total))})
	}
	return out
}

// WriteCSV writes rows as CSV in an encoding (utf8, utf8bom, gbk). Tests
// use it to build fixtures.
func WriteCSV(w io.Writer, rows [][]string, encoding string) error {
	var buf bytes.Buffer
	for _, rec := range rows {
		for i, c := range rec {
			if i > 0 {
				buf.WriteByte(',')
			}
			if strings.ContainsAny(c, ",\"\r\n") {
				buf.WriteString(`"` + strings.ReplaceAll(c, `"`, `""`) + `"`)
			} else {
				buf.WriteString(c)
			}
		}
		buf.WriteString("\r\n")
	}
	switch encoding {
	case EncodingUTF8, "":
		_, err := w.Write(buf.Bytes())
		return err
	case EncodingUTF8BOM:
		if _, err := w.Write([]byte{0xEF, 0xBB, 0xBF}); err != nil {
			return err
		}
		_, err := w.Write(buf.Bytes())
		return err
	case EncodingGBK:
		b, err := encodeGBK(buf.Bytes())
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	return errors.New("unknown bill encoding " + encoding)
}

// Deliver posts cb to url the way Huawei does: until the merchant answers
// HTTP 200 with resultCode 000000, at most attempts times (1s apart would be
// Huawei's business; the sandbox retries at once), then duplicates more
// times even though it was acknowledged (Huawei may re-send). It reports
// whether an acknowledgement came and how many posts it made.
func (sb *Sandbox) Deliver(ctx context.Context, client *http.Client, url string, cb scenario.Callback, attempts, duplicates int) (acked bool, posts int, err error) {
	if client == nil {
		client = http.DefaultClient
	}
	for i := 0; i < attempts && !acked; i++ {
		posts++
		status, body, ferr := scenario.Fire(ctx, client, url, cb)
		if ferr != nil {
			err = ferr
			continue
		}
		var ack struct {
			ResultCode string `json:"resultCode"`
		}
		acked = status == http.StatusOK && json.Unmarshal(body, &ack) == nil && ack.ResultCode == huawei.CodeSuccess
	}
	if !acked {
		return false, posts, err
	}
	for i := 0; i < duplicates; i++ {
		posts++
		if _, _, ferr := scenario.Fire(ctx, client, url, cb); ferr != nil {
			return true, posts, ferr
		}
	}
	return true, posts, nil
}
