package jobs

import (
	"fmt"
	"sort"

	"github.com/payrecon/payrecon"
)

// Items and totals: the engine's side of a Decision (classify.go) — the
// item with both sides, its delta, the day's totals and their balance.

func lineItem(l payrecon.BillLine) payrecon.Item {
	it := payrecon.Item{
		Account: l.Account, Day: l.Day, Kind: l.Kind,
		MerchantOrderNo: l.MerchantOrderNo, ProviderTxnNo: l.ProviderTxnNo,
		MerchantRefundNo: l.MerchantRefundNo, ProviderRefundNo: l.ProviderRefundNo,
		ProviderStatus: l.Status, BillFee: l.Fee, BillTime: l.FinishedAt, Product: l.Product,
	}
	if it.BillTime.IsZero() {
		it.BillTime = l.CreatedAt
	}
	if l.Status == payrecon.StatusSuccess {
		it.BillAmount = l.Amount
		if l.Kind == payrecon.KindRefund {
			it.BillAmount = -l.Amount
		}
	}
	return it
}

// fillLedger puts the ledger side of an entry on an item: the amount is its
// contribution to the ledger total (0 unless it is a success).
func fillLedger(it *payrecon.Item, le payrecon.LedgerEntry) {
	fillKeys(it, le.MerchantOrderNo, le.ProviderTxnNo, le.MerchantRefundNo, le.ProviderRefundNo)
	it.LedgerStatus = le.Status
	it.LedgerTime = le.OccurredAt
	it.LedgerEntryID = le.ID
	it.LedgerAmount = 0
	if le.Status == payrecon.StatusSuccess {
		it.LedgerAmount = le.Amount
		if le.Kind == payrecon.KindRefund {
			it.LedgerAmount = -le.Amount
		}
	}
}

func fillKeys(it *payrecon.Item, order, txn, mrefund, prefund string) {
	if it.MerchantOrderNo == "" {
		it.MerchantOrderNo = order
	}
	if it.ProviderTxnNo == "" {
		it.ProviderTxnNo = txn
	}
	if it.MerchantRefundNo == "" {
		it.MerchantRefundNo = mrefund
	}
	if it.ProviderRefundNo == "" {
		it.ProviderRefundNo = prefund
	}
}

// alone counts a bill line or ledger entry lone decided without asking
// the provider: matched, nothing stored.
func (e *engine) alone(d Decision, billLines, ledgerEntries int64) {
	if d.Class != payrecon.ClassMatched {
		panic("jobs: a lone line or entry decided without the provider must be matched, got " + string(d.Class))
	}
	e.matched(billLines, ledgerEntries)
}

func (e *engine) matched(billLines, ledgerEntries int64) {
	e.billDone += billLines
	e.ledgerDone += ledgerEntries
	e.tot.Matched++ // ByClass[matched] is filled in finishTotals
}

// recordPair records a bill line and the ledger entry it met that
// disagree (class): both sides, the fees of a fee_mismatch, and why.
func (e *engine) recordPair(class payrecon.Class, le *payrecon.LedgerEntry, l *payrecon.BillLine, byMerchant bool) {
	it := lineItem(*l)
	fillLedger(&it, *le)
	var feeNote string
	if class == payrecon.ClassFeeMismatch {
		feeNote = e.fillFee(&it, l)
	}
	e.record(it, pairDecision(class, le, l, byMerchant, feeNote, e.caps))
}

// record stores an item with its decision (class, action, note); Delta is
// BillAmount − LedgerAmount.
func (e *engine) record(it payrecon.Item, d Decision) {
	it.Class, it.Action, it.Note = d.Class, d.Action, d.Note
	it.Account = e.run.Account
	it.Day = e.run.Day
	it.Delta = it.BillAmount - it.LedgerAmount
	e.items = append(e.items, it)
	e.tot.Explained += it.Delta
	ct := e.tot.ByClass[it.Class]
	ct.Count++
	ct.Amount += it.Delta
	e.tot.ByClass[it.Class] = ct
}

func (e *engine) finishTotals() ([]payrecon.Item, error) {
	t := &e.tot
	t.Difference = t.BillTotal - t.LedgerTotal
	if t.Matched > 0 {
		t.ByClass[payrecon.ClassMatched] = payrecon.ClassTotal{Count: t.Matched}
	}
	e.run.Totals = *t
	if e.billDone != t.BillLines || e.ledgerDone != t.LedgerLines {
		return nil, fmt.Errorf("internal accounting error: classified %d of %d bill lines and %d of %d ledger entries",
			e.billDone, t.BillLines, e.ledgerDone, t.LedgerLines)
	}
	if !t.Balanced() {
		return nil, fmt.Errorf("%w: bill %s − ledger %s = %s, discrepancies explain %s",
			payrecon.ErrUnbalanced, payrecon.FormatYuan(t.BillTotal), payrecon.FormatYuan(t.LedgerTotal),
			payrecon.FormatYuan(t.Difference), payrecon.FormatYuan(t.Explained))
	}
	items := e.items
	sort.SliceStable(items, func(i, j int) bool { return itemLess(&items[i], &items[j]) })
	return items, nil
}

func itemLess(a, b *payrecon.Item) bool {
	if a.Class != b.Class {
		return a.Class < b.Class
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	for _, p := range [][2]string{{a.ProviderTxnNo, b.ProviderTxnNo}, {a.MerchantOrderNo, b.MerchantOrderNo},
		{a.ProviderRefundNo, b.ProviderRefundNo}, {a.MerchantRefundNo, b.MerchantRefundNo}, {a.AgreementNo, b.AgreementNo}} {
		if p[0] != p[1] {
			return p[0] < p[1]
		}
	}
	return a.LedgerEntryID < b.LedgerEntryID
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
