package jobs

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/bits"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/payrecon/payrecon"
)

// The engine reconciles one account and day.
//
// Memory: the day's payments and refunds are held as compact entries (ints
// plus 64-bit hashes of their keys, 40 bytes each, in chunks) in two open-addressing
// indexes of int32 (by provider number and by merchant number), and the
// bill is streamed against them. Only the rare disagreeing or unmatched
// lines are kept in full; their ledger entries are re-read by id, and the
// key strings are compared then, which rules out a hash collision passing
// as a discrepancy. A 64-bit collision could in theory pass a line as
// matched (about 5e-6 for a 10-million-line day); it would still be
// caught by the balance check if the amounts differ.

const (
	kindPayment uint8 = 1
	kindRefund  uint8 = 2
)

const (
	flagUsed uint8 = 1 << iota // consumed by a bill line
	flagDup                    // a second success for the same merchant order
	flagK1                     // has a primary key (provider txn / refund no)
	flagK2                     // has a secondary key (merchant order / refund no)
)

var statusCodes = []payrecon.Status{"", payrecon.StatusSuccess, payrecon.StatusFailed, payrecon.StatusPending,
	payrecon.StatusClosed, payrecon.StatusNotPaid, payrecon.StatusNotFound, payrecon.StatusSigned, payrecon.StatusUnsigned}

const codeSuccess = 1

func statusCode(s payrecon.Status) uint8 {
	for i, v := range statusCodes {
		if v == s {
			return uint8(i)
		}
	}
	return 255 // unknown: never success; the entry is re-read when it matters
}

// lent is a compact ledger entry (40 bytes).
type lent struct {
	id     int64
	amount int64
	k1, k2 uint64
	split  uint32 // splitHash of the payer/promotion amounts; 0 when the ledger has no split
	kind   uint8
	status uint8
	flags  uint8
}

// splitHash folds a payer/promotion split into 32 bits (never 0). Two
// different splits of the same total collide with probability 2^-32; the
// totals still balance then, only the split check misses it.
func splitHash(payer, promo int64) uint32 {
	h := uint64(payer)*0x9e3779b97f4a7c15 ^ uint64(promo)*0xc2b2ae3d27d4eb4f
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	if v := uint32(h); v != 0 {
		return v
	}
	return 1
}

// entries holds compact entries in fixed chunks, so that growing never
// copies (or doubles) the whole set.
type entries struct {
	chunks [][]lent
	n      int
}

const chunkBits = 16

func (s *entries) add(ent lent) {
	if s.n>>chunkBits == len(s.chunks) {
		s.chunks = append(s.chunks, make([]lent, 0, 1<<chunkBits))
	}
	c := &s.chunks[len(s.chunks)-1]
	*c = append(*c, ent)
	s.n++
}

func (s *entries) at(i int32) *lent { return &s.chunks[i>>chunkBits][i&(1<<chunkBits-1)] }

// table is an open-addressing multimap (linear probing, load factor at
// most 2/3) from a 64-bit hash to entry indexes. A slot holds index+1 in
// its low idxBits bits (0 is empty) and the top bits of the hash in the
// rest, so a probe skips most foreign entries without touching them (each
// touch is a cache miss on a big day). Callers still compare the entry's
// own hash.
type table struct {
	slots   []uint32
	mask    uint64
	idxBits uint
}

func newTable(n int) table {
	size := 16
	for size < n+n/2 {
		size <<= 1
	}
	return table{slots: make([]uint32, size), mask: uint64(size - 1), idxBits: uint(bits.Len32(uint32(n) + 1))}
}

func (t *table) tag(h uint64) uint32 { return uint32(h >> (32 + t.idxBits)) }

func (t *table) add(h uint64, idx int32) {
	i := h & t.mask
	for t.slots[i] != 0 {
		i = (i + 1) & t.mask
	}
	t.slots[i] = t.tag(h)<<t.idxBits | uint32(idx+1)
}

// probe walks the entries whose slot tag matches a hash.
type probe struct {
	t   *table
	i   uint64
	tag uint32
}

