package douyin

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/strict"
)

// Callback types (the body's type field).
const (
	TypePayment  = "payment"
	TypeRefund   = "refund"
	TypeSettle   = "settle"
	TypeWithdraw = "withdraw"
)

// ReplySuccess is the acknowledgement ecpay v1 expects, byte for byte.
const ReplySuccess = `{"err_no":0,"err_tips":"success"}`

// ErrCallbackFormat is wrapped when an authentic callback cannot be read.
var ErrCallbackFormat = errors.New("unreadable douyin callback")

const maxCallback = 1 << 20

// CallbackContentType is the media type ecpay posts callbacks with.
const CallbackContentType = "application/json"

// Documented JSON types (douyin.md, ecpay v1 callbacks): the envelope's
// timestamp is seen as a number or a string [D]; amounts in msg are numbers
// (fen; "9980.00" is read from its literal text by parseFen, which refuses
// a fraction), unix times integers; way is the string "1"/"2".
var (
	envelopeSchema = strict.Schema{
		"timestamp": strict.Integer | strict.String, "nonce": strict.String | strict.Integer, "msg": strict.String,
		"msg_signature": strict.String, "type": strict.String,
	}
	paymentMsgSchema = strict.Schema{
		"appid": strict.String, "cp_orderno": strict.String, "cp_extra": strict.String, "way": strict.String,
		"payment_order_no": strict.String, "total_amount": strict.Number, "status": strict.String,
		"seller_uid": strict.String, "extra": strict.String, "item_id": strict.String, "order_id": strict.String,
		"paid_at": strict.Integer,
	}
	refundMsgSchema = strict.Schema{
		"appid": strict.String, "cp_refundno": strict.String, "cp_extra": strict.String, "status": strict.String,
		"refund_amount": strict.Number, "is_all_settled": strict.Bool, "refunded_at": strict.Integer,
		"message": strict.String, "order_id": strict.String, "refund_no": strict.String,
	}
	msgSchemas = map[string]strict.Schema{TypePayment: paymentMsgSchema, TypeRefund: refundMsgSchema}
)

// Envelope is the callback body: msg is a JSON string signed with the token.
type Envelope struct {
	Timestamp    string // 10-digit unix seconds, literal text (number or string in the body)
	Nonce        string
	Msg          string
	MsgSignature string
	Type         string
}

// PaymentMsg is the msg of a payment callback.
type PaymentMsg struct {
	AppID          string      `json:"appid"`
	CpOrderNo      string      `json:"cp_orderno"`
	CpExtra        string      `json:"cp_extra"`
	Way            string      `json:"way"`
	PaymentOrderNo string      `json:"payment_order_no"` // channel (WeChat/Alipay) number
	TotalAmount    json.Number `json:"total_amount"`     // fen
	Status         string      `json:"status"`
	SellerUID      string      `json:"seller_uid"`
	Extra          string      `json:"extra"`
	ItemID         string      `json:"item_id"`
	OrderID        string      `json:"order_id"` // platform order number
	PaidAt         json.Number `json:"paid_at"`  // not documented; used when present [I]
}

// RefundMsg is the msg of a refund callback.
type RefundMsg struct {
	AppID        string      `json:"appid"`
	CpRefundNo   string      `json:"cp_refundno"`
	CpExtra      string      `json:"cp_extra"`
	Status       string      `json:"status"`
	RefundAmount json.Number `json:"refund_amount"`
	IsAllSettled bool        `json:"is_all_settled"`
	RefundedAt   json.Number `json:"refunded_at"` // unix seconds
	Message      string      `json:"message"`
	OrderID      string      `json:"order_id"`
	RefundNo     string      `json:"refund_no"`
}

// DecodeEnvelope reads a callback body strictly (package strict: no
// duplicate key, UTF-8, documented types; failures wrap
// ErrCallbackFormat). timestamp may be a JSON number or a string (both are
// seen [D]); its literal text is what is signed.
func DecodeEnvelope(body []byte) (Envelope, error) {
	var e Envelope
	if len(body) > maxCallback {
		return e, fmt.Errorf("%w: body of %d bytes", ErrCallbackFormat, len(body))
	}
	if err := strict.CheckJSON(body, envelopeSchema); err != nil {
		return e, fmt.Errorf("%w: body: %w", ErrCallbackFormat, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return e, fmt.Errorf("%w: body is not json: %v", ErrCallbackFormat, err)
	}
	text := func(k string) (string, error) {
		v, ok := raw[k]
		if !ok {
			return "", nil
		}
		v = bytes.TrimSpace(v)
		if len(v) > 0 && v[0] == '"' {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return "", fmt.Errorf("%w: %s: %v", ErrCallbackFormat, k, err)
			}
			return s, nil
		}
		if string(v) == "null" {
			return "", nil
		}
		if len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) {
			return string(v), nil
		}
		return "", fmt.Errorf("%w: %s is not a string or number", ErrCallbackFormat, k)
	}
	var err error
	fields := []struct {
		k string
		p *string
	}{{"timestamp", &e.Timestamp}, {"nonce", &e.Nonce}, {"msg", &e.Msg}, {"msg_signature", &e.MsgSignature}, {"type", &e.Type}}
	for _, f := range fields {
		if *f.p, err = text(f.k); err != nil {
			return e, err
		}
	}
	return e, nil
}

