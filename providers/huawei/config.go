// Package huawei is the Huawei Payment Kit (华为支付 / 鸿蒙支付服务) provider:
// PayMercAuth request signing (SM2 or RSA-PSS), SM2-verified responses and
// callbacks, order/refund/contract queries, repair calls, and the trade and
// settlement bills. Facts: shared/providers/huawei.md.
package huawei

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// Merchant models.
const (
	ModelDirect  = "direct"  // 直连商户: mercNo + appId
	ModelPartner = "partner" // 平台类商户 / 服务商: spMercNo + subMercNo, /partner/ paths
)

// Merchant key types.
const (
	KeySM2 = "sm2"
	KeyRSA = "rsa" // SHA256WithRSA/PSS, salt 32
)

// ProductionURL is Huawei's production API host.
const ProductionURL = "https://petalpay-developer.cloud.huawei.com.cn"

// PublicKey is one Huawei SM2 public key ("华为支付证书") and the certNo it
// signs under. Several keys allow rotation.
type PublicKey struct {
	CertNo string `yaml:"cert_no"`
	// Key is PEM ("PUBLIC KEY" or "CERTIFICATE"), base64 SPKI or hex ("04"+X+Y or X+Y).
	Key string `yaml:"key"`
}

// Config is one Huawei account.
type Config struct {
	Model     string `yaml:"model"` // direct (default) | partner
	MercNo    string `yaml:"merc_no"`
	AppID     string `yaml:"app_id"`
	SpMercNo  string `yaml:"sp_merc_no"`
	SubMercNo string `yaml:"sub_merc_no"`
	SpAppID   string `yaml:"sp_app_id"`
	// AuthID is the merchant certificate id shown after uploading the public key.
	AuthID string `yaml:"auth_id"`
	// MerchantKey is the merchant's private key: SM2 (PKCS#8 PEM or hex D) or
	// RSA (PKCS#8/PKCS#1 PEM), per KeyType.
	MerchantKey payrecon.Secret `yaml:"merchant_key"`
	KeyType     string          `yaml:"key_type"` // sm2 (default) | rsa
	// HuaweiPublicKeys verify responses and callbacks, picked by certNo
	// (the first when a message carries none).
	HuaweiPublicKeys []PublicKey   `yaml:"huawei_public_keys"`
	BaseURL          string        `yaml:"base_url"` // default ProductionURL
	Timeout          time.Duration `yaml:"timeout"`  // per API call; default 15s
	// EncryptKey would decrypt dataType=encrypt callbacks; Huawei has not
	// documented that scheme, so such callbacks are rejected either way.
	EncryptKey payrecon.Secret `yaml:"encrypt_key"`
	// CallbackURL is sent with refund and unsign requests.
	CallbackURL string `yaml:"callback_url"`
}

// WithDefaults fills the optional fields.
func (c Config) WithDefaults() Config {
	if c.Model == "" {
		c.Model = ModelDirect
	}
	if c.KeyType == "" {
		c.KeyType = KeySM2
	}
	if c.BaseURL == "" {
		c.BaseURL = ProductionURL
	}
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Second
	}
	return c
}

// Validate checks the config (after WithDefaults) and names the yaml field
// of every problem.
func (c Config) Validate() error {
	var errs []error
	req := func(field, v string) {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("%s: required", field))
		}
	}
	switch c.Model {
	case ModelDirect:
		req("merc_no", c.MercNo)
		req("app_id", c.AppID)
	case ModelPartner:
		req("sp_merc_no", c.SpMercNo)
		req("sub_merc_no", c.SubMercNo)
		req("sp_app_id", c.SpAppID)
	default:
		errs = append(errs, fmt.Errorf("model: %q, want direct or partner", c.Model))
	}
	req("auth_id", c.AuthID)
	if c.MerchantKey.IsZero() {
		errs = append(errs, errors.New("merchant_key: required"))
	}
	if c.KeyType != KeySM2 && c.KeyType != KeyRSA {
		errs = append(errs, fmt.Errorf("key_type: %q, want sm2 or rsa", c.KeyType))
	}
	if len(c.HuaweiPublicKeys) == 0 {
		errs = append(errs, errors.New("huawei_public_keys: required (at least one)"))
	}
	for i, k := range c.HuaweiPublicKeys {
		if strings.TrimSpace(k.Key) == "" {
			errs = append(errs, fmt.Errorf("huawei_public_keys[%d].key: required", i))
		}
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("base_url: %q is not an http(s) URL", c.BaseURL))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout: negative"))
	}
	if c.CallbackURL != "" {
		if u, err := url.Parse(c.CallbackURL); err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("callback_url: %q is not a URL", c.CallbackURL))
		}
	}
	return errors.Join(errs...)
}

// callerID is the merchant number PayMercAuth names.
func (c Config) callerID() string {
	if c.Model == ModelPartner {
		return c.SpMercNo
	}
	return c.MercNo
}
