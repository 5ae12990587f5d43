package jobs

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sort"
	"time"

	"github.com/payrecon/payrecon"
)

// The engine reconciles one account and day, in the steps of design.md:
//
//  1. load the day's ledger into the compact index (ledger.go, index.go)
//     and the open carry-overs of earlier days (carry.go);
//  2. stream the bills: each trade line meets its ledger entry by the
//     provider's number (onTrade; compare → pairClass), the settlement
//     bill is added up and its fees checked (onSettlement, fees.go);
//  3. resolve what is left (resolve): disagreeing pairs re-read, bill lines
//     no entry met, ledger entries no line met, carry-overs, agreements,
//     collecting one provider query for each that needs one;
//  4. ask the provider (runQueries, query.go) and classify with its
//     answers (answered);
//  5. finish the totals and check the balance (items.go).
//
// Every class, action and note is decided in classify.go; the engine only
// gathers the facts and records the decisions.

// cand is a bill line that met a ledger entry but disagrees with it.
type cand struct {
	idx   int32
	class payrecon.Class
	line  payrecon.BillLine
}

// query is one provider query, what it asks about and the answer.
type query struct {
	kind      payrecon.Kind
	order     payrecon.OrderRef
	refund    payrecon.RefundRef
	agreement payrecon.AgreementRef

	ans Answer

	// What is asked about: a bill line no ledger entry met (line), an
	// earlier day's carry-over (carried), or a ledger success no bill line
	// met or an agreement (entry; ofToday: changed today).
	line    *payrecon.BillLine
	carried *payrecon.Item
	entry   *payrecon.LedgerEntry
	ofToday bool
}

type engine struct {
	r   *Runner
	t   Target
	run *payrecon.Run
	log *slog.Logger

	seed   maphash.Seed
	ents   entries
	t1, t2 table

	agreements  map[string]payrecon.LedgerEntry
	carries     []*carry
	carryByKey  map[string]*carry
	items       []payrecon.Item
	cands       []cand
	pending     []payrecon.BillLine
	queries     []*query
	tot         payrecon.Totals
	tradeNet    int64
	settlement  int64
	hasSettle   bool
	fees        payrecon.FeeFacts // where the provider's bills state fees
	sfees       settleFees        // orders whose settlement-bill fee disagrees
	billDone    int64             // trade bill lines classified
	ledgerDone  int64             // ledger entries classified
	queriesDone int64
	dupPairs    [][2]int32
	lines       payrecon.LineChecker // the domain check every bill line passes
	caps        Caps                 // what the provider can do, for the repair actions
}

func newEngine(r *Runner, t Target, run *payrecon.Run, log *slog.Logger) *engine {
	return &engine{
		r: r, t: t, run: run, log: log,
		seed:       maphash.MakeSeed(),
		agreements: map[string]payrecon.LedgerEntry{},
		carryByKey: map[string]*carry{},
		tot:        payrecon.Totals{ByClass: map[payrecon.Class]payrecon.ClassTotal{}},
		lines:      payrecon.PolicyFor(t.Account, t.Provider).Lines(run.Day),
		caps:       CapsOf(t.Provider, r.opts.ProviderActions),
	}
}

// checked runs the domain validation on every bill line before fn sees it:
// a line that fails fails the run, naming its file, line and column.
func (e *engine) checked(bill payrecon.BillKind, fn func(payrecon.BillLine) error) func(payrecon.BillLine) error {
	return func(l payrecon.BillLine) error {
		if err := e.lines.Check(&l); err != nil {
			return lineError(e.t.Provider, bill, &l, err)
		}
		return fn(l)
	}
}

func (e *engine) progress(phase string) {
	e.r.progress(Progress{Account: e.run.Account, Day: e.run.Day, Phase: phase,
		LedgerLines: e.tot.LedgerLines, BillLines: e.tot.BillLines, Queries: e.queriesDone})
}

