package alipay

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/sign"
)

// Name is the provider's short name.
const Name = "alipay"

// Sign types Alipay knows: RSA2 is SHA256withRSA, RSA the legacy SHA1withRSA.
const (
	SignTypeRSA2 = "RSA2"
	SignTypeRSA  = "RSA"
)

// Client is one Alipay application. Safe for concurrent use.
type Client struct {
	cfg  Config
	log  *slog.Logger
	http *http.Client
	now  func() time.Time
	key  *rsa.PrivateKey
	pub  *rsa.PublicKey
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
		return nil, fmt.Errorf("alipay config private_key: %w", err)
	}
	pub, err := sign.ParseRSAPublicKey([]byte(cfg.AlipayPublicKey.Reveal()))
	if err != nil {
		return nil, fmt.Errorf("alipay config alipay_public_key: %w", err)
	}
	c := &Client{cfg: cfg, log: logger.With("provider", Name, "account", cfg.Account), key: key, pub: pub, now: time.Now}
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

// SignContent is the string Alipay signs for a parameter set: every
// parameter except sign (and except the names in drop) whose value is not
// empty, sorted by name, joined as k=v with &. Values are the decoded ones.
// A request's sign covers sign_type too (SignContent(p)); a notification's
// does not (SignContent(v, "sign_type")).
func SignContent(params url.Values, drop ...string) string {
	fields := make(map[string]string, len(params))
	for k, vs := range params {
		if k == "sign" || len(vs) == 0 || vs[0] == "" {
			continue
		}
		skip := false
		for _, d := range drop {
			if k == d {
				skip = true
			}
		}
		if !skip {
			fields[k] = vs[0]
		}
	}
	return sign.SortJoinFields(fields)
}

// NotifySignContent is the string a notification's sign covers, as the
// docs put it: every parameter received except sign and sign_type (and
// drop), empty ones included, sorted by name, joined as k=v with &.
func NotifySignContent(params url.Values, drop ...string) string {
	fields := make(map[string]string, len(params))
	for k, vs := range params {
		if k == "sign" || k == "sign_type" || len(vs) == 0 || slices.Contains(drop, k) {
			continue
		}
		fields[k] = vs[0]
	}
	return sign.SortJoinFields(fields)
}

// SignParams signs params in place with key (sign_type RSA2).
func SignParams(key *rsa.PrivateKey, params url.Values) error {
	params.Set("sign_type", SignTypeRSA2)
	s, err := sign.SignSHA256RSA(key, []byte(SignContent(params)))
	if err != nil {
		return err
	}
	params.Set("sign", s)
	return nil
}

// VerifyRSA checks a base64 signature of msg with pub for sign type RSA2
// (SHA256withRSA, also when signType is empty) or RSA (SHA1withRSA).
func VerifyRSA(pub *rsa.PublicKey, signType string, msg []byte, sigB64 string) error {
	switch signType {
	case SignTypeRSA2, "":
		return sign.VerifySHA256RSA(pub, msg, sigB64)
	case SignTypeRSA:
		sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sigB64))
		if err != nil {
			return fmt.Errorf("%w: signature is not base64", sign.ErrRSAVerify)
		}
		sum := sha1.Sum(msg)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA1, sum[:], sig); err != nil {
			return sign.ErrRSAVerify
		}
		return nil
	}
	return fmt.Errorf("unsupported sign_type %q", signType)
}

// ResponseKey is the member of a gateway answer that holds method's
// result: "alipay.trade.query" → "alipay_trade_query_response".
func ResponseKey(method string) string { return strings.ReplaceAll(method, ".", "_") + "_response" }

// commonResponse is what every xxx_response holds.
type commonResponse struct {
	Code    string `json:"code"`
	Msg     string `json:"msg"`
	SubCode string `json:"sub_code"`
	SubMsg  string `json:"sub_msg"`
}

// VerifyResponse extracts the raw text of method's xxx_response member (or
// error_response) from a gateway answer and verifies the answer's sign over
// exactly those bytes. Alipay leaves some error_response answers (bad
// app_id, bad signature) unsigned: those are returned unverified, the caller
// only reads their error code. Failures wrap payrecon.ErrSignatureInvalid.
func VerifyResponse(pub *rsa.PublicKey, method string, body []byte) (json.RawMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, fmt.Errorf("answer is not json: %w", err)
	}
	raw, ok := top[ResponseKey(method)]
	isErr := false
	if !ok {
		if raw, ok = top["error_response"]; !ok {
			return nil, fmt.Errorf("answer has no %s", ResponseKey(method))
		}
		isErr = true
	}
	var sig string
	if s, ok := top["sign"]; ok {
		if err := json.Unmarshal(s, &sig); err != nil {
			return nil, fmt.Errorf("%w: sign is not a string", payrecon.ErrSignatureInvalid)
		}
	}
	if sig == "" {
		if isErr {
			return raw, nil
		}
		return nil, fmt.Errorf("%w: answer is not signed", payrecon.ErrSignatureInvalid)
	}
	if err := sign.VerifySHA256RSA(pub, raw, sig); err != nil {
		return nil, fmt.Errorf("%w: answer's sign does not verify with alipay_public_key", payrecon.ErrSignatureInvalid)
	}
	return raw, nil
}

