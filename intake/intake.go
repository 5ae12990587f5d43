// Package intake receives provider callbacks: POST /callbacks/{provider}/{account}.
//
// Every callback is handed, raw, to the account's payrecon.CallbackVerifier.
// An authentic one is stored with the ledger entries it yields in one
// transaction and acknowledged in the provider's own format only after the
// commit; a retried one (same event) is acknowledged and stored once; a
// forged, unreadable, oversized or misaddressed one is stored as rejected
// with its reason and answered with a failure. Captured callbacks are
// imported (Import) through the very same path.
package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/payrecon/payrecon"
)

// Account is one configured account as intake sees it.
type Account struct {
	Provider string // provider name in the URL, e.g. "wechat"
	Verifier payrecon.CallbackVerifier
	// Policy is the domain validation every entry of a verified callback
	// passes (payrecon.PolicyFor the account). When its Limits are unset,
	// the verifier's declared limits (payrecon.LimitsDeclarer) apply.
	Policy payrecon.Policy
}

// Config wires a Handler.
type Config struct {
	// Accounts maps account name → provider and verifier.
	Accounts map[string]Account
	// Providers lists further provider names that are known even without a
	// configured account (a callback to one of them for an unknown account
	// is stored as rejected; a callback to any other provider is a bare 404).
	Providers []string
	Store     payrecon.CallbackStore
	Logger    *slog.Logger
	// Now stamps received callbacks; time.Now when nil.
	Now func() time.Time
	// MaxBodyBytes limits a callback body (default 1 MiB).
	MaxBodyBytes int64
	// RejectBodyBytes is how much of a rejected callback's body is stored
	// (default 4 KiB; its SHA-256 and full length are stored too). Accepted
	// callbacks are stored whole. Negative stores no body at all.
	RejectBodyBytes int
	// RejectRate and RejectBurst: a token bucket per remote address on
	// storing rejected callbacks (default 5 per second, burst 50); past it,
	// a rejected callback is answered as usual but not stored, and counted.
	// Accepted callbacks are never limited. A negative rate disables it.
	RejectRate  float64
	RejectBurst int
	// UnknownAccountRate and UnknownAccountBurst: how many callbacks for
	// accounts that are not configured are stored (all remotes together;
	// default 1 per second, burst 10). All are counted; those not stored
	// are logged at most once a second. A negative rate disables it.
	UnknownAccountRate  float64
	UnknownAccountBurst int
	// MaxBodyBytesInFlight bounds the memory of request bodies being read
	// at once (default 64 MiB): past it a callback is answered 503 without
	// reading it (the provider retries), so that many slow clients each
	// trickling a large body cannot exhaust memory.
	MaxBodyBytesInFlight int64
	// StoreTimeout bounds every store call (default 5s). It runs on a
	// context detached from the request, so a callback whose client went
	// away or whose body read timed out is still stored; keep it below the
	// HTTP write timeout so that a stalled database is answered 5xx.
	StoreTimeout time.Duration
	// Observer, when set, receives measurements (metrics).
	Observer Observer
	// Metrics, when set, is served at GET /metrics.
	Metrics http.Handler
	// Ready, when set, is what GET /readyz checks (e.g. a database ping),
	// under StoreTimeout; without it /readyz answers like /healthz.
	Ready func(ctx context.Context) error
}

// Defaults of Config's limits.
const (
	DefaultRejectBodyBytes     = 4 << 10
	DefaultRejectRate          = 5
	DefaultRejectBurst         = 50
	DefaultUnknownAccountRate  = 1
	DefaultUnknownAccountBurst = 10
	DefaultStoreTimeout        = 5 * time.Second
	DefaultBodyBytesInFlight   = 64 << 20
)

// DefaultMaxBodyBytes is the body limit when Config.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 1 << 20

// Stored column limits for names taken from the URL.
const (
	maxAccountLen  = 64
	maxProviderLen = 32
	maxReasonLen   = 2000
	maxEventIDLen  = 191
)

// Handler serves the callback routes. It is safe for concurrent use.
type Handler struct {
	cfg       Config
	log       *slog.Logger
	now       func() time.Time
	providers map[string]bool
	mux       *http.ServeMux
	limits    *limiter
	bodies    *bodyBudget
	stats     stats
	obs       Observer
}

