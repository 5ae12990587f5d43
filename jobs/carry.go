package jobs

import (
	"context"
	"fmt"
	"sort"

	"github.com/payrecon/payrecon"
)

// Carry-overs: items of earlier days still expected in a bill, settled by
// today's bill line (resolved_late) or re-checked with the provider
// (recheckCarry in classify.go).

type carry struct {
	item payrecon.Item
	used bool
}

func (e *engine) loadCarryOvers(ctx context.Context) error {
	items, err := e.r.store.OpenCarryOvers(ctx, e.run.Account, e.run.Day)
	if err != nil {
		return fmt.Errorf("load carry-overs: %w", err)
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].OriginDay != items[j].OriginDay {
			return items[i].OriginDay < items[j].OriginDay
		}
		return items[i].Key() < items[j].Key()
	})
	for _, it := range items {
		c := &carry{item: it}
		e.carries = append(e.carries, c)
		for _, k := range carryKeys(it.Kind, it.ProviderTxnNo, it.MerchantOrderNo, it.ProviderRefundNo, it.MerchantRefundNo) {
			if _, dup := e.carryByKey[k]; !dup {
				e.carryByKey[k] = c
			}
		}
	}
	return nil
}

func carryKeys(kind payrecon.Kind, txn, order, provRefund, merchRefund string) []string {
	var out []string
	if kind == payrecon.KindRefund {
		if provRefund != "" {
			out = append(out, "r:"+provRefund)
		}
		if merchRefund != "" {
			out = append(out, "m:"+merchRefund)
		}
		return out
	}
	if txn != "" {
		out = append(out, "p:"+txn)
	}
	if order != "" {
		out = append(out, "o:"+order)
	}
	return out
}

func (e *engine) findCarry(key string) *carry {
	c := e.carryByKey[key]
	if c == nil || c.used {
		return nil
	}
	return c
}

// resolvedLate settles an earlier day's carry-over with today's bill line.
func (e *engine) resolvedLate(c *carry, l *payrecon.BillLine) {
	c.used = true
	it := lineItem(*l)
	it.LedgerStatus = c.item.LedgerStatus
	it.LedgerTime = c.item.LedgerTime
	it.LedgerEntryID = c.item.LedgerEntryID
	it.OriginDay = c.item.OriginDay
	it.ResolvesKey = c.item.Key()
	fillKeys(&it, c.item.MerchantOrderNo, c.item.ProviderTxnNo, c.item.MerchantRefundNo, c.item.ProviderRefundNo)
	e.billDone++
	e.record(it, resolvedLate(&c.item, l, it.BillAmount, e.caps))
}

// recheckCarry re-checks an earlier day's carried-over item that today's
// bill did not list: one carried over too long is missing in the bill
// now; any other is asked about again (recheckCarry in classify.go).
func (e *engine) recheckCarry(c *carry) {
	it := &c.item
	if d, ok := carryTooOld(it, e.run.Day, e.r.opts.CarryOverDays, e.caps); ok {
		e.record(e.carryItem(it, it.ProviderStatus), d) // as last queried; apply queries again
		return
	}
	q := &query{kind: it.Kind, carried: it}
	if it.Kind == payrecon.KindRefund {
		q.refund = payrecon.RefundRef{MerchantRefundNo: it.MerchantRefundNo, ProviderRefundNo: it.ProviderRefundNo, MerchantOrderNo: it.MerchantOrderNo, ProviderTxnNo: it.ProviderTxnNo}
	} else {
		q.order = payrecon.OrderRef{MerchantOrderNo: it.MerchantOrderNo, ProviderTxnNo: it.ProviderTxnNo}
	}
	e.queries = append(e.queries, q)
}

// carryItem is today's item for an earlier day's carry-over: delta 0 (its
// money belongs to its origin day), resolving the earlier item.
func (e *engine) carryItem(it *payrecon.Item, provider payrecon.Status) payrecon.Item {
	return payrecon.Item{
		Kind:            it.Kind,
		MerchantOrderNo: it.MerchantOrderNo, ProviderTxnNo: it.ProviderTxnNo,
		MerchantRefundNo: it.MerchantRefundNo, ProviderRefundNo: it.ProviderRefundNo,
		LedgerStatus: it.LedgerStatus, LedgerTime: it.LedgerTime, LedgerEntryID: it.LedgerEntryID,
		OriginDay: it.OriginDay, ResolvesKey: it.Key(), Product: it.Product, ProviderStatus: provider,
	}
}
