package jobs

import "github.com/payrecon/payrecon"

// matchByMerchant is the hot path for ledger entries that carry no
// provider number (pulled ledgers: MinCloud orders without the channel's
// transaction id, merchant order tables): a bill line the provider's
// number did not meet takes the best unused entry of its kind with the
// same merchant number (order number for payments, merchant refund number
// for refunds) and no provider number, exactly as the slow path
// (resolveLine) would, without re-reading the entry when they agree; a
// disagreeing pair is re-read and its keys compared like any other
// (engine.resolve). Lines that may settle an earlier day's carry-over, and
// a second line of an order whose entry is taken (a duplicate), are left
// to the slow path. It reports whether it took the line.
func (e *engine) matchByMerchant(l *payrecon.BillLine, k uint8) bool {
	sec, prim, pk, sk := l.MerchantOrderNo, l.ProviderTxnNo, "p:", "o:"
	if k == kindRefund {
		if e.t.RefundsByOrder {
			return false // aggregated refunds are matched per order (matchRefundsByOrder)
		}
		sec, prim, pk, sk = l.MerchantRefundNo, l.ProviderRefundNo, "r:", "m:"
	}
	if sec == "" {
		return false
	}
	if len(e.carries) > 0 && (e.findCarry(sk+sec) != nil || (prim != "" && e.findCarry(pk+prim) != nil)) {
		return false
	}
	h := e.hash(sec)
	best := int32(-1)
	for pr := e.t2.probe(h); ; {
		idx := pr.next()
		if idx < 0 {
			break
		}
		ent := e.ents.at(idx)
		if ent.kind != k || ent.k2 != h || ent.flags&(flagUsed|flagK1) != 0 {
			continue
		}
		if ent.status == codeSuccess {
			best = idx
			break
		}
		if best < 0 {
			best = idx
		}
	}
	if best < 0 {
		return false
	}
	ent := e.ents.at(best)
	ent.flags |= flagUsed
	if class := e.compare(ent, l); class != payrecon.ClassMatched {
		e.cands = append(e.cands, cand{idx: best, class: class, line: *l})
		return true
	}
	e.matched(1, 1)
	return true
}