// reconcile does the whole run up to (not including) saving; it fills
// e.run.Totals and e.run.Bills and returns the items to store.
func (e *engine) reconcile(ctx context.Context) ([]payrecon.Item, error) {
	bs, ok := e.t.Provider.(payrecon.BillSource)
	if !ok {
		return nil, fmt.Errorf("provider %s has no bill source", e.t.Provider.ProviderName())
	}
	var err error
	if err = e.loadLedger(ctx); err != nil {
		return nil, err
	}
	if err := e.loadCarryOvers(ctx); err != nil {
		return nil, err
	}
	// Fees stated per order on the settlement bill are read first, so
	// that the trade line of an order whose fee disagrees is classed
	// fee_mismatch as it streams by.
	e.fees = payrecon.FeeFactsOf(e.t.Provider)
	var sf payrecon.BillFile
	settleFirst := e.fees.Bill == payrecon.BillSettlement
	if settleFirst {
		if sf, err = e.settlementBill(ctx, bs); err != nil {
			return nil, err
		}
	}
	e.progress("bill")
	bf, err := bs.Bill(ctx, e.run.Day, payrecon.BillTrade, e.checked(payrecon.BillTrade, e.onTrade))
	if errors.Is(err, payrecon.ErrNoBill) {
		bf, err = e.noBill(bf, err)
	}
	if err != nil {
		return nil, fmt.Errorf("trade bill: %w", err)
	}
	e.run.Bills = append(e.run.Bills, bf)
	if !settleFirst {
		if sf, err = e.settlementBill(ctx, bs); err != nil {
			return nil, err
		}
	}
	if e.hasSettle {
		e.run.Bills = append(e.run.Bills, sf)
	}
	if err := e.resolve(ctx); err != nil {
		return nil, err
	}
	e.progress("query")
	if err := e.runQueries(ctx); err != nil {
		return nil, err
	}
	e.answered()
	for _, f := range e.sfees.list {
		if !f.taken {
			e.record(f.leftover(), settleFeeLeftover(f, e.t.Account.FeeRatePPM, e.caps))
		}
	}
	if e.hasSettle {
		e.tot.Settlement = e.settlement
		if e.settlement != e.tradeNet {
			e.addSettlementMismatch()
		}
	}
	return e.finishTotals()
}

// settlementBill reads the settlement bill, if the provider has one and
// has published it.
func (e *engine) settlementBill(ctx context.Context, bs payrecon.BillSource) (payrecon.BillFile, error) {
	e.progress("settlement")
	sf, err := bs.Bill(ctx, e.run.Day, payrecon.BillSettlement, e.checked(payrecon.BillSettlement, e.onSettlement))
	switch {
	case err == nil:
		e.hasSettle = true
	case errors.Is(err, payrecon.ErrNotSupported):
		// No settlement bill for the account (MinCloud), or none for the
		// day (Huawei's NOT_SETTLEMENT_DATE): nothing to compare.
		e.log.Info("no settlement bill; settlement not checked this run", "reason", err.Error())
	case errors.Is(err, payrecon.ErrBillNotReady), errors.Is(err, payrecon.ErrNoBill):
		e.log.Warn("settlement bill not ready (or none for the day); settlement (and fees stated on it) not checked this run", "reason", err.Error())
		e.settlement = 0
	default:
		return sf, fmt.Errorf("settlement bill: %w", err)
	}
	return sf, nil
}

// noBill reads the provider's "no bill for the day" (payrecon.ErrNoBill)
// on the trade bill: not ready before the provider publishes its bills
// (noon of the next day), a bill without lines after: the day had no
// transactions, and every ledger entry of it is put to the provider.
func (e *engine) noBill(bf payrecon.BillFile, err error) (payrecon.BillFile, error) {
	if e.r.now().Before(e.run.Day.End().Add(noBillAfter)) {
		return bf, fmt.Errorf("%w (%w)", payrecon.ErrBillNotReady, err)
	}
	e.log.Warn("the provider has no trade bill for the day: reconciled as a day without transactions", "reason", err.Error())
	return payrecon.BillFile{Account: e.run.Account, Day: e.run.Day, Kind: payrecon.BillTrade, Name: "(no bill for the day)"}, nil
}

// ---- bill ----

