package qqpay

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/sign"
)

// Name is the provider's short name.
const Name = "qqpay"

// API paths (relative to BaseURL, or RefundBaseURL for apply refund).
const (
	PathOrderQuery  = "/cgi-bin/pay/qpay_order_query.cgi"
	PathRefundQuery = "/cgi-bin/pay/qpay_refund_query.cgi"
	PathRefund      = "/cgi-bin/pay/qpay_refund.cgi"
	PathCloseOrder  = "/cgi-bin/pay/qpay_close_order.cgi"
	PathStatement   = "/cgi-bin/sp_download/qpay_mch_statement_down.cgi"
	PathAccRoll     = "/cgi-bin/sp_download/qpay_mch_acc_roll.cgi"
)

// Client is one QQ Wallet merchant account. Safe for concurrent use.
type Client struct {
	cfg        Config
	log        *slog.Logger
	http       *http.Client
	refundHTTP *http.Client // carries the client certificate when configured
	now        func() time.Time
	cert       *tls.Certificate
}

var (
	_ payrecon.Provider         = (*Client)(nil)
	_ payrecon.BillSource       = (*Client)(nil)
	_ payrecon.FeeDeclarer      = (*Client)(nil)
	_ payrecon.OrderQuerier     = (*Client)(nil)
	_ payrecon.RefundQuerier    = (*Client)(nil)
	_ payrecon.Refunder         = (*Client)(nil)
	_ payrecon.OrderCloser      = (*Client)(nil)
	_ payrecon.CallbackVerifier = (*Client)(nil)
)

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: one with cfg.Timeout). When
// a client certificate is configured, apply refund uses a copy of it whose
// transport presents the certificate.
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
	c := &Client{cfg: cfg, log: logger.With("provider", Name, "account", cfg.Account), now: time.Now}
	if !cfg.ClientCert.IsZero() {
		cert, err := tls.X509KeyPair([]byte(cfg.ClientCert.Reveal()), []byte(cfg.ClientKey.Reveal()))
		if err != nil {
			return nil, fmt.Errorf("qqpay config client_cert/client_key: %w", err)
		}
		c.cert = &cert
	}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: cfg.Timeout}
	}
	c.refundHTTP = c.http
	if c.cert != nil {
		var tr *http.Transport
		if t, ok := c.http.Transport.(*http.Transport); ok && t != nil {
			tr = t.Clone()
		} else {
			tr = http.DefaultTransport.(*http.Transport).Clone()
		}
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.Certificates = []tls.Certificate{*c.cert}
		h := *c.http
		h.Transport = tr
		c.refundHTTP = &h
	}
	return c, nil
}

// ProviderName implements payrecon.Provider.
func (c *Client) ProviderName() string { return Name }

// Config returns the effective configuration (defaults filled in).
func (c *Client) Config() Config { return c.cfg }

// HasClientCert reports whether apply refund presents a client certificate.
func (c *Client) HasClientCert() bool { return c.cert != nil }

// nonce returns 32 random upper-case hex characters.
func nonce() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// Sign computes the signature of params with key (sign and empty values
// excluded) for signType MD5 or HMAC-SHA256.
func Sign(params map[string]string, key, signType string) string {
	if strings.EqualFold(signType, SignHMACSHA256) {
		return sign.V2SignHMACSHA256(params, key)
	}
	return sign.V2SignMD5(params, key)
}

// Verify checks params["sign"]. The scheme is the message's own sign_type
// when it carries one, else fallback.
func Verify(params map[string]string, key, fallback string) bool {
	st := params["sign_type"]
	if st == "" {
		st = fallback
	}
	return params["sign"] != "" && sign.V2Verify(params, key, st)
}

// common adds the account fields, nonce and sign to params.
func (c *Client) signed(params map[string]string) map[string]string {
	params["mch_id"] = c.cfg.MchID
	if c.cfg.AppID != "" {
		params["appid"] = c.cfg.AppID
	}
	if c.cfg.SubMchID != "" {
		params["sub_mch_id"] = c.cfg.SubMchID
	}
	params["nonce_str"] = nonce()
	if c.cfg.SignType == SignHMACSHA256 {
		params["sign_type"] = SignHMACSHA256
	}
	params["sign"] = Sign(params, c.cfg.APIKey.Reveal(), c.cfg.SignType)
	return params
}

// maxBody bounds an XML response.
const maxBody = 1 << 20

