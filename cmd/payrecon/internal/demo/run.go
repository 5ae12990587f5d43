package demo

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/intake"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/providers/huawei"
	hwsandbox "github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat"
	wxsandbox "github.com/payrecon/payrecon/providers/wechat/sandbox"
	"github.com/payrecon/payrecon/reports"
	"github.com/payrecon/payrecon/store"
)

// Config shapes a demo run.
type Config struct {
	Dir    string // where the SQLite database and the reports go (made fresh)
	Day    payrecon.Day
	Out    io.Writer // the summary
	Logger *slog.Logger
	// LogFile, when set, receives the log (text, info level; replaced
	// each run) instead of Logger, so that Out shows only the summary.
	LogFile string
	Version string
}

// Result is what the demo found, for tests.
type Result struct {
	Runs      []payrecon.Run
	Classes   map[payrecon.Class]int64 // over every run of the demo
	Rejected  []payrecon.RawCallback
	Workbook  string
	JSON      string
	Log       string         // the log file, "" when none
	Callbacks map[string]int // outcome → count
	Pulled    []string       // accounts whose ledger the runs pulled, and from where
}

// account is one provider account of the demo: its sandbox, the client
// configured against it, and how to forge a callback for it.
type account struct {
	name     string
	acct     payrecon.Account
	sb       scenario.Sandbox
	prov     payrecon.Provider
	verifier payrecon.CallbackVerifier
	events   []Event
	forge    func(p scenario.Payment) (scenario.Callback, error)
}

// Run executes the demo end to end.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	if cfg.LogFile != "" {
		f, err := os.Create(cfg.LogFile)
		if err != nil {
			return nil, fmt.Errorf("demo log: %w", err)
		}
		defer f.Close()
		log = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	dbPath := filepath.Join(cfg.Dir, "payrecon-demo.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(dbPath + suffix)
	}
	db, err := store.Open(ctx, "sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)", log)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return nil, err
	}

	accts, err := setUp(cfg.Day, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, a := range accts {
			a.sb.Close()
		}
	}()

	// Accounts whose ledger is pulled: MinCloud orders, a merchant order table.
	srcs, err := setUpSources(cfg.Day, cfg.Dir, db, log)
	if srcs != nil {
		defer srcs.Close() // also what a failed set-up started
	}
	if err != nil {
		return nil, err
	}

	// The callback receiver, on loopback, as `payrecon serve` runs it.
	ia := map[string]intake.Account{}
	for _, a := range accts {
		ia[a.name] = intake.Account{Provider: a.acct.Provider, Verifier: a.verifier, Policy: payrecon.PolicyFor(a.acct, a.verifier)}
	}
	for name, a := range srcs.intake {
		ia[name] = a
	}
	h := intake.New(intake.Config{Accounts: ia, Store: db, Logger: log})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	res := &Result{Classes: map[payrecon.Class]int64{}, Callbacks: map[string]int{}, Log: cfg.LogFile}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, a := range accts {
		url := base + "/callbacks/" + a.acct.Provider + "/" + a.name
		for _, ev := range a.events {
			if err := deliver(ctx, client, url, a, ev, res.Callbacks); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", a.name, ev.Why, err)
			}
		}
	}
	for name, a := range srcs.intake {
		for _, cb := range srcs.hooks {
			status, body, err := scenario.Fire(ctx, client, base+"/callbacks/"+a.Provider+"/"+name, cb)
			if err != nil {
				return nil, err
			}
			if status/100 != 2 {
				return nil, fmt.Errorf("%s webhook refused: %d %s", name, status, body)
			}
			res.Callbacks["MinCloud trigger webhooks accepted"]++
		}
	}
	if err := db.Callbacks(ctx, "", func(cb payrecon.RawCallback) error {
		if !cb.Accepted {
			res.Rejected = append(res.Rejected, cb)
		}
		return nil
	}); err != nil {
		return nil, err
	}

	targets := map[string]jobs.Target{}
	var names []string
	for _, a := range accts {
		targets[a.name] = jobs.Target{Account: a.acct, Provider: a.prov}
		names = append(names, a.name)
	}
	for name, t := range srcs.targets {
		targets[name] = t
		names = append(names, name)
	}
	sort.Strings(names[len(accts):])
	res.Pulled = srcs.notes
	runner := jobs.NewRunner(db, targets, log, time.Now, jobs.Options{Version: cfg.Version, QueryBackoff: 10 * time.Millisecond,
		Review: config.DefaultReview().Policy()}) // SLA due days, as a default configuration sets them
	runs, err := runner.RunRange(ctx, names, cfg.Day.Add(-1), cfg.Day)
	if err != nil {
		return nil, err
	}
	res.Runs = runs
	for _, r := range runs {
		for c, t := range r.Totals.ByClass {
			res.Classes[c] += t.Count
		}
	}

	src, err := reports.StoreSource(ctx, db, db, names, cfg.Day.Add(-1), cfg.Day)
	if err != nil {
		return nil, err
	}
	if src, err = reports.WithReviews(ctx, src, db, names, config.DefaultReview().ReasonCodes); err != nil {
		return nil, err
	}
	res.Workbook = filepath.Join(cfg.Dir, "payrecon-"+string(cfg.Day)+".xlsx")
	if err := reports.WriteXLSXFile(res.Workbook, src, reports.Options{Now: time.Now}); err != nil {
		return nil, err
	}
	res.JSON = filepath.Join(cfg.Dir, "payrecon-"+string(cfg.Day)+".json")
	if err := reports.WriteJSONFile(res.JSON, src, reports.Options{}); err != nil {
		return nil, err
	}
	if cfg.Out != nil {
		summarize(cfg.Out, res, dbPath)
	}
	return res, nil
}