// New returns the handler. It serves
//
//	POST /callbacks/{provider}/{account}
//	GET  /healthz  liveness: the process answers
//	GET  /readyz   readiness: Config.Ready (the database) answers too
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, log: cfg.Logger, now: cfg.Now, providers: map[string]bool{}, mux: http.NewServeMux()}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.cfg.MaxBodyBytes <= 0 {
		h.cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	h.cfg.withDefaults()
	h.bodies = &bodyBudget{max: h.cfg.MaxBodyBytesInFlight}
	h.limits = newLimiter(h.cfg.RejectRate, h.cfg.RejectBurst, h.cfg.UnknownAccountRate, h.cfg.UnknownAccountBurst)
	for _, p := range cfg.Providers {
		h.providers[p] = true
	}
	// Each account's policy is settled once: unset limits are the
	// verifier's declared ones (a copy, so the caller's map stays as given).
	h.cfg.Accounts = make(map[string]Account, len(cfg.Accounts))
	for name, a := range cfg.Accounts {
		h.providers[a.Provider] = true
		if a.Policy.Limits == (payrecon.Limits{}) {
			a.Policy.Limits = payrecon.LimitsOf(a.Verifier)
		}
		h.cfg.Accounts[name] = a
	}
	h.mux.HandleFunc("POST /callbacks/{provider}/{account}", h.callback)
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	h.mux.HandleFunc("GET /readyz", h.ready)
	if cfg.Metrics != nil {
		h.mux.Handle("GET /metrics", cfg.Metrics)
	}
	if h.obs = cfg.Observer; h.obs == nil {
		h.obs = noObserver{}
	}
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Outcome is what became of one callback.
type Outcome int

const (
	Accepted  Outcome = iota // stored with its entries
	Duplicate                // already stored: acknowledged, nothing written
	Rejected                 // stored as rejected
	Failed                   // not stored (store error or unknown route): the provider should retry
)

func (o Outcome) String() string {
	return [...]string{"accepted", "duplicate", "rejected", "failed"}[o]
}

// result is the outcome of one callback and the reply to send.
type result struct {
	outcome Outcome
	reply   payrecon.CallbackReply
	reason  string // rejection or failure reason
	id      int64  // raw callback id, 0 when not stored
}

// incoming is one callback, from HTTP or an import file.
type incoming struct {
	provider   string // from the URL; "" for imports (taken from the account)
	account    string
	header     http.Header
	body       []byte
	tooBig     bool   // body was cut at MaxBodyBytes
	bodyLength int64  // the body's full length as far as known (> len(body) when tooBig)
	eventID    string // the event id the verifier read from a callback it rejected
	remoteAddr string
	receivedAt time.Time
	source     string // "http" or "import"
}

func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	defer h.obs.Started()()
	provider, account := r.PathValue("provider"), r.PathValue("account")
	if !h.providers[provider] {
		// Nothing to attribute it to: not stored.
		h.log.Warn("callback for unknown provider", "provider", clip(provider, maxProviderLen), "remote", r.RemoteAddr)
		h.obs.Finished(UnknownLabel, UnknownLabel, Rejected)
		writeReply(w, jsonError(http.StatusNotFound, fmt.Sprintf("unknown provider %q", clip(provider, maxProviderLen))))
		return
	}
	limit := h.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		// Declared too big: read no more than what a rejected row keeps.
		limit = min(limit, int64(max(h.cfg.RejectBodyBytes, 0)))
	}
	body, tooBig, release, err := h.bodies.read(r.Body, limit, r.ContentLength)
	defer release()
	if errors.Is(err, errBodyBudget) {
		// Too many bodies in flight (a slow-client flood): not read, not
		// stored; the provider retries.
		h.stats.rejectsNotStored.Add(1)
		h.obs.NotStored("bodies_in_flight")
		h.obs.Finished(h.providerLabel(provider), UnknownLabel, Failed)
		writeReply(w, jsonError(http.StatusServiceUnavailable, "busy, retry later"))
		return
	}
	tooBig = tooBig || r.ContentLength > h.cfg.MaxBodyBytes
	in := incoming{
		provider: provider, account: account, header: r.Header.Clone(), body: body, tooBig: tooBig,
		bodyLength: int64(len(body)), remoteAddr: r.RemoteAddr, receivedAt: h.now(), source: "http",
	}
	if tooBig {
		// Not read further: the declared length when there is one, else
		// "more than the limit".
		in.bodyLength = max(r.ContentLength, h.cfg.MaxBodyBytes+1)
	}
	var res result
	if err != nil {
		res = h.reject(r.Context(), in, fmt.Sprintf("read body: %v", err), jsonError(http.StatusBadRequest, "cannot read body"))
	} else {
		res = h.process(r.Context(), in)
	}
	h.finished(in, res)
	writeReply(w, res.reply)
}