// onTrade is called for every trade bill line: the hot path.
func (e *engine) onTrade(l payrecon.BillLine) error {
	e.tot.BillLines++
	if e.tot.BillLines&0xffff == 0 {
		e.progress("bill")
	}
	var k uint8
	key := l.ProviderTxnNo
	switch l.Kind {
	case payrecon.KindPayment:
		k = kindPayment
		if l.Status == payrecon.StatusSuccess {
			fee := tradeFee(e.fees, &l)
			e.tot.BillTotal += l.Amount
			e.tot.Fees += fee
			e.tradeNet += paid(&l) - fee
		}
	case payrecon.KindRefund:
		k = kindRefund
		key = l.ProviderRefundNo
		if l.Status == payrecon.StatusSuccess {
			fee := tradeFee(e.fees, &l)
			e.tot.BillTotal -= l.Amount
			e.tot.Fees += fee
			e.tradeNet += -paid(&l) - fee
		}
	default:
		e.tradeNet += l.Amount // settles as listed (splits, top-ups …), fees aside
		it := lineItem(l)
		it.BillAmount = 0
		e.billDone++
		e.record(it, otherLine(&l))
		return nil
	}
	if key != "" {
		if idx := e.find(&e.t1, e.hash(key), k); idx >= 0 {
			ent := e.ents.at(idx)
			ent.flags |= flagUsed
			class := e.compare(ent, &l)
			if class == payrecon.ClassMatched {
				e.matched(1, 1)
				return nil
			}
			e.cands = append(e.cands, cand{idx: idx, class: class, line: l})
			return nil
		}
	}
	if e.matchByMerchant(&l, k) {
		return nil
	}
	e.pending = append(e.pending, l)
	return nil
}

// paid is what a trade line settles before fees: the settlement amount
// when the trade bill states one (BillLine.Settlement), else what the
// payer paid (or got back) — promotions funded by others aside — else,
// for bills without a payer column, the order amount.
func paid(l *payrecon.BillLine) int64 {
	switch {
	case l.Settlement != 0:
		return abs(l.Settlement)
	case l.PayerAmount != 0:
		return l.PayerAmount
	}
	return l.Amount
}

// compare classifies a bill line against the ledger entry it met
// (pairClass); the fee is checked where the provider states it.
func (e *engine) compare(ent *lent, l *payrecon.BillLine) payrecon.Class {
	return pairClass(ent.facts(), l, splitDiffers(ent.split, l), tradeFeeMismatch(e.fees, l, e.t.Account.FeeRatePPM) || e.sfees.find(l) != nil)
}

// onSettlement adds up every line of the settlement (fund) bill: payments,
// refunds, and the provider's other rows (fees deducted or returned as
// rows of their own, splits, adjustments): all money that moved. Where the
// provider states fees on this bill, the trade net subtracts the same
// stated fees and each line's fee is checked for its order. Other money the
// provider states it kept (commissions: BillLine.Deduction) is netted
// from the trade side the same way.
func (e *engine) onSettlement(l payrecon.BillLine) error {
	e.settlement += l.Settlement
	e.tradeNet -= l.Deduction
	e.tot.Deductions += l.Deduction
	if e.fees.Bill == payrecon.BillSettlement && l.FeeStated {
		e.tot.Fees += l.Fee
		e.tradeNet -= l.Fee
		e.sfees.check(&l, e.t.Account.FeeRatePPM)
	}
	return nil
}

// fillFee puts both fees on a fee_mismatch item and returns the note
// explaining them.
func (e *engine) fillFee(it *payrecon.Item, l *payrecon.BillLine) string {
	rate := e.t.Account.FeeRatePPM
	if f := e.sfees.find(l); f != nil {
		f.taken = true
		it.BillFee, it.LedgerFee = f.fee, f.want
		return f.note(rate)
	}
	it.LedgerFee = payrecon.FeeFor(l.Amount, rate)
	return tradeFeeNote(l.Fee, it.LedgerFee)
}

// ---- resolution of the rare cases ----

// resolve classifies what streaming the bill left open, in five passes
// (below), and collects the provider queries they need.
func (e *engine) resolve(ctx context.Context) error {
	// 1. Disagreeing pairs: re-read the entry, check the keys really match.
	for _, c := range e.cands {
		le, err := e.entry(ctx, c.idx)
		if err != nil {
			return err
		}
		if !sameKey(le, &c.line) { // a hash collision: not the same transaction
			e.ents.at(c.idx).flags &^= flagUsed
			e.pending = append(e.pending, c.line)
			continue
		}
		e.billDone++
		e.ledgerDone++
		e.recordPair(c.class, &le, &c.line, false)
	}
	// 2. Bill lines no ledger entry met by the provider's number (refunds
	// of aggregated-refund ledgers first, summed per order).
	if e.t.RefundsByOrder {
		if err := e.matchRefundsByOrder(ctx); err != nil {
			return err
		}
	}
	for i := range e.pending {
		if err := e.resolveLine(ctx, &e.pending[i]); err != nil {
			return err
		}
	}
	// 3. Ledger entries no bill line consumed.
	for i := 0; i < e.ents.n; i++ {
		ent := e.ents.at(int32(i))
		if ent.flags&flagUsed != 0 {
			continue
		}
		if d, ask := lone(ent.status == codeSuccess); !ask {
			if ent.status == 255 {
				le, err := e.entry(ctx, int32(i))
				if err != nil {
					return err
				}
				e.log.Warn("ledger entry with unknown status counted as no money moved", "entry_id", le.ID, "status", string(le.Status))
			}
			e.alone(d, 0, 1)
			continue
		}
		le, err := e.entry(ctx, int32(i))
		if err != nil {
			return err
		}
		e.queryLeftover(le)
	}
	// 4. Carry-overs of earlier days not seen today.
	for _, c := range e.carries {
		if !c.used {
			e.recheckCarry(c)
		}
	}
	// 5. Agreements that changed today (and periodic re-checks).
	if err := e.checkAgreements(ctx); err != nil {
		return err
	}
	return nil
}