func (t *table) probe(h uint64) probe { return probe{t: t, i: h & t.mask, tag: t.tag(h)} }

// next returns the next candidate index, or -1 at the end.
func (p *probe) next() int32 {
	t := p.t
	low := uint32(1)<<t.idxBits - 1
	for {
		s := t.slots[p.i]
		if s == 0 {
			return -1
		}
		p.i = (p.i + 1) & t.mask
		if s>>t.idxBits == p.tag {
			return int32(s&low) - 1
		}
	}
}

// cand is a bill line that met a ledger entry but disagrees with it.
type cand struct {
	idx   int32
	class payrecon.Class
	line  payrecon.BillLine
}

type carry struct {
	item payrecon.Item
	used bool
}

// query is one provider query and what to do with its answer.
type query struct {
	kind      payrecon.Kind
	order     payrecon.OrderRef
	refund    payrecon.RefundRef
	agreement payrecon.AgreementRef

	supported bool
	status    payrecon.Status
	raw       string
	err       error

	finish func(q *query)
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
}

func newEngine(r *Runner, t Target, run *payrecon.Run, log *slog.Logger) *engine {
	return &engine{
		r: r, t: t, run: run, log: log,
		seed:       maphash.MakeSeed(),
		agreements: map[string]payrecon.LedgerEntry{},
		carryByKey: map[string]*carry{},
		tot:        payrecon.Totals{ByClass: map[payrecon.Class]payrecon.ClassTotal{}},
		lines:      payrecon.PolicyFor(t.Account, t.Provider).Lines(run.Day),
	}
}

// checked runs the domain validation on every bill line before fn sees it:
// a line that fails fails the run, naming its file, line and column.
func (e *engine) checked(bill payrecon.BillKind, fn func(payrecon.BillLine) error) func(payrecon.BillLine) error {
	return func(l payrecon.BillLine) error {
		if err := e.lines.Check(&l); err != nil {
			return lineError(e.t.Provider, bill, l, err)
		}
		return fn(l)
	}
}

func (e *engine) hash(s string) uint64 { return maphash.String(e.seed, s) }

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
	for _, q := range e.queries {
		q.finish(q)
	}
	for _, f := range e.sfees.list {
		if !f.taken {
			e.add(f.leftover(e.t.Account.FeeRatePPM))
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
	case errors.Is(err, payrecon.ErrBillNotReady):
		e.log.Warn("settlement bill not ready; settlement (and fees stated on it) not checked this run")
		e.settlement = 0
	default:
		return sf, fmt.Errorf("settlement bill: %w", err)
	}
	return sf, nil
}

// ---- ledger ----

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

// keyHash is a key's hash and whether the key is present.
type keyHash struct {
	h  uint64
	ok bool
}

func maybeHash(e *engine, b []byte) keyHash {
	if len(b) == 0 {
		return keyHash{}
	}
	return keyHash{maphash.Bytes(e.seed, b), true} // equals maphash.String of the same text
}

func maybeHashString(e *engine, s string) keyHash {
	if s == "" {
		return keyHash{}
	}
	return keyHash{e.hash(s), true}
}

