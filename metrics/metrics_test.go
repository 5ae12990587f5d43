package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/intake"
	"github.com/payrecon/payrecon/metrics"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// okVerifier accepts a body "ok <event id>" (one payment entry) and
// rejects anything else as forged.
type okVerifier struct{}

func (okVerifier) VerifyCallback(req payrecon.CallbackRequest) (payrecon.VerifiedCallback, error) {
	id, ok := strings.CutPrefix(string(req.Body), "ok ")
	if !ok {
		return payrecon.VerifiedCallback{}, fmt.Errorf("%w: forged", payrecon.ErrSignatureInvalid)
	}
	return payrecon.VerifiedCallback{EventID: id, Type: "payment", Entries: []payrecon.LedgerEntry{{
		EventKey: "payment:" + id, Kind: payrecon.KindPayment, Status: payrecon.StatusSuccess,
		ProviderTxnNo: id, MerchantOrderNo: "M" + id, Amount: 100, PayerAmount: 100, Currency: "CNY",
		OccurredAt: time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)}}}, nil
}

func (okVerifier) Reply(err error) payrecon.CallbackReply {
	if err != nil {
		return payrecon.CallbackReply{Status: 400, ContentType: "text/plain", Body: []byte("FAIL")}
	}
	return payrecon.CallbackReply{Status: 200, ContentType: "text/plain", Body: []byte("SUCCESS")}
}

type downStore struct{}

func (downStore) StoreCallback(context.Context, *payrecon.RawCallback, []payrecon.LedgerEntry) (bool, error) {
	return false, errors.New("database is down")
}

