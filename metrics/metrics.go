// Package metrics exposes payrecon's Prometheus metrics, each set on its own
// registry (never the global one): the callback receiver's (Intake, served
// by `payrecon serve` at /metrics) and the reconciliation runs' (Runs,
// served by `payrecon schedule` or written by `payrecon run --metrics-file`
// in the node_exporter textfile format).
//
// Label values are bounded: account names come from the configuration,
// providers from the known list, classes and outcomes from fixed sets;
// anything else is counted under Unknown.
package metrics

import (
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/intake"
)

// Unknown is the label value for an account or provider that is not
// configured (its name comes from the sender and is not used as a label).
const Unknown = intake.UnknownLabel

// NewRegistry returns a registry with the Go runtime and process
// collectors (memory, goroutines, open files, RSS).
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves reg in the Prometheus exposition format.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// latency buckets in seconds: 0.5 ms (an HMAC) to 10 s (a stalled database).
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Intake implements intake.Observer with Prometheus metrics.
type Intake struct {
	callbacks   *prometheus.CounterVec
	verify      *prometheus.HistogramVec
	store       *prometheus.HistogramVec
	inFlight    prometheus.Gauge
	dbErrors    prometheus.Counter
	notStored   *prometheus.CounterVec
	unknownAcct prometheus.Counter
}

var _ intake.Observer = (*Intake)(nil)

// NewIntake registers the callback receiver's metrics on reg.
func NewIntake(reg prometheus.Registerer) *Intake {
	m := &Intake{
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payrecon_callbacks_total",
			Help: "Callbacks received, by provider, account and outcome (accepted, duplicate, rejected, failed). Unconfigured accounts count as " + Unknown + ".",
		}, []string{"provider", "account", "outcome"}),
		verify: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "payrecon_callback_verify_seconds",
			Help:    "Time to verify a callback (signature, decryption, decoding), by provider.",
			Buckets: latencyBuckets,
		}, []string{"provider"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "payrecon_callback_store_seconds",
			Help:    "Time to store a callback (one transaction), by provider.",
			Buckets: latencyBuckets,
		}, []string{"provider"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "payrecon_callbacks_in_flight",
			Help: "Callback requests being handled.",
		}),
		dbErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "payrecon_db_errors_total",
			Help: "Failed database calls while storing callbacks (each answered 5xx when the callback was authentic).",
		}),
		notStored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payrecon_callbacks_rejected_not_stored_total",
			Help: "Callbacks answered but not stored because a limit was reached (remote: the per-remote bucket of rejects; unknown_account: the unknown-account bucket; bodies_in_flight: answered 503 unread, the memory budget of bodies being read was spent).",
		}, []string{"limit"}),
		unknownAcct: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "payrecon_callbacks_unknown_account_total",
			Help: "Callbacks for accounts that are not configured.",
		}),
	}
	reg.MustRegister(m.callbacks, m.verify, m.store, m.inFlight, m.dbErrors, m.notStored, m.unknownAcct)
	return m
}

// Started implements intake.Observer.
func (m *Intake) Started() func() {
	m.inFlight.Inc()
	return m.inFlight.Dec
}

// Verified implements intake.Observer.
func (m *Intake) Verified(provider string, d time.Duration) {
	m.verify.WithLabelValues(provider).Observe(d.Seconds())
}

// Stored implements intake.Observer.
func (m *Intake) Stored(provider string, d time.Duration, err error) {
	m.store.WithLabelValues(provider).Observe(d.Seconds())
	if err != nil {
		m.dbErrors.Inc()
	}
}

// Finished implements intake.Observer.
func (m *Intake) Finished(provider, account string, outcome intake.Outcome) {
	m.callbacks.WithLabelValues(provider, account, outcome.String()).Inc()
}

// NotStored implements intake.Observer.
func (m *Intake) NotStored(limit string) { m.notStored.WithLabelValues(limit).Inc() }

// UnknownAccount implements intake.Observer.
func (m *Intake) UnknownAccount() { m.unknownAcct.Inc() }

// Runs records reconciliation runs.
type Runs struct {
	accounts      map[string]bool
	lastSuccess   *prometheus.GaugeVec
	lastAttempt   *prometheus.GaugeVec
	duration      *prometheus.GaugeVec
	billLines     *prometheus.GaugeVec
	ledgerLines   *prometheus.GaugeVec
	discrepancies *prometheus.GaugeVec
	balanced      *prometheus.GaugeVec
	runs          *prometheus.CounterVec
	failures      *prometheus.CounterVec
}