func statusCodeBytes(b []byte) uint8 {
	for i, v := range statusCodes {
		if string(b) == string(v) {
			return uint8(i)
		}
	}
	return 255
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

func compactEntry(k, status uint8, id, amount, payer, promo int64, prim, sec keyHash) lent {
	ent := lent{id: id, amount: amount, kind: k, status: status}
	if payer != 0 || promo != 0 {
		ent.split = splitHash(payer, promo)
	}
	if prim.ok {
		ent.k1, ent.flags = prim.h, ent.flags|flagK1
	}
	if sec.ok {
		ent.k2, ent.flags = sec.h, ent.flags|flagK2
	}
	return ent
}

// addAgreement keeps the day's last change of each agreement; earlier
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
		it.Class = payrecon.ClassOtherBillLine
		it.BillAmount = 0
		it.Note = "bill line of type " + l.Type + " (" + payrecon.FormatYuan(l.Amount) + ") is not reconciled"
		e.billDone++
		e.add(it)
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

// find returns the best unused entry of kind with hash h in tb: a success
// first, else any; -1 when none.
func (e *engine) find(tb *table, h uint64, kind uint8) int32 {
	best := int32(-1)
	for pr := tb.probe(h); ; {
		idx := pr.next()
		if idx < 0 {
			break
		}
		ent := e.ents.at(idx)
		if ent.kind != kind || ent.flags&flagUsed != 0 {
			continue
		}
		if (tb == &e.t1 && ent.k1 != h) || (tb == &e.t2 && ent.k2 != h) {
			continue
		}
		if ent.status == codeSuccess {
			return idx
		}
		if best < 0 {
			best = idx
		}
	}
	return best
}

// compare classifies a bill line against the ledger entry it met.
func (e *engine) compare(ent *lent, l *payrecon.BillLine) payrecon.Class {
	lok := ent.status == codeSuccess
	bok := l.Status == payrecon.StatusSuccess
	if lok != bok {
		return payrecon.ClassStatusMismatch
	}
	if !lok {
		return payrecon.ClassMatched // both sides say no money moved
	}
	if ent.kind == kindRefund {
		if ent.amount != l.Amount {
			return payrecon.ClassRefundAmountMismatch
		}
		return payrecon.ClassMatched
	}
	if ent.flags&flagDup != 0 {
		return payrecon.ClassDuplicatePayment
	}
	if ent.amount != l.Amount || (ent.split != 0 && (l.PayerAmount != 0 || l.PromotionAmount != 0) && ent.split != splitHash(l.PayerAmount, l.PromotionAmount)) {
		return payrecon.ClassAmountMismatch
	}
	if tradeFeeMismatch(e.fees, l, e.t.Account.FeeRatePPM) || e.sfees.find(l) != nil {
		return payrecon.ClassFeeMismatch
	}
	return payrecon.ClassMatched
}

// onSettlement adds up every line of the settlement (fund) bill: payments,
// refunds, and the provider's other rows (fees deducted or returned as
// rows of their own, splits, adjustments): all money that moved. Where the
// provider states fees on this bill, the trade net subtracts the same
// stated fees and each line's fee is checked for its order.
func (e *engine) onSettlement(l payrecon.BillLine) error {
	e.settlement += l.Settlement
	if e.fees.Bill == payrecon.BillSettlement && l.FeeStated {
		e.tot.Fees += l.Fee
		e.tradeNet -= l.Fee
		e.sfees.check(&l, e.t.Account.FeeRatePPM)
	}
	return nil
}

// fillFee puts both fees and the explanation on a fee_mismatch item.
func (e *engine) fillFee(it *payrecon.Item, l *payrecon.BillLine) {
	rate := e.t.Account.FeeRatePPM
	if f := e.sfees.find(l); f != nil {
		f.taken = true
		it.BillFee, it.LedgerFee = f.fee, f.want
		it.Note = f.note(rate)
		return
	}
	it.LedgerFee = payrecon.FeeFor(l.Amount, rate)
	it.Note = fmt.Sprintf("bill fee %s, configured rate gives %s", payrecon.FormatYuan(l.Fee), payrecon.FormatYuan(it.LedgerFee))
}

// ---- resolution of the rare cases ----

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
		it := lineItem(c.line)
		fillLedger(&it, le)
		it.Class = c.class
		switch c.class {
		case payrecon.ClassFeeMismatch:
			e.fillFee(&it, &c.line)
		case payrecon.ClassDuplicatePayment:
			it.Note = "merchant order paid by more than one provider transaction (both in the ledger)"
		case payrecon.ClassStatusMismatch:
			it.Note = fmt.Sprintf("ledger says %s, bill says %s", le.Status, c.line.Status)
		case payrecon.ClassAmountMismatch, payrecon.ClassRefundAmountMismatch:
			it.Note = fmt.Sprintf("bill %s (payer %s) vs ledger %s (payer %s)", payrecon.FormatYuan(c.line.Amount), payrecon.FormatYuan(c.line.PayerAmount),
				payrecon.FormatYuan(le.Amount), payrecon.FormatYuan(le.PayerAmount))
		}
		e.billDone++
		e.ledgerDone++
		e.add(it)
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
		if ent.status != codeSuccess {
			if ent.status == 255 {
				le, err := e.entry(ctx, int32(i))
				if err != nil {
					return err
				}
				e.log.Warn("ledger entry with unknown status counted as no money moved", "entry_id", le.ID, "status", string(le.Status))
			}
			e.matched(0, 1)
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
			it := lineItem(*l)
			fillLedger(&it, le)
			it.Class = class
			it.Note = fmt.Sprintf("matched by merchant number; ledger %s %s, bill %s %s", le.Status, payrecon.FormatYuan(le.Amount), l.Status, payrecon.FormatYuan(l.Amount))
			if class == payrecon.ClassFeeMismatch {
				e.fillFee(&it, l)
				it.Note = "matched by merchant number; " + it.Note
			}
			e.billDone++
			e.ledgerDone++
			e.add(it)
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
				it.Class = payrecon.ClassDuplicatePayment
				it.LedgerEntryID = le.ID
				it.LedgerStatus = le.Status
				it.Note = "merchant order already paid by provider transaction " + le.ProviderTxnNo
				e.billDone++
				e.add(it)
				return nil
			}
		}
		if c := e.findCarry(sk + sec); c != nil {
			e.resolvedLate(c, l)
			return nil
		}
	}
	if l.Status != payrecon.StatusSuccess {
		e.matched(1, 0) // no money moved and the ledger has nothing
		return nil
	}
	line := *l
	q := &query{kind: l.Kind}
	if refund {
		q.refund = payrecon.RefundRef{MerchantRefundNo: l.MerchantRefundNo, ProviderRefundNo: l.ProviderRefundNo, MerchantOrderNo: l.MerchantOrderNo, ProviderTxnNo: l.ProviderTxnNo}
	} else {
		q.order = payrecon.OrderRef{MerchantOrderNo: l.MerchantOrderNo, ProviderTxnNo: l.ProviderTxnNo}
	}
	q.finish = func(q *query) {
		it := lineItem(line)
		it.Class = payrecon.ClassMissingInLedger
		if refund {
			it.Class = payrecon.ClassRefundMissingInLedger
		}
		it.Action = payrecon.ProposedAction(it.Class)
		switch {
		case !q.supported:
			it.Action = payrecon.ActionManualReview
			it.Note = "not confirmed: the provider offers no query for it"
		case q.status == payrecon.StatusSuccess:
			it.Note = "confirmed by the provider's query (" + q.raw + ")"
		default:
			it.Action = payrecon.ActionManualReview
			it.Note = fmt.Sprintf("bill lists it but the provider's query says %s (%s)", q.status, q.raw)
		}
		e.billDone++
		e.addWithAction(it)
	}
	e.queries = append(e.queries, q)
	return nil
}

