// Command payrecon-bench measures one reconciliation run end to end at
// scale: it generates a day of N Huawei bill lines and N ledger entries
// with discrepancies of every class planted, writes the ledger into a fresh
// embedded SQLite database and the bill as a real Huawei trade-bill zip,
// then runs that day through jobs.Runner and prints wall time, rows/s and
// peak RSS next to the floor (reading, decompressing and parsing the same
// bill and nothing else). The run and the floor each execute in a child
// process so that their peak RSS is their own.
//
//	payrecon-bench [-n 1000000] [-dir DIR] [-keep] [-cpuprofile FILE]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/store"
)

const account = "bench"

type options struct {
	n          int
	dir        string
	keep       bool
	cpuprofile string
	phase      string
	day        payrecon.Day
	verbose    bool
	settlement bool
}

func main() {
	var o options
	var day string
	flag.IntVar(&o.n, "n", 1_000_000, "bill lines and ledger entries to generate")
	flag.StringVar(&o.dir, "dir", "", "working folder (default: a new temp folder, removed unless -keep)")
	flag.BoolVar(&o.keep, "keep", false, "keep the generated database and bill")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file")
	flag.StringVar(&o.phase, "phase", "all", "all | run | floor (run and floor are the child processes)")
	flag.StringVar(&day, "day", "2026-11-20", "bill day")
	flag.BoolVar(&o.verbose, "v", false, "log the run")
	flag.BoolVar(&o.settlement, "settlement", false, "also write and reconcile a settlement bill (one row per trade row, one planted settlement_mismatch)")
	flag.Parse()
	d, err := payrecon.ParseDay(day)
	if err != nil {
		fatal(err)
	}
	o.day = d
	ctx := context.Background()
	switch o.phase {
	case "all":
		err = runAll(ctx, o)
	case "run":
		err = childRun(ctx, o)
	case "floor":
		err = childFloor(ctx, o)
	default:
		err = fmt.Errorf("unknown -phase %q", o.phase)
	}
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "payrecon-bench:", err)
	os.Exit(1)
}

func paths(dir string, day payrecon.Day) (db, bill, prevBill string) {
	return filepath.Join(dir, "bench.db"), billFile(dir, day, payrecon.BillTrade), billFile(dir, day.Add(-1), payrecon.BillTrade)
}

func billFile(dir string, day payrecon.Day, kind payrecon.BillKind) string {
	return filepath.Join(dir, string(kind)+"-"+day.Compact()+".zip")
}

// result is what a child phase reports on its last stdout line.
type result struct {
	Wall      time.Duration            `json:"wall_ns"`
	PeakRSS   int64                    `json:"peak_rss_bytes"`
	BillLines int64                    `json:"bill_lines"`
	Ledger    int64                    `json:"ledger_lines"`
	Classes   map[payrecon.Class]int64 `json:"classes,omitempty"`
	Totals    *payrecon.Totals         `json:"totals,omitempty"`
	Extra     map[string]time.Duration `json:"extra_ns,omitempty"`
	// CPU is the child's user+sys time, measured by the parent: with other
	// work on the machine it says more than the wall time.
	CPU time.Duration `json:"-"`
}

func runAll(ctx context.Context, o options) error {
	if o.dir == "" {
		dir, err := os.MkdirTemp("", "payrecon-bench-")
		if err != nil {
			return err
		}
		o.dir = dir
		if !o.keep {
			defer os.RemoveAll(dir)
		}
	}
	p := newPlan(o.n, o.day)
	dbPath, billPath, prevPath := paths(o.dir, o.day)
	limit := "800MiB (as payrecon run)"
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		limit = v
	}
	fmt.Printf("payrecon-bench: n=%d day=%s dir=%s (GOMAXPROCS=%d, %s, run heap limit %s)\n", o.n, o.day, o.dir, runtime.GOMAXPROCS(0), runtime.Version(), limit)

	t0 := time.Now()
	lines, err := writeBill(billPath, p, o.day, payrecon.BillTrade)
	if err != nil {
		return err
	}
	if _, err := writeBill(prevPath, p, o.day.Add(-1), payrecon.BillTrade); err != nil {
		return err
	}
	if o.settlement {
		for _, d := range []payrecon.Day{o.day, o.day.Add(-1)} {
			if _, err := writeBill(billFile(o.dir, d, payrecon.BillSettlement), p, d, payrecon.BillSettlement); err != nil {
				return err
			}
		}
	}
	st, _ := os.Stat(billPath)
	fmt.Printf("setup: bill %d lines, %.1f MiB zip, written in %s\n", lines, float64(st.Size())/(1<<20), time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	_ = os.Remove(dbPath)
	db, err := store.Open(ctx, store.SQLite, dbPath, nil)
	if err != nil {
		return err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return err
	}
	db.Close()
	n, err := loadLedger(ctx, dbPath, account, p)
	if err != nil {
		return err
	}
	fmt.Printf("setup: ledger %d entries bulk-inserted in %s\n", n, time.Since(t0).Round(time.Millisecond))

	// The day before: its run carries over the positions billed late.
	t0 = time.Now()
	prev, err := runDay(ctx, o, p, o.day.Add(-1))
	if err != nil {
		return fmt.Errorf("run of the day before: %w", err)
	}
	fmt.Printf("setup: day before run in %s: %s\n", time.Since(t0).Round(time.Millisecond), classLine(prev.Classes))

	floor, err := child(o, "floor")
	if err != nil {
		return err
	}
	run, err := child(o, "run")
	if err != nil {
		return err
	}
	report(os.Stdout, o, p, floor, run)
	return nil
}

