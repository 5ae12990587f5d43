// Package baas is the ifanr MinCloud (知晓云) BaaS payments provider.
//
// MinCloud is not a payment channel: it creates WeChat / Alipay / QQ orders
// for web and mini-program payments and keeps an order record per payment
// (trade_no, transaction_no, status, refund_status, refund_amount,
// total_cost in yuan, paid_at, gateway_type). It publishes no bill file.
// This package therefore offers:
//
//   - OrderQuerier and RefundQuerier over the order list / detail endpoints
//     (GET /hserve/v2.2/idp/pay/order/ and /hserve/v2.0/idp/pay/order/:id/,
//     headers X-Hydrogen-Client-ID and "Authorization: Hydrogen-r1 <token>");
//   - a BillSource for BillTrade built from an order-LIST SNAPSHOT of the
//     day (paid_at within the Shanghai day, status success), paged with
//     limit/offset, the list's meta.total_count checked against the records
//     received;
//   - a CallbackVerifier for MinCloud's payment trigger forwarded as an HTTP
//     webhook whose body is the order record (event.data). MinCloud
//     documents NO signature for trigger webhooks, so payrecon cannot verify
//     them with a provider key: the verifier requires a shared secret the
//     merchant configures in the trigger (HMAC-SHA256 of the raw body, hex,
//     in the header X-Payrecon-Signature by default). Without that secret
//     (callback_secret) every callback is refused.
//
// Refunds: MinCloud keeps refunds aggregated on the order (refund_status
// complete | partial | failed, refund_amount cumulative yuan); the order
// record carries no refund number. payrecon names a MinCloud refund by the
// order: MerchantRefundNo = the order's merchant order number, ProviderRefundNo
// empty, Amount = the cumulative refund_amount. The server-side refund call
// (cloud function BaaS.refund) has no documented HTTP path, so the client
// is not a Refunder; MinCloud has no close-order or agreement API either.
//
// trade_no vs transaction_no: the docs contradict each other [D]. By
// default trade_no is the merchant order number (the out_trade_no MinCloud
// sends to WeChat / Alipay, so the same order matches across providers) and
// transaction_no the provider transaction number; Config.OrderNoMapping
// swaps them. Facts: shared/providers/baas.md.
package baas

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// Name is the provider's short name.
const Name = "baas"

// DefaultBaseURL is MinCloud's API host (hydrogen-js-sdk core/config.js API_HOST).
const DefaultBaseURL = "https://api.myminapp.com"

// Defaults.
const (
	DefaultTimeout         = 30 * time.Second
	DefaultPageSize        = 100
	MaxPageSize            = 1000
	DefaultBillDelay       = time.Hour
	DefaultSignatureHeader = "X-Payrecon-Signature"
)

// Order number mappings (Config.OrderNoMapping).
const (
	// MappingTradeNo: trade_no → MerchantOrderNo, transaction_no → ProviderTxnNo (default).
	MappingTradeNo = "trade_no"
	// MappingTransactionNo: transaction_no → MerchantOrderNo, trade_no → ProviderTxnNo.
	MappingTransactionNo = "transaction_no"
)

// Config is one MinCloud application.
type Config struct {
	// Account is the account name payrecon uses (set by the caller from the
	// configuration's account name, not read from the provider block).
	Account string `yaml:"-"`

	// ClientID is the application's ClientID (header X-Hydrogen-Client-ID).
	ClientID string `yaml:"client_id"`
	// AccessToken is the token sent as "Authorization: Hydrogen-r1 <token>".
	AccessToken payrecon.Secret `yaml:"access_token"`
	// CallbackSecret is the shared secret the payment trigger's HTTP webhook
	// signs the raw body with (HMAC-SHA256, hex). MinCloud itself documents
	// no webhook signature: without this secret every callback is refused.
	CallbackSecret payrecon.Secret `yaml:"callback_secret"`
	// CallbackSignatureHeader is the header carrying that HMAC (default X-Payrecon-Signature).
	CallbackSignatureHeader string `yaml:"callback_signature_header"`
	// OrderNoMapping is "trade_no" (default: trade_no is the merchant order
	// number, transaction_no the provider's) or "transaction_no" (swapped),
	// because MinCloud's docs disagree on which is which.
	OrderNoMapping string `yaml:"order_no_mapping"`
	// BaseURL defaults to https://api.myminapp.com.
	BaseURL string `yaml:"base_url"`
	// PageSize is the order list's limit per page (default 100, at most 1000).
	PageSize int `yaml:"page_size"`
	// BillDelay is how long after the end of a Shanghai day its order-list
	// snapshot is taken as final (late paid_at updates); before that the
	// bill is ErrBillNotReady. Default 1h.
	BillDelay time.Duration `yaml:"bill_delay"`
	Timeout   time.Duration `yaml:"timeout"`
}

// WithDefaults fills the zero fields with their defaults.
func (c Config) WithDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.CallbackSignatureHeader == "" {
		c.CallbackSignatureHeader = DefaultSignatureHeader
	}
	if c.OrderNoMapping == "" {
		c.OrderNoMapping = MappingTradeNo
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.BillDelay == 0 {
		c.BillDelay = DefaultBillDelay
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate reports every problem, naming the YAML field.
func (c Config) Validate() error {
	var errs []error
	if c.ClientID == "" {
		errs = append(errs, errors.New("client_id is required"))
	}
	if c.AccessToken.IsZero() {
		errs = append(errs, errors.New("access_token is required"))
	}
	// callback_secret is optional: without it the account has no usable
	// callbacks (every webhook is refused), queries and bills still work.
	if !c.CallbackSecret.IsZero() && len(c.CallbackSecret.Reveal()) < 16 {
		errs = append(errs, errors.New("callback_secret must be at least 16 bytes"))
	}
	switch c.OrderNoMapping {
	case "", MappingTradeNo, MappingTransactionNo:
	default:
		errs = append(errs, fmt.Errorf("order_no_mapping %q: want %q or %q", c.OrderNoMapping, MappingTradeNo, MappingTransactionNo))
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("base_url %q is not an http(s) URL", c.BaseURL))
		}
	}
	if c.PageSize < 0 || c.PageSize > MaxPageSize {
		errs = append(errs, fmt.Errorf("page_size %d: want 1..%d", c.PageSize, MaxPageSize))
	}
	if c.BillDelay < 0 {
		errs = append(errs, errors.New("bill_delay must not be negative"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout must not be negative"))
	}
	if h := c.CallbackSignatureHeader; h != "" && strings.ContainsAny(h, " :\r\n") {
		errs = append(errs, fmt.Errorf("callback_signature_header %q is not a header name", h))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("baas config: %w", err)
	}
	return nil
}
