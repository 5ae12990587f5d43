package sandbox

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/sign"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat"
)

// NotifyOptions change how a notification is rendered (tests use them to
// make bad ones); zero values give a correct notification.
type NotifyOptions struct {
	At       time.Time // signature timestamp and create_time; default the sandbox's notification clock
	APIv3Key []byte    // encryption key; default the merchant's APIv3 key
	ID       string    // notification id; default derived from the event
}

// eventID derives a stable notification id (UUID layout) from the event, so
// that re-rendering the same event gives the same id, as a WeChat retry does.
func eventID(parts ...string) string {
	h := sha1.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	x := hex.EncodeToString(h.Sum(nil))
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// Notify renders a signed notification of eventType whose resource is
// plaintext encrypted with AEAD_AES_256_GCM (associated data = originalType).
func (s *Sandbox) Notify(eventType, originalType, summary string, plaintext []byte, o NotifyOptions) (scenario.Callback, error) {
	at := o.At
	if at.IsZero() {
		at = s.notifyNow()
	}
	key := o.APIv3Key
	if key == nil {
		key = s.apiv3
	}
	id := o.ID
	if id == "" {
		id = eventID(eventType, string(plaintext))
	}
	nonce := randomHex(6) // 12 ASCII characters
	ct, err := sign.EncryptAESGCM(key, nonce, originalType, plaintext)
	if err != nil {
		return scenario.Callback{}, fmt.Errorf("wechat sandbox notify: %w", err)
	}
	body, err := json.Marshal(wechat.Notification{
		ID: id, CreateTime: at.In(payrecon.Shanghai).Format(time.RFC3339), EventType: eventType,
		ResourceType: "encrypt-resource", Summary: summary,
		Resource: wechat.Resource{OriginalType: originalType, Algorithm: "AEAD_AES_256_GCM",
			Ciphertext: ct, AssociatedData: originalType, Nonce: nonce},
	})
	if err != nil {
		return scenario.Callback{}, err
	}
	h := s.SignHeaders(body, at)
	h.Set("Content-Type", "application/json")
	return scenario.Callback{Header: h, Body: body, EventID: id}, nil
}

// PaymentCallback renders the TRANSACTION.SUCCESS notification of a paid
// order. WeChat Pay notifies successful payments only: other statuses are
// an error.
func (s *Sandbox) PaymentCallback(p scenario.Payment) (scenario.Callback, error) {
	return s.PaymentCallbackWith(p, NotifyOptions{})
}

// PaymentCallbackWith is PaymentCallback with options.
func (s *Sandbox) PaymentCallbackWith(p scenario.Payment, o NotifyOptions) (scenario.Callback, error) {
	if p.Status != payrecon.StatusSuccess {
		return scenario.Callback{}, fmt.Errorf("wechat sandbox: WeChat Pay sends no notification for a %s payment", p.Status)
	}
	t := s.transaction(p)
	t.TradeState, t.TradeStateDesc = "SUCCESS", "支付成功"
	pt, err := json.Marshal(t)
	if err != nil {
		return scenario.Callback{}, err
	}
	if o.ID == "" {
		o.ID = eventID(wechat.EventTransactionSuccess, p.ProviderTxnNo)
	}
	return s.Notify(wechat.EventTransactionSuccess, "transaction", "支付成功", pt, o)
}

// RefundCallback renders REFUND.SUCCESS, REFUND.ABNORMAL or REFUND.CLOSED
// for a refund in that state; a processing refund has no notification.
func (s *Sandbox) RefundCallback(r scenario.Refund) (scenario.Callback, error) {
	return s.RefundCallbackWith(r, NotifyOptions{})
}

// RefundCallbackWith is RefundCallback with options.
func (s *Sandbox) RefundCallbackWith(r scenario.Refund, o NotifyOptions) (scenario.Callback, error) {
	var event, summary string
	switch r.Status {
	case payrecon.StatusSuccess:
		event, summary = wechat.EventRefundSuccess, "退款成功"
	case payrecon.StatusFailed:
		event, summary = wechat.EventRefundAbnormal, "退款异常"
	case payrecon.StatusClosed:
		event, summary = wechat.EventRefundClosed, "退款关闭"
	default:
		return scenario.Callback{}, fmt.Errorf("wechat sandbox: no notification for a %s refund", r.Status)
	}
	r, total := s.fillOrder(r)
	obj := refundObject(r, total)
	obj.MchID = MchID
	if s.subMchID != "" { // partner mode: the service provider and the sub-merchant
		obj.MchID, obj.SpMchID, obj.SubMchID = "", MchID, s.subMchID
	}
	obj.RefundStatus, obj.Status = obj.Status, ""
	obj.CreateTime, obj.Channel, obj.FundsAccount = "", "", ""
	obj.Amount.Currency = ""
	pt, err := json.Marshal(obj)
	if err != nil {
		return scenario.Callback{}, err
	}
	if o.ID == "" {
		o.ID = eventID(event, r.ProviderRefundNo)
	}
	return s.Notify(event, "refund", summary, pt, o)
}

// AgreementCallback is not rendered: the sandbox does not model papay
// contract notifications.
func (s *Sandbox) AgreementCallback(scenario.Agreement) (scenario.Callback, error) {
	return scenario.Callback{}, errors.New("wechat sandbox: papay contract notifications are not rendered")
}

var _ scenario.Sandbox = (*Sandbox)(nil)
