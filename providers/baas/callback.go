package baas

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/strict"
)

// CallbackContentType is the media type the payment trigger's webhook
// posts with.
const CallbackContentType = "application/json"

// Documented JSON types of the order record as the payment trigger sends
// it. Every Literal field of Order (id, total_cost, refund_amount,
// refund_status, paid_at, created_at, updated_at, …) takes what the record
// reader takes (LiteralJSON: number, string or null), because MinCloud
// serialises amounts and times inconsistently (baas.md: total_cost "398.00"
// or 100.00, times unix seconds or ISO; "parse both"): the values are then
// checked by Order.read exactly as for the order list. The record may come
// bare or under "data" or "event.data".
var callbackSchema = func() strict.Schema {
	rec := strict.Merge(literalSchema(), strict.Schema{
		"gateway_type": strict.String, "currency_type": strict.String,
		"trade_no": strict.String, "transaction_no": strict.String | strict.Null, "status": strict.String,
		"merchandise_description": strict.String | strict.Null,
		"gateway_extra_info":      strict.Object | strict.Null,
	})
	return strict.Merge(rec, rec.Under("data"), rec.Under("event.data"))
}()

// SignCallback returns the hex HMAC-SHA256 of body under secret: the value
// the payment trigger's webhook must send in Config.CallbackSignatureHeader.
// This is payrecon's scheme, not MinCloud's: MinCloud documents none.
func SignCallback(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// ParseCallbackOrder extracts the order record from a payment-trigger
// webhook body. The trigger's HTTP action forwards event.data (the order
// record); depending on how the trigger's body template was written the
// body is the record itself, {"data": record}, {"event": {"data": record}}
// or {"event": "payment", "data": record}; all four are accepted.
func ParseCallbackOrder(body []byte) (*Order, error) {
	var env struct {
		Event json.RawMessage `json:"event"`
		Data  json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decode callback: %w", err)
	}
	isObject := func(b json.RawMessage) bool { return bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) }
	raw := json.RawMessage(body)
	switch {
	case isObject(env.Event):
		var ev struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(env.Event, &ev); err != nil {
			return nil, fmt.Errorf("decode callback field event: %w", err)
		}
		if !isObject(ev.Data) {
			return nil, errors.New("decode callback: field event has no data object")
		}
		raw = ev.Data
	case isObject(env.Data):
		raw = env.Data
	case len(env.Event) > 0 || len(env.Data) > 0:
		if !looksLikeRecord(body) {
			return nil, errors.New("decode callback: field data is not an order object")
		}
	}
	var o Order
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("decode callback order: %w", err)
	}
	return &o, nil
}

// looksLikeRecord reports whether body itself is an order record (it has
// a trade_no or transaction_no key).
func looksLikeRecord(body []byte) bool {
	var p struct {
		TradeNo       *json.RawMessage `json:"trade_no"`
		TransactionNo *json.RawMessage `json:"transaction_no"`
	}
	return json.Unmarshal(body, &p) == nil && (p.TradeNo != nil || p.TransactionNo != nil)
}