// resolvedLate settles an earlier day's carry-over with today's bill line.
func (e *engine) resolvedLate(c *carry, l *payrecon.BillLine) {
	c.used = true
	it := lineItem(*l)
	it.Class = payrecon.ClassResolvedLate
	it.LedgerStatus = c.item.LedgerStatus
	it.LedgerTime = c.item.LedgerTime
	it.LedgerEntryID = c.item.LedgerEntryID
	it.OriginDay = c.item.OriginDay
	it.ResolvesKey = c.item.Key()
	fillKeys(&it, c.item.MerchantOrderNo, c.item.ProviderTxnNo, c.item.MerchantRefundNo, c.item.ProviderRefundNo)
	it.Note = "carried over from " + string(c.item.OriginDay)
	if c.item.LedgerAmount != it.BillAmount {
		it.Note += fmt.Sprintf("; ledger amount was %s", payrecon.FormatYuan(abs(c.item.LedgerAmount)))
	}
	e.billDone++
	e.add(it)
}

// queryLeftover asks the provider about a ledger success no bill line met.
func (e *engine) queryLeftover(le payrecon.LedgerEntry) {
	refund := le.Kind == payrecon.KindRefund
	q := &query{kind: le.Kind}
	if refund {
		q.refund = payrecon.RefundRef{MerchantRefundNo: le.MerchantRefundNo, ProviderRefundNo: le.ProviderRefundNo, MerchantOrderNo: le.MerchantOrderNo, ProviderTxnNo: le.ProviderTxnNo}
	} else {
		q.order = payrecon.OrderRef{MerchantOrderNo: le.MerchantOrderNo, ProviderTxnNo: le.ProviderTxnNo}
	}
	q.finish = func(q *query) {
		it := payrecon.Item{Account: e.run.Account, Day: e.run.Day, Kind: le.Kind}
		fillLedger(&it, le)
		it.Delta = -it.LedgerAmount
		it.ProviderStatus = q.status
		missing := payrecon.ClassMissingInBill
		if refund {
			missing = payrecon.ClassRefundMissingInBill
		}
		switch {
		case !q.supported:
			it.Class = missing
			it.Action = payrecon.ActionManualReview
			it.Note = "not in the bill; not confirmed: the provider offers no query for it"
		case q.status == payrecon.StatusSuccess:
			it.Class = payrecon.ClassCarriedOver
			it.OriginDay = e.run.Day
			it.Note = "paid per the provider's query, not in this day's bill: expected in a later bill"
		case q.status == payrecon.StatusPending:
			if e.pendingExpired(le.OccurredAt) {
				it.Class = missing
				it.Note = "still pending at the provider past the re-query schedule (" + q.raw + ")"
			} else {
				it.Class = payrecon.ClassCarriedOver
				it.OriginDay = e.run.Day
				it.Note = NotePending
			}
		default:
			// Failed, closed, timed out, never paid, unknown: the provider
			// says no money moved and the bill agrees. status_mismatch is
			// for a transaction both the ledger and the bill hold.
			it.Class = missing
			it.Note = fmt.Sprintf("not in the bill and the provider's query says %s (%s)", q.status, q.raw)
		}
		if it.Action == payrecon.ActionNone {
			it.Action = payrecon.ProposedAction(it.Class)
		}
		e.ledgerDone++
		e.addWithAction(it)
	}
	e.queries = append(e.queries, q)
}

