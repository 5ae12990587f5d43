// Package qqpay is the QQ Wallet (QQ钱包, qpay) provider: a WeChat-Pay-v2
// clone (XML bodies, MD5 or HMAC-SHA256 over the sorted k=v&…&key=APIKEY
// string), order and refund queries, apply refund (client certificate),
// close order, payment notifications and the daily statement (对账单, CSV
// with Chinese status text and a summary at the end). Facts and their
// evidence: shared/providers/qqpay.md (the weakest-evidenced provider: every
// [?]/[I]/[D] item is read tolerantly and says so where it is handled).
package qqpay

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// Production hosts. Queries, close order and statements are served by
// qpay.qq.com; apply refund by api.qpay.qq.com with a client certificate.
const (
	DefaultBaseURL       = "https://qpay.qq.com"
	DefaultRefundBaseURL = "https://api.qpay.qq.com"
	DefaultTimeout       = 30 * time.Second
)

// Sign types (the request's sign_type; QQ documents MD5 only, HMAC-SHA256
// is accepted as in WeChat v2 for merchants that have it).
const (
	SignMD5        = "MD5"
	SignHMACSHA256 = "HMAC-SHA256"
)

// Bill encodings.
const (
	EncodingAuto = "auto" // UTF-8 when the first line is valid UTF-8, else GB18030
	EncodingUTF8 = "utf-8"
	EncodingGBK  = "gbk"
)

// Config is one QQ Wallet merchant account.
type Config struct {
	// Account is the account name payrecon uses (set by the caller from the
	// configuration's account name, not read from the provider block).
	Account string `yaml:"-"`

	MchID    string `yaml:"mch_id"`
	AppID    string `yaml:"appid"`      // optional
	SubMchID string `yaml:"sub_mch_id"` // service-provider (服务商) mode when set
	// APIKey is the merchant's API key (商户平台 API 密钥) the sign string
	// ends with.
	APIKey payrecon.Secret `yaml:"api_key"`
	// SignType is MD5 (default) or HMAC-SHA256.
	SignType string `yaml:"sign_type"`

	// OpUserID and OpUserPasswd are the operator (操作员) apply refund and
	// close order send. QQ expects op_user_passwd as the MD5 hex of the
	// operator's password; the configured value is sent as is.
	OpUserID     string          `yaml:"op_user_id"`
	OpUserPasswd payrecon.Secret `yaml:"op_user_passwd"`

	// ClientCert and ClientKey are the merchant API certificate and its key
	// (PEM, or file:/env: references) that api.qpay.qq.com demands for
	// apply refund. Both or neither.
	ClientCert payrecon.Secret `yaml:"client_cert"`
	ClientKey  payrecon.Secret `yaml:"client_key"`

	// BaseURL is the API host (default https://qpay.qq.com). RefundBaseURL is
	// the apply-refund host: default https://api.qpay.qq.com when BaseURL is
	// the default, else BaseURL (a sandbox serves everything on one host).
	BaseURL       string `yaml:"base_url"`
	RefundBaseURL string `yaml:"refund_base_url"`

	// BillEncoding is auto (default), utf-8 or gbk: the statement's encoding
	// is not documented, so auto detects it from the header line.
	BillEncoding string `yaml:"bill_encoding"`

	Timeout time.Duration `yaml:"timeout"`
}

// WithDefaults fills the zero fields with their defaults.
func (c Config) WithDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.RefundBaseURL == "" {
		if c.BaseURL == DefaultBaseURL {
			c.RefundBaseURL = DefaultRefundBaseURL
		} else {
			c.RefundBaseURL = c.BaseURL
		}
	}
	c.RefundBaseURL = strings.TrimRight(c.RefundBaseURL, "/")
	if c.SignType == "" {
		c.SignType = SignMD5
	}
	c.SignType = strings.ToUpper(c.SignType)
	if c.BillEncoding == "" {
		c.BillEncoding = EncodingAuto
	}
	c.BillEncoding = strings.ToLower(c.BillEncoding)
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate reports every problem, naming the YAML field.
func (c Config) Validate() error {
	var errs []error
	if c.MchID == "" {
		errs = append(errs, errors.New("mch_id is required"))
	}
	if c.APIKey.IsZero() {
		errs = append(errs, errors.New("api_key is required"))
	}
	switch strings.ToUpper(c.SignType) {
	case "", SignMD5, SignHMACSHA256:
	default:
		errs = append(errs, fmt.Errorf("sign_type %q must be MD5 or HMAC-SHA256", c.SignType))
	}
	if c.ClientCert.IsZero() != c.ClientKey.IsZero() {
		errs = append(errs, errors.New("client_cert and client_key go together: set both or neither"))
	} else if !c.ClientCert.IsZero() {
		if _, err := tls.X509KeyPair([]byte(c.ClientCert.Reveal()), []byte(c.ClientKey.Reveal())); err != nil {
			errs = append(errs, fmt.Errorf("client_cert/client_key: %v", err))
		}
	}
	if !c.OpUserPasswd.IsZero() && c.OpUserID == "" {
		errs = append(errs, errors.New("op_user_id is required when op_user_passwd is set"))
	}
	for _, u := range []struct{ field, v string }{{"base_url", c.BaseURL}, {"refund_base_url", c.RefundBaseURL}} {
		if u.v == "" {
			continue
		}
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q is not an http(s) URL", u.field, u.v))
		}
	}
	switch strings.ToLower(c.BillEncoding) {
	case "", EncodingAuto, EncodingUTF8, EncodingGBK, "gb18030", "utf8":
	default:
		errs = append(errs, fmt.Errorf("bill_encoding %q must be auto, utf-8 or gbk", c.BillEncoding))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("qqpay config: %w", err)
	}
	return nil
}
