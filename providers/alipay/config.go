// Package alipay is the Alipay (支付宝) open-platform provider: requests to
// gateway.do signed RSA2 (SHA256withRSA over the sorted parameters),
// responses verified over the raw JSON text of the xxx_response member,
// asynchronous notifications verified over the sorted form parameters
// (answered with exactly "success"), trade / refund / agreement queries,
// refund, close and unsign, and the daily bills (zip with GBK names and GBK
// CSV: 业务明细 with its 交易合计 / 退款合计 footer, 账务明细 for the
// signcustomer fund flow). Facts: shared/providers/alipay.md.
package alipay

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// DefaultBaseURL is Alipay's production open-platform host; requests go to
// DefaultBaseURL + GatewayPath.
const DefaultBaseURL = "https://openapi.alipay.com"

// GatewayPath is the one endpoint of the classic (v1) open API.
const GatewayPath = "/gateway.do"

// Defaults.
const (
	DefaultTimeout             = 30 * time.Second
	DefaultPersonalProductCode = "GENERAL_WITHHOLDING_P"
)

// Config is one Alipay application (app_id) of a merchant.
type Config struct {
	// Account is the account name payrecon uses (set by the caller).
	Account string `yaml:"-"`

	AppID string `yaml:"app_id"`
	// SellerID is the merchant's PID (2088…). When set, notifications for
	// another seller_id are refused. It is also the bill's 账号 prefix.
	SellerID string `yaml:"seller_id"`
	// PrivateKey is the application private key (PEM PKCS#8/PKCS#1, or the
	// bare base64 Alipay's key tool prints).
	PrivateKey payrecon.Secret `yaml:"private_key"`
	// AlipayPublicKey is the Alipay public key (支付宝公钥: PEM, bare
	// base64, or the alipayCertPublicKey_RSA2.crt certificate text).
	AlipayPublicKey payrecon.Secret `yaml:"alipay_public_key"`
	// AppCertSN and AlipayRootCertSN are sent as app_cert_sn and
	// alipay_root_cert_sn in public-key-certificate mode (公钥证书模式; the
	// values Alipay's tools print: MD5 of issuer and serial). In that mode
	// alipay_public_key is the alipayCertPublicKey_RSA2.crt text.
	AppCertSN        string `yaml:"app_cert_sn"`
	AlipayRootCertSN string `yaml:"alipay_root_cert_sn"`
	// AppAuthToken is sent as app_auth_token for third-party (ISV) calls.
	AppAuthToken payrecon.Secret `yaml:"app_auth_token"`
	BaseURL      string          `yaml:"base_url"`
	Timeout      time.Duration   `yaml:"timeout"`

	// PersonalProductCode and SignScene identify withholding (代扣)
	// agreements in agreement queries and unsign calls (default
	// GENERAL_WITHHOLDING_P; sign_scene is omitted when empty).
	PersonalProductCode string `yaml:"personal_product_code"`
	SignScene           string `yaml:"sign_scene"`
	// AgreementNotExistUnsigned: the fact file reads a "not exist" answer
	// to alipay.user.agreement.query as "unsigned" ([I]: Alipay may drop
	// terminated agreements). Off (default): not-exist is
	// payrecon.ErrNotFound, so an agreement Alipay never knew is reported
	// as missing. On: it is an Agreement with StatusUnsigned and the
	// numbers asked for.
	AgreementNotExistUnsigned bool `yaml:"agreement_not_exist_unsigned"`
	// BillNotReadyCodes are extra sub_codes of the bill download-url query
	// that mean "not generated yet" (isp.bill_not_exist is built in).
	BillNotReadyCodes []string `yaml:"bill_not_ready_codes"`
}

// WithDefaults fills the zero fields with their defaults.
func (c Config) WithDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimSuffix(strings.TrimRight(c.BaseURL, "/"), GatewayPath)
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.PersonalProductCode == "" {
		c.PersonalProductCode = DefaultPersonalProductCode
	}
	return c
}

// Validate reports every problem, naming the YAML field.
func (c Config) Validate() error {
	var errs []error
	if c.AppID == "" {
		errs = append(errs, errors.New("app_id is required"))
	} else if strings.TrimFunc(c.AppID, func(r rune) bool { return r >= '0' && r <= '9' }) != "" {
		errs = append(errs, fmt.Errorf("app_id %q must be digits", c.AppID))
	}
	if c.SellerID != "" && !strings.HasPrefix(c.SellerID, "2088") {
		errs = append(errs, fmt.Errorf("seller_id %q is not an Alipay PID (2088…)", c.SellerID))
	}
	if c.PrivateKey.IsZero() {
		errs = append(errs, errors.New("private_key is required (the application private key)"))
	}
	if c.AlipayPublicKey.IsZero() {
		errs = append(errs, errors.New("alipay_public_key is required (the Alipay public key or its certificate)"))
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("base_url %q is not an http(s) URL", c.BaseURL))
		}
	}
	if (c.AppCertSN == "") != (c.AlipayRootCertSN == "") {
		errs = append(errs, errors.New("app_cert_sn and alipay_root_cert_sn go together (certificate mode)"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("alipay config: %w", err)
	}
	return nil
}
