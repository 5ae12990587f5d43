package baas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/billread"
	"github.com/payrecon/payrecon/providers/internal/strict"
)

// Literal is a JSON scalar kept as its literal text: a string's content, a
// number's digits exactly as written ("100.00" stays "100.00", never a
// float64), "" for null. MinCloud serialises total_cost, refund_amount, ids
// and times inconsistently as numbers or strings [C]; both are accepted.
type Literal string

// UnmarshalJSON implements json.Unmarshaler.
func (l *Literal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*l = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = Literal(s)
	case b[0] == '{' || b[0] == '[':
		return fmt.Errorf("want a number or string, got %.20s", b)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			if string(b) == "true" || string(b) == "false" {
				return fmt.Errorf("want a number or string, got %s", b)
			}
			return err
		}
		*l = Literal(n)
	}
	return nil
}

// MarshalJSON renders the literal back as a JSON string.
func (l Literal) MarshalJSON() ([]byte, error) { return json.Marshal(string(l)) }

// LiteralJSON is the set of JSON types Literal.UnmarshalJSON reads: a
// number, a string or null. The value is checked where it is read
// (Order.read: ParseYuan, ParseTime, the status maps), whichever type
// carried it.
const LiteralJSON = strict.Number | strict.String | strict.Null

// literalSchema declares every Literal field of Order, by its JSON key, as
// LiteralJSON: a strict decoding in front of the record reader (the
// payment trigger's webhook) then admits exactly the forms the reader
// reads, from the reader's own field list.
func literalSchema() strict.Schema {
	s := strict.Schema{}
	t, lit := reflect.TypeFor[Order](), reflect.TypeFor[Literal]()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type != lit {
			continue
		}
		key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if key == "" || key == "-" {
			panic("baas: Literal field " + f.Name + " of Order has no JSON key")
		}
		s[key] = LiteralJSON
	}
	return s
}

// Order is a MinCloud order record, as the order list's objects[], the
// order detail and the payment trigger's event.data carry it.
type Order struct {
	ID                     Literal         `json:"id"`
	GatewayType            string          `json:"gateway_type"`
	CurrencyType           string          `json:"currency_type"`
	TradeNo                string          `json:"trade_no"`
	TransactionNo          string          `json:"transaction_no"`
	Status                 string          `json:"status"`
	RefundStatus           Literal         `json:"refund_status"`
	RefundAmount           Literal         `json:"refund_amount"`
	TotalCost              Literal         `json:"total_cost"`
	MerchandiseDescription string          `json:"merchandise_description"`
	MerchandiseRecordID    Literal         `json:"merchandise_record_id"`
	PaidAt                 Literal         `json:"paid_at"`
	CreatedAt              Literal         `json:"created_at"`
	UpdatedAt              Literal         `json:"updated_at"`
	GatewayExtraInfo       json.RawMessage `json:"gateway_extra_info,omitempty"`
}

// ParseTime reads a MinCloud timestamp: unix seconds (v2.2 and the
// trigger; digits, optionally a "." and more digits: the fractional part
// is dropped), or an ISO time without a zone ("2018-10-12T17:18:10.992125",
// older list output), taken as Shanghai time; a zone when present is
// honoured. "" is the zero time. Anything else (an exponent, a sign, a
// fraction that is not digits) is refused.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, "-:T") {
		sec, frac, dot := strings.Cut(s, ".")
		n, err := strconv.ParseInt(sec, 10, 64)
		if err != nil || n <= 0 || !digits(sec) || (dot && !digits(frac)) {
			return time.Time{}, fmt.Errorf("invalid unix time %q", s)
		}
		return time.Unix(n, 0).In(payrecon.Shanghai), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.In(payrecon.Shanghai), nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, payrecon.Shanghai); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q", s)
}

// digits reports whether s is one or more ASCII digits.
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// mapStatus maps MinCloud's order status. complete / partial are refund
// states that an old doc lists under status [D]: the order was paid.
func mapStatus(raw string) (payrecon.Status, error) {
	switch raw {
	case "success", "complete", "partial":
		return payrecon.StatusSuccess, nil
	case "pending":
		return payrecon.StatusPending, nil
	case "failed":
		return payrecon.StatusFailed, nil
	}
	return "", fmt.Errorf("unknown order status %q", raw)
}

