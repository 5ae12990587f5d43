package huawei

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/strict"
)

// Callback kinds (VerifiedCallback.Type).
const (
	CallbackPayment  = "payment" // payment result, withhold result, pay-and-sign payment
	CallbackCombined = "combined_payment"
	CallbackRefund   = "refund"
	CallbackSign     = "sign"
	CallbackUnsign   = "unsign"
	// CallbackContract is a sign or unsign callback without changeMode
	// (optional on both pages, absent from both samples): nothing else in
	// it tells which it is. See VerifyCallback.
	CallbackContract = "sign_or_unsign"
)

// Reasons of rejections that are not signature failures.
var (
	ErrEncryptedNoKey       = errors.New("encrypted callbacks need a decryption key")
	ErrEncryptedUnsupported = errors.New("encrypted callbacks not supported (Huawei has not documented the scheme)")
)

// rejectError marks a callback refused for its content (not a server fault).
type rejectError struct{ err error }

func (e *rejectError) Error() string { return e.err.Error() }
func (e *rejectError) Unwrap() error { return e.err }

func reject(format string, args ...any) error {
	return &rejectError{err: fmt.Errorf(format, args...)}
}

// callbackBody holds every field of the four callback kinds.
type callbackBody struct {
	CallbackID   string `json:"callbackId"`
	CallbackTime string `json:"callbackTime"`
	DataType     string `json:"dataType"`
	Sign         string `json:"sign"`
	SignType     string `json:"signType"`
	CertNo       string `json:"certNo"`

	MercNo    string     `json:"mercNo"`
	AppID     flexString `json:"appId"` // a string, or a number as the 签约结果回调通知 sample prints it
	SpMercNo  string     `json:"spMercNo"`
	SubMercNo string     `json:"subMercNo"`

	// payment
	SysTransOrderNo string  `json:"sysTransOrderNo"`
	MercOrderNo     string  `json:"mercOrderNo"`
	OrderStatus     *string `json:"orderStatus"`
	Currency        string  `json:"currency"`
	TotalAmount     fen     `json:"totalAmount"`
	PayerAmount     fen     `json:"payerAmount"`
	PromotionAmount fen     `json:"promotionAmount"`
	FinishTime      string  `json:"finishTime"`

	// combined payment
	CombinedSysTransOrderNo string       `json:"combinedSysTransOrderNo"`
	SubOrders               []subOrderCb `json:"subOrders"`

	// refund
	MercRefundNo          string  `json:"mercRefundNo"`
	SysRefundNo           string  `json:"sysRefundNo"`
	RefundOrderStatus     *string `json:"refundOrderStatus"`
	RefundAmount          fen     `json:"refundAmount"`
	PayerRefundAmount     fen     `json:"payerRefundAmount"`
	PromotionRefundAmount fen     `json:"promotionRefundAmount"`

	// sign / unsign
	ContractID       string     `json:"contractId"`
	MercContractCode string     `json:"mercContractCode"`
	PlanID           flexString `json:"planId"`
	OperateTime      string     `json:"operateTime"`
	ChangeMode       string     `json:"changeMode"`
}

type subOrderCb struct {
	MercNo          string `json:"mercNo"`
	SysTransOrderNo string `json:"sysTransOrderNo"`
	MercOrderNo     string `json:"mercOrderNo"`
	OrderStatus     string `json:"orderStatus"`
	Currency        string `json:"currency"`
	TotalAmount     fen    `json:"totalAmount"`
	PayerAmount     fen    `json:"payerAmount"`
	PromotionAmount fen    `json:"promotionAmount"`
	FinishTime      string `json:"finishTime"`
}

// CallbackContentType is the media type Huawei posts callbacks with.
const CallbackContentType = "application/json"