// VerifyCallback implements payrecon.CallbackVerifier: it checks the
// Content-Type and decodes the body strictly (package strict: no duplicate
// key at any depth, UTF-8, documented types, whatever the envelope), checks
// the shared-secret HMAC over the raw body, then reads the order record. A paid
// order yields a payment entry (payment:<provider txn no>:success), a
// failed one a failed payment entry, a pending one nothing; an order with
// a refund_amount above zero adds a successful refund entry for its
// cumulative refund (refund:<merchant order no>:success) whatever
// refund_status says, and one whose refund_status is failed with nothing
// refunded a failed refund entry (refund:<merchant order no>:failed).
func (c *Client) VerifyCallback(req payrecon.CallbackRequest) (payrecon.VerifiedCallback, error) {
	var vc payrecon.VerifiedCallback
	if len(bytes.TrimSpace(req.Body)) == 0 {
		return vc, errors.New("baas callback: empty body")
	}
	charset, err := strict.ContentType(req.Header, CallbackContentType)
	if err == nil {
		err = strict.UTF8Charset(charset)
	}
	if err == nil {
		err = strict.CheckJSON(req.Body, callbackSchema)
	}
	if err != nil {
		return vc, fmt.Errorf("baas callback: %w", err)
	}
	if len(c.secret) == 0 {
		return vc, fmt.Errorf("baas callback: no callback_secret configured for this account, so no webhook can be verified: %w", payrecon.ErrSignatureInvalid)
	}
	got := strings.ToLower(strings.TrimSpace(req.Header.Get(c.cfg.CallbackSignatureHeader)))
	got = strings.TrimPrefix(got, "sha256=")
	if got == "" {
		return vc, fmt.Errorf("baas callback: no %s header: %w", c.cfg.CallbackSignatureHeader, payrecon.ErrSignatureInvalid)
	}
	gotMAC, err := hex.DecodeString(got)
	if err != nil || len(gotMAC) != sha256.Size {
		return vc, fmt.Errorf("baas callback: %s is not a hex HMAC-SHA256: %w", c.cfg.CallbackSignatureHeader, payrecon.ErrSignatureInvalid)
	}
	want, _ := hex.DecodeString(SignCallback(c.secret, req.Body))
	if !hmac.Equal(gotMAC, want) {
		return vc, fmt.Errorf("baas callback: HMAC-SHA256 of the body does not match %s: %w", c.cfg.CallbackSignatureHeader, payrecon.ErrSignatureInvalid)
	}
	o, err := ParseCallbackOrder(req.Body)
	if err != nil {
		return vc, fmt.Errorf("baas callback: %w", err)
	}
	r, err := o.read(c.cfg.OrderNoMapping)
	if err != nil {
		return vc, fmt.Errorf("baas callback order %s: %w", o.TradeNo, err)
	}
	vc.EventID = EventID(o)
	vc.Type = "order." + o.Status
	if o.GatewayType != "" {
		vc.Type += "/" + o.GatewayType
	}
	base := payrecon.LedgerEntry{
		Account: req.Account, Provider: Name,
		MerchantOrderNo: r.MerchantOrderNo, ProviderTxnNo: r.ProviderTxnNo, Currency: r.Currency,
	}
	txn := r.ProviderTxnNo
	if txn == "" {
		txn = r.MerchantOrderNo
	}
	switch r.Status {
	case payrecon.StatusSuccess:
		e := base
		e.Kind, e.Status = payrecon.KindPayment, payrecon.StatusSuccess
		e.EventKey = payrecon.EventKey(payrecon.KindPayment, txn, payrecon.StatusSuccess)
		e.Amount, e.PayerAmount = r.Amount, r.Amount
		e.OccurredAt = r.PaidAt
		vc.Entries = append(vc.Entries, e)
	case payrecon.StatusFailed:
		e := base
		e.Kind, e.Status = payrecon.KindPayment, payrecon.StatusFailed
		e.EventKey = payrecon.EventKey(payrecon.KindPayment, txn, payrecon.StatusFailed)
		e.Amount = r.Amount
		e.OccurredAt = r.UpdatedAt
		if e.OccurredAt.IsZero() {
			e.OccurredAt = req.ReceivedAt
		}
		vc.Entries = append(vc.Entries, e)
	}
	switch {
	case r.RefundBooked():
		// the order's cumulative refund, whatever refund_status says of the
		// latest attempt (a failed attempt after a partial refund leaves
		// the partial refund's money refunded)
		// Keyed by the cumulative amount: each new state of the order's
		// refunds is an entry of its own, of which the store books the
		// increment (payrecon.LedgerEntry.AggregatedRefund).
		e := base
		e.Kind, e.Status = payrecon.KindRefund, payrecon.StatusSuccess
		e.MerchantRefundNo = r.MerchantOrderNo
		e.EventKey = payrecon.EventKey(payrecon.KindRefund, r.MerchantOrderNo+"/"+strconv.FormatInt(r.RefundAmount, 10), payrecon.StatusSuccess)
		e.Amount, e.PayerAmount = r.RefundAmount, r.RefundAmount
		e.OccurredAt = r.UpdatedAt
		if e.OccurredAt.IsZero() {
			e.OccurredAt = req.ReceivedAt
		}
		vc.Entries = append(vc.Entries, e)
	case r.Refunded:
		// refund_status failed and nothing ever refunded
		e := base
		e.Kind, e.Status = payrecon.KindRefund, r.RefundStatus
		e.MerchantRefundNo = r.MerchantOrderNo
		e.EventKey = payrecon.EventKey(payrecon.KindRefund, r.MerchantOrderNo, r.RefundStatus)
		e.OccurredAt = r.UpdatedAt
		if e.OccurredAt.IsZero() {
			e.OccurredAt = req.ReceivedAt
		}
		vc.Entries = append(vc.Entries, e)
	}
	return vc, nil
}

// Reply implements payrecon.CallbackVerifier. MinCloud's trigger only
// looks at the HTTP status; the body is a small JSON note.
func (c *Client) Reply(err error) payrecon.CallbackReply {
	if err == nil {
		return payrecon.CallbackReply{Status: http.StatusOK, ContentType: "application/json", Body: []byte(`{"status":"ok"}`)}
	}
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, payrecon.ErrSignatureInvalid):
		status = http.StatusUnauthorized
	case errors.Is(err, payrecon.ErrTransient):
		status = http.StatusInternalServerError
	}
	msg, _ := json.Marshal(map[string]string{"status": "error", "error_msg": err.Error()})
	return payrecon.CallbackReply{Status: status, ContentType: "application/json", Body: msg}
}

// CallbackMediaType implements payrecon.CallbackMediaTyper.
func (c *Client) CallbackMediaType() string { return CallbackContentType }
