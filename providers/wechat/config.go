// Package wechat is the WeChat Pay (微信支付) API v3 provider: request
// signing (WECHATPAY2-SHA256-RSA2048), response and callback verification
// with platform certificates or WeChat Pay public keys chosen by serial,
// AEAD_AES_256_GCM notification decryption, order / refund queries, apply
// refund and close order, and the trade and fund-flow bills (gzip, SHA1,
// backtick CSV with summary rows). Facts: shared/providers/wechat.md.
package wechat

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// DefaultBaseURL is WeChat Pay's production API host.
const DefaultBaseURL = "https://api.mch.weixin.qq.com"

// Defaults.
const (
	DefaultTimestampSkew = 5 * time.Minute
	DefaultTimeout       = 30 * time.Second
)

// PlatformKey is one key WeChat Pay signs with: a platform certificate (PEM,
// serial = the certificate's serial in upper-case hex) or a WeChat Pay
// public key (PEM "PUBLIC KEY", serial = its ID "PUB_KEY_ID_…").
type PlatformKey struct {
	Serial string `yaml:"serial"`
	// KeyOrCert is the PEM text, or a file:/env: reference to it.
	KeyOrCert payrecon.Secret `yaml:"key_or_cert"`
}

// Config is one WeChat Pay merchant account.
type Config struct {
	// Account is the account name payrecon uses (set by the caller from the
	// configuration's account name, not read from the provider block).
	Account string `yaml:"-"`

	MchID    string `yaml:"mchid"`
	AppID    string `yaml:"appid"`
	SubMchID string `yaml:"sub_mchid"` // partner (服务商) mode when set
	// SerialNo is the serial of the merchant API certificate whose private
	// key is PrivateKey.
	SerialNo     string          `yaml:"serial_no"`
	PrivateKey   payrecon.Secret `yaml:"private_key"` // PEM (PKCS#8 or PKCS#1)
	APIv3Key     payrecon.Secret `yaml:"apiv3_key"`   // 32 bytes
	PlatformKeys []PlatformKey   `yaml:"platform_keys"`
	BaseURL      string          `yaml:"base_url"`
	// TimestampSkew is how far a callback's or response's Wechatpay-Timestamp
	// may be from now (default 5m).
	TimestampSkew time.Duration `yaml:"timestamp_skew"`
	Timeout       time.Duration `yaml:"timeout"`
}

// WithDefaults fills the zero fields with their defaults.
func (c Config) WithDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.TimestampSkew == 0 {
		c.TimestampSkew = DefaultTimestampSkew
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate reports every problem, naming the YAML field.
func (c Config) Validate() error {
	var errs []error
	if c.MchID == "" {
		errs = append(errs, errors.New("mchid is required"))
	}
	if c.SerialNo == "" {
		errs = append(errs, errors.New("serial_no is required (the merchant API certificate's serial)"))
	}
	if c.PrivateKey.IsZero() {
		errs = append(errs, errors.New("private_key is required"))
	}
	if c.APIv3Key.IsZero() {
		errs = append(errs, errors.New("apiv3_key is required"))
	} else if n := len(c.APIv3Key.Reveal()); n != 32 && n != 16 {
		errs = append(errs, fmt.Errorf("apiv3_key must be 32 bytes, got %d", n))
	}
	if len(c.PlatformKeys) == 0 {
		errs = append(errs, errors.New("platform_keys needs at least one platform certificate or WeChat Pay public key"))
	}
	seen := map[string]bool{}
	for i, k := range c.PlatformKeys {
		if k.Serial == "" {
			errs = append(errs, fmt.Errorf("platform_keys[%d].serial is required", i))
		}
		if seen[k.Serial] {
			errs = append(errs, fmt.Errorf("platform_keys[%d].serial %q is listed twice", i, k.Serial))
		}
		seen[k.Serial] = true
		if k.KeyOrCert.IsZero() {
			errs = append(errs, fmt.Errorf("platform_keys[%d].key_or_cert is required", i))
		}
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("base_url %q is not an http(s) URL", c.BaseURL))
		}
	}
	if c.TimestampSkew < 0 {
		errs = append(errs, errors.New("timestamp_skew must not be negative"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("wechat config: %w", err)
	}
	return nil
}
