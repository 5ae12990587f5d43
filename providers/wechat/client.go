package wechat

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/sign"
)

// Name is the provider's short name.
const Name = "wechat"

// AuthScheme is the Authorization scheme of API v3 requests.
const AuthScheme = "WECHATPAY2-SHA256-RSA2048"

// Client is one WeChat Pay merchant account. Safe for concurrent use.
type Client struct {
	cfg      Config
	log      *slog.Logger
	http     *http.Client
	now      func() time.Time
	key      *rsa.PrivateKey
	apiv3Key []byte
	platform map[string]*rsa.PublicKey // by serial
}

var (
	_ payrecon.Provider         = (*Client)(nil)
	_ payrecon.BillSource       = (*Client)(nil)
	_ payrecon.FeeDeclarer      = (*Client)(nil)
	_ payrecon.OrderQuerier     = (*Client)(nil)
	_ payrecon.RefundQuerier    = (*Client)(nil)
	_ payrecon.AgreementQuerier = (*Client)(nil)
	_ payrecon.Refunder         = (*Client)(nil)
	_ payrecon.OrderCloser      = (*Client)(nil)
	_ payrecon.CallbackVerifier = (*Client)(nil)
)

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: one with cfg.Timeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithNow sets the clock (default time.Now).
func WithNow(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// New validates cfg, parses its keys and returns the client.
func New(cfg Config, logger *slog.Logger, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	key, err := sign.ParseRSAPrivateKey([]byte(cfg.PrivateKey.Reveal()))
	if err != nil {
		return nil, fmt.Errorf("wechat config private_key: %w", err)
	}
	c := &Client{
		cfg:      cfg,
		log:      logger.With("provider", Name, "account", cfg.Account),
		key:      key,
		apiv3Key: []byte(cfg.APIv3Key.Reveal()),
		platform: map[string]*rsa.PublicKey{},
		now:      time.Now,
	}
	for i, pk := range cfg.PlatformKeys {
		pub, err := sign.ParseRSAPublicKey([]byte(pk.KeyOrCert.Reveal()))
		if err != nil {
			return nil, fmt.Errorf("wechat config platform_keys[%d].key_or_cert: %w", i, err)
		}
		c.platform[pk.Serial] = pub
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

// nonce returns 32 random upper-case hex characters.
func nonce() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// SignatureMessage is the API v3 request string to sign:
// METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n, URL being path plus query.
func SignatureMessage(method, pathAndQuery, timestamp, nonce string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString(method + "\n" + pathAndQuery + "\n" + timestamp + "\n" + nonce + "\n")
	b.Write(body)
	b.WriteByte('\n')
	return b.Bytes()
}

// authorization signs one request.
func (c *Client) authorization(method, pathAndQuery string, body []byte) (string, error) {
	ts := strconv.FormatInt(c.now().Unix(), 10)
	n := nonce()
	sig, err := sign.SignSHA256RSA(c.key, SignatureMessage(method, pathAndQuery, ts, n, body))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`%s mchid="%s",nonce_str="%s",signature="%s",timestamp="%s",serial_no="%s"`,
		AuthScheme, c.cfg.MchID, n, sig, ts, c.cfg.SerialNo), nil
}

// ParseAuthorization splits a WECHATPAY2-SHA256-RSA2048 Authorization value
// into its fields (mchid, nonce_str, signature, timestamp, serial_no).
func ParseAuthorization(v string) (map[string]string, error) {
	rest, ok := strings.CutPrefix(v, AuthScheme+" ")
	if !ok {
		return nil, fmt.Errorf("authorization scheme is not %s", AuthScheme)
	}
	out := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("authorization field %q has no value", part)
		}
		out[k] = strings.Trim(val, `"`)
	}
	for _, k := range []string{"mchid", "nonce_str", "signature", "timestamp", "serial_no"} {
		if out[k] == "" {
			return nil, fmt.Errorf("authorization lacks %s", k)
		}
	}
	return out, nil
}

// apiError is the v3 error body.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// maxBody bounds a JSON response.
const maxBody = 4 << 20

