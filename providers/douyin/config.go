// Package douyin is the ByteDance / Douyin mini-program 担保交易 (ecpay v1)
// provider: MD5 request signing over the sorted parameter values plus the
// SALT, SHA1 callback verification with the Token, query_order,
// query_refund, create_refund and the payment / refund / settle bills of
// /api/apps/bill. Facts: shared/providers/douyin.md.
//
// This is not the newer 通用交易系统 nor merchant 抖音支付
// (api.douyinpay.com); those are other APIs.
package douyin

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// DefaultBaseURL is the production host of the ecpay v1 API and the bill
// endpoint (https://developer.toutiao.com/api/apps/ecpay/v1/…,
// https://developer.toutiao.com/api/apps/bill).
const DefaultBaseURL = "https://developer.toutiao.com"

// DefaultTimeout bounds one API call.
const DefaultTimeout = 30 * time.Second

// Bill amount units (bill_amount_unit).
const (
	UnitYuan = "yuan"
	UnitFen  = "fen"
	// UnitAuto decides per bill file by its first non-zero amount: printed
	// with a decimal point, yuan; as a whole number, fen (the unit of every
	// amount Douyin's API states). An amount of the other form later in
	// the file is refused, naming bill_amount_unit.
	UnitAuto = "auto"
)

// Config is one mini-program's 担保交易 account.
type Config struct {
	// Account is the account name payrecon uses (set by the caller from the
	// configuration's account name, not read from the provider block).
	Account string `yaml:"-"`

	AppID string `yaml:"app_id"`
	// ThirdpartyID is the service provider's id when a 服务商 calls on the
	// mini-program's behalf; empty for a self-operated mini-program.
	ThirdpartyID string `yaml:"thirdparty_id"`
	// Salt is the 支付系统秘钥 (担保交易设置 → SALT) every request is signed with.
	Salt payrecon.Secret `yaml:"salt"`
	// Token is the 担保交易设置 Token callbacks are signed with.
	Token payrecon.Secret `yaml:"token"`
	// MerchantUID is the 商户号 the bill endpoint's seller parameter names.
	MerchantUID string `yaml:"merchant_uid"`
	// NotifyURL is sent with create_refund (optional: the console's
	// default callback address is used when empty).
	NotifyURL string `yaml:"notify_url"`
	BaseURL   string `yaml:"base_url"`
	// BillAmountUnit is the unit of the bill's amount columns: "auto"
	// (default: decided per file, see UnitAuto), "yuan" or "fen". No real
	// bill sample is published (fact file [?]): set it when the bills'
	// form is known (a yuan bill of whole amounts only reads as fen in auto).
	BillAmountUnit string        `yaml:"bill_amount_unit"`
	Timeout        time.Duration `yaml:"timeout"`
}

// WithDefaults fills the zero fields with their defaults.
func (c Config) WithDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.BillAmountUnit == "" {
		c.BillAmountUnit = UnitAuto
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate reports every problem, naming the YAML field.
func (c Config) Validate() error {
	var errs []error
	if c.AppID == "" {
		errs = append(errs, errors.New("app_id is required"))
	}
	if c.Salt.IsZero() {
		errs = append(errs, errors.New("salt is required (担保交易设置 → 支付系统秘钥 SALT)"))
	}
	if c.Token.IsZero() {
		errs = append(errs, errors.New("token is required (担保交易设置 → Token, for callbacks)"))
	}
	if c.MerchantUID == "" {
		errs = append(errs, errors.New("merchant_uid is required (the 商户号 the bill download names as seller)"))
	}
	switch c.BillAmountUnit {
	case "", UnitYuan, UnitFen, UnitAuto:
	default:
		errs = append(errs, fmt.Errorf("bill_amount_unit %q: want auto, yuan or fen", c.BillAmountUnit))
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("base_url %q is not an http(s) URL", c.BaseURL))
		}
	}
	if c.NotifyURL != "" {
		if u, err := url.Parse(c.NotifyURL); err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("notify_url %q is not a URL", c.NotifyURL))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("douyin config: %w", err)
	}
	return nil
}
