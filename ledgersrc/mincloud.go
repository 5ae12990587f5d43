// Package ledgersrc holds the ledger sources other than live callbacks
// (payrecon.LedgerSource): MinCloud orders routed to a channel account,
// and the merchant's own order table read with SQL or from a CSV export.
// Each yields LedgerEntry values only; the caller (jobs.PullLedger)
// validates them with the account's payrecon.Policy and stores one pull
// in one transaction, deduplicated by event key.
package ledgersrc

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/baas"
)

// CallbackReader reads the accepted raw callbacks of an account received
// in [from, to), ordered by id (the store implements it).
type CallbackReader interface {
	AcceptedCallbacks(ctx context.Context, account string, from, to time.Time, fn func(payrecon.RawCallback) error) error
}

// MinCloud is the ledger of a channel account (WeChat, Alipay, QQ Wallet)
// whose payments go through MinCloud (知晓云): MinCloud, not the merchant,
// receives the channel's notifications, so the merchant's record of a
// payment is MinCloud's order. Pull reads the linked MinCloud account's
// verified trigger webhooks received from the start of the day to a day
// after its end, and backfills from the MinCloud order list of the day
// (paid that day; pending or failed orders created that day; refunded
// orders updated that day), keeps the orders whose gateway_type pays
// through Channel, and turns each into entries of Account:
//
//   - a payment (status success, pending or failed; key
//     "mincloud:payment:<trade_no>:<status>"; the channel transaction id
//     when the record carries one, else matched by trade_no, which is the
//     out_trade_no MinCloud sent to the channel);
//   - for a refunded order, an aggregated refund (payrecon.LedgerEntry.
//     AggregatedRefund; key "mincloud:refund:<trade_no>:<cumulative fen>")
//     holding the cumulative refund_amount, of which the store books the
//     increment; it is matched against the channel bill's refund lines of
//     the order summed.
//
// Entries are stored with Source "mincloud" and Provider Channel.
type MinCloud struct {
	Account         string // the channel account the entries belong to
	Channel         string // its provider: "wechat", "alipay" or "qqpay"
	MinCloudAccount string // the baas account receiving the webhooks
	Client          *baas.Client
	Callbacks       CallbackReader
	Log             *slog.Logger
}

var _ payrecon.LedgerSource = (*MinCloud)(nil)

