package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/huawei"
	hwsandbox "github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat"
	wxsandbox "github.com/payrecon/payrecon/providers/wechat/sandbox"
	"github.com/payrecon/payrecon/reports"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// tamperMiddleLine plants bad bytes in the middle data line of day's trade
// bill at the start of field col (0-based) and records the line's number.
func tamperMiddleLine(day payrecon.Day, col int, bad string, line *int) func(*scenario.BillTamper) {
	return func(bt *scenario.BillTamper) {
		if bt.Day != day || bt.Kind != payrecon.BillTrade {
			return
		}
		lines := bytes.SplitAfter(bt.Plain, []byte("\n"))
		i := len(lines) / 2
		at := 0
		for k := 0; k < col; k++ {
			at += bytes.IndexByte(lines[i][at:], ',') + 1
		}
		if lines[i][at] == '`' {
			at++ // inside WeChat Pay's value guard
		}
		lines[i] = append(append(append([]byte{}, lines[i][:at]...), bad...), lines[i][at:]...)
		bt.Plain = bytes.Join(lines, nil)
		*line = i + 1
	}
}

// A bill that turns hostile between two runs of a day: the re-run fails
// naming the file, line and column, stores no items, and the report still
// shows the good run — through the real runner, with the Huawei sandbox (an
// unterminated quote: the bill must not read as a shorter one) and the
// WeChat Pay sandbox (GBK bytes in a UTF-8 bill), on SQLite and MySQL.
func TestHostileBillKeepsLastGoodRun(t *testing.T) {
	type setup struct {
		name   string
		col    int    // field to plant at
		bad    string // what to plant
		file   string // the file the error must name
		column string // the column it must name
		start  func(t *testing.T, p *jobstest.Plan, clk *jobstest.Clock) (payrecon.Provider, scenario.BillTamperer)
	}
	for _, s := range []setup{
		{name: "huawei", col: 5, bad: `"`, file: "TradeBill_" + hwsandbox.MercNo, column: huawei.ColMercOrderNo,
			start: func(t *testing.T, p *jobstest.Plan, clk *jobstest.Clock) (payrecon.Provider, scenario.BillTamperer) {
				sb, c := huaweiSandbox(t, p.Sc, jobstest.Account, clk.Now)
				return c, sb
			}},
		{name: "wechat", col: 6, bad: "\xc9\xcc\xc6\xb7", file: "wechat_" + wxsandbox.MchID, column: "商户订单号",
			start: func(t *testing.T, p *jobstest.Plan, clk *jobstest.Clock) (payrecon.Provider, scenario.BillTamperer) {
				sb, c := wechatSandbox(t, p.Sc, jobstest.Account, clk.Now)
				return c, sb
			}},
	} {
		t.Run(s.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				p := jobstest.NewPlanOpts(19, 40, jobstest.DigitNumbers, s.name == "wechat")
				if s.name == "wechat" {
					p.DropOthers()
				}
				p.ForProvider(s.name)
				p.Load(t, db)
				clk := &jobstest.Clock{}
				clk.RunAfter(jobstest.DayD)
				prov, tb := s.start(t, p, clk)
				r := jobstest.NewRunner(t, db, prov, clk, jobs.Options{})

				good, err := r.RunDay(ctx, jobstest.Account, jobstest.DayD)
				if err != nil {
					t.Fatalf("good run: %v", err)
				}
				before, err := reports.StoreSource(ctx, db, db, []string{jobstest.Account}, jobstest.DayD, jobstest.DayD)
				storetest.Must(t, err)
				if len(before.Runs) != 1 || before.Runs[0].ID != good.ID {
					t.Fatalf("report before: %+v", before.Runs)
				}
				goodItems := jobstest.RunItems(t, db, good.ID)

				line := 0
				tb.TamperBills(tamperMiddleLine(jobstest.DayD, s.col, s.bad, &line))
				defer tb.TamperBills(nil)
				bad, runErr := r.RunDay(ctx, jobstest.Account, jobstest.DayD)
				err = runErr
				if err == nil {
					t.Fatal("the tampered bill was reconciled")
				}
				want := fmt.Sprintf("line %d column %s", line, s.column)
				if !strings.Contains(err.Error(), s.file) || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v: want it to name %s… and %q", err, s.file, want)
				}
				if bad.ID != 0 {
					if n := len(jobstest.RunItems(t, db, bad.ID)); n != 0 {
						t.Fatalf("the failed run stored %d items", n)
					}
				}
				hist, err := db.RunHistory(ctx, jobstest.Account, jobstest.DayD)
				storetest.Must(t, err)
				failed := 0
				for _, h := range hist {
					if h.State == payrecon.RunFailed {
						failed++
					}
				}
				if len(hist) != 2 || failed != 1 {
					t.Fatalf("history %+v", hist)
				}
				t.Logf("the re-run failed: %v", runErr)
				after, err := reports.StoreSource(ctx, db, db, []string{jobstest.Account}, jobstest.DayD, jobstest.DayD)
				storetest.Must(t, err)
				if len(after.Runs) != 1 || after.Runs[0].ID != good.ID || !reflect.DeepEqual(after.Runs[0].Totals, before.Runs[0].Totals) {
					t.Fatalf("report after the failed run: %+v, want run %d as before", after.Runs, good.ID)
				}
				var items []payrecon.Item
				storetest.Must(t, after.Items(good.ID, func(it payrecon.Item) error { items = append(items, it); return nil }))
				if !reflect.DeepEqual(jobstest.ItemsSig(items), jobstest.ItemsSig(goodItems)) {
					t.Fatalf("the good run's items changed: %d, were %d", len(items), len(goodItems))
				}
			})
		})
	}
}

