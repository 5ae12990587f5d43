// Package testverifier is a callback scheme for intake's tests and its
// crash-test server, so they need no real provider: the body is JSON, signed
// with HMAC-SHA256 (hex, header X-Test-Signature) under a shared key.
//
//	{"event_id":"evt-1","type":"payment","entries":[{"key":"payment:T1:success",
//	  "kind":"payment","status":"success","order":"M1","txn":"T1",
//	  "amount":"12.30","occurred_at":"2026-11-20T10:00:00+08:00"}]}
//
// Amounts are yuan strings parsed exactly (payrecon.ParseYuan). Replies
// mimic a provider: 200 {"code":"SUCCESS"} or 400 {"code":"FAIL","message":…}
// (the status the verifier chose; intake turns store failures into 500).
package testverifier

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/payrecon/payrecon"
)

// Header carries the signature.
const Header = "X-Test-Signature"

// Verifier implements payrecon.CallbackVerifier for the test scheme.
type Verifier struct {
	Key      []byte
	Provider string
}

var _ payrecon.CallbackVerifier = Verifier{}

// Body is the callback body.
type Body struct {
	EventID string  `json:"event_id"`
	Type    string  `json:"type"`
	Entries []Entry `json:"entries"`
}

// Entry is one ledger entry in a callback.
type Entry struct {
	Key        string `json:"key"`
	Kind       string `json:"kind"`
	Status     string `json:"status"`
	Order      string `json:"order"`
	Txn        string `json:"txn"`
	Amount     string `json:"amount"`
	OccurredAt string `json:"occurred_at"`
}

// Sign returns the signature header value for body.
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyCallback checks the signature, then reads the body.
func (v Verifier) VerifyCallback(req payrecon.CallbackRequest) (payrecon.VerifiedCallback, error) {
	sig, err := hex.DecodeString(req.Header.Get(Header))
	if err != nil || len(sig) == 0 {
		return payrecon.VerifiedCallback{}, fmt.Errorf("%w: missing or malformed %s", payrecon.ErrSignatureInvalid, Header)
	}
	m := hmac.New(sha256.New, v.Key)
	m.Write(req.Body)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return payrecon.VerifiedCallback{}, fmt.Errorf("%w: hmac mismatch", payrecon.ErrSignatureInvalid)
	}
	var b Body
	if err := json.Unmarshal(req.Body, &b); err != nil {
		return payrecon.VerifiedCallback{}, fmt.Errorf("malformed callback body: %w", err)
	}
	if b.EventID == "" {
		return payrecon.VerifiedCallback{}, errors.New("callback body: event_id is required")
	}
	out := payrecon.VerifiedCallback{EventID: b.EventID, Type: b.Type}
	for i, e := range b.Entries {
		amount, err := payrecon.ParseYuan(e.Amount)
		if err != nil {
			return payrecon.VerifiedCallback{}, fmt.Errorf("callback body entries[%d].amount: %w", i, err)
		}
		at, err := time.Parse(time.RFC3339Nano, e.OccurredAt)
		if err != nil {
			return payrecon.VerifiedCallback{}, fmt.Errorf("callback body entries[%d].occurred_at: %w", i, err)
		}
		out.Entries = append(out.Entries, payrecon.LedgerEntry{
			Account: req.Account, Provider: v.Provider, EventKey: e.Key,
			Kind: payrecon.Kind(e.Kind), Status: payrecon.Status(e.Status),
			MerchantOrderNo: e.Order, ProviderTxnNo: e.Txn,
			Amount: amount, PayerAmount: amount, Currency: "CNY", OccurredAt: at,
		})
	}
	return out, nil
}

// Reply renders the acknowledgement.
func (v Verifier) Reply(err error) payrecon.CallbackReply {
	if err == nil {
		return payrecon.CallbackReply{Status: 200, ContentType: "application/json", Body: []byte(`{"code":"SUCCESS"}`)}
	}
	b, _ := json.Marshal(map[string]string{"code": "FAIL", "message": err.Error()})
	return payrecon.CallbackReply{Status: 400, ContentType: "application/json", Body: b}
}

// Callback builds a signed body for event with n payment entries of amount
// yuan each, keyed "<event>:<i>".
func Callback(key []byte, event string, n int, amount string) (body []byte, signature string) {
	b := Body{EventID: event, Type: "payment"}
	for i := 0; i < n; i++ {
		b.Entries = append(b.Entries, Entry{
			Key: fmt.Sprintf("%s:%d", event, i), Kind: "payment", Status: "success",
			Order: fmt.Sprintf("M-%s-%d", event, i), Txn: fmt.Sprintf("T-%s-%d", event, i),
			Amount: amount, OccurredAt: "2026-11-20T10:00:00.123456+08:00",
		})
	}
	body, _ = json.Marshal(b)
	return body, Sign(key, body)
}
