package jobs

import "github.com/payrecon/payrecon"

// addSettlementMismatch records the day's settlement_mismatch: its
// difference (settlement bill total − trade bill net) in Delta, kind
// settlement, and the names of the bill files compared. It counts in its
// class but not in Totals.Explained (Item.OutsideBalance): the trade bill
// and the ledger balance without it.
func (e *engine) addSettlementMismatch() {
	d := settlementMismatch(e.settlement, e.tradeNet, e.caps)
	it := payrecon.Item{
		Account: e.run.Account, Day: e.run.Day,
		Kind: payrecon.KindSettlement, Class: d.Class, Action: d.Action, Note: d.Note,
		Delta: e.settlement - e.tradeNet,
	}
	for _, bf := range e.run.Bills {
		it.BillFiles = append(it.BillFiles, bf.Name)
	}
	e.items = append(e.items, it)
	ct := e.tot.ByClass[it.Class]
	ct.Count++
	ct.Amount += it.Delta
	e.tot.ByClass[it.Class] = ct
}
