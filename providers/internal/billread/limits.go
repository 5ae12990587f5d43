package billread

import "sync/atomic"

// Limits bound what one bill may make the reader do. A zero field takes the
// default (see Defaults).
type Limits struct {
	// MaxLine is the longest line in bytes (a quoted field running over
	// several lines counts as one line). Default 64 KiB.
	MaxLine int
	// MaxInflated bounds the bytes actually inflated from one archive (all
	// entries of a zip together) or one gzip stream, counted while reading,
	// whatever the archive declares. Default 8 GiB.
	MaxInflated int64
	// MaxRatio bounds inflated/compressed bytes of an entry once 1 MiB has
	// been inflated (bills compress about 10:1; deflate's maximum is about
	// 1032:1, what zip bombs use). Default 200.
	MaxRatio int64
	// MaxEntries bounds the number of entries of a zip. Default 16.
	MaxEntries int
}

// The built-in defaults.
const (
	DefaultMaxLine     = 64 << 10
	DefaultMaxInflated = 8 << 30
	DefaultMaxRatio    = 200
	DefaultMaxEntries  = 16
	// ratioAfter is how much must be inflated before MaxRatio is checked.
	ratioAfter = 1 << 20
)

var defaults atomic.Pointer[Limits]

func init() {
	defaults.Store(&Limits{MaxLine: DefaultMaxLine, MaxInflated: DefaultMaxInflated, MaxRatio: DefaultMaxRatio, MaxEntries: DefaultMaxEntries})
}

// Defaults returns the limits a zero field stands for.
func Defaults() Limits { return *defaults.Load() }

// SetDefaults replaces the defaults (zero fields keep the built-in value)
// and returns a function restoring the previous ones. It is for tests that
// plant a hostile bill and want it to hit a limit quickly; production code
// declares limits per provider instead.
func SetDefaults(l Limits) (restore func()) {
	prev := defaults.Load()
	builtin := Limits{MaxLine: DefaultMaxLine, MaxInflated: DefaultMaxInflated, MaxRatio: DefaultMaxRatio, MaxEntries: DefaultMaxEntries}
	l = l.fill(builtin)
	defaults.Store(&l)
	return func() { defaults.Store(prev) }
}

// fill sets l's zero fields from d.
func (l Limits) fill(d Limits) Limits {
	if l.MaxLine <= 0 {
		l.MaxLine = d.MaxLine
	}
	if l.MaxInflated <= 0 {
		l.MaxInflated = d.MaxInflated
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = d.MaxRatio
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	return l
}

// resolved is l with its zero fields set from the current defaults.
func (l Limits) resolved() Limits { return l.fill(Defaults()) }

// MaxLineOrDefault is l.MaxLine, or the default when zero.
func (l Limits) MaxLineOrDefault() int { return l.resolved().MaxLine }