// callbackSchema declares the documented JSON types of callback fields
// (huawei.md §2): amounts are Long fen, identifiers, statuses and times
// strings; planId is read as a string or a number, appId as a string or an
// integer (the 签约结果回调通知 sample prints it unquoted), both kept as the
// literal text (flexString, never a float).
var callbackSchema = func() strict.Schema {
	str := strict.String | strict.Null
	s := strict.Schema{"planId": str | strict.Number, "appId": str | strict.Integer, "subOrders": strict.Array | strict.Null}
	for _, f := range []string{"callbackId", "callbackTime", "dataType", "sign", "signType", "certNo", "mercNo",
		"spMercNo", "subMercNo", "sysTransOrderNo", "mercOrderNo", "orderStatus", "currency", "finishTime",
		"combinedSysTransOrderNo", "combinedMercOrderNo", "mercRefundNo", "sysRefundNo", "refundOrderStatus",
		"contractId", "mercContractCode", "operateTime", "changeMode", "payload",
		"subOrders[].mercNo", "subOrders[].sysTransOrderNo", "subOrders[].mercOrderNo", "subOrders[].orderStatus",
		"subOrders[].currency", "subOrders[].finishTime"} {
		s[f] = str
	}
	for _, f := range []string{"totalAmount", "payerAmount", "promotionAmount", "refundAmount", "payerRefundAmount",
		"promotionRefundAmount", "subOrders[].totalAmount", "subOrders[].payerAmount", "subOrders[].promotionAmount",
		"promotionDetail[].promotionAmount", "subOrders[].promotionDetail[].promotionAmount"} {
		s[f] = strict.Integer
	}
	return s
}()

