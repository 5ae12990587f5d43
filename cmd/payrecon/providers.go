package main

import (
	"context"
	"fmt"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/providers/alipay"
	"github.com/payrecon/payrecon/providers/baas"
	"github.com/payrecon/payrecon/providers/douyin"
	"github.com/payrecon/payrecon/providers/huawei"
	"github.com/payrecon/payrecon/providers/qqpay"
	"github.com/payrecon/payrecon/providers/wechat"
)

// buildProvider turns account i of the configuration into its provider:
// it decodes the account's raw provider section into that provider
// package's Config (unknown keys are errors) and calls its New. It returns
// the typed config too, so that `config check` can print it with its
// secrets redacted by type. Errors name the account: "accounts[2].wechat: …".
//
// To add a provider: one case below, nothing else.
//
//	case "wechat":
//		var pc wechat.Config
//		if err := acct.DecodeProvider(i, &pc); err != nil {
//			return nil, nil, err
//		}
//		pc.Account = acct.Name
//		p, err := wechat.New(pc, a.logger())
//		if err != nil {
//			return nil, nil, fmt.Errorf("accounts[%d].wechat: %w", i, err)
//		}
//		return p, pc, nil
func buildProvider(ctx context.Context, a *app, i int, acct config.Account) (payrecon.Provider, any, error) {
	_ = ctx
	switch acct.Provider {
	// ---- provider cases (one per provider package) ----

	case "alipay":
		var pc alipay.Config
		if err := acct.DecodeProvider(i, &pc); err != nil {
			return nil, nil, err
		}
		pc.Account = acct.Name
		p, err := alipay.New(pc, a.logger())
		if err != nil {
			return nil, nil, fmt.Errorf("accounts[%d].alipay: %w", i, err)
		}
		return p, pc, nil

	case "wechat":
		var pc wechat.Config
		if err := acct.DecodeProvider(i, &pc); err != nil {
			return nil, nil, err
		}
		pc.Account = acct.Name
		p, err := wechat.New(pc, a.logger())
		if err != nil {
			return nil, nil, fmt.Errorf("accounts[%d].wechat: %w", i, err)
		}
		return p, pc, nil
	case "huawei":
		var pc huawei.Config
		if err := acct.DecodeProvider(i, &pc); err != nil {
			return nil, nil, err
		}
		p, err := huawei.New(pc, a.logger(), huawei.WithAccount(acct.Name))
		if err != nil {
			return nil, nil, fmt.Errorf("accounts[%d].huawei: %w", i, err)
		}
		return p, p.Config(), nil
	case "baas":
		var pc baas.Config
		if err := acct.DecodeProvider(i, &pc); err != nil {
			return nil, nil, err
		}
		pc.Account = acct.Name
		p, err := baas.New(pc, a.logger())
		if err != nil {
			return nil, nil, fmt.Errorf("accounts[%d].baas: %w", i, err)
		}
		return p, p.Config(), nil
	case "qqpay":
		var pc qqpay.Config
		if err := acct.DecodeProvider(i, &pc); err != nil {
			return nil, nil, err
		}
		pc.Account = acct.Name
		p, err := qqpay.New(pc, a.logger())
		if err != nil {
			return nil, nil, fmt.Errorf("accounts[%d].qqpay: %w", i, err)
		}
		return p, p.Config(), nil
	case "douyin":
		var pc douyin.Config
		if err := acct.DecodeProvider(i, &pc); err != nil {
			return nil, nil, err
		}
		pc.Account = acct.Name
		p, err := douyin.New(pc, a.logger())
		if err != nil {
			return nil, nil, fmt.Errorf("accounts[%d].douyin: %w", i, err)
		}
		return p, p.Config(), nil
	// ---- end of provider cases ----
	default:
		return nil, nil, fmt.Errorf("accounts[%d].provider: provider %q is not built into this payrecon binary", i, acct.Provider)
	}
}