// process runs one callback through routing checks, verification and the
// store. It is the one path for live and imported callbacks.
func (h *Handler) process(ctx context.Context, in incoming) result {
	acct, ok := h.cfg.Accounts[in.account]
	if !ok {
		return h.reject(ctx, in, fmt.Sprintf("unknown account %q", clip(in.account, maxAccountLen)),
			jsonError(http.StatusNotFound, fmt.Sprintf("unknown account %q", clip(in.account, maxAccountLen))))
	}
	if in.provider == "" {
		in.provider = acct.Provider
	}
	if in.provider != acct.Provider {
		reason := fmt.Sprintf("account %q belongs to provider %q, not %q", in.account, acct.Provider, in.provider)
		return h.reject(ctx, in, reason, jsonError(http.StatusNotFound, reason))
	}
	if in.tooBig {
		reason := fmt.Sprintf("body exceeds %d bytes", h.cfg.MaxBodyBytes)
		return h.reject(ctx, in, reason, jsonError(http.StatusRequestEntityTooLarge, reason))
	}

	verifyStart := h.now()
	vc, verr := acct.Verifier.VerifyCallback(payrecon.CallbackRequest{
		Account: in.account, Header: in.header, Body: in.body, RemoteAddr: in.remoteAddr, ReceivedAt: in.receivedAt,
	})
	h.obs.Verified(in.provider, h.now().Sub(verifyStart))
	if verr == nil {
		verr = h.checkEntries(in, acct, vc.Entries)
	}
	if verr != nil {
		in.eventID = rejectedEventID(vc, verr)
		return h.reject(ctx, in, verr.Error(), acct.Verifier.Reply(verr))
	}

	raw := h.raw(in, true, "")
	raw.EventID = vc.EventID
	dup, err := h.store(ctx, raw, vc.Entries)
	if err != nil {
		h.log.Error("store callback", "account", in.account, "event_id", vc.EventID, "err", err)
		reply := acct.Verifier.Reply(fmt.Errorf("temporary failure, retry later: %w", payrecon.ErrTransient))
		reply.Status = http.StatusInternalServerError
		return result{outcome: Failed, reply: reply, reason: err.Error()}
	}
	if dup {
		h.log.Info("callback duplicate", "account", in.account, "event_id", vc.EventID, "callback_id", raw.ID, "source", in.source)
		return result{outcome: Duplicate, reply: acct.Verifier.Reply(nil), id: raw.ID}
	}
	h.log.Info("callback accepted", "account", in.account, "event_id", vc.EventID, "type", vc.Type,
		"entries", len(vc.Entries), "callback_id", raw.ID, "source", in.source)
	return result{outcome: Accepted, reply: acct.Verifier.Reply(nil), id: raw.ID}
}

// checkEntries fills each entry's account and provider, refuses entries
// the verifier attributed to another account, and runs the domain
// validation (payrecon.Policy.CheckEntry) on every entry: whatever the
// provider, nothing it failed to check enters the ledger.
func (h *Handler) checkEntries(in incoming, acct Account, entries []payrecon.LedgerEntry) error {
	for i := range entries {
		e := &entries[i]
		if e.Account == "" {
			e.Account = in.account
		}
		if e.Provider == "" {
			e.Provider = in.provider
		}
		if e.Account != in.account {
			return fmt.Errorf("entry %d names account %q, callback came for %q", i, e.Account, in.account)
		}
		if e.EventKey == "" {
			return fmt.Errorf("entry %d has no event key", i)
		}
		if e.ReceivedAt.IsZero() {
			e.ReceivedAt = in.receivedAt
		}
		if err := acct.Policy.CheckEntry(*e); err != nil {
			if len(entries) == 1 {
				return err
			}
			return fmt.Errorf("entry %d: %w", i, err)
		}
	}
	return nil
}