// VerifyCallback checks a Huawei callback: the Content-Type and the body's
// strict decoding (package strict: no duplicate key, UTF-8, documented
// types), then SM2 (SM3, default uid) over the sort-join of the raw JSON,
// base64 DER signature, key picked by certNo; then maps it to ledger
// entries. Forged or tampered callbacks give errors
// wrapping payrecon.ErrSignatureInvalid.
func (c *Client) VerifyCallback(req payrecon.CallbackRequest) (payrecon.VerifiedCallback, error) {
	body := req.Body
	if len(strings.TrimSpace(string(body))) == 0 {
		return payrecon.VerifiedCallback{}, reject("empty callback body")
	}
	charset, err := strict.ContentType(req.Header, CallbackContentType)
	if err == nil {
		err = strict.UTF8Charset(charset)
	}
	if err == nil {
		err = strict.CheckJSON(body, callbackSchema)
	}
	if err != nil {
		return payrecon.VerifiedCallback{}, reject("callback: %w", err)
	}
	var cb callbackBody
	if err := json.Unmarshal(body, &cb); err != nil {
		return payrecon.VerifiedCallback{}, reject("callback body is not a Huawei callback: %v", err)
	}
	if strings.EqualFold(cb.DataType, "encrypt") {
		if c.cfg.EncryptKey.IsZero() {
			return payrecon.VerifiedCallback{EventID: cb.CallbackID}, &rejectError{err: ErrEncryptedNoKey}
		}
		return payrecon.VerifiedCallback{EventID: cb.CallbackID}, &rejectError{err: ErrEncryptedUnsupported}
	}
	if err := c.verifySigned(body, cb.Sign, cb.CertNo, cb.SignType); err != nil {
		return payrecon.VerifiedCallback{EventID: cb.CallbackID}, &rejectError{err: fmt.Errorf("callback %s: %w", cb.CallbackID, err)}
	}
	if err := c.checkMerchant(cb); err != nil {
		return payrecon.VerifiedCallback{EventID: cb.CallbackID}, err
	}
	out := payrecon.VerifiedCallback{EventID: cb.CallbackID}
	base := payrecon.LedgerEntry{Account: req.Account, Provider: Name, Source: "callback", ReceivedAt: req.ReceivedAt}
	// occurred is the event's own time, else callbackTime, else receipt.
	occurred := func(field, v string) (time.Time, error) {
		t, err := ParseTime(v)
		if err != nil {
			return time.Time{}, reject("callback %s: %s: %v", cb.CallbackID, field, err)
		}
		if t.IsZero() {
			if t, err = ParseTime(cb.CallbackTime); err != nil {
				return time.Time{}, reject("callback %s: callbackTime: %v", cb.CallbackID, err)
			}
		}
		if t.IsZero() {
			t = req.ReceivedAt
		}
		return t, nil
	}
	switch {
	case cb.RefundOrderStatus != nil || cb.SysRefundNo != "":
		out.Type = CallbackRefund
		if cb.SysRefundNo == "" || cb.MercRefundNo == "" {
			return out, reject("refund callback %s: sysRefundNo and mercRefundNo required", cb.CallbackID)
		}
		st, err := RefundStatuses.Map("refundOrderStatus", deref(cb.RefundOrderStatus))
		if err != nil {
			return out, err
		}
		at, err := occurred("finishTime", cb.FinishTime)
		if err != nil {
			return out, err
		}
		e := base
		e.EventKey = payrecon.EventKey(payrecon.KindRefund, cb.SysRefundNo, st)
		e.Kind, e.Status = payrecon.KindRefund, st
		e.MerchantRefundNo, e.ProviderRefundNo = cb.MercRefundNo, cb.SysRefundNo
		e.Amount, e.PayerAmount, e.PromotionAmount = int64(cb.RefundAmount), int64(cb.PayerRefundAmount), int64(cb.PromotionRefundAmount)
		e.Currency, e.OccurredAt = cb.Currency, at
		out.Entries = []payrecon.LedgerEntry{e}
	case cb.CombinedSysTransOrderNo != "" && len(cb.SubOrders) > 0:
		out.Type = CallbackCombined
		for i, so := range cb.SubOrders {
			if so.SysTransOrderNo == "" || so.MercOrderNo == "" {
				return out, reject("combined callback %s: subOrders[%d]: sysTransOrderNo and mercOrderNo required", cb.CallbackID, i)
			}
			at, err := occurred(fmt.Sprintf("subOrders[%d].finishTime", i), so.FinishTime)
			if err != nil {
				return out, err
			}
			st, err := OrderStatuses.Map(fmt.Sprintf("subOrders[%d].orderStatus", i), so.OrderStatus)
			if err != nil {
				return out, err
			}
			e := base
			e.EventKey = payrecon.EventKey(payrecon.KindPayment, so.SysTransOrderNo, st)
			e.Kind, e.Status = payrecon.KindPayment, st
			e.MerchantOrderNo, e.ProviderTxnNo = so.MercOrderNo, so.SysTransOrderNo
			e.Amount, e.PayerAmount, e.PromotionAmount = int64(so.TotalAmount), int64(so.PayerAmount), int64(so.PromotionAmount)
			e.Currency, e.OccurredAt = so.Currency, at
			out.Entries = append(out.Entries, e)
		}
	case cb.OrderStatus != nil:
		out.Type = CallbackPayment
		if cb.SysTransOrderNo == "" || cb.MercOrderNo == "" {
			return out, reject("payment callback %s: sysTransOrderNo and mercOrderNo required", cb.CallbackID)
		}
		st, err := OrderStatuses.Map("orderStatus", deref(cb.OrderStatus))
		if err != nil {
			return out, err
		}
		at, err := occurred("finishTime", cb.FinishTime)
		if err != nil {
			return out, err
		}
		e := base
		e.EventKey = payrecon.EventKey(payrecon.KindPayment, cb.SysTransOrderNo, st)
		e.Kind, e.Status = payrecon.KindPayment, st
		e.MerchantOrderNo, e.ProviderTxnNo = cb.MercOrderNo, cb.SysTransOrderNo
		e.Amount, e.PayerAmount, e.PromotionAmount = int64(cb.TotalAmount), int64(cb.PayerAmount), int64(cb.PromotionAmount)
		e.Currency, e.OccurredAt = cb.Currency, at
		out.Entries = []payrecon.LedgerEntry{e}
	case cb.ContractID != "":
		// After the payment shapes: a withhold payment callback may name
		// its contract too, and is a payment all the same.
		st := payrecon.StatusSigned
		out.Type = CallbackSign
		key := payrecon.EventKey(payrecon.KindAgreement, cb.ContractID, st)
		switch mode := strings.ToUpper(strings.TrimSpace(cb.ChangeMode)); {
		case strings.Contains(mode, "UNSIGN"):
			st, out.Type = payrecon.StatusUnsigned, CallbackUnsign
			key = payrecon.EventKey(payrecon.KindAgreement, cb.ContractID, st)
		case mode == "":
			// changeMode is optional on both the sign and the unsign page
			// and both samples leave it out; no other field tells them
			// apart. Recorded as signed (the ledger needs a state), under
			// a key of this notification's own, so an unsign is never
			// folded into the contract's sign event: the run's contract
			// query settles the state (agreement_mismatch, then
			// correct_agreement, when it was an unsign).
			out.Type = CallbackContract
			key += ":cb" + callbackRef(cb.CallbackID, body)
		}
		at, err := occurred("operateTime", cb.OperateTime)
		if err != nil {
			return out, err
		}
		e := base
		e.EventKey = key
		e.Kind, e.Status = payrecon.KindAgreement, st
		e.AgreementNo, e.MerchantAgreeNo, e.PlanID = cb.ContractID, cb.MercContractCode, string(cb.PlanID)
		e.OccurredAt = at
		out.Entries = []payrecon.LedgerEntry{e}
	default:
		return out, reject("callback %s: not a payment, refund, sign or unsign callback", cb.CallbackID)
	}
	return out, nil
}

