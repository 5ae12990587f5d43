package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/douyin"
	"github.com/payrecon/payrecon/providers/scenario"
)

// envelope is the callback body in the platform's field order; timestamp is
// a JSON number (as in the doc demo).
type envelope struct {
	Timestamp    int64  `json:"timestamp"`
	Nonce        string `json:"nonce"`
	Msg          string `json:"msg"`
	MsgSignature string `json:"msg_signature"`
	Type         string `json:"type"`
}

type paymentMsg struct {
	AppID          string `json:"appid"`
	CpOrderNo      string `json:"cp_orderno"`
	CpExtra        string `json:"cp_extra"`
	Way            string `json:"way"`
	PaymentOrderNo string `json:"payment_order_no"`
	TotalAmount    int64  `json:"total_amount"`
	Status         string `json:"status"`
	SellerUID      string `json:"seller_uid"`
	Extra          string `json:"extra"`
	ItemID         string `json:"item_id"`
	OrderID        string `json:"order_id"`
}

type refundMsg struct {
	AppID        string `json:"appid"`
	CpRefundNo   string `json:"cp_refundno"`
	CpExtra      string `json:"cp_extra"`
	Status       string `json:"status"`
	RefundAmount int64  `json:"refund_amount"`
	IsAllSettled bool   `json:"is_all_settled"`
	RefundedAt   int64  `json:"refunded_at"`
	Message      string `json:"message"`
	OrderID      string `json:"order_id"`
	RefundNo     string `json:"refund_no"`
}

// Render signs msg with token and returns the callback body.
func Render(token string, timestamp int64, nonce, typ string, msg any) ([]byte, error) {
	m, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(timestamp, 10)
	return json.Marshal(envelope{
		Timestamp:    timestamp,
		Nonce:        nonce,
		Msg:          string(m),
		MsgSignature: douyin.CallbackSignature(token, ts, nonce, string(m)),
		Type:         typ,
	})
}

// jsonHeader is what ecpay posts callbacks with.
func jsonHeader() http.Header { return http.Header{"Content-Type": {douyin.CallbackContentType}} }

func nonce() string { return strconv.FormatUint(uint64(randUint16()), 10) }

func randUint16() uint16 {
	b := randomHex(2)
	v, _ := strconv.ParseUint(b, 16, 16)
	return uint16(v)
}

// PaymentCallback implements scenario.Sandbox. ecpay v1 notifies
// successful payments only; the callback's timestamp is the payment time.
func (s *Sandbox) PaymentCallback(p scenario.Payment) (scenario.Callback, error) {
	if p.Status != payrecon.StatusSuccess {
		return scenario.Callback{}, fmt.Errorf("ecpay v1 sends payment callbacks for successful payments only, not %s", p.Status)
	}
	body, err := Render(s.token, p.PaidAt.Unix(), nonce(), douyin.TypePayment, paymentMsg{
		AppID: AppID, CpOrderNo: p.MerchantOrderNo, CpExtra: p.Payload, Way: "1", PaymentOrderNo: channelNo(p.ProviderTxnNo),
		TotalAmount: p.Amount, Status: "SUCCESS", SellerUID: MerchantUID, Extra: "null", OrderID: p.ProviderTxnNo,
	})
	if err != nil {
		return scenario.Callback{}, err
	}
	return scenario.Callback{Header: jsonHeader(), Body: body, EventID: douyin.TypePayment + ":" + p.ProviderTxnNo + ":SUCCESS"}, nil
}

// RefundCallback implements scenario.Sandbox.
func (s *Sandbox) RefundCallback(r scenario.Refund) (scenario.Callback, error) {
	st := refundStatus[r.Status]
	if st == "" {
		return scenario.Callback{}, fmt.Errorf("no refund callback for status %s", r.Status)
	}
	at, ts := int64(0), r.CreatedAt
	if !r.FinishedAt.IsZero() {
		at, ts = r.FinishedAt.Unix(), r.FinishedAt
	}
	body, err := Render(s.token, ts.Unix(), nonce(), douyin.TypeRefund, refundMsg{
		AppID: AppID, CpRefundNo: r.MerchantRefundNo, Status: st, RefundAmount: r.Amount, RefundedAt: at, OrderID: r.ProviderTxnNo, RefundNo: r.ProviderRefundNo,
	})
	if err != nil {
		return scenario.Callback{}, err
	}
	return scenario.Callback{Header: jsonHeader(), Body: body, EventID: douyin.TypeRefund + ":" + r.ProviderRefundNo + ":" + st}, nil
}

// AgreementCallback implements scenario.Sandbox: ecpay v1 has no agreements.
func (s *Sandbox) AgreementCallback(scenario.Agreement) (scenario.Callback, error) {
	return scenario.Callback{}, errors.New("ecpay v1 has no recurring-debit agreements")
}
