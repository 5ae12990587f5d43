package jobs

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/payrecon/payrecon"
)

// Loading the day's ledger into the index (index.go): every payment and
// refund as a compact entry, agreements in full, the totals counted as
// they stream by.

func (e *engine) loadLedger(ctx context.Context) error {
	e.progress("ledger")
	day := e.run.Day
	var err error
	if sc, ok := e.r.store.(payrecon.LedgerScanner); ok {
		err = e.scanLedgerParallel(ctx, sc)
	} else {
		err = e.r.store.LedgerEntries(ctx, e.run.Account, day.Start(), day.End(), func(le payrecon.LedgerEntry) error {
			e.countLedger()
			switch le.Kind {
			case payrecon.KindPayment:
				e.addEntry(kindPayment, statusCode(le.Status), le.ID, le.Amount, le.PayerAmount, le.PromotionAmount,
					maybeHashString(e, le.ProviderTxnNo), maybeHashString(e, le.MerchantOrderNo))
			case payrecon.KindRefund:
				e.addEntry(kindRefund, statusCode(le.Status), le.ID, le.Amount, le.PayerAmount, le.PromotionAmount,
					maybeHashString(e, le.ProviderRefundNo), maybeHashString(e, le.MerchantRefundNo))
			case payrecon.KindAgreement:
				e.addAgreement(le)
			default:
				e.matched(0, 1)
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("load ledger: %w", err)
	}
	if e.ents.n > 1<<31-2 {
		return fmt.Errorf("load ledger: %d entries is more than one run can index", e.ents.n)
	}
	e.t1 = newTable(e.ents.n)
	e.t2 = newTable(e.ents.n)
	for i := 0; i < e.ents.n; i++ {
		ent := e.ents.at(int32(i))
		if ent.flags&flagK1 != 0 {
			e.t1.add(ent.k1, int32(i))
		}
		if ent.flags&flagK2 != 0 {
			// A second successful payment for one merchant order under
			// another transaction is a duplicate payment.
			if ent.kind == kindPayment && ent.status == codeSuccess {
				for pr := e.t2.probe(ent.k2); ; {
					j := pr.next()
					if j < 0 {
						break
					}
					o := e.ents.at(j)
					if o.k2 == ent.k2 && o.kind == kindPayment && o.status == codeSuccess && o.flags&flagDup == 0 && o.k1 != ent.k1 {
						ent.flags |= flagDup
						e.dupPairs = append(e.dupPairs, [2]int32{j, int32(i)})
						break
					}
				}
			}
			e.t2.add(ent.k2, int32(i))
		}
	}
	// Verify duplicate candidates on the real strings (hash collisions).
	for _, pr := range e.dupPairs {
		a, err := e.r.store.LedgerEntry(ctx, e.ents.at(pr[0]).id)
		if err != nil {
			return fmt.Errorf("load ledger entry %d: %w", e.ents.at(pr[0]).id, err)
		}
		b, err := e.r.store.LedgerEntry(ctx, e.ents.at(pr[1]).id)
		if err != nil {
			return fmt.Errorf("load ledger entry %d: %w", e.ents.at(pr[1]).id, err)
		}
		if a.MerchantOrderNo != b.MerchantOrderNo || a.ProviderTxnNo == b.ProviderTxnNo {
			e.ents.at(pr[1]).flags &^= flagDup
		}
	}
	e.progress("ledger")
	return nil
}

// scanLedgerParallel reads the day in time slices, one goroutine each
// (up to GOMAXPROCS, at most 4), every slice into its own compact set, then
// appends the sets in time order: entries are ordered by time, then id,
// the same on every run (the earlier of two payments of one order is the
// original, the later the duplicate). Agreements (few) are re-read in full
// afterwards, in the same order.
func (e *engine) scanLedgerParallel(ctx context.Context, sc payrecon.LedgerScanner) error {
	parts := min(runtime.GOMAXPROCS(0), 4)
	day := e.run.Day
	span := day.End().Sub(day.Start()) / time.Duration(parts)
	type part struct {
		ents       entries
		lines      int64
		total      int64
		others     int64
		agreements []int64
		err        error
	}
	ps := make([]part, parts)
	var wg sync.WaitGroup
	var seen atomic.Int64
	for i := range ps {
		from := day.Start().Add(time.Duration(i) * span)
		to := from.Add(span)
		if i == parts-1 {
			to = day.End()
		}
		wg.Add(1)
		go func(p *part) {
			defer wg.Done()
			p.err = sc.ScanLedger(ctx, e.run.Account, from, to, func(r *payrecon.LedgerRow) error {
				p.lines++
				if n := seen.Add(1); n&0xffff == 0 {
					e.r.progress(Progress{Account: e.run.Account, Day: e.run.Day, Phase: "ledger", LedgerLines: n})
				}
				var k uint8
				var prim, sec []byte
				switch string(r.Kind) {
				case string(payrecon.KindPayment):
					k, prim, sec = kindPayment, r.ProviderTxnNo, r.MerchantOrderNo
				case string(payrecon.KindRefund):
					k, prim, sec = kindRefund, r.ProviderRefundNo, r.MerchantRefundNo
				case string(payrecon.KindAgreement):
					p.agreements = append(p.agreements, r.ID)
					return nil
				default:
					p.others++
					return nil
				}
				ent := compactEntry(k, statusCodeBytes(r.Status), r.ID, r.Amount, r.PayerAmount, r.PromotionAmount,
					maybeHash(e, prim), maybeHash(e, sec))
				if ent.status == codeSuccess {
					if k == kindRefund {
						p.total -= r.Amount
					} else {
						p.total += r.Amount
					}
				}
				p.ents.add(ent)
				return nil
			})
		}(&ps[i])
	}
	wg.Wait()
	for i := range ps {
		if ps[i].err != nil {
			return ps[i].err
		}
	}
	for i := range ps {
		p := &ps[i]
		e.tot.LedgerLines += p.lines
		e.tot.LedgerTotal += p.total
		for j := int64(0); j < p.others; j++ {
			e.matched(0, 1)
		}
		if i == 0 {
			e.ents = p.ents
		} else {
			for c := range p.ents.chunks {
				for _, ent := range p.ents.chunks[c] {
					e.ents.add(ent)
				}
				p.ents.chunks[c] = nil // free as we go
			}
		}
		for _, id := range p.agreements {
			le, err := e.r.store.LedgerEntry(ctx, id)
			if err != nil {
				return fmt.Errorf("load ledger entry %d: %w", id, err)
			}
			e.addAgreement(le)
		}
	}
	return nil
}

func (e *engine) countLedger() {
	e.tot.LedgerLines++
	if e.tot.LedgerLines&0xffff == 0 {
		e.progress("ledger")
	}
}

// addEntry adds a payment or refund to the compact set and the totals.
func (e *engine) addEntry(k, status uint8, id, amount, payer, promo int64, prim, sec keyHash) {
	if status == codeSuccess {
		if k == kindRefund {
			e.tot.LedgerTotal -= amount
		} else {
			e.tot.LedgerTotal += amount
		}
	}
	e.ents.add(compactEntry(k, status, id, amount, payer, promo, prim, sec))
}

// changes of the same agreement count as matched.
func (e *engine) addAgreement(le payrecon.LedgerEntry) {
	key := agreementKey(le)
	if _, seen := e.agreements[key]; seen {
		e.matched(0, 1)
	}
	e.agreements[key] = le
}

func agreementKey(le payrecon.LedgerEntry) string {
	if le.AgreementNo != "" {
		return "a:" + le.AgreementNo
	}
	return "m:" + le.MerchantAgreeNo
}