func (e *engine) entry(ctx context.Context, idx int32) (payrecon.LedgerEntry, error) {
	le, err := e.r.store.LedgerEntry(ctx, e.ents.at(idx).id)
	if err != nil {
		return le, fmt.Errorf("load ledger entry %d: %w", e.ents.at(idx).id, err)
	}
	return le, nil
}

func sameKey(le payrecon.LedgerEntry, l *payrecon.BillLine) bool {
	if l.Kind == payrecon.KindRefund {
		return (l.ProviderRefundNo != "" && le.ProviderRefundNo == l.ProviderRefundNo) ||
			(l.MerchantRefundNo != "" && le.MerchantRefundNo == l.MerchantRefundNo)
	}
	return (l.ProviderTxnNo != "" && le.ProviderTxnNo == l.ProviderTxnNo) ||
		(l.MerchantOrderNo != "" && le.MerchantOrderNo == l.MerchantOrderNo)
}

// resolveLine classifies a bill line that met no ledger entry by the
// provider's number: a late item of an earlier day, an entry found by the
// merchant's number, a duplicate payment, or (after a query) missing in the
// ledger.
func (e *engine) resolveLine(ctx context.Context, l *payrecon.BillLine) error {
	refund := l.Kind == payrecon.KindRefund
	kind := kindPayment
	prim, sec := l.ProviderTxnNo, l.MerchantOrderNo
	pk, sk := "p:", "o:"
	if refund {
		kind = kindRefund
		prim, sec = l.ProviderRefundNo, l.MerchantRefundNo
		pk, sk = "r:", "m:"
	}
	if prim != "" {
		if c := e.findCarry(pk + prim); c != nil {
			e.resolvedLate(c, l)
			return nil
		}
	}
	if sec != "" {
		h := e.hash(sec)
		// An unused entry with the merchant's number.
		for {
			idx := e.find(&e.t2, h, kind)
			if idx < 0 {
				break
			}
			le, err := e.entry(ctx, idx)
			if err != nil {
				return err
			}
			ent := e.ents.at(idx)
			ent.flags |= flagUsed
			if !sameKey(le, &payrecon.BillLine{Kind: l.Kind, MerchantOrderNo: l.MerchantOrderNo, MerchantRefundNo: l.MerchantRefundNo}) {
				// Collision: put it back once we are done looking.
				defer func() { ent.flags &^= flagUsed }()
				continue
			}
			class := e.compare(ent, l)
			if class == payrecon.ClassMatched {
				e.matched(1, 1)
				return nil
			}
			e.billDone++
			e.ledgerDone++
			e.recordPair(class, &le, l, true)
			return nil
		}
		// Every ledger payment of that merchant order is taken by another
		// transaction: this one paid it again.
		if !refund && l.Status == payrecon.StatusSuccess {
			for pr := e.t2.probe(h); ; {
				idx := pr.next()
				if idx < 0 {
					break
				}
				ent := e.ents.at(idx)
				if ent.k2 != h || ent.kind != kindPayment || ent.status != codeSuccess {
					continue
				}
				le, err := e.entry(ctx, idx)
				if err != nil {
					return err
				}
				if le.MerchantOrderNo != l.MerchantOrderNo {
					continue
				}
				it := lineItem(*l)
				it.LedgerEntryID = le.ID
				it.LedgerStatus = le.Status
				e.billDone++
				e.record(it, secondPayment(l, le.ProviderTxnNo, le.Status, e.caps))
				return nil
			}
		}
		if c := e.findCarry(sk + sec); c != nil {
			e.resolvedLate(c, l)
			return nil
		}
	}
	if d, ask := lone(l.Status.Paid()); !ask {
		e.alone(d, 1, 0)
		return nil
	}
	line := *l
	q := &query{kind: l.Kind, line: &line}
	if refund {
		q.refund = payrecon.RefundRef{MerchantRefundNo: l.MerchantRefundNo, ProviderRefundNo: l.ProviderRefundNo, MerchantOrderNo: l.MerchantOrderNo, ProviderTxnNo: l.ProviderTxnNo}
	} else {
		q.order = payrecon.OrderRef{MerchantOrderNo: l.MerchantOrderNo, ProviderTxnNo: l.ProviderTxnNo}
	}
	e.queries = append(e.queries, q)
	return nil
}

