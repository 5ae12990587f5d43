package huawei

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/sign"
)

// Name is the provider's short name.
const Name = "huawei"

// Result codes (resultCode).
const (
	CodeSuccess   = "000000"
	CodeBusiness  = "400000" // see subCode
	CodeUnknown   = "500000" // retry
	CodeRateLimit = "300000" // CALL_FREQUENCY_LIMITED
	CodeBadSign   = "200002" // INVALID_SIGNATURE
)

// Client is one configured Huawei account.
type Client struct {
	cfg     Config
	log     *slog.Logger
	http    *http.Client
	now     func() time.Time
	account string
	signer  merchantSigner
	keys    []certKey
}

type certKey struct {
	certNo string
	key    sign.SM2PublicKey
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
	_ payrecon.Unsigner         = (*Client)(nil)
	_ payrecon.CallbackVerifier = (*Client)(nil)
)

// Option changes a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: one with cfg.Timeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithNow sets the clock (default time.Now).
func WithNow(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithAccount names the account in the bill lines the client delivers.
func WithAccount(name string) Option { return func(c *Client) { c.account = name } }

// New checks cfg and builds a client.
func New(cfg Config, logger *slog.Logger, opts ...Option) (*Client, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("huawei config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, log: logger, now: time.Now}
	s, err := newMerchantSigner(cfg.KeyType, cfg.MerchantKey.Reveal())
	if err != nil {
		return nil, fmt.Errorf("huawei config: merchant_key: %w", err)
	}
	c.signer = s
	for i, k := range cfg.HuaweiPublicKeys {
		pk, err := sign.ParseSM2PublicKey(k.Key)
		if err != nil {
			return nil, fmt.Errorf("huawei config: huawei_public_keys[%d].key: %w", i, err)
		}
		c.keys = append(c.keys, certKey{certNo: strings.TrimSpace(k.CertNo), key: pk})
	}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: cfg.Timeout}
	}
	return c, nil
}

// ProviderName is "huawei".
func (c *Client) ProviderName() string { return Name }

// Config returns the client's config (with defaults).
func (c *Client) Config() Config { return c.cfg }

func (c *Client) partner() bool { return c.cfg.Model == ModelPartner }

// path picks the direct or partner form of an endpoint.
func (c *Client) path(direct, partner string) string {
	if c.partner() {
		return partner
	}
	return direct
}

// keysFor are the Huawei keys to try for a certNo: the one configured
// under it; else (a message naming none, or one not configured) every key
// configured without a cert_no, and for a message naming none every key
// (certNo is optional in the docs; keys rotate).
func (c *Client) keysFor(certNo string) ([]sign.SM2PublicKey, error) {
	var named, unnamed, all []sign.SM2PublicKey
	for _, k := range c.keys {
		switch {
		case certNo != "" && k.certNo == certNo:
			named = append(named, k.key)
		case k.certNo == "":
			unnamed = append(unnamed, k.key)
		}
		all = append(all, k.key)
	}
	switch {
	case len(named) > 0:
		return named, nil
	case certNo == "":
		return all, nil
	case len(unnamed) > 0:
		return unnamed, nil
	}
	return nil, fmt.Errorf("%w: unknown certNo %q", payrecon.ErrSignatureInvalid, certNo)
}

// verifySigned checks the SM2 "sign" of a raw JSON message (response or
// callback) over the sort-join of all its other fields.
func (c *Client) verifySigned(raw []byte, sig, certNo, signType string) error {
	if sig == "" {
		return fmt.Errorf("%w: no sign field", payrecon.ErrSignatureInvalid)
	}
	if signType != "" && !strings.EqualFold(signType, "SM2") {
		return fmt.Errorf("%w: signType %q, want SM2", payrecon.ErrSignatureInvalid, signType)
	}
	keys, err := c.keysFor(certNo)
	if err != nil {
		return err
	}
	s, err := sign.SortJoin(raw)
	if err != nil {
		return err
	}
	for _, key := range keys {
		if err = key.VerifyBase64([]byte(s), sig); err == nil {
			return nil
		}
	}
	return err
}

func (c *Client) traceID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	t := c.now().In(payrecon.Shanghai)
	return t.Format("20060102150405") + fmt.Sprintf("%03d", t.Nanosecond()/1e6) + hex.EncodeToString(b[:])
}