// child runs this binary with -phase and decodes its result line.
func child(o options, phase string) (result, error) {
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	args := []string{"-phase", phase, "-n", strconv.Itoa(o.n), "-dir", o.dir, "-day", string(o.day)}
	if phase == "run" && o.cpuprofile != "" {
		args = append(args, "-cpuprofile", o.cpuprofile)
	}
	if o.verbose {
		args = append(args, "-v")
	}
	if o.settlement {
		args = append(args, "-settlement")
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	var last string
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		last = sc.Text()
	}
	if err := cmd.Wait(); err != nil {
		return result{}, fmt.Errorf("%s phase: %w", phase, err)
	}
	var r result
	if err := json.Unmarshal([]byte(last), &r); err != nil {
		return r, fmt.Errorf("%s phase: read result %q: %w", phase, last, err)
	}
	r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return r, nil
}

// cpuTime is the process's user+sys CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the process's peak resident set (VmHWM), in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func emit(r result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

func childFloor(ctx context.Context, o options) error {
	_, billPath, _ := paths(o.dir, o.day)
	parse := tradeParser()
	c0 := cpuTime()
	t0 := time.Now()
	var lines int64
	var sum int64
	if _, err := readBill(ctx, billPath, parse, func(l payrecon.BillLine) error {
		lines++
		sum += l.Amount
		return nil
	}); err != nil {
		return err
	}
	if o.settlement {
		if _, err := readBill(ctx, billFile(o.dir, o.day, payrecon.BillSettlement), settlementParser(), func(l payrecon.BillLine) error {
			sum += l.Settlement
			return nil
		}); err != nil {
			return err
		}
	}
	parsed := time.Since(t0)
	parseCPU := cpuTime() - c0
	t1 := time.Now()
	if _, err := readBill(ctx, billPath, nil, nil); err != nil {
		return err
	}
	if o.settlement {
		if _, err := readBill(ctx, billFile(o.dir, o.day, payrecon.BillSettlement), nil, nil); err != nil {
			return err
		}
	}
	return emit(result{Wall: parsed, PeakRSS: peakRSS(), BillLines: lines, Extra: map[string]time.Duration{"decompress_only": time.Since(t1), "parse_cpu": parseCPU}})
}

// memoryLimit mirrors `payrecon run`: an 800 MiB soft heap limit unless
// $GOMEMLIMIT says otherwise, so the bench measures what production runs.
const memoryLimit = 800 << 20

func childRun(ctx context.Context, o options) error {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	p := newPlan(o.n, o.day)
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	t0 := time.Now()
	r, err := runDay(ctx, o, p, o.day)
	if err != nil {
		return err
	}
	r.Wall = time.Since(t0)
	r.PeakRSS = peakRSS()
	return emit(r)
}

// runDay runs one day through the real jobs.Runner on the bench database.
func runDay(ctx context.Context, o options, p plan, day payrecon.Day) (result, error) {
	dbPath, billPath, prevPath := paths(o.dir, o.day)
	logger := slog.New(slog.DiscardHandler)
	if o.verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	db, err := store.Open(ctx, store.SQLite, dbPath, logger)
	if err != nil {
		return result{}, err
	}
	defer db.Close()
	prov := &benchProvider{account: account, plan: p, parse: tradeParser(), parseSettle: settlementParser(),
		bills: map[payrecon.Day]string{o.day: billPath, o.day.Add(-1): prevPath}}
	if o.settlement {
		prov.settles = map[payrecon.Day]string{o.day: billFile(o.dir, o.day, payrecon.BillSettlement), o.day.Add(-1): billFile(o.dir, o.day.Add(-1), payrecon.BillSettlement)}
	}
	// The clock stands at 10:30 the morning after the bill day, when the
	// scheduler runs.
	clock := day.End().Add(10*time.Hour + 30*time.Minute)
	now := func() time.Time { return clock }
	runner := jobs.NewRunner(db, map[string]jobs.Target{
		account: {Account: payrecon.Account{Name: account, Provider: "huawei", FeeRatePPM: p.ratePPM}, Provider: prov},
	}, logger, now, jobs.Options{Version: "bench", QueryBackoff: time.Millisecond})
	run, err := runner.RunDay(ctx, account, day)
	if err != nil {
		return result{}, err
	}
	r := result{BillLines: run.Totals.BillLines, Ledger: run.Totals.LedgerLines, Classes: map[payrecon.Class]int64{}, Totals: &run.Totals}
	for c, ct := range run.Totals.ByClass {
		r.Classes[c] = ct.Count
	}
	return r, nil
}