// do sends a signed request to path (path plus query, relative to the base
// URL) and decodes a 2xx JSON answer into out (nil: ignore the body). The
// response signature is verified. Errors: *payrecon.ProviderError for API
// errors (NotFound for 404 ORDER_NOT_EXIST / RESOURCE_NOT_EXISTS, Transient
// for 429, 5xx and SYSTEM_ERROR), ErrTransient-wrapped for network errors,
// ErrSignatureInvalid for a bad response signature.
func (c *Client) do(ctx context.Context, method, path string, body any, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return fmt.Errorf("wechat %s %s: encode body: %w", method, path, err)
		}
	}
	auth, err := c.authorization(method, path, raw)
	if err != nil {
		return fmt.Errorf("wechat %s %s: %w", method, path, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.BaseURL+path, bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("wechat %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "payrecon")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("wechat %s %s: %w: %v", method, path, payrecon.ErrTransient, err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("wechat %s %s: read response: %w: %v", method, path, payrecon.ErrTransient, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("wechat %s %s: %w", method, path, providerError(resp.StatusCode, respBody))
	}
	if err := c.verifyResponse(resp.Header, respBody); err != nil {
		return fmt.Errorf("wechat %s %s: response: %w", method, path, err)
	}
	if out == nil || len(respBody) == 0 {
		return nil
	}
	if err := json.Unmarshal(respBody, out); err != nil {
		return fmt.Errorf("wechat %s %s: decode response: %w", method, path, err)
	}
	return nil
}

// providerError maps a non-2xx answer.
func providerError(status int, body []byte) *payrecon.ProviderError {
	var ae apiError
	_ = json.Unmarshal(body, &ae)
	pe := &payrecon.ProviderError{Provider: Name, Code: ae.Code, Message: ae.Message}
	if pe.Code == "" {
		pe.Code = "HTTP_" + strconv.Itoa(status)
	}
	if len(pe.Message) > 200 {
		pe.Message = pe.Message[:200]
	}
	switch {
	case status == http.StatusNotFound || ae.Code == "ORDER_NOT_EXIST" || ae.Code == "RESOURCE_NOT_EXISTS" || ae.Code == "NOT_FOUND":
		pe.NotFound = true
	case status == http.StatusTooManyRequests || status >= 500 || ae.Code == "SYSTEM_ERROR" || ae.Code == "FREQUENCY_LIMITED" || ae.Code == "BANK_ERROR":
		pe.Transient = true
	}
	return pe
}

// verifySigned checks a Wechatpay-Signature over timestamp\nnonce\nbody\n
// with the platform key named by Wechatpay-Serial, and that the timestamp
// is within TimestampSkew of at (the time the message was received).
// Every failure wraps payrecon.ErrSignatureInvalid and says why.
func (c *Client) verifySigned(h http.Header, body []byte, at time.Time) error {
	serial := h.Get("Wechatpay-Serial")
	ts := h.Get("Wechatpay-Timestamp")
	n := h.Get("Wechatpay-Nonce")
	sig := h.Get("Wechatpay-Signature")
	if serial == "" || ts == "" || n == "" || sig == "" {
		return fmt.Errorf("%w: missing Wechatpay-Serial, -Timestamp, -Nonce or -Signature header", payrecon.ErrSignatureInvalid)
	}
	if t := h.Get("Wechatpay-Signature-Type"); t != "" && t != AuthScheme {
		return fmt.Errorf("%w: unsupported Wechatpay-Signature-Type %q", payrecon.ErrSignatureInvalid, t)
	}
	pub, ok := c.platform[serial]
	if !ok {
		return fmt.Errorf("%w: unknown Wechatpay-Serial %q (no platform certificate or public key with that serial is configured)", payrecon.ErrSignatureInvalid, serial)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: Wechatpay-Timestamp %q is not a unix time", payrecon.ErrSignatureInvalid, ts)
	}
	if skew := at.Sub(time.Unix(sec, 0)); skew > c.cfg.TimestampSkew || skew < -c.cfg.TimestampSkew {
		return fmt.Errorf("%w: Wechatpay-Timestamp %s is %s off the time of receipt (allowed %s)", payrecon.ErrSignatureInvalid, ts, skew.Round(time.Second), c.cfg.TimestampSkew)
	}
	msg := make([]byte, 0, len(ts)+len(n)+len(body)+3)
	msg = append(append(append(append(append(append(msg, ts...), '\n'), n...), '\n'), body...), '\n')
	if err := sign.VerifySHA256RSA(pub, msg, sig); err != nil {
		return fmt.Errorf("%w: Wechatpay-Signature does not verify with key %s", payrecon.ErrSignatureInvalid, serial)
	}
	return nil
}

func (c *Client) verifyResponse(h http.Header, body []byte) error {
	return c.verifySigned(h, body, c.now())
}

// FeeFacts implements payrecon.FeeDeclarer: each trade-bill line states its
// 手续费 (5 decimals, rounded to the fen).
func (c *Client) FeeFacts() payrecon.FeeFacts { return payrecon.FeeFacts{Bill: payrecon.BillTrade} }