// send posts the signed XML request and returns the raw answer (status 2xx).
func (c *Client) send(ctx context.Context, hc *http.Client, base, path string, params map[string]string) (*http.Response, error) {
	body := EncodeXML(c.signed(params))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("qqpay %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("User-Agent", "payrecon")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("qqpay %s: %w: %v", path, payrecon.ErrTransient, err)
	}
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		pe := &payrecon.ProviderError{Provider: Name, Code: fmt.Sprintf("HTTP_%d", resp.StatusCode), Message: clip(string(b)),
			Transient: resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests}
		return nil, fmt.Errorf("qqpay %s: %w", path, pe)
	}
	return resp, nil
}

// call sends one API request and returns the verified answer's fields. A
// FAIL return_code or result_code, or a non-zero retcode, is a
// *payrecon.ProviderError; a missing or wrong response sign wraps
// payrecon.ErrSignatureInvalid.
func (c *Client) call(ctx context.Context, hc *http.Client, base, path string, params map[string]string) (map[string]string, error) {
	resp, err := c.send(ctx, hc, base, path, params)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("qqpay %s: read response: %w: %v", path, payrecon.ErrTransient, err)
	}
	m, err := DecodeXML(raw)
	if err != nil {
		return nil, fmt.Errorf("qqpay %s: response: %w", path, err)
	}
	if pe := responseError(m); pe != nil && m["sign"] == "" {
		// error answers before the signature step carry no sign
		return nil, fmt.Errorf("qqpay %s: %w", path, pe)
	}
	if !Verify(m, c.cfg.APIKey.Reveal(), c.cfg.SignType) {
		return nil, fmt.Errorf("qqpay %s: response: %w: sign missing or does not verify with the api_key", path, payrecon.ErrSignatureInvalid)
	}
	if pe := responseError(m); pe != nil {
		return nil, fmt.Errorf("qqpay %s: %w", path, pe)
	}
	return m, nil
}

// notFoundCodes are the err_code values of a missing order or refund (the
// WeChat-v2 spellings and their underscore variants, [I]).
var notFoundCodes = map[string]bool{
	"ORDERNOTEXIST": true, "ORDER_NOT_EXIST": true, "REFUNDNOTEXIST": true, "REFUND_NOT_EXIST": true,
	"NOT_FOUND": true, "TRADE_NOT_EXIST": true,
}

// transientCodes are the err_code values worth retrying.
var transientCodes = map[string]bool{
	"SYSTEMERROR": true, "SYSTEM_ERROR": true, "FREQUENCY_LIMITED": true, "FREQ_LIMIT": true,
	"BIZERR_NEED_RETRY": true, "USERPAYING": false, "BANKERROR": true,
}

// responseError maps an error answer: return_code FAIL (communication
// level), a non-zero retcode, or result_code FAIL (business level).
func responseError(m map[string]string) *payrecon.ProviderError {
	pe := &payrecon.ProviderError{Provider: Name}
	switch {
	case strings.EqualFold(m["return_code"], "FAIL"):
		pe.Code, pe.Message = "FAIL", m["return_msg"]
		if rc := m["retcode"]; rc != "" && rc != "0" {
			pe.SubCode = rc
		}
	case m["result_code"] != "" && !strings.EqualFold(m["result_code"], "SUCCESS"):
		pe.Code, pe.Message = m["err_code"], m["err_code_des"]
		if pe.Code == "" {
			pe.Code = m["result_code"]
		}
	case m["retcode"] != "" && m["retcode"] != "0":
		pe.Code, pe.Message = m["retcode"], m["retmsg"]
	default:
		return nil
	}
	if pe.Message == "" {
		pe.Message = m["retmsg"]
	}
	pe.Message = clip(pe.Message)
	code := strings.ToUpper(pe.Code)
	msg := strings.ToLower(pe.Message)
	switch {
	case notFoundCodes[code] || strings.Contains(pe.Message, "不存在") || strings.Contains(msg, "not exist"):
		pe.NotFound = true
	case transientCodes[code] || strings.Contains(pe.Message, "繁忙") || strings.Contains(msg, "system error") || strings.Contains(msg, "busy"):
		pe.Transient = true
	}
	return pe
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

// FeeFacts implements payrecon.FeeDeclarer: each statement line states its
// 手续费金额(元) where the column is present and not 暂无数据.
func (c *Client) FeeFacts() payrecon.FeeFacts { return payrecon.FeeFacts{Bill: payrecon.BillTrade} }