// maxBody bounds a gateway answer.
const maxBody = 4 << 20

// call sends a signed gateway request for method with biz (marshalled to
// biz_content) and decodes a code-10000 answer into out. Errors:
// *payrecon.ProviderError for business errors (NotFound, Transient as the
// codes say), ErrTransient-wrapped for network and 5xx, ErrSignatureInvalid
// for an answer that does not verify.
func (c *Client) call(ctx context.Context, method string, biz any, out any) error {
	bizJSON, err := json.Marshal(biz)
	if err != nil {
		return fmt.Errorf("alipay %s: encode biz_content: %w", method, err)
	}
	p := url.Values{
		"app_id":      {c.cfg.AppID},
		"method":      {method},
		"format":      {"JSON"},
		"charset":     {"utf-8"},
		"timestamp":   {c.now().In(payrecon.Shanghai).Format("2006-01-02 15:04:05")},
		"version":     {"1.0"},
		"biz_content": {string(bizJSON)},
	}
	if c.cfg.AppCertSN != "" {
		p.Set("app_cert_sn", c.cfg.AppCertSN)
		p.Set("alipay_root_cert_sn", c.cfg.AlipayRootCertSN)
	}
	if !c.cfg.AppAuthToken.IsZero() {
		p.Set("app_auth_token", c.cfg.AppAuthToken.Reveal())
	}
	if err := SignParams(c.key, p); err != nil {
		return fmt.Errorf("alipay %s: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+GatewayPath+"?charset=utf-8", strings.NewReader(p.Encode()))
	if err != nil {
		return fmt.Errorf("alipay %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "payrecon")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("alipay %s: %w: %v", method, payrecon.ErrTransient, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("alipay %s: read answer: %w: %v", method, payrecon.ErrTransient, err)
	}
	if resp.StatusCode/100 != 2 {
		pe := &payrecon.ProviderError{Provider: Name, Code: fmt.Sprintf("HTTP_%d", resp.StatusCode), Transient: resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests}
		return fmt.Errorf("alipay %s: %w", method, pe)
	}
	raw, err := VerifyResponse(c.pub, method, body)
	if err != nil {
		return fmt.Errorf("alipay %s: %w", method, err)
	}
	var cr commonResponse
	if err := json.Unmarshal(raw, &cr); err != nil {
		return fmt.Errorf("alipay %s: decode answer: %w", method, err)
	}
	if cr.Code != "10000" {
		return fmt.Errorf("alipay %s: %w", method, providerError(cr))
	}
	if out != nil {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		if err := dec.Decode(out); err != nil {
			return fmt.Errorf("alipay %s: decode answer: %w", method, err)
		}
	}
	return nil
}

// notFoundCodes are sub_codes meaning "no such trade / refund / agreement".
var notFoundCodes = map[string]bool{
	"ACQ.TRADE_NOT_EXIST":          true,
	"TRADE_NOT_EXIST":              true,
	"USER_AGREEMENT_NOT_EXIST":     true,
	"ACQ.USER_AGREEMENT_NOT_EXIST": true,
	"AGREEMENT_NOT_EXIST":          true,
	"USER_AGREEMENT_NOT_EXISTS":    true,
}

// transientCodes are sub_codes Alipay asks to retry.
var transientCodes = map[string]bool{
	"ACQ.SYSTEM_ERROR":            true,
	"SYSTEM_ERROR":                true,
	"aop.ACQ.SYSTEM_ERROR":        true,
	"isp.unknow-error":            true,
	"isp.unknown-error":           true,
	"aop.unknow-error":            true,
	"isv.app-call-limited":        true,
	"aop.invalid-app-call-limit":  true,
	"ACQ.REQUEST_FREQUENCY_LIMIT": true,
}

// providerError maps a code other than 10000. Code 20000 (服务不可用) is
// transient whatever its sub_code; 40004 is a business failure.
func providerError(cr commonResponse) *payrecon.ProviderError {
	msg := cr.SubMsg
	if msg == "" {
		msg = cr.Msg
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	pe := &payrecon.ProviderError{Provider: Name, Code: cr.Code, SubCode: cr.SubCode, Message: msg}
	switch {
	case notFoundCodes[cr.SubCode]:
		pe.NotFound = true
	case cr.Code == "20000" || transientCodes[cr.SubCode] || strings.Contains(strings.ToUpper(cr.SubCode), "SYSTEM_ERROR") || strings.Contains(cr.SubCode, "limit"):
		pe.Transient = true
	}
	return pe
}

// FeeFacts implements payrecon.FeeDeclarer: each 业务明细 line states its
// 服务费（元）.
func (c *Client) FeeFacts() payrecon.FeeFacts { return payrecon.FeeFacts{Bill: payrecon.BillTrade} }
