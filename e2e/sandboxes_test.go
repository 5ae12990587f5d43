package e2e_test

import (
	"testing"
	"time"

	"github.com/payrecon/payrecon/providers/huawei"
	hwsandbox "github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat"
	wxsandbox "github.com/payrecon/payrecon/providers/wechat/sandbox"
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