// callbackRef names one notification in an event key: its callbackId
// (unchanged across Huawei's retries), or, when that is missing, long or
// not plain letters and digits, a digest of the body (a retry is the same
// body).
func callbackRef(id string, body []byte) string {
	plain := id != "" && len(id) <= 64
	for i := 0; plain && i < len(id); i++ {
		c := id[i]
		plain = c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_'
	}
	if plain {
		return id
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:12])
}

// checkMerchant refuses a validly signed callback meant for another merchant.
func (c *Client) checkMerchant(cb callbackBody) error {
	if c.partner() {
		if cb.SpMercNo != "" && cb.SpMercNo != c.cfg.SpMercNo {
			return reject("callback %s: spMercNo %s is not this account's", cb.CallbackID, cb.SpMercNo)
		}
		if cb.SubMercNo != "" && cb.SubMercNo != c.cfg.SubMercNo {
			return reject("callback %s: subMercNo %s is not this account's", cb.CallbackID, cb.SubMercNo)
		}
		return nil
	}
	if cb.MercNo != "" && cb.MercNo != c.cfg.MercNo {
		return reject("callback %s: mercNo %s is not this account's", cb.CallbackID, cb.MercNo)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Acknowledgements.
var (
	ackOK      = []byte(`{"resultCode":"000000","resultDesc":"Success."}`)
	ackBadSign = []byte(`{"resultCode":"200002","resultDesc":"INVALID_SIGNATURE"}`)
	ackReject  = []byte(`{"resultCode":"400000","resultDesc":"REJECTED"}`)
	ackFail    = []byte(`{"resultCode":"500000","resultDesc":"UNKNOW_ERROR"}`)
)

// Reply renders the acknowledgement: HTTP 200 with exactly
// {"resultCode":"000000","resultDesc":"Success."} on success; 400 for a
// callback refused for its content (bad signature, unreadable, another
// merchant's, failing the domain validation); 500 otherwise (e.g. the store failed), so Huawei retries.
func (c *Client) Reply(err error) payrecon.CallbackReply {
	const ct = "application/json"
	var rej *rejectError
	var invalid *payrecon.ValidationError
	switch {
	case err == nil:
		return payrecon.CallbackReply{Status: http.StatusOK, ContentType: ct, Body: ackOK}
	case errors.Is(err, payrecon.ErrSignatureInvalid):
		return payrecon.CallbackReply{Status: http.StatusBadRequest, ContentType: ct, Body: ackBadSign}
	case errors.As(err, &rej), errors.As(err, &invalid):
		return payrecon.CallbackReply{Status: http.StatusBadRequest, ContentType: ct, Body: ackReject}
	}
	return payrecon.CallbackReply{Status: http.StatusInternalServerError, ContentType: ct, Body: ackFail}
}

// CallbackMediaType implements payrecon.CallbackMediaTyper.
func (c *Client) CallbackMediaType() string { return CallbackContentType }
