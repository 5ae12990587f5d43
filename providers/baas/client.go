package baas

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/payrecon/payrecon"
)

// API paths (hydrogen-js-sdk core/config.js: PAY, ORDER).
const (
	PathOrderList   = "/hserve/v2.2/idp/pay/order/"
	PathOrderDetail = "/hserve/v2.0/idp/pay/order/" // + transaction_no + "/"
	// AuthPrefix is the Authorization scheme (config.js AUTH_PREFIX).
	AuthPrefix = "Hydrogen-r1"
	// HeaderClientID carries the application's ClientID.
	HeaderClientID = "X-Hydrogen-Client-ID"
)

// Client is one MinCloud application. Safe for concurrent use.
type Client struct {
	cfg    Config
	log    *slog.Logger
	http   *http.Client
	now    func() time.Time
	secret []byte
}

var (
	_ payrecon.Provider         = (*Client)(nil)
	_ payrecon.BillSource       = (*Client)(nil)
	_ payrecon.FeeDeclarer      = (*Client)(nil)
	_ payrecon.OrderQuerier     = (*Client)(nil)
	_ payrecon.RefundQuerier    = (*Client)(nil)
	_ payrecon.CallbackVerifier = (*Client)(nil)
)

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: one with cfg.Timeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithNow sets the clock (default time.Now).
func WithNow(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// New validates cfg and returns the client.
func New(cfg Config, logger *slog.Logger, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		cfg:    cfg,
		log:    logger.With("provider", Name, "account", cfg.Account),
		now:    time.Now,
		secret: []byte(cfg.CallbackSecret.Reveal()),
	}
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

// Config returns the effective configuration (secrets stay redacted when printed).
func (c *Client) Config() Config { return c.cfg }

// apiError is MinCloud's error body: {"error_msg": "..."} (Django REST
// style {"detail": "..."} tolerated).
type apiError struct {
	ErrorMsg string `json:"error_msg"`
	Detail   string `json:"detail"`
	Code     any    `json:"code"`
}

// get performs an authenticated GET and returns the response body (at most
// maxBody bytes) for a 2xx answer; other answers become *payrecon.ProviderError.
func (c *Client) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	u := c.cfg.BaseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("baas GET %s: %w", path, err)
	}
	req.Header.Set(HeaderClientID, c.cfg.ClientID)
	req.Header.Set("Authorization", AuthPrefix+" "+c.cfg.AccessToken.Reveal())
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("baas GET %s: %w", path, ctx.Err())
		}
		return nil, fmt.Errorf("baas GET %s: %w", path, &payrecon.ProviderError{Provider: Name, Code: "network", Message: err.Error(), Transient: true})
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("baas GET %s: read body: %w", path, &payrecon.ProviderError{Provider: Name, Code: "network", Message: err.Error(), Transient: true})
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("baas GET %s: answer exceeds %d bytes", path, maxBody)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return body, nil
	}
	return nil, fmt.Errorf("baas GET %s: %w", path, httpError(resp.StatusCode, body))
}

// maxBody bounds one API answer (a page of at most 1000 orders).
const maxBody = 32 << 20

// httpError turns a non-2xx answer into a ProviderError: 404 is NotFound,
// 429 and 5xx are Transient.
func httpError(status int, body []byte) *payrecon.ProviderError {
	pe := &payrecon.ProviderError{Provider: Name, Code: strconv.Itoa(status)}
	var ae apiError
	if json.Unmarshal(body, &ae) == nil {
		pe.Message = ae.ErrorMsg
		if pe.Message == "" {
			pe.Message = ae.Detail
		}
		if ae.Code != nil {
			pe.SubCode = fmt.Sprint(ae.Code)
		}
	}
	if pe.Message == "" {
		pe.Message = http.StatusText(status)
	}
	if len(pe.Message) > 200 {
		pe.Message = pe.Message[:200]
	}
	pe.NotFound = status == http.StatusNotFound
	pe.Transient = status == http.StatusTooManyRequests || status >= 500
	return pe
}

// errNotFound is the ProviderError for an empty list answer.
func errNotFound(what string) error {
	return &payrecon.ProviderError{Provider: Name, Code: "404", Message: what + " not found", NotFound: true}
}

// FeeFacts implements payrecon.FeeDeclarer: MinCloud's order list states no
// fee (the channel's own bill does, on the linked channel account).
func (c *Client) FeeFacts() payrecon.FeeFacts { return payrecon.FeeFacts{} }