// VerifyCallback implements payrecon.CallbackVerifier. It checks
// msg_signature = sha1(sort(token, timestamp, nonce, msg) joined) over the
// body's own strings, then reads msg. The type field is outside the
// signature, so it must agree with the signed msg (payment msgs carry
// cp_orderno, refund msgs cp_refundno/refund_no): a disagreeing or unknown
// type is treated as tampering (ErrSignatureInvalid). A msg for another
// appid is rejected.
//
// ecpay v1 callbacks carry no notification id, so EventID is
// "<type>:<platform number>:<status>" (order_id, refund_no, settle_no),
// stable across the platform's retries. A payment msg has no payment time:
// OccurredAt is the callback's timestamp (paid_at when a msg carries it).
// Settle and withdraw callbacks are accepted with no ledger entries.
func (c *Client) VerifyCallback(req payrecon.CallbackRequest) (payrecon.VerifiedCallback, error) {
	var vc payrecon.VerifiedCallback
	if len(bytes.TrimSpace(req.Body)) == 0 {
		return vc, fmt.Errorf("%w: empty body", ErrCallbackFormat)
	}
	charset, err := strict.ContentType(req.Header, CallbackContentType)
	if err == nil {
		err = strict.UTF8Charset(charset)
	}
	if err != nil {
		return vc, fmt.Errorf("%w: %w", ErrCallbackFormat, err)
	}
	env, err := DecodeEnvelope(req.Body)
	if err != nil {
		return vc, err
	}
	if env.MsgSignature == "" {
		return vc, fmt.Errorf("douyin callback has no msg_signature: %w", payrecon.ErrSignatureInvalid)
	}
	want := CallbackSignature(c.cfg.Token.Reveal(), env.Timestamp, env.Nonce, env.Msg)
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(env.MsgSignature))) != 1 {
		return vc, fmt.Errorf("douyin callback msg_signature does not match (wrong token or tampered body): %w", payrecon.ErrSignatureInvalid)
	}
	ts, err := parseTime(env.Timestamp)
	if err != nil {
		return vc, fmt.Errorf("%w: timestamp: %v", ErrCallbackFormat, err)
	}
	// msg is decoded as strictly as the body: what is signed must be read
	// one way only
	if err := strict.CheckJSON([]byte(env.Msg), msgSchemas[env.Type]); err != nil {
		return vc, fmt.Errorf("%w: msg: %w", ErrCallbackFormat, err)
	}
	dec := json.NewDecoder(strings.NewReader(env.Msg))
	dec.UseNumber()
	var probe map[string]any
	if err := dec.Decode(&probe); err != nil {
		return vc, fmt.Errorf("%w: msg is not a json object: %v", ErrCallbackFormat, err)
	}
	if a, _ := probe["appid"].(string); a != "" && a != c.cfg.AppID {
		return vc, fmt.Errorf("douyin callback for appid %s, this account is %s", a, c.cfg.AppID)
	}
	_, isRefund := probe["cp_refundno"]
	if _, ok := probe["refund_no"]; ok {
		isRefund = true
	}
	_, isPayment := probe["cp_orderno"]
	isPayment = isPayment && !isRefund
	switch {
	case env.Type == TypePayment && !isPayment, env.Type == TypeRefund && !isRefund,
		(env.Type == TypeSettle || env.Type == TypeWithdraw) && (isPayment || isRefund):
		return vc, fmt.Errorf("douyin callback type %q does not match its signed msg (type is unsigned): %w", env.Type, payrecon.ErrSignatureInvalid)
	}
	vc.Type = env.Type
	switch env.Type {
	case TypePayment:
		return c.paymentEntry(req, env, ts)
	case TypeRefund:
		return c.refundEntry(req, env, ts)
	case TypeSettle, TypeWithdraw:
		id, _ := probe["settle_no"].(string)
		if id == "" {
			id, _ = probe["cp_settle_no"].(string)
		}
		st, _ := probe["status"].(string)
		if id == "" {
			id = env.MsgSignature
		}
		vc.EventID = env.Type + ":" + id + ":" + st
		return vc, nil
	}
	return vc, fmt.Errorf("douyin callback type %q is not payment, refund, settle or withdraw (type is unsigned): %w", env.Type, payrecon.ErrSignatureInvalid)
}