// Pull implements payrecon.LedgerSource.
func (m *MinCloud) Pull(ctx context.Context, day payrecon.Day, fn func(payrecon.LedgerEntry) error) error {
	var (
		entries []payrecon.LedgerEntry
		seen    = map[string]bool{}
		skipped = map[string]int{}
	)
	add := func(o *baas.Order, where string) error {
		f, err := m.Client.Facts(o)
		if err != nil {
			return fmt.Errorf("mincloud %s order %q: %w", where, o.TradeNo, err)
		}
		if f.Channel != m.Channel {
			skipped[f.GatewayType]++
			return nil
		}
		for _, e := range m.entries(f) {
			if !seen[e.EventKey] {
				seen[e.EventKey] = true
				entries = append(entries, e)
			}
		}
		return nil
	}
	if m.Callbacks != nil && m.MinCloudAccount != "" {
		err := m.Callbacks.AcceptedCallbacks(ctx, m.MinCloudAccount, day.Start(), day.End().Add(24*time.Hour), func(cb payrecon.RawCallback) error {
			o, err := baas.ParseCallbackOrder(cb.Body)
			if err != nil {
				return fmt.Errorf("mincloud webhook %d: %w", cb.ID, err)
			}
			return add(o, fmt.Sprintf("webhook %d", cb.ID))
		})
		if err != nil {
			return err
		}
	}
	// to is the day's end itself: an order at 23:59:59.5 (fractional times)
	// is above End-1; records of another day are dropped by the checks below.
	from, to := strconv.FormatInt(day.Start().Unix(), 10), strconv.FormatInt(day.End().Unix(), 10)
	inDay := func(t time.Time) bool { return !t.IsZero() && payrecon.DayOf(t) == day }
	lists := []struct {
		filter url.Values
		keep   func(baas.Facts) bool
	}{
		{url.Values{"status": {"success"}, "paid_at__gte": {from}, "paid_at__lte": {to}},
			func(f baas.Facts) bool { return inDay(f.PaidAt) }},
		{url.Values{"status": {"pending"}, "created_at__gte": {from}, "created_at__lte": {to}},
			func(f baas.Facts) bool { return f.Status == payrecon.StatusPending && inDay(f.CreatedAt) }},
		{url.Values{"status": {"failed"}, "created_at__gte": {from}, "created_at__lte": {to}},
			func(f baas.Facts) bool { return f.Status == payrecon.StatusFailed && inDay(f.CreatedAt) }},
		{url.Values{"refund_status": {"partial"}, "updated_at__gte": {from}, "updated_at__lte": {to}},
			func(f baas.Facts) bool { return f.Refunded && inDay(f.UpdatedAt) }},
		{url.Values{"refund_status": {"complete"}, "updated_at__gte": {from}, "updated_at__lte": {to}},
			func(f baas.Facts) bool { return f.Refunded && inDay(f.UpdatedAt) }},
	}
	for _, l := range lists {
		// The list documents paid_at filters only: the others may be
		// ignored by the server, so every record is checked here too.
		err := m.Client.ListOrders(ctx, l.filter, func(o *baas.Order) error {
			f, err := m.Client.Facts(o)
			if err != nil {
				return fmt.Errorf("mincloud order list %s order %q: %w", l.filter.Encode(), o.TradeNo, err)
			}
			if !l.keep(f) {
				return nil
			}
			return add(o, "order list")
		})
		if err != nil {
			return fmt.Errorf("mincloud backfill %s: %w", day, err)
		}
	}
	for g, n := range skipped {
		if m.Log != nil {
			m.Log.Debug("mincloud orders of another channel skipped", "account", m.Account, "gateway_type", g, "orders", n)
		}
	}
	// Deterministic, and an order's refund states by growing cumulative
	// amount, so the store books each increment.
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := &entries[i], &entries[j]
		if a.AggregatedRefund() && b.AggregatedRefund() && a.MerchantOrderNo == b.MerchantOrderNo {
			return a.Amount < b.Amount
		}
		if !a.OccurredAt.Equal(b.OccurredAt) {
			return a.OccurredAt.Before(b.OccurredAt)
		}
		return a.EventKey < b.EventKey
	})
	for _, e := range entries {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// entries turns one MinCloud order into the channel account's entries.
func (m *MinCloud) entries(f baas.Facts) []payrecon.LedgerEntry {
	base := payrecon.LedgerEntry{
		Account: m.Account, Provider: m.Channel, Source: payrecon.SourceMinCloud,
		MerchantOrderNo: f.MerchantOrderNo, ProviderTxnNo: f.ChannelTxnNo, Currency: f.Currency,
	}
	var out []payrecon.LedgerEntry
	pay := base
	pay.Kind, pay.Status, pay.Amount = payrecon.KindPayment, f.Status, f.Amount
	pay.EventKey = "mincloud:" + payrecon.EventKey(payrecon.KindPayment, f.MerchantOrderNo, f.Status)
	switch f.Status {
	case payrecon.StatusSuccess:
		pay.PayerAmount, pay.OccurredAt = f.Amount, f.PaidAt
	default:
		pay.OccurredAt = f.CreatedAt
	}
	if pay.OccurredAt.IsZero() {
		pay.OccurredAt = f.UpdatedAt
	}
	out = append(out, pay)
	if f.RefundBooked() {
		r := base
		r.ProviderTxnNo = f.ChannelTxnNo
		r.Kind, r.Status = payrecon.KindRefund, payrecon.StatusSuccess
		r.MerchantRefundNo = f.MerchantOrderNo
		r.Amount, r.PayerAmount = f.RefundAmount, f.RefundAmount
		r.EventKey = fmt.Sprintf("mincloud:refund:%s:%d", f.MerchantOrderNo, f.RefundAmount)
		r.OccurredAt = f.UpdatedAt
		out = append(out, r)
	}
	return out
}