// A bill line that parses but breaks a domain rule fails the run naming
// the file, the line and the provider's own column (as its bills head it,
// declared by the provider) next to payrecon's field: through the real
// client and sandbox of each provider.
func TestBillRuleNamesProviderColumn(t *testing.T) {
	type setup struct {
		name   string
		start  func(t *testing.T, sc *scenario.Scenario, clk *jobstest.Clock) payrecon.Provider
		file   string // the file the error must name
		column string // the provider's column of the order amount
		plain  bool   // the trade bill lists payments and refunds only, no promotions
	}
	for _, s := range []setup{
		{name: "huawei", file: "TradeBill_" + hwsandbox.MercNo, column: huawei.ColOrderAmount,
			start: func(t *testing.T, sc *scenario.Scenario, clk *jobstest.Clock) payrecon.Provider {
				_, c := huaweiSandbox(t, sc, jobstest.Account, clk.Now)
				return c
			}},
		{name: "wechat", file: "wechat_" + wxsandbox.MchID, column: wechat.ColOrderAmount, plain: true,
			start: func(t *testing.T, sc *scenario.Scenario, clk *jobstest.Clock) payrecon.Provider {
				_, c := wechatSandbox(t, sc, jobstest.Account, clk.Now)
				return c
			}},
	} {
		t.Run(s.name, func(t *testing.T) {
			db := storetest.Open(t, store.SQLite)
			p := jobstest.NewPlanOpts(5, 20, jobstest.DigitNumbers, s.plain)
			if s.plain {
				p.DropOthers()
			}
			pay := p.Payment(jobstest.DayD)
			pay.Amount, pay.PayerAmount, pay.PromotionAmount = payrecon.DefaultMaxAmount+1, payrecon.DefaultMaxAmount+1, 0
			p.Sc.Payments = append(p.Sc.Payments, pay)
			clk := &jobstest.Clock{}
			clk.RunAfter(jobstest.DayD)
			r := jobstest.NewRunner(t, db, s.start(t, p.Sc, clk), clk, jobs.Options{})
			_, err := r.RunDay(context.Background(), jobstest.Account, jobstest.DayD)
			want := " column " + s.column + " (amount): amount_max"
			if err == nil || !strings.Contains(err.Error(), s.file) || !strings.Contains(err.Error(), " line ") || !strings.Contains(err.Error(), want) {
				t.Fatalf("run error %v, want the file %s, a line and %q", err, s.file, want)
			}
			t.Logf("%v", err)
		})
	}
}