// setUp starts the Huawei and WeChat sandboxes with a planted day each and
// builds the clients payrecon uses against them.
func setUp(day payrecon.Day, log *slog.Logger) ([]*account, error) {
	hwRate, _ := payrecon.ParseRate("0.60%")
	wxRate, _ := payrecon.ParseRate("0.38%")

	hwSc, hwEv := Build(Options{Day: day, Prefix: "HW", Matched: 24, FeeRatePPM: hwRate, Seed: 1, Refunds: true, Agreements: true, Failures: true, Others: true})
	hsb, err := hwsandbox.New(hwSc, hwsandbox.Options{})
	if err != nil {
		return nil, err
	}
	hcfg := hsb.MerchantConfig(huawei.ModelDirect)
	hc, err := huawei.New(hcfg, log, huawei.WithAccount("huawei-main"))
	if err != nil {
		hsb.Close()
		return nil, err
	}
	rogue, err := hwsandbox.New(&scenario.Scenario{}, hwsandbox.Options{})
	if err != nil {
		hsb.Close()
		return nil, err
	}
	hw := &account{
		name: "huawei-main", acct: payrecon.Account{Name: "huawei-main", Provider: huawei.Name, FeeRatePPM: hwRate},
		sb: hsb, prov: hc, verifier: hc, events: hwEv,
		// A forger without Huawei's private key: a sandbox of its own signs.
		forge: func(p scenario.Payment) (scenario.Callback, error) {
			defer rogue.Close()
			return rogue.PaymentCallback(p)
		},
	}

	wxSc, wxEv := Build(Options{Day: day, Prefix: "WX", Matched: 30, FeeRatePPM: wxRate, Seed: 2, Refunds: true})
	wsb := wxsandbox.New(wxSc, wxsandbox.Options{})
	wc, err := wechat.New(wsb.MerchantConfig(), log)
	if err != nil {
		hsb.Close()
		wsb.Close()
		return nil, err
	}
	wx := &account{
		name: "wechat-main", acct: payrecon.Account{Name: "wechat-main", Provider: wechat.Name, FeeRatePPM: wxRate},
		sb: wsb, prov: wc, verifier: wc, events: wxEv,
		// A forger re-signs a real-looking notification with its own RSA key.
		forge: func(p scenario.Payment) (scenario.Callback, error) {
			cb, err := wsb.PaymentCallback(p)
			if err != nil {
				return cb, err
			}
			key, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				return cb, err
			}
			msg := cb.Header.Get("Wechatpay-Timestamp") + "\n" + cb.Header.Get("Wechatpay-Nonce") + "\n" + string(cb.Body) + "\n"
			sum := sha256.Sum256([]byte(msg))
			sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
			if err != nil {
				return cb, err
			}
			cb.Header.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
			return cb, nil
		},
	}
	return []*account{hw, wx}, nil
}