func post(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := http.Post(url, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// parse reads the exposition text format with the official parser.
func parse(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	return mfs
}

// value returns the value of the sample of family name whose labels
// include want (counter, gauge, or a histogram's count); -1 when absent.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	mf, ok := mfs[name]
	if !ok {
		return -1
	}
next:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, lp := range m.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

func TestIntakeScrape(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	reg := metrics.NewRegistry()
	obs := metrics.NewIntake(reg)
	h := intake.New(intake.Config{
		Accounts:  map[string]intake.Account{"shop": {Provider: "wechat", Verifier: okVerifier{}}},
		Providers: []string{"wechat", "alipay"},
		Store:     db, Logger: storetest.Logger(t),
		Observer: obs, Metrics: metrics.Handler(reg),
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	cb := srv.URL + "/callbacks/"
	for _, c := range []struct {
		path, body string
		status     int
	}{
		{"wechat/shop", "ok 1", 200},
		{"wechat/shop", "ok 1", 200}, // duplicate
		{"wechat/shop", "ok 2", 200},
		{"wechat/shop", "forged", 400},
		{"wechat/ghost-1", "ok 3", 404}, // unknown account: one label, not "ghost-1"
		{"alipay/ghost-2", "ok 3", 404}, // unknown account of a known provider
		{"paypal/ghost-3", "ok 3", 404}, // unknown provider
		{"wechat/" + strings.Repeat("z", 80), "x", 404},
	} {
		if got := post(t, cb+c.path, c.body); got != c.status {
			t.Errorf("%s: %d, want %d", c.path, got, c.status)
		}
	}
	// A store that fails: a db error and a failed outcome.
	down := intake.New(intake.Config{Accounts: map[string]intake.Account{"shop": {Provider: "wechat", Verifier: okVerifier{}}},
		Store: downStore{}, Logger: storetest.Logger(t), Observer: obs})
	rec := httptest.NewRecorder()
	down.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/callbacks/wechat/shop", strings.NewReader("ok 9")))
	if rec.Code != 500 {
		t.Errorf("down store: %d", rec.Code)
	}

	resp, err := http.Get(srv.URL + "/metrics")
	storetest.Must(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	storetest.Must(t, err)
	mfs := parse(t, bytes.NewReader(body))

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"payrecon_callbacks_total", map[string]string{"provider": "wechat", "account": "shop", "outcome": "accepted"}, 2},
		{"payrecon_callbacks_total", map[string]string{"provider": "wechat", "account": "shop", "outcome": "duplicate"}, 1},
		{"payrecon_callbacks_total", map[string]string{"provider": "wechat", "account": "shop", "outcome": "rejected"}, 1},
		{"payrecon_callbacks_total", map[string]string{"provider": "wechat", "account": "shop", "outcome": "failed"}, 1},
		{"payrecon_callbacks_total", map[string]string{"provider": "wechat", "account": metrics.Unknown, "outcome": "rejected"}, 2},
		{"payrecon_callbacks_total", map[string]string{"provider": "alipay", "account": metrics.Unknown, "outcome": "rejected"}, 1},
		{"payrecon_callbacks_total", map[string]string{"provider": metrics.Unknown, "account": metrics.Unknown, "outcome": "rejected"}, 1},
		{"payrecon_callback_verify_seconds", map[string]string{"provider": "wechat"}, 5},
		{"payrecon_callback_store_seconds", map[string]string{"provider": "wechat"}, 7}, // 3 accepted/dup + forged + 2 unknown + down
		{"payrecon_callback_store_seconds", map[string]string{"provider": "alipay"}, 1},
		{"payrecon_callbacks_in_flight", nil, 0},
		{"payrecon_db_errors_total", nil, 1},
		{"payrecon_callbacks_unknown_account_total", nil, 3},
	} {
		if got := value(mfs, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if _, ok := mfs["process_resident_memory_bytes"]; !ok {
		t.Error("no process metrics")
	}
	for _, bad := range []string{"ghost", "zzzz", "paypal"} {
		if strings.Contains(string(body), bad) {
			t.Errorf("a sender-chosen name %q became a label", bad)
		}
	}
}

func TestRunsTextfile(t *testing.T) {
	reg := metrics.NewRegistry()
	m := metrics.NewRuns(reg, []string{"hw1", "wx1"})
	start := time.Date(2026, 11, 21, 2, 30, 0, 0, time.UTC)
	day := payrecon.MustDay("2026-11-20")
	m.Observe(payrecon.Run{Account: "hw1", Day: day, State: payrecon.RunFindings, StartedAt: start, FinishedAt: start.Add(90 * time.Second),
		Totals: payrecon.Totals{BillLines: 1234, LedgerLines: 1233, Difference: 500, Explained: 500,
			ByClass: map[payrecon.Class]payrecon.ClassTotal{payrecon.ClassMatched: {Count: 1230}, payrecon.ClassMissingInLedger: {Count: 2, Amount: 500}}}}, nil)
	m.Observe(payrecon.Run{Account: "wx1", Day: day, State: payrecon.RunFailed, FinishedAt: start}, errors.New("bill: http 500"))
	m.Observe(payrecon.Run{Account: "wx1", Day: day, State: payrecon.RunFailed, FinishedAt: start}, fmt.Errorf("lock: %w", payrecon.ErrLocked))
	m.Observe(payrecon.Run{Account: "made-up", Day: day, State: payrecon.RunFailed}, errors.New("x"))

	path := t.TempDir() + "/payrecon.prom"
	storetest.Must(t, writeTextfile(path, reg))
	mfs := parseFile(t, path)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"payrecon_run_last_success_timestamp_seconds", map[string]string{"account": "hw1"}, float64(start.Add(90 * time.Second).Unix())},
		{"payrecon_run_duration_seconds", map[string]string{"account": "hw1"}, 90},
		{"payrecon_run_bill_lines", map[string]string{"account": "hw1"}, 1234},
		{"payrecon_run_discrepancies", map[string]string{"account": "hw1", "class": "missing_in_ledger"}, 2},
		{"payrecon_run_discrepancies", map[string]string{"account": "hw1", "class": "amount_mismatch"}, 0},
		{"payrecon_run_balanced", map[string]string{"account": "hw1"}, 1},
		{"payrecon_run_failures_total", map[string]string{"account": "hw1"}, 0},
		{"payrecon_run_failures_total", map[string]string{"account": "wx1"}, 1},
		{"payrecon_runs_total", map[string]string{"account": "wx1", "outcome": "refused"}, 1},
		{"payrecon_runs_total", map[string]string{"account": "hw1", "outcome": "discrepancy"}, 1},
		{"payrecon_run_failures_total", map[string]string{"account": metrics.Unknown}, 1},
		{"payrecon_run_last_success_timestamp_seconds", map[string]string{"account": "wx1"}, -1},
	} {
		if got := value(mfs, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}
