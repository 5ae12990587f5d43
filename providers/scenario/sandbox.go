package scenario

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

// Callback is a callback rendered by a sandbox exactly as the provider
// would send it: headers and raw body, signed (and encrypted) with the
// sandbox's keys.
type Callback struct {
	Header  http.Header
	Body    []byte
	EventID string // the provider's notification id inside the body
}

// Sandbox is what every provider sandbox (providers/<name>/sandbox) offers
// to the conformance suite, the demo and the tests. A sandbox is a fake of
// the provider's real HTTP API on loopback, serving the Scenario.
type Sandbox interface {
	// URL is the base URL to configure as the account's API base.
	URL() string
	// ProviderName is the provider's short name ("huawei", "wechat", …).
	ProviderName() string
	Scenario() *Scenario
	// PaymentCallback, RefundCallback and AgreementCallback render signed
	// callbacks of the provider's real shape for an event. Agreement
	// callbacks are sign or unsign callbacks according to a.Status.
	PaymentCallback(p Payment) (Callback, error)
	RefundCallback(r Refund) (Callback, error)
	AgreementCallback(a Agreement) (Callback, error)
	// Calls lists the API calls the sandbox received, "METHOD /path", in order.
	Calls() []string
	Close()
}

// Fire posts cb to url like the provider would and returns the HTTP status
// and body of the answer.
func Fire(ctx context.Context, client *http.Client, url string, cb Callback) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(cb.Body))
	if err != nil {
		return 0, nil, err
	}
	for k, vs := range cb.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("fire callback: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// Edit changes a rendered callback for a Resigner. Every function may be
// nil (no change).
type Edit struct {
	// Payload edits the business payload in the provider's own format:
	// the bytes that carry amounts, numbers and status and that the
	// provider signs or encrypts — Huawei's JSON body, WeChat Pay's
	// decrypted resource plaintext (encrypted again), Alipay's form body,
	// QQ Wallet's XML, Douyin's msg, MinCloud's JSON body.
	Payload func(payload []byte) ([]byte, error)
	// Body edits the body as sent, after Payload and before it is signed
	// again: WeChat Pay's notification envelope and Douyin's outer JSON;
	// for the other providers the same bytes as Payload.
	Body func(body []byte) ([]byte, error)
	// Header edits the headers last, after signing (e.g. Content-Type).
	Header func(h http.Header)
}

// Resigner is implemented by sandboxes that re-render one of their
// callbacks after an edit, signed (and encrypted) again with their keys the
// way the provider would, so that tests can make hostile but authentic
// callbacks in each provider's own format. Where the edit makes the
// payload ambiguous (a repeated key or parameter), the signature covers
// what a lenient reader would take (the last value). An edit to the
// payload that cannot be rendered is an error.
type Resigner interface {
	Resign(cb Callback, e Edit) (Callback, error)
}

// ApplyEdit runs edit (nil: no change) on a copy of b.
func ApplyEdit(edit func([]byte) ([]byte, error), b []byte) ([]byte, error) {
	b = append([]byte(nil), b...)
	if edit == nil {
		return b, nil
	}
	return edit(b)
}

// EditBody applies Payload then Body to a copy of body, for providers whose
// signed payload is the body itself (Huawei, Alipay, QQ Wallet, MinCloud).
func (e Edit) EditBody(body []byte) ([]byte, error) {
	body, err := ApplyEdit(e.Payload, body)
	if err != nil {
		return nil, err
	}
	return ApplyEdit(e.Body, body)
}

// FinishHeader returns h (cloned; nil becomes empty) after e.Header.
func (e Edit) FinishHeader(h http.Header) http.Header {
	h = h.Clone()
	if h == nil {
		h = http.Header{}
	}
	if e.Header != nil {
		e.Header(h)
	}
	return h
}
