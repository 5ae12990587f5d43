package jobs

import (
	"context"
	"sort"

	"github.com/payrecon/payrecon"
)

// matchRefundsByOrder matches the ledger's aggregated refunds
// (payrecon.LedgerEntry.AggregatedRefund: MinCloud keeps one cumulative
// refund amount per order and no refund number; the store books each
// increment) against the day's bill refund lines of the same order,
// summed. Per order with aggregated refunds in the ledger:
//
//   - sums equal: matched (every line and entry);
//   - sums differ: one refund_amount_mismatch for the order;
//   - no refund line of the order in the bill: refund_missing_in_bill.
//
// Refund lines of orders without aggregated refunds stay pending and are
// resolved as usual (by their own refund numbers, then queried).
func (e *engine) matchRefundsByOrder(ctx context.Context) error {
	type group struct {
		lines              []payrecon.BillLine
		ents               []payrecon.LedgerEntry
		billSum, ledgerSum int64
	}
	groups := map[string]*group{}
	for i := 0; i < e.ents.n; i++ {
		ent := e.ents.at(int32(i))
		if ent.kind != kindRefund || ent.status != codeSuccess || ent.flags&(flagUsed|flagK1) != 0 {
			continue
		}
		le, err := e.entry(ctx, int32(i))
		if err != nil {
			return err
		}
		if !le.AggregatedRefund() {
			continue
		}
		ent.flags |= flagUsed
		g := groups[le.MerchantOrderNo]
		if g == nil {
			g = &group{}
			groups[le.MerchantOrderNo] = g
		}
		g.ents = append(g.ents, le)
		g.ledgerSum += le.Amount
	}
	if len(groups) == 0 {
		return nil
	}
	keep := e.pending[:0]
	for _, l := range e.pending {
		if g := groups[l.MerchantOrderNo]; g != nil && l.Kind == payrecon.KindRefund && l.Status == payrecon.StatusSuccess {
			g.lines = append(g.lines, l)
			g.billSum += l.Amount
			continue
		}
		keep = append(keep, l)
	}
	e.pending = keep
	orders := make([]string, 0, len(groups))
	for o := range groups {
		orders = append(orders, o)
	}
	sort.Strings(orders)
	for _, order := range orders {
		g := groups[order]
		d := orderRefunds(g.lines, g.billSum, g.ledgerSum, len(g.ents), e.caps)
		if d.Class == payrecon.ClassMatched {
			e.matched(int64(len(g.lines)), int64(len(g.ents)))
			continue
		}
		last := g.ents[len(g.ents)-1]
		it := payrecon.Item{
			Kind: payrecon.KindRefund, MerchantOrderNo: order, MerchantRefundNo: order,
			ProviderTxnNo: last.ProviderTxnNo, LedgerAmount: -g.ledgerSum, BillAmount: -g.billSum,
			LedgerStatus: payrecon.StatusSuccess, LedgerTime: last.OccurredAt, LedgerEntryID: last.ID,
		}
		if len(g.lines) > 0 {
			l := g.lines[len(g.lines)-1]
			it.ProviderStatus, it.BillTime, it.Product = l.Status, l.FinishedAt, l.Product
			if it.ProviderTxnNo == "" {
				it.ProviderTxnNo = l.ProviderTxnNo
			}
		}
		e.billDone += int64(len(g.lines))
		e.ledgerDone += int64(len(g.ents))
		e.record(it, d)
	}
	return nil
}