func classLine(m map[payrecon.Class]int64) string {
	var parts []string
	for _, c := range payrecon.Classes {
		if m[c] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", c, m[c]))
		}
	}
	return strings.Join(parts, " ")
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func report(w io.Writer, o options, p plan, floor, run result) {
	rows := run.BillLines + run.Ledger
	fmt.Fprintf(w, "\nrun:   %d bill lines + %d ledger entries in %s = %.0f rows/s (%.0f bill lines/s), peak RSS %s, cpu %s\n",
		run.BillLines, run.Ledger, run.Wall.Round(time.Millisecond), float64(rows)/run.Wall.Seconds(),
		float64(run.BillLines)/run.Wall.Seconds(), mib(run.PeakRSS), run.CPU.Round(time.Millisecond))
	fmt.Fprintf(w, "floor: read+decompress+parse %d lines in %s (decompress only %s), peak RSS %s, cpu %s (both passes)\n",
		floor.BillLines, floor.Wall.Round(time.Millisecond), floor.Extra["decompress_only"].Round(time.Millisecond), mib(floor.PeakRSS), floor.CPU.Round(time.Millisecond))
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(w, "load:  %s (2 cores: figures above 2 mean other work shared the machine)\n", strings.Join(strings.Fields(string(load))[:3], " "))
	}
	ratio := run.Wall.Seconds() / floor.Wall.Seconds()
	fmt.Fprintf(w, "ratio: run / floor = %.2fx wall, %.2fx cpu (run cpu %s / floor parse cpu %s)\n", ratio,
		run.CPU.Seconds()/floor.Extra["parse_cpu"].Seconds(), run.CPU.Round(time.Millisecond), floor.Extra["parse_cpu"].Round(time.Millisecond))
	if run.Totals != nil {
		t := run.Totals
		fmt.Fprintf(w, "books: bill %s ledger %s difference %s explained %s balanced=%v\n",
			payrecon.FormatYuan(t.BillTotal), payrecon.FormatYuan(t.LedgerTotal), payrecon.FormatYuan(t.Difference), payrecon.FormatYuan(t.Explained), t.Balanced())
	}

	want := p.expected()
	if o.settlement {
		want[payrecon.ClassSettlementMismatch] = 1
	}
	var classes []payrecon.Class
	for c := range want {
		classes = append(classes, c)
	}
	for c := range run.Classes {
		if _, ok := want[c]; !ok && c != payrecon.ClassMatched {
			classes = append(classes, c)
		}
	}
	sort.Slice(classes, func(i, j int) bool { return classes[i] < classes[j] })
	fmt.Fprintf(w, "classes (planted → found):\n")
	bad := 0
	for _, c := range classes {
		mark := "ok"
		if want[c] != run.Classes[c] {
			mark = "DIFFERS"
			bad++
		}
		fmt.Fprintf(w, "  %-26s %8d → %8d  %s\n", c, want[c], run.Classes[c], mark)
	}
	fmt.Fprintf(w, "  %-26s %8s → %8d\n", payrecon.ClassMatched, "", run.Classes[payrecon.ClassMatched])

	// Targets are stated for 10,000,000 lines on 2 cores.
	var verdict []string
	if o.n >= 10_000_000 && run.Wall > 60*time.Second {
		verdict = append(verdict, fmt.Sprintf("wall %s > 60s", run.Wall.Round(time.Second)))
	}
	if run.PeakRSS > 1<<30 {
		verdict = append(verdict, fmt.Sprintf("peak RSS %s > 1 GiB", mib(run.PeakRSS)))
	}
	if ratio > 3 {
		verdict = append(verdict, fmt.Sprintf("%.2fx the floor > 3x", ratio))
	}
	if bad > 0 {
		verdict = append(verdict, fmt.Sprintf("%d classes differ from the plan", bad))
	}
	switch {
	case len(verdict) == 0 && o.n >= 10_000_000:
		fmt.Fprintln(w, "target: met (≤60 s for 10M lines, ≤1 GiB, ≤3x floor)")
	case len(verdict) == 0:
		fmt.Fprintln(w, "target: ≤1 GiB and ≤3x floor met at this size; the 60 s target is for 10,000,000 lines (make bench N=10000000)")
	default:
		fmt.Fprintln(w, "target: MISSED: "+strings.Join(verdict, "; "))
	}
}