// deliver renders one event's callback and sends it as its mode says.
func deliver(ctx context.Context, client *http.Client, url string, a *account, ev Event, outcomes map[string]int) error {
	if ev.Mode == Lose {
		outcomes["lost on the way"]++
		return nil
	}
	var cb scenario.Callback
	var err error
	switch {
	case ev.Mode == Forge && ev.Payment != nil:
		cb, err = a.forge(*ev.Payment)
	case ev.Payment != nil:
		cb, err = a.sb.PaymentCallback(*ev.Payment)
	case ev.Refund != nil:
		cb, err = a.sb.RefundCallback(*ev.Refund)
	case ev.Agreement != nil:
		cb, err = a.sb.AgreementCallback(*ev.Agreement)
	}
	if err != nil {
		return err
	}
	if ev.Mode == Tamper {
		cb.Body = tamper(cb.Body)
	}
	times := 1
	if ev.Mode == Retry {
		times = 3
	}
	for i := 0; i < times; i++ {
		status, body, err := scenario.Fire(ctx, client, url, cb)
		if err != nil {
			return err
		}
		switch {
		case status/100 == 2 && i > 0:
			outcomes["retries acknowledged, stored once"]++
		case status/100 == 2:
			outcomes["accepted"]++
		default:
			outcomes["rejected ("+string(ev.Mode)+")"]++
			_ = body
		}
	}
	return nil
}

// tamper changes one digit in the second half of the body, keeping it
// well-formed: what an attacker editing an amount would do.
func tamper(body []byte) []byte {
	out := bytes.Clone(body)
	for i := len(out) / 2; i < len(out); i++ {
		if out[i] >= '0' && out[i] <= '8' {
			out[i]++
			return out
		}
	}
	for i := len(out) / 2; i >= 0; i-- {
		if out[i] >= '0' && out[i] <= '8' {
			out[i]++
			return out
		}
	}
	return out
}

func summarize(w io.Writer, res *Result, dbPath string) {
	fmt.Fprintln(w, "payrecon demo: Huawei Payment Kit, WeChat Pay and MinCloud sandboxes on loopback, embedded SQLite")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Callbacks fired at `serve`:")
	keys := make([]string, 0, len(res.Callbacks))
	for k := range res.Callbacks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-40s %d\n", k, res.Callbacks[k])
	}
	for _, cb := range res.Rejected {
		fmt.Fprintf(w, "  rejected %s/%s: %s\n", cb.Provider, cb.Account, cb.Reason)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Ledgers pulled by the runs (not called back):")
	for _, n := range res.Pulled {
		fmt.Fprintf(w, "  %s\n", n)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "account\tday\tstate\tbill total\tledger total\tdifference\texplained\tbalanced\tmatched\t")
	for _, r := range res.Runs {
		t := r.Totals
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%v\t%d\t\n", r.Account, r.Day, r.State,
			payrecon.FormatYuan(t.BillTotal), payrecon.FormatYuan(t.LedgerTotal), payrecon.FormatYuan(t.Difference),
			payrecon.FormatYuan(t.Explained), t.Balanced(), t.Matched)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Classes found (all runs):")
	var missing []string
	for _, c := range payrecon.Classes {
		n := res.Classes[c]
		if n == 0 {
			missing = append(missing, string(c))
			continue
		}
		fmt.Fprintf(w, "  %-26s %d\n", c, n)
	}
	if len(missing) > 0 {
		fmt.Fprintf(w, "  (not planted in this demo: %s)\n", strings.Join(missing, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Workbook: %s\nJSON:     %s\nDatabase: %s\n", res.Workbook, res.JSON, dbPath)
	if res.Log != "" {
		fmt.Fprintf(w, "Log:      %s\n", res.Log)
	}
	fmt.Fprintln(w, "The database holds the runs, the discrepancies with their identity, and the proposed repair actions.")
}

// ErrIncomplete is returned by Check when a class the providers can produce is absent.
var ErrIncomplete = errors.New("demo did not show every class")

// Check verifies the demo showed every class and that every run balanced.
func Check(res *Result) error {
	var errs []error
	for _, c := range payrecon.Classes {
		if res.Classes[c] == 0 {
			errs = append(errs, fmt.Errorf("%w: %s", ErrIncomplete, c))
		}
	}
	for _, r := range res.Runs {
		if !r.Totals.Balanced() {
			errs = append(errs, fmt.Errorf("%s %s does not balance", r.Account, r.Day))
		}
	}
	return errors.Join(errs...)
}