func (c *Client) paymentEntry(req payrecon.CallbackRequest, env Envelope, ts time.Time) (payrecon.VerifiedCallback, error) {
	vc := payrecon.VerifiedCallback{Type: env.Type}
	var m PaymentMsg
	dec := json.NewDecoder(strings.NewReader(env.Msg))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return vc, fmt.Errorf("%w: payment msg: %v", ErrCallbackFormat, err)
	}
	if m.OrderID == "" || m.CpOrderNo == "" {
		return vc, fmt.Errorf("%w: payment msg without order_id or cp_orderno", ErrCallbackFormat)
	}
	amount, err := signedFen(string(m.TotalAmount))
	if err != nil {
		return vc, fmt.Errorf("%w: payment msg total_amount: %v", ErrCallbackFormat, err)
	}
	at := ts
	if m.PaidAt != "" {
		if t, err := parseTime(string(m.PaidAt)); err == nil {
			at = t
		}
	}
	// The payment msg documents status SUCCESS; the other words are read
	// as query_order spells them, anything undocumented is refused.
	st, err := OrderStatuses.Map("msg.status", payrecon.StatusWord(m.Status))
	if err != nil {
		return vc, err
	}
	raw := strings.ToUpper(m.Status)
	vc.EventID = TypePayment + ":" + m.OrderID + ":" + raw
	vc.Entries = []payrecon.LedgerEntry{{
		Account:         req.Account,
		Provider:        Name,
		EventKey:        payrecon.EventKey(payrecon.KindPayment, m.OrderID, st),
		Kind:            payrecon.KindPayment,
		Status:          st,
		MerchantOrderNo: m.CpOrderNo,
		ProviderTxnNo:   m.OrderID,
		Amount:          amount,
		// total_amount is all the msg says: ecpay v1 documents no
		// promotion / platform-discount field, so the payer paid it.
		PayerAmount: amount,
		Currency:    "CNY",
		OccurredAt:  at,
	}}
	return vc, nil
}

func (c *Client) refundEntry(req payrecon.CallbackRequest, env Envelope, ts time.Time) (payrecon.VerifiedCallback, error) {
	vc := payrecon.VerifiedCallback{Type: env.Type}
	var m RefundMsg
	dec := json.NewDecoder(strings.NewReader(env.Msg))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return vc, fmt.Errorf("%w: refund msg: %v", ErrCallbackFormat, err)
	}
	no := m.RefundNo
	if no == "" {
		no = m.CpRefundNo
	}
	if no == "" {
		return vc, fmt.Errorf("%w: refund msg without refund_no or cp_refundno", ErrCallbackFormat)
	}
	amount, err := signedFen(string(m.RefundAmount))
	if err != nil {
		return vc, fmt.Errorf("%w: refund msg refund_amount: %v", ErrCallbackFormat, err)
	}
	at := ts
	if m.RefundedAt != "" && m.RefundedAt != "0" {
		t, err := parseTime(string(m.RefundedAt))
		if err != nil {
			return vc, fmt.Errorf("%w: refund msg refunded_at: %v", ErrCallbackFormat, err)
		}
		at = t
	}
	st, err := RefundStatuses.Map("msg.status", payrecon.StatusWord(m.Status))
	if err != nil {
		return vc, err
	}
	vc.EventID = TypeRefund + ":" + no + ":" + strings.ToUpper(m.Status)
	vc.Entries = []payrecon.LedgerEntry{{
		Account:          req.Account,
		Provider:         Name,
		EventKey:         payrecon.EventKey(payrecon.KindRefund, no, st),
		Kind:             payrecon.KindRefund,
		Status:           st,
		ProviderTxnNo:    m.OrderID,
		MerchantRefundNo: m.CpRefundNo,
		ProviderRefundNo: m.RefundNo,
		Amount:           amount,
		PayerAmount:      amount,
		Currency:         "CNY",
		OccurredAt:       at,
	}}
	return vc, nil
}

// signedFen reads a fen amount keeping its sign: whether a callback's
// amount may be zero or negative is the domain validation's rule
// (amount_positive), which names it.
func signedFen(s string) (int64, error) {
	if neg, ok := strings.CutPrefix(strings.TrimSpace(s), "-"); ok {
		v, err := parseFen(neg)
		return -v, err
	}
	return parseFen(s)
}

// Reply implements payrecon.CallbackVerifier: 200 with ReplySuccess, or
// 400 with a non-zero err_no so that the platform retries. The reason is
// not echoed (it stays in the store).
func (c *Client) Reply(err error) payrecon.CallbackReply {
	if err == nil {
		return payrecon.CallbackReply{Status: http.StatusOK, ContentType: "application/json", Body: []byte(ReplySuccess)}
	}
	tips := "rejected"
	if errors.Is(err, payrecon.ErrSignatureInvalid) {
		tips = "signature invalid"
	}
	return payrecon.CallbackReply{Status: http.StatusBadRequest, ContentType: "application/json", Body: []byte(`{"err_no":1,"err_tips":"` + tips + `"}`)}
}

// CallbackMediaType implements payrecon.CallbackMediaTyper.
func (c *Client) CallbackMediaType() string { return CallbackContentType }