// mapRefundStatus maps refund_status; ok is false when never refunded.
func mapRefundStatus(raw string) (st payrecon.Status, ok bool, err error) {
	switch raw {
	case "", "null", "none":
		return "", false, nil
	case "complete", "partial":
		return payrecon.StatusSuccess, true, nil
	case "failed":
		return payrecon.StatusFailed, true, nil
	}
	return "", false, fmt.Errorf("unknown refund_status %q", raw)
}

// record is an Order read into payrecon's terms.
type record struct {
	Raw             *Order
	MerchantOrderNo string
	ProviderTxnNo   string
	Status          payrecon.Status
	Amount          int64
	PaidAt          time.Time
	UpdatedAt       time.Time
	Refunded        bool            // refund_status is set
	RefundStatus    payrecon.Status // refund_status: of the LATEST refund attempt
	RefundAmount    int64           // refund_amount: cumulative, see RefundBooked
	Currency        string
}

// RefundBooked reports whether the order has money refunded: its
// cumulative refund_amount is above zero, whatever refund_status says.
// refund_status is the state of the latest refund attempt, so "failed"
// after an earlier partial refund still carries that refund's amount;
// "complete" / "partial" with no amount is refused by read. The bill's
// refund line and the webhook's successful refund entry both follow this
// one rule.
func (r record) RefundBooked() bool { return r.RefundAmount > 0 }

// read checks and converts an order record. Errors name the field.
func (o *Order) read(mapping string) (record, error) {
	r := record{Raw: o}
	if mapping == MappingTransactionNo {
		r.MerchantOrderNo, r.ProviderTxnNo = o.TransactionNo, o.TradeNo
	} else {
		r.MerchantOrderNo, r.ProviderTxnNo = o.TradeNo, o.TransactionNo
	}
	if r.MerchantOrderNo == "" && r.ProviderTxnNo == "" {
		return r, billread.Col(ColTradeNo, errors.New("order has neither "+ColTradeNo+" nor "+ColTransactionNo))
	}
	var err error
	if r.Status, err = mapStatus(o.Status); err != nil {
		return r, billread.Col(ColStatus, err)
	}
	if r.Amount, err = payrecon.ParseYuan(string(o.TotalCost)); err != nil {
		return r, billread.Col(ColTotalCost, err)
	}
	if r.Amount < 0 {
		return r, billread.Col(ColTotalCost, fmt.Errorf("%s: negative amount %q", payrecon.RuleAmountPositive, o.TotalCost))
	}
	if r.PaidAt, err = ParseTime(string(o.PaidAt)); err != nil {
		return r, billread.Col(ColPaidAt, err)
	}
	if r.UpdatedAt, err = ParseTime(string(o.UpdatedAt)); err != nil {
		return r, billread.Col(ColUpdatedAt, err)
	}
	if r.Status == payrecon.StatusSuccess && r.PaidAt.IsZero() {
		return r, billread.Col(ColPaidAt, errors.New("paid order without "+ColPaidAt))
	}
	if r.RefundStatus, r.Refunded, err = mapRefundStatus(string(o.RefundStatus)); err != nil {
		return r, billread.Col(ColRefundStatus, err)
	}
	if o.RefundAmount != "" {
		if r.RefundAmount, err = payrecon.ParseYuan(string(o.RefundAmount)); err != nil {
			return r, billread.Col(ColRefundAmount, err)
		}
		if r.RefundAmount < 0 || r.RefundAmount > r.Amount {
			return r, billread.Col(ColRefundAmount, fmt.Errorf("%q outside 0.."+ColTotalCost, o.RefundAmount))
		}
	}
	if r.Refunded && r.RefundStatus == payrecon.StatusSuccess && r.RefundAmount == 0 {
		return r, billread.Col(ColRefundAmount, fmt.Errorf(ColRefundStatus+" %q with no refund amount", o.RefundStatus))
	}
	r.Currency = o.CurrencyType
	if r.Currency == "" {
		r.Currency = "CNY"
	}
	return r, nil
}

// EventID is the idempotency id of a trigger notification: MinCloud sends
// none, so it is the order id with the states the notification reports
// (a retried webhook of the same state has the same id).
func EventID(o *Order) string {
	id := string(o.ID)
	if id == "" {
		id = o.TradeNo + "/" + o.TransactionNo
	}
	rs := string(o.RefundStatus)
	if rs == "" {
		rs = "-"
	}
	return fmt.Sprintf("baas:%s:%s:%s:%s", id, o.Status, rs, o.RefundAmount)
}
