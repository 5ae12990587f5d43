package douyin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// Name is the provider's short name.
const Name = "douyin"

// APIPath is the ecpay v1 path prefix; operations are appended
// ("query_order", "query_refund", "create_refund").
const APIPath = "/api/apps/ecpay/v1/"

// BillPath is the bill download endpoint.
const BillPath = "/api/apps/bill"

// Client is one mini-program's 担保交易 account. Safe for concurrent use.
//
// Capabilities: BillSource, OrderQuerier, RefundQuerier, Refunder,
// CallbackVerifier. ecpay v1 has no close-order API and no recurring-debit
// agreements, so the Client is no OrderCloser, AgreementQuerier or Unsigner.
// Its answers are not signed (the API documents no response signature), so
// nothing is verified on them beyond HTTPS.
type Client struct {
	cfg    Config
	log    *slog.Logger
	http   *http.Client
	now    func() time.Time
	lookup OrderLookup
}

var (
	_ payrecon.Provider         = (*Client)(nil)
	_ payrecon.BillSource       = (*Client)(nil)
	_ payrecon.FeeDeclarer      = (*Client)(nil)
	_ payrecon.OrderQuerier     = (*Client)(nil)
	_ payrecon.RefundQuerier    = (*Client)(nil)
	_ payrecon.Refunder         = (*Client)(nil)
	_ payrecon.CallbackVerifier = (*Client)(nil)
)

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: one with cfg.Timeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithNow sets the clock (default time.Now).
func WithNow(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// OrderLookup finds the merchant's out_order_no for a platform order_id
// (for example from the ledger, which learns both from the payment
// callback). ecpay v1 query_order takes out_order_no only.
type OrderLookup func(ctx context.Context, orderID string) (outOrderNo string, err error)

// WithOrderLookup lets QueryOrder answer refs that carry only the platform
// order_id (ProviderTxnNo).
func WithOrderLookup(f OrderLookup) Option { return func(c *Client) { c.lookup = f } }

// New validates cfg and returns the client.
func New(cfg Config, logger *slog.Logger, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, log: logger.With("provider", Name, "account", cfg.Account), now: time.Now}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: cfg.Timeout}
	}
	return c, nil
}

// ProviderName implements payrecon.Provider.
func (c *Client) ProviderName() string { return Name }

// Config returns the client's configuration with defaults applied.
func (c *Client) Config() Config { return c.cfg }

// SignedBody adds app_id, thirdparty_id (when set) and the MD5 sign to an
// ecpay v1 request's parameters and returns the JSON body.
func SignedBody(params map[string]any, appID, thirdpartyID, salt string) ([]byte, error) {
	p := make(map[string]any, len(params)+3)
	for k, v := range params {
		p[k] = v
	}
	p["app_id"] = appID
	if thirdpartyID != "" {
		p["thirdparty_id"] = thirdpartyID
	}
	p["sign"] = Sign(p, salt)
	return json.Marshal(p)
}

// envelope is the common part of every answer.
type envelope struct {
	ErrNo   json.RawMessage `json:"err_no"`
	ErrTips string          `json:"err_tips"`
}

// code returns err_no as text ("0" when absent: some answers omit it on success).
func (e envelope) code() string {
	s := strings.Trim(strings.TrimSpace(string(e.ErrNo)), `"`)
	if s == "" || s == "null" {
		return "0"
	}
	return s
}

// do posts one signed ecpay v1 request and decodes the answer into out.
func (c *Client) do(ctx context.Context, op string, params map[string]any, out any) error {
	body, err := SignedBody(params, c.cfg.AppID, c.cfg.ThirdpartyID, c.cfg.Salt.Reveal())
	if err != nil {
		return fmt.Errorf("douyin %s: encode request: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+APIPath+op, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("douyin %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "payrecon")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("douyin %s: %w: %v", op, payrecon.ErrTransient, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("douyin %s: read answer: %w: %v", op, payrecon.ErrTransient, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("douyin %s: %w", op, httpError(resp.StatusCode, raw))
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("douyin %s: answer is not json: %v", op, err)
	}
	if env.code() != "0" {
		return fmt.Errorf("douyin %s: %w", op, providerError(env.code(), env.ErrTips))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("douyin %s: decode answer: %v", op, err)
	}
	return nil
}

// httpError maps a non-2xx answer: 5xx and 429 are transient.
func httpError(status int, body []byte) *payrecon.ProviderError {
	var env envelope
	_ = json.Unmarshal(body, &env)
	msg := env.ErrTips
	if msg == "" {
		msg = strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200]
		}
	}
	pe := providerError(fmt.Sprintf("HTTP %d", status), msg)
	if status >= 500 || status == http.StatusTooManyRequests {
		pe.Transient = true
	}
	return pe
}

// providerError classifies an err_no / err_tips pair. ecpay v1 publishes no
// stable list of codes (fact file), so not-found and transient errors are
// recognised by their text as well [I]: "不存在" / "not exist" / "not found"
// is NotFound; busy, rate-limit (30 QPS per AppID), timeout and system
// errors are Transient, as is err_no -1.
func providerError(code, tips string) *payrecon.ProviderError {
	pe := &payrecon.ProviderError{Provider: Name, Code: code, Message: tips}
	t := strings.ToLower(tips)
	for _, s := range []string{"不存在", "not exist", "not found", "no such", "查询不到", "未找到"} {
		if strings.Contains(t, s) {
			pe.NotFound = true
		}
	}
	for _, s := range []string{"繁忙", "频繁", "限流", "稍后", "超时", "系统错误", "busy", "rate limit", "too many", "timeout", "system error", "internal error"} {
		if strings.Contains(t, s) {
			pe.Transient = true
		}
	}
	if code == "-1" {
		pe.Transient = true
	}
	return pe
}

// FeeFacts implements payrecon.FeeDeclarer: the payment and refund bills
// state no fee; the settle bill states each order's 技术服务费.
func (c *Client) FeeFacts() payrecon.FeeFacts {
	return payrecon.FeeFacts{Bill: payrecon.BillSettlement}
}
