package e2e_test

import (
	"testing"
	"time"

	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/huawei"
	hwsandbox "github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat"
	wxsandbox "github.com/payrecon/payrecon/providers/wechat/sandbox"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// huaweiSandbox starts the Huawei sandbox over sc on now (nil: the wall
// clock) and a direct-merchant client of account talking to it; both end
// with the test.
func huaweiSandbox(t *testing.T, sc *scenario.Scenario, account string, now func() time.Time) (*hwsandbox.Sandbox, *huawei.Client) {
	t.Helper()
	sb, err := hwsandbox.New(sc, hwsandbox.Options{CallbackURL: "https://merchant.test/callbacks/huawei/" + account, Now: now})
	storetest.Must(t, err)
	t.Cleanup(sb.Close)
	opts := []huawei.Option{huawei.WithHTTPClient(sb.Client()), huawei.WithAccount(account)}
	if now != nil {
		opts = append(opts, huawei.WithNow(now))
	}
	c, err := huawei.New(sb.MerchantConfig(huawei.ModelDirect), storetest.Logger(t), opts...)
	storetest.Must(t, err)
	return sb, c
}

// wechatSandbox starts the WeChat Pay sandbox over sc on now (nil: the wall
// clock) and a client
// account talking to it; both end with the test.
func wechatSandbox(t *testing.T, sc *scenario.Scenario, account string, now func() time.Time) (*wxsandbox.Sandbox, *wechat.Client) {
	t.Helper()
	sb := wxsandbox.New(sc, wxsandbox.Options{Now: now})
	t.Cleanup(sb.Close)
	cfg := sb.MerchantConfig()
	cfg.Account = account
	var opts []wechat.Option
	if now != nil {
		opts = append(opts, wechat.WithNow(now))
	}
	c, err := wechat.New(cfg, storetest.Logger(t), opts...)
	storetest.Must(t, err)
	return sb, c
}

// huaweiPlan loads a ground-truth plan (seed, normal traffic a day) into
// db and serves it from the Huawei sandbox: the plan, a client of
// jobstest.Account and the clock, at the run after DayD.
func huaweiPlan(t *testing.T, db *store.DB, seed uint64, normal int) (*jobstest.Plan, *huawei.Client, *jobstest.Clock) {
	t.Helper()
	p := jobstest.NewPlanWith(seed, normal, jobstest.DigitNumbers)
	p.ForProvider(huawei.Name)
	p.Load(t, db)
	clk := &jobstest.Clock{}
	clk.RunAfter(jobstest.DayD)
	_, c := huaweiSandbox(t, p.Sc, jobstest.Account, clk.Now)
	return p, c, clk
}

// wechatPlan is huaweiPlan for WeChat Pay. Its trade bill lists payments
// and refunds only, and its fund flow settles a payment's full order
// amount: the plan plants no other lines and no promotions in the bill
// (the payer/promotion split mismatch is planted on the ledger side).
func wechatPlan(t *testing.T, db *store.DB, seed uint64, normal int) (*jobstest.Plan, *wxsandbox.Sandbox, *wechat.Client, *jobstest.Clock) {
	t.Helper()
	p := jobstest.NewPlanOpts(seed, normal, jobstest.DigitNumbers, true)
	p.DropOthers()
	p.ForProvider(wechat.Name)
	p.Load(t, db)
	clk := &jobstest.Clock{}
	clk.RunAfter(jobstest.DayD)
	sb, c := wechatSandbox(t, p.Sc, jobstest.Account, clk.Now)
	return p, sb, c, clk
}
