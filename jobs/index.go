package jobs

import (
	"hash/maphash"
	"math/bits"

	"github.com/payrecon/payrecon"
)

// The ledger index: what the engine matches the streamed bill against.
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

// facts is what classification (pairClass) reads of a compact entry.
func (ent *lent) facts() ledgerFacts {
	return ledgerFacts{success: ent.status == codeSuccess, refund: ent.kind == kindRefund,
		duplicate: ent.flags&flagDup != 0, amount: ent.amount}
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

func (e *engine) hash(s string) uint64 { return maphash.String(e.seed, s) }
