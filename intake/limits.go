package intake

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// bucket is a token bucket: rate tokens per second up to burst.
type bucket struct {
	tokens float64
	last   time.Time
}

// take refills b up to now and takes a token if there is one.
func (b *bucket) take(now time.Time, rate, burst float64) bool {
	if b.last.IsZero() {
		b.tokens = burst
	} else if d := now.Sub(b.last).Seconds(); d > 0 {
		b.tokens = min(burst, b.tokens+d*rate)
	}
	if now.After(b.last) {
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// maxRemotes bounds the per-remote buckets kept in memory.
const maxRemotes = 10000

// limiter rations what rejected callbacks may store: a token bucket per
// remote address, and one shared bucket for callbacks to unknown accounts
// (whose account names are made up by the sender). A zero or negative rate
// disables that bucket (everything is stored).
type limiter struct {
	mu             sync.Mutex
	rate, burst    float64
	remotes        map[string]*bucket
	unknownRate    float64
	unknownBurst   float64
	unknown        bucket
	lastUnknownLog time.Time
}

func newLimiter(rate float64, burst int, unknownRate float64, unknownBurst int) *limiter {
	return &limiter{rate: rate, burst: float64(max(burst, 1)), remotes: map[string]*bucket{},
		unknownRate: unknownRate, unknownBurst: float64(max(unknownBurst, 1))}
}

// allowReject reports whether a rejected callback from remote may be stored.
func (l *limiter) allowReject(now time.Time, remote string) bool {
	if l.rate <= 0 {
		return true
	}
	host := remoteHost(remote)
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.remotes[host]
	if !ok {
		if len(l.remotes) >= maxRemotes {
			l.sweep(now)
		}
		b = &bucket{}
		l.remotes[host] = b
	}
	return b.take(now, l.rate, l.burst)
}

// sweep drops the buckets that have refilled (forgetting them changes
// nothing); if every bucket is still draining, it forgets them all rather
// than grow without bound.
func (l *limiter) sweep(now time.Time) {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.remotes {
		if now.Sub(b.last) >= full {
			delete(l.remotes, k)
		}
	}
	if len(l.remotes) >= maxRemotes {
		clear(l.remotes)
	}
}

// allowUnknown reports whether a callback for an unknown account may be stored.
func (l *limiter) allowUnknown(now time.Time) bool {
	if l.unknownRate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.unknown.take(now, l.unknownRate, l.unknownBurst)
}

// logUnknown reports whether a dropped unknown-account callback should be
// logged: at most once a second, so the log cannot be flooded either.
func (l *limiter) logUnknown(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastUnknownLog) < time.Second && !l.lastUnknownLog.IsZero() {
		return false
	}
	l.lastUnknownLog = now
	return true
}

// remoteHost is the address without its port (every connection of one
// client has another port).
func remoteHost(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// errBodyBudget: the bytes of bodies in flight would exceed the budget.
var errBodyBudget = errors.New("request bodies in flight exceed their budget")

// bodyBudget bounds the bytes of request bodies held while being read,
// across all requests. A body reserves its buffer in steps as it grows.
type bodyBudget struct {
	mu   sync.Mutex
	used int64
	max  int64
}

func (b *bodyBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.max {
		return false
	}
	b.used += n
	return true
}

func (b *bodyBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

func (b *bodyBudget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// readStep is how much more buffer a body reserves at a time.
const readStep = 4 << 10

// read reads up to limit bytes of r into a buffer reserved from the budget
// (sized by the declared length when there is one); tooBig reports more
// than limit bytes (the first limit are returned). release returns the
// reservation once the body is no longer needed. When the budget cannot
// cover the next step it returns errBodyBudget.
func (b *bodyBudget) read(r io.Reader, limit, declared int64) (body []byte, tooBig bool, release func(), err error) {
	var reserved int64
	release = func() { b.give(reserved) }
	grow := func(n int64) bool {
		if !b.take(n) {
			return false
		}
		reserved += n
		return true
	}
	// The buffer grows to target at most: the declared length (+1 to see
	// EOF) or the limit (+1 to see a longer body), in doubling steps from
	// readStep, so a client that declares much but sends little holds little.
	target := limit + 1
	if declared >= 0 && declared < limit {
		target = declared + 1
	}
	first := min(int64(readStep), target)
	if !grow(first) {
		return nil, false, release, errBodyBudget
	}
	buf := make([]byte, 0, first)
	for {
		if int64(len(buf)) == int64(cap(buf)) {
			if int64(len(buf)) > limit {
				return buf[:limit], true, release, nil
			}
			step := min(max(int64(cap(buf)), readStep), target-int64(cap(buf)))
			if step <= 0 { // the declared length was a lie: allow up to the limit
				target = limit + 1
				step = min(max(int64(cap(buf)), readStep), target-int64(cap(buf)))
			}
			if !grow(step) {
				return nil, false, release, errBodyBudget
			}
			nb := make([]byte, len(buf), int64(cap(buf))+step)
			copy(nb, buf)
			buf = nb
		}
		n, rerr := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf[:limit], true, release, nil
		}
		if rerr == io.EOF {
			return buf, false, release, nil
		}
		if rerr != nil {
			return buf, false, release, rerr
		}
	}
}