// NewRuns registers the run metrics on reg for the configured accounts
// (other names are recorded as Unknown).
func NewRuns(reg prometheus.Registerer, accounts []string) *Runs {
	m := &Runs{
		accounts: map[string]bool{},
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "payrecon_run_last_success_timestamp_seconds",
			Help: "When the account's last successful run (clean or with discrepancies) finished, unix seconds.",
		}, []string{"account"}),
		lastAttempt: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "payrecon_run_last_attempt_timestamp_seconds",
			Help: "When the account's last run attempt ended, whatever its outcome, unix seconds.",
		}, []string{"account"}),
		duration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "payrecon_run_duration_seconds",
			Help: "Wall time of the account's last finished run.",
		}, []string{"account"}),
		billLines: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "payrecon_run_bill_lines",
			Help: "Trade bill lines of the account's last finished run.",
		}, []string{"account"}),
		ledgerLines: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "payrecon_run_ledger_entries",
			Help: "Ledger entries of the account's last finished run.",
		}, []string{"account"}),
		discrepancies: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "payrecon_run_discrepancies",
			Help: "Discrepancies of the account's last finished run, by class.",
		}, []string{"account", "class"}),
		balanced: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "payrecon_run_balanced",
			Help: "1 when the account's last finished run balanced to the fen (difference = sum of the discrepancies), else 0.",
		}, []string{"account"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payrecon_runs_total",
			Help: "Run attempts by account and outcome (clean, discrepancy, failed, refused, not_ready).",
		}, []string{"account", "outcome"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payrecon_run_failures_total",
			Help: "Failed runs by account (bill, query, database, unbalanced; not counting refused or not-ready attempts).",
		}, []string{"account"}),
	}
	for _, a := range accounts {
		m.accounts[a] = true
	}
	reg.MustRegister(m.lastSuccess, m.lastAttempt, m.duration, m.billLines, m.ledgerLines, m.discrepancies, m.balanced, m.runs, m.failures)
	for a := range m.accounts {
		m.failures.WithLabelValues(a) // present at 0 so that rate() and alerts see it
	}
	return m
}

// Observe records one run attempt: run as RunDay returned it, err its error.
func (m *Runs) Observe(run payrecon.Run, err error) {
	acct := run.Account
	if !m.accounts[acct] {
		acct = Unknown
	}
	end := run.FinishedAt
	if end.IsZero() {
		end = run.LastAttempt.At
	}
	if !end.IsZero() {
		m.lastAttempt.WithLabelValues(acct).Set(float64(end.UnixMilli()) / 1e3)
	}
	outcome := string(run.State)
	switch {
	case err == nil && (run.State == payrecon.RunClean || run.State == payrecon.RunFindings):
	case errors.Is(err, payrecon.ErrLocked):
		outcome = string(payrecon.AttemptRefused)
	case errors.Is(err, payrecon.ErrBillNotReady):
		outcome = string(payrecon.AttemptNotReady)
	default:
		outcome = string(payrecon.AttemptFailed)
	}
	m.runs.WithLabelValues(acct, outcome).Inc()
	if outcome == string(payrecon.AttemptFailed) {
		m.failures.WithLabelValues(acct).Inc()
	}
	if outcome != string(payrecon.RunClean) && outcome != string(payrecon.RunFindings) {
		return
	}
	t := run.Totals
	m.lastSuccess.WithLabelValues(acct).Set(float64(run.FinishedAt.UnixMilli()) / 1e3)
	m.duration.WithLabelValues(acct).Set(run.FinishedAt.Sub(run.StartedAt).Seconds())
	m.billLines.WithLabelValues(acct).Set(float64(t.BillLines))
	m.ledgerLines.WithLabelValues(acct).Set(float64(t.LedgerLines))
	for _, c := range payrecon.Classes {
		if c.IsDiscrepancy() {
			m.discrepancies.WithLabelValues(acct, string(c)).Set(float64(t.ByClass[c].Count))
		}
	}
	b := 0.0
	if t.Balanced() {
		b = 1
	}
	m.balanced.WithLabelValues(acct).Set(b)
}