// NotePending is the Note of a carried_over item the provider still
// reports as pending; the scheduler re-runs its day on the re-query
// schedule (Options.RequerySchedule, counted from the item's LedgerTime).
const NotePending = "pending"

func (e *engine) pendingExpired(since time.Time) bool {
	last := e.r.opts.RequerySchedule[len(e.r.opts.RequerySchedule)-1]
	return !since.IsZero() && e.r.now().Sub(since) >= last
}

// recheckCarry re-checks an earlier day's carried-over item that today's
// bill did not list. It stays open (no item) while the provider still says
// paid (or pending, within the schedule) and the carry-over window lasts;
// otherwise it becomes a discrepancy of today's run with delta 0 (its money
// belongs to its origin day).
func (e *engine) recheckCarry(c *carry) {
	it := c.item
	refund := it.Kind == payrecon.KindRefund
	missing := payrecon.ClassMissingInBill
	if refund {
		missing = payrecon.ClassRefundMissingInBill
	}
	mk := func(class payrecon.Class, note string) payrecon.Item {
		n := payrecon.Item{
			Account: e.run.Account, Day: e.run.Day, Kind: it.Kind, Class: class,
			MerchantOrderNo: it.MerchantOrderNo, ProviderTxnNo: it.ProviderTxnNo,
			MerchantRefundNo: it.MerchantRefundNo, ProviderRefundNo: it.ProviderRefundNo,
			LedgerStatus: it.LedgerStatus, LedgerTime: it.LedgerTime, LedgerEntryID: it.LedgerEntryID,
			OriginDay: it.OriginDay, ResolvesKey: it.Key(), Product: it.Product,
			Note: note + fmt.Sprintf(" (ledger %s on %s)", payrecon.FormatYuan(abs(it.LedgerAmount)), it.OriginDay),
		}
		n.Action = payrecon.ProposedAction(class)
		return n
	}
	age := int(e.run.Day.Start().Sub(it.OriginDay.Start()).Hours()+12) / 24
	if age >= e.r.opts.CarryOverDays {
		n := mk(missing, fmt.Sprintf("carried over %d days and still absent from the bills", age))
		n.ProviderStatus = it.ProviderStatus // as last queried; apply queries again
		e.addWithAction(n)
		return
	}
	q := &query{kind: it.Kind}
	if refund {
		q.refund = payrecon.RefundRef{MerchantRefundNo: it.MerchantRefundNo, ProviderRefundNo: it.ProviderRefundNo, MerchantOrderNo: it.MerchantOrderNo, ProviderTxnNo: it.ProviderTxnNo}
	} else {
		q.order = payrecon.OrderRef{MerchantOrderNo: it.MerchantOrderNo, ProviderTxnNo: it.ProviderTxnNo}
	}
	q.finish = func(q *query) {
		switch {
		case !q.supported, q.status == payrecon.StatusSuccess:
			return // still expected in a later bill
		case q.status == payrecon.StatusPending:
			if !e.pendingExpired(it.LedgerTime) {
				return
			}
			n := mk(missing, "still pending at the provider past the re-query schedule ("+q.raw+")")
			n.ProviderStatus = q.status
			e.addWithAction(n)
		default: // failed, closed, not paid, unknown: absent from the bills for good
			n := mk(missing, fmt.Sprintf("carried over, now %s at the provider (%s)", q.status, q.raw))
			n.ProviderStatus = q.status
			e.addWithAction(n)
		}
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
		ofToday := today[k]
		q := &query{kind: payrecon.KindAgreement, agreement: payrecon.AgreementRef{AgreementNo: le.AgreementNo, MerchantAgreeNo: le.MerchantAgreeNo, PlanID: le.PlanID}}
		q.finish = func(q *query) {
			ledgerDone := int64(0)
			if ofToday {
				ledgerDone = 1
			}
			prov := q.status
			if prov == payrecon.StatusNotFound {
				prov = payrecon.StatusUnsigned
			}
			if !q.supported || prov == le.Status {
				if ofToday {
					e.matched(0, ledgerDone)
				}
				return
			}
			it := payrecon.Item{
				Account: e.run.Account, Day: e.run.Day, Kind: payrecon.KindAgreement, Class: payrecon.ClassAgreementMismatch,
				AgreementNo: le.AgreementNo, MerchantOrderNo: le.MerchantAgreeNo,
				LedgerStatus: le.Status, ProviderStatus: q.status, LedgerTime: le.OccurredAt, LedgerEntryID: le.ID,
				Action: payrecon.ActionCorrectAgreement,
				Note:   fmt.Sprintf("ledger says %s, provider says %s (%s)", le.Status, q.status, q.raw),
			}
			if !ofToday {
				it.Note += "; periodic re-check"
			}
			e.ledgerDone += ledgerDone
			e.addWithAction(it)
		}
		e.queries = append(e.queries, q)
	}
	return nil
}

// ---- items and totals ----

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

func (e *engine) matched(billLines, ledgerEntries int64) {
	e.billDone += billLines
	e.ledgerDone += ledgerEntries
	e.tot.Matched++ // ByClass[matched] is filled in finishTotals
}

// add stores an item with the action its class proposes.
func (e *engine) add(it payrecon.Item) {
	if it.Action == payrecon.ActionNone {
		it.Action = payrecon.ProposedAction(it.Class)
	}
	e.addWithAction(it)
}

// addWithAction stores an item as is; Delta is BillAmount − LedgerAmount.
func (e *engine) addWithAction(it payrecon.Item) {
	decide(&it, CapsOf(e.t.Provider, e.r.opts.ProviderActions))
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