// reject stores the callback as rejected (headers, a body prefix, the
// body's hash and length) and returns reply. Live callbacks are stored
// only within the limits (per-remote bucket; unknown accounts' shared
// bucket); past them they are answered the same but only counted. When
// the store fails the reply still goes out (the provider will retry) and
// the failure is logged.
func (h *Handler) reject(ctx context.Context, in incoming, reason string, reply payrecon.CallbackReply) result {
	reason = clip(reason, maxReasonLen)
	_, known := h.cfg.Accounts[in.account]
	if !known {
		h.stats.unknownAccount.Add(1)
		h.obs.UnknownAccount()
	}
	if in.source == "http" {
		now := h.now()
		switch {
		case !h.limits.allowReject(now, in.remoteAddr):
			h.stats.rejectsNotStored.Add(1)
			h.obs.NotStored("remote")
			h.log.Debug("rejected callback not stored: remote over its limit", "remote", in.remoteAddr, "reason", reason)
			return result{outcome: Rejected, reply: reply, reason: reason}
		case !known && !h.limits.allowUnknown(now):
			h.stats.rejectsNotStored.Add(1)
			h.obs.NotStored("unknown_account")
			if h.limits.logUnknown(now) {
				h.log.Warn("callbacks for unknown accounts over their limit: not stored", "account", clip(in.account, maxAccountLen),
					"remote", in.remoteAddr, "unknown_account_total", h.stats.unknownAccount.Load())
			}
			return result{outcome: Rejected, reply: reply, reason: reason}
		}
	}
	raw := h.raw(in, false, reason)
	raw.EventID = clip(in.eventID, maxEventIDLen)
	_, err := h.store(ctx, raw, nil)
	if err != nil {
		h.log.Error("store rejected callback", "account", raw.Account, "reason", reason, "err", err)
	}
	h.log.Warn("callback rejected", "account", raw.Account, "provider", raw.Provider, "reason", reason,
		"event_id", raw.EventID, "callback_id", raw.ID, "remote", in.remoteAddr, "source", in.source)
	return result{outcome: Rejected, reply: reply, reason: reason, id: raw.ID}
}

// store makes one store call on a context detached from the request's
// cancellation (a read timeout or a client that left must not lose the
// row) and bounded by StoreTimeout, and reports its latency.
func (h *Handler) store(ctx context.Context, raw *payrecon.RawCallback, entries []payrecon.LedgerEntry) (bool, error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.StoreTimeout)
	defer cancel()
	start := h.now()
	dup, err := h.cfg.Store.StoreCallback(sctx, raw, entries)
	h.obs.Stored(h.providerLabel(raw.Provider), h.now().Sub(start), err)
	return dup, err
}

// finished reports a callback's outcome with bounded labels.
func (h *Handler) finished(in incoming, res result) {
	account, provider := in.account, in.provider
	if a, ok := h.cfg.Accounts[account]; !ok {
		account = UnknownLabel
	} else if provider == "" {
		provider = a.Provider // imports name no provider
	}
	h.obs.Finished(h.providerLabel(provider), account, res.outcome)
}

func (h *Handler) providerLabel(p string) string {
	if !h.providers[p] {
		return UnknownLabel
	}
	return p
}

// raw is the row for a callback: accepted ones keep the whole body,
// rejected ones the first RejectBodyBytes of it; both record the SHA-256
// and length of the body as received.
func (h *Handler) raw(in incoming, accepted bool, reason string) *payrecon.RawCallback {
	sum := sha256.Sum256(in.body)
	body := in.body
	if !accepted && len(body) > h.cfg.RejectBodyBytes {
		body = body[:max(h.cfg.RejectBodyBytes, 0)]
	}
	length := in.bodyLength
	if length < int64(len(in.body)) {
		length = int64(len(in.body))
	}
	return &payrecon.RawCallback{
		Account:    clip(in.account, maxAccountLen),
		Provider:   clip(in.provider, maxProviderLen),
		ReceivedAt: in.receivedAt,
		Header:     in.header,
		Body:       body,
		BodySHA256: hex.EncodeToString(sum[:]),
		BodyLength: length,
		Accepted:   accepted,
		Reason:     reason,
		Source:     in.source,
	}
}