// queryLeftover asks the provider about a ledger success no bill line met.
func (e *engine) queryLeftover(le payrecon.LedgerEntry) {
	q := &query{kind: le.Kind, entry: &le}
	if le.Kind == payrecon.KindRefund {
		q.refund = payrecon.RefundRef{MerchantRefundNo: le.MerchantRefundNo, ProviderRefundNo: le.ProviderRefundNo, MerchantOrderNo: le.MerchantOrderNo, ProviderTxnNo: le.ProviderTxnNo}
	} else {
		q.order = payrecon.OrderRef{MerchantOrderNo: le.MerchantOrderNo, ProviderTxnNo: le.ProviderTxnNo}
	}
	e.queries = append(e.queries, q)
}

// checkAgreements compares the ledger's state of every agreement that
// changed today (and, on re-check days, of every agreement) with the
// provider's.
func (e *engine) checkAgreements(ctx context.Context) error {
	today := map[string]bool{}
	for k := range e.agreements {
		today[k] = true
	}
	if n := e.r.opts.AgreementRecheckDays; n > 0 && int(e.run.Day.Start().Unix()/86400+1)%n == 0 {
		err := e.r.store.LedgerEntries(ctx, e.run.Account, time.Unix(0, 0), e.run.Day.Start(), func(le payrecon.LedgerEntry) error {
			if le.Kind != payrecon.KindAgreement {
				return nil
			}
			k := agreementKey(le)
			if !today[k] {
				e.agreements[k] = le
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("load agreements for re-check: %w", err)
		}
	}
	keys := make([]string, 0, len(e.agreements))
	for k := range e.agreements {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		le := e.agreements[k]
		q := &query{kind: payrecon.KindAgreement, agreement: payrecon.AgreementRef{AgreementNo: le.AgreementNo, MerchantAgreeNo: le.MerchantAgreeNo, PlanID: le.PlanID},
			entry: &le, ofToday: today[k]}
		e.queries = append(e.queries, q)
	}
	return nil
}

// answered classifies every queried item with the provider's answer, in
// the order they were asked.
func (e *engine) answered() {
	rq := requery{now: e.r.now(), last: e.r.opts.RequerySchedule[len(e.r.opts.RequerySchedule)-1]}
	for _, q := range e.queries {
		switch {
		case q.line != nil:
			e.billDone++
			e.record(lineItem(*q.line), unmatchedLine(q.line, q.ans, e.caps))
		case q.carried != nil:
			if d, ok := recheckCarry(q.carried, q.ans, rq, e.caps); ok {
				e.record(e.carryItem(q.carried, q.ans.Status), d)
			}
		case q.kind == payrecon.KindAgreement:
			le := q.entry
			d, ok := agreementCheck(le, q.ans, q.ofToday, e.caps)
			switch {
			case ok:
				if q.ofToday {
					e.ledgerDone++
				}
				e.record(payrecon.Item{
					Kind: payrecon.KindAgreement, AgreementNo: le.AgreementNo, MerchantOrderNo: le.MerchantAgreeNo,
					LedgerStatus: le.Status, ProviderStatus: q.ans.Status, LedgerTime: le.OccurredAt, LedgerEntryID: le.ID,
				}, d)
			case q.ofToday:
				e.matched(0, 1)
			}
		default:
			le := q.entry
			it := payrecon.Item{Kind: le.Kind}
			fillLedger(&it, *le)
			it.ProviderStatus = q.ans.Status
			d := leftover(le, q.ans, rq, e.caps)
			if d.Class == payrecon.ClassCarriedOver {
				it.OriginDay = e.run.Day
			}
			e.ledgerDone++
			e.record(it, d)
		}
	}
}
