package baas

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/payrecon/payrecon"
)

// fetchOrder finds one order by either number. The provider number under
// the default mapping is transaction_no, read with the order detail
// endpoint; otherwise the order list is filtered by trade_no or
// transaction_no.
func (c *Client) fetchOrder(ctx context.Context, ref payrecon.OrderRef) (record, error) {
	merchantField, providerField := "trade_no", "transaction_no"
	if c.cfg.OrderNoMapping == MappingTransactionNo {
		merchantField, providerField = providerField, merchantField
	}
	switch {
	case ref.ProviderTxnNo != "" && providerField == "transaction_no":
		if strings.ContainsAny(ref.ProviderTxnNo, "/?#%") {
			return record{}, fmt.Errorf("baas order %q: %w", ref.ProviderTxnNo, errNotFound("order"))
		}
		body, err := c.get(ctx, PathOrderDetail+url.PathEscape(ref.ProviderTxnNo)+"/", nil)
		if err != nil {
			return record{}, err
		}
		var o Order
		if err := json.Unmarshal(body, &o); err != nil {
			return record{}, fmt.Errorf("baas order %s: decode: %w", ref.ProviderTxnNo, err)
		}
		r, err := o.read(c.cfg.OrderNoMapping)
		if err != nil {
			return record{}, fmt.Errorf("baas order %s: %w", ref.ProviderTxnNo, err)
		}
		if r.ProviderTxnNo != ref.ProviderTxnNo {
			return record{}, fmt.Errorf("baas order %s: answer is order %s", ref.ProviderTxnNo, r.ProviderTxnNo)
		}
		return r, nil
	case ref.ProviderTxnNo != "":
		return c.findOne(ctx, providerField, ref.ProviderTxnNo)
	case ref.MerchantOrderNo != "":
		return c.findOne(ctx, merchantField, ref.MerchantOrderNo)
	}
	return record{}, fmt.Errorf("baas order query: no order number given")
}

// findOne lists orders filtered by field=value and returns the one match.
func (c *Client) findOne(ctx context.Context, field, value string) (record, error) {
	q := url.Values{field: {value}, "limit": {"2"}, "offset": {"0"}}
	body, err := c.get(ctx, PathOrderList, q)
	if err != nil {
		return record{}, err
	}
	var found []record
	_, err = ParseOrderList(strings.NewReader(string(body)), "order list "+field+"="+value, func(o *Order, n int) error {
		r, err := o.read(c.cfg.OrderNoMapping)
		if err != nil {
			return fmt.Errorf("record %d: %w", n, err)
		}
		// a server that ignores the filter must not make us pick another order
		if (field == "trade_no" && o.TradeNo == value) || (field == "transaction_no" && o.TransactionNo == value) {
			found = append(found, r)
		}
		return nil
	})
	if err != nil {
		return record{}, fmt.Errorf("baas %w", err)
	}
	switch len(found) {
	case 0:
		return record{}, fmt.Errorf("baas order %s=%s: %w", field, value, errNotFound("order"))
	case 1:
		return found[0], nil
	}
	return record{}, fmt.Errorf("baas order %s=%s: %d orders match", field, value, len(found))
}

// QueryOrder implements payrecon.OrderQuerier.
func (c *Client) QueryOrder(ctx context.Context, ref payrecon.OrderRef) (payrecon.Order, error) {
	r, err := c.fetchOrder(ctx, ref)
	if err != nil {
		return payrecon.Order{}, err
	}
	return payrecon.Order{
		MerchantOrderNo: r.MerchantOrderNo,
		ProviderTxnNo:   r.ProviderTxnNo,
		Status:          r.Status,
		RawStatus:       r.Raw.Status,
		Amount:          r.Amount,
		PayerAmount:     r.Amount,
		Currency:        r.Currency,
		PaidAt:          r.PaidAt,
	}, nil
}

// QueryRefund implements payrecon.RefundQuerier. MinCloud keeps refunds on
// the order (see the package doc): the refund is found through the order
// (MerchantOrderNo / ProviderTxnNo, or MerchantRefundNo, which payrecon
// sets to the merchant order number for MinCloud refunds) and is the
// order's cumulative refund: successful whenever refund_amount is above
// zero (record.RefundBooked; RawStatus keeps refund_status), failed when
// refund_status is failed with nothing refunded. An order never refunded
// is ErrNotFound.
func (c *Client) QueryRefund(ctx context.Context, ref payrecon.RefundRef) (payrecon.Refund, error) {
	oref := payrecon.OrderRef{MerchantOrderNo: ref.MerchantOrderNo, ProviderTxnNo: ref.ProviderTxnNo}
	if oref.MerchantOrderNo == "" && oref.ProviderTxnNo == "" {
		oref.MerchantOrderNo = ref.MerchantRefundNo
	}
	r, err := c.fetchOrder(ctx, oref)
	if err != nil {
		return payrecon.Refund{}, err
	}
	if ref.MerchantRefundNo != "" && ref.MerchantRefundNo != r.MerchantOrderNo {
		return payrecon.Refund{}, fmt.Errorf("baas refund %s: MinCloud refunds are named by their order %s: %w", ref.MerchantRefundNo, r.MerchantOrderNo, errNotFound("refund"))
	}
	if !r.Refunded && !r.RefundBooked() {
		return payrecon.Refund{}, fmt.Errorf("baas refund of order %s: %w", r.MerchantOrderNo, errNotFound("refund"))
	}
	st := r.RefundStatus
	if r.RefundBooked() {
		st = payrecon.StatusSuccess // the cumulative refund, as the bill and the webhook book it
	}
	return payrecon.Refund{
		MerchantRefundNo: r.MerchantOrderNo,
		MerchantOrderNo:  r.MerchantOrderNo,
		ProviderTxnNo:    r.ProviderTxnNo,
		Status:           st,
		RawStatus:        string(r.Raw.RefundStatus),
		Amount:           r.RefundAmount,
		PayerAmount:      r.RefundAmount,
		FinishedAt:       r.UpdatedAt,
	}, nil
}