// rejectedEventID is the event id a verifier read from a callback it
// rejected: VerifiedCallback.EventID returned alongside the error, or one
// carried by the error (payrecon.EventIDOf); "" when it read none.
func rejectedEventID(vc payrecon.VerifiedCallback, err error) string {
	if vc.EventID != "" {
		return vc.EventID
	}
	return payrecon.EventIDOf(err)
}

// clip shortens s to at most n bytes without splitting a UTF-8 sequence
// and replaces invalid UTF-8, so any URL segment fits its column.
func clip(s string, n int) string {
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // invalid bytes become U+FFFD
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func jsonError(status int, msg string) payrecon.CallbackReply {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	return payrecon.CallbackReply{Status: status, ContentType: "application/json", Body: append(b, '\n')}
}

func writeReply(w http.ResponseWriter, r payrecon.CallbackReply) {
	if r.ContentType != "" {
		w.Header().Set("Content-Type", r.ContentType)
	}
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(r.Body)
}

// ErrUnknownAccount is returned by Import for an account that is not configured.
var ErrUnknownAccount = errors.New("unknown account")

func (c *Config) withDefaults() {
	if c.RejectBodyBytes == 0 {
		c.RejectBodyBytes = DefaultRejectBodyBytes
	}
	if c.RejectRate == 0 {
		c.RejectRate = DefaultRejectRate
	}
	if c.RejectBurst <= 0 {
		c.RejectBurst = DefaultRejectBurst
	}
	if c.UnknownAccountRate == 0 {
		c.UnknownAccountRate = DefaultUnknownAccountRate
	}
	if c.UnknownAccountBurst <= 0 {
		c.UnknownAccountBurst = DefaultUnknownAccountBurst
	}
	if c.StoreTimeout <= 0 {
		c.StoreTimeout = DefaultStoreTimeout
	}
	if c.MaxBodyBytesInFlight <= 0 {
		c.MaxBodyBytesInFlight = DefaultBodyBytesInFlight
	}
}

// stats counts what the limits did.
type stats struct {
	unknownAccount   atomic.Int64
	rejectsNotStored atomic.Int64
}

// Stats are counters since the handler was made.
type Stats struct {
	// UnknownAccount counts callbacks for accounts that are not configured.
	UnknownAccount int64
	// RejectsNotStored counts rejected callbacks answered but not stored
	// because their remote (or unknown accounts together) was over its limit.
	RejectsNotStored int64
	// BodyBytesInFlight is the buffer reserved by request bodies being read
	// now (bounded by Config.MaxBodyBytesInFlight).
	BodyBytesInFlight int64
}

// Stats returns the handler's counters.
func (h *Handler) Stats() Stats {
	return Stats{UnknownAccount: h.stats.unknownAccount.Load(), RejectsNotStored: h.stats.rejectsNotStored.Load(), BodyBytesInFlight: h.bodies.inUse()}
}

// ready answers 200 when Config.Ready succeeds within StoreTimeout, else
// 503 (the reason is logged, not sent).
func (h *Handler) ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if h.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), h.cfg.StoreTimeout)
		err := h.cfg.Ready(ctx)
		cancel()
		if err != nil {
			h.log.Warn("not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "database unavailable\n")
			return
		}
	}
	_, _ = io.WriteString(w, "ready\n")
}

// UnknownLabel stands for an account or provider that is not configured in
// what intake reports to its Observer (names chosen by the sender would
// make unbounded metric labels).
const UnknownLabel = "_unknown"

// Observer receives intake's measurements; label values are configured
// account names, known provider names or UnknownLabel. Methods must be
// safe for concurrent use.
type Observer interface {
	// Started marks a request in flight; the returned func marks it done.
	Started() (done func())
	Verified(provider string, d time.Duration)
	// Stored reports one store call and its error (nil on success).
	Stored(provider string, d time.Duration, err error)
	Finished(provider, account string, outcome Outcome)
	// NotStored counts a callback not stored because of a limit: "remote"
	// or "unknown_account" (rejected, answered as usual), or
	// "bodies_in_flight" (answered 503 unread).
	NotStored(limit string)
	UnknownAccount()
}

type noObserver struct{}

func (noObserver) Started() func()                     { return func() {} }
func (noObserver) Verified(string, time.Duration)      {}
func (noObserver) Stored(string, time.Duration, error) {}
func (noObserver) Finished(string, string, Outcome)    {}
func (noObserver) NotStored(string)                    {}
func (noObserver) UnknownAccount()                     {}