// authHeader builds the PayMercAuth header for one request.
func (c *Client) authHeader(method, requestURI string, body []byte) (string, error) {
	s, err := BodySignString(method, requestURI, body)
	if err != nil {
		return "", err
	}
	bodySign, err := c.signer.sign([]byte(s))
	if err != nil {
		return "", fmt.Errorf("sign body: %w", err)
	}
	a := PayMercAuth{CallerID: c.cfg.callerID(), TraceID: c.traceID(), Time: c.now().UnixMilli(), AuthID: c.cfg.AuthID, BodySign: bodySign}
	a.HeaderSign, err = c.signer.sign([]byte(a.HeaderSignString()))
	if err != nil {
		return "", fmt.Errorf("sign header: %w", err)
	}
	b, err := json.Marshal(a)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// baseResponse holds the fields every response has.
type baseResponse struct {
	ResultCode string `json:"resultCode"`
	ResultDesc string `json:"resultDesc"`
	SubCode    string `json:"subCode"`
	SubDesc    string `json:"subDesc"`
	Sign       string `json:"sign"`
	SignType   string `json:"signType"`
	CertNo     string `json:"certNo"`
}

func transientErr(op, msg string) error {
	return fmt.Errorf("%s: %w", op, &payrecon.ProviderError{Provider: Name, Code: "network", Message: msg, Transient: true})
}

// call sends one signed request and decodes a verified, successful
// response into out. query may be nil; body nil means no body (GET).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body any, out any) error {
	op := "huawei " + method + " " + path
	requestURI := path
	if len(query) > 0 {
		requestURI += "?" + query.Encode()
	}
	var raw []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s: encode body: %w", op, err)
		}
		raw = b
	}
	auth, err := c.authHeader(method, requestURI, raw)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.cfg.BaseURL, "/")+requestURI, rd)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(HeaderAuth, auth)
	started := c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return fmt.Errorf("%s: %w", op, err)
		}
		return transientErr(op, err.Error())
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return transientErr(op, "read response: "+err.Error())
	}
	c.log.Debug("huawei call", "method", method, "path", path, "status", resp.StatusCode, "elapsed", c.now().Sub(started))
	if resp.StatusCode >= 500 {
		return fmt.Errorf("%s: %w", op, &payrecon.ProviderError{Provider: Name, Code: fmt.Sprintf("HTTP %d", resp.StatusCode), Transient: true})
	}
	var base baseResponse
	if err := json.Unmarshal(data, &base); err != nil {
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %w", op, &payrecon.ProviderError{Provider: Name, Code: fmt.Sprintf("HTTP %d", resp.StatusCode)})
		}
		return fmt.Errorf("%s: response is not JSON: %w", op, err)
	}
	signed := base.ResultCode == CodeSuccess || base.ResultCode == CodeBusiness
	if base.Sign != "" || signed {
		if err := c.verifySigned(data, base.Sign, base.CertNo, base.SignType); err != nil {
			return fmt.Errorf("%s: response: %w", op, err)
		}
	}
	if base.ResultCode != CodeSuccess {
		return fmt.Errorf("%s: %w", op, providerError(base))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s: decode response: %w", op, err)
		}
	}
	return nil
}

func providerError(b baseResponse) *payrecon.ProviderError {
	e := &payrecon.ProviderError{Provider: Name, Code: b.ResultCode, SubCode: b.SubCode, Message: b.ResultDesc}
	if b.SubDesc != "" {
		e.Message = b.SubDesc
	}
	switch b.ResultCode {
	case CodeUnknown, CodeRateLimit:
		e.Transient = true
	case CodeBusiness:
		switch {
		case b.SubCode == "UNKNOW_ERROR" || b.SubCode == "UNKNOWN_ERROR" || b.SubCode == "ORDER_CONCURRENT_ERROR" || b.SubCode == "SYSTEM_ERROR":
			e.Transient = true
		case strings.HasSuffix(b.SubCode, "_NOT_EXIST") && b.SubCode != "CUST_NOT_EXIST":
			// PAY_ORDER_NOT_EXIST, MERC_ORDER_NOT_EXIST, REFUND_ORDER_NOT_EXIST, CONTRACT_NOT_EXIST, …
			e.NotFound = true
		}
	}
	return e
}

// fen is a Long amount that also tolerates a numeric string.
type fen int64

func (f *fen) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	var n json.Number = json.Number(s)
	v, err := n.Int64()
	if err != nil {
		return fmt.Errorf("amount %s is not whole fen", b)
	}
	*f = fen(v)
	return nil
}

// flexString accepts a JSON string or number (signStatus is documented as
// both 1 and "1").
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	*f = flexString(b)
	return nil
}

// Time layouts Huawei uses.
const (
	layoutAPI      = "2006-01-02T15:04:05.000-0700" // finishTime, expireTime
	layoutCallback = "2006-01-02 15:04:05"          // callbackTime, operateTime, signedTime (Beijing)
)

// ParseTime reads an API or callback time: "2023-02-23T10:02:04.000+0800"
// (also without millis), or "2006-01-02 15:04:05" in Asia/Shanghai.
// Empty gives the zero time.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range []string{layoutAPI, "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05.000Z07:00", time.RFC3339} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	for _, l := range []string{layoutCallback, "2006-01-02"} {
		if t, err := time.ParseInLocation(l, s, payrecon.Shanghai); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: not a Huawei time", s)
}

// FormatTime renders t as Huawei's API time (finishTime), in Beijing time.
func FormatTime(t time.Time) string { return t.In(payrecon.Shanghai).Format(layoutAPI) }

// FormatLocalTime renders t as "2006-01-02 15:04:05" in Beijing time.
func FormatLocalTime(t time.Time) string { return t.In(payrecon.Shanghai).Format(layoutCallback) }

// FeeFacts implements payrecon.FeeDeclarer: each trade-bill line states its
// 手续费金额(元) (the settlement bill repeats it; the trade bill's is checked).
func (c *Client) FeeFacts() payrecon.FeeFacts { return payrecon.FeeFacts{Bill: payrecon.BillTrade} }
