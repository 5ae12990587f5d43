package providertest

import (
	"bytes"
	"errors"
	"mime"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/scenario"
)

// verifier is the callback verifier the checks play against: Verifier,
// else the Provider.
func (h Harness) verifier() (payrecon.CallbackVerifier, bool) {
	if h.Verifier != nil {
		return h.Verifier, true
	}
	v, ok := h.Provider.(payrecon.CallbackVerifier)
	return v, ok
}

// testCallbackMediaType: the verifier declares the media type its
// provider's callbacks carry (payrecon.CallbackMediaTyper; an imported
// callback captured without headers is given it), and it is the one the
// sandbox's callbacks are sent with.
func testCallbackMediaType(t *testing.T, h Harness, pl planted) {
	v, ok := h.verifier()
	if !ok {
		t.Skip("provider has no CallbackVerifier")
	}
	mt, ok := v.(payrecon.CallbackMediaTyper)
	if !ok {
		t.Fatalf("%T declares no callback media type (payrecon.CallbackMediaTyper)", v)
	}
	declared := mt.CallbackMediaType()
	if parsed, _, err := mime.ParseMediaType(declared); err != nil || parsed != declared {
		t.Fatalf("declared media type %q is not a bare media type (%v)", declared, err)
	}
	if len(pl.paid) == 0 {
		t.Fatal("no payment planted")
	}
	cb, ok := render(t, "payment", func() (scenario.Callback, error) { return h.Sandbox.PaymentCallback(pl.paid[0]) })
	if !ok {
		t.Skip("the sandbox renders no payment callback")
	}
	sent, _, err := mime.ParseMediaType(cb.Header.Get("Content-Type"))
	if err != nil || sent != declared {
		t.Errorf("the sandbox sends callbacks as %q (%v), the verifier declares %q", cb.Header.Get("Content-Type"), err, declared)
	}
}

// testTamperedKeepsEventID: a callback whose signature fails still names
// the notification it claims to be (payrecon.WithEventID, or
// VerifiedCallback.EventID alongside the error), so the rejected callback
// kept for audit can be traced to the real one. Every byte flipped away
// from the event id (and the name before it) is tried.
func testTamperedKeepsEventID(t *testing.T, h Harness, pl planted) {
	v, ok := h.verifier()
	if !ok {
		t.Skip("provider has no CallbackVerifier")
	}
	cb, ok := render(t, "payment", func() (scenario.Callback, error) { return h.Sandbox.PaymentCallback(pl.paid[2]) })
	if !ok {
		t.Skip("the sandbox renders no payment callback")
	}
	at := bytes.Index(cb.Body, []byte(cb.EventID))
	if cb.EventID == "" || at < 0 {
		t.Skip("the provider's callbacks carry no event id of their own in the body")
	}
	tried := 0
	for _, pos := range flipPositions(cb.Body) {
		if pos >= at-32 && pos <= at+len(cb.EventID)+32 {
			continue
		}
		bad := cb
		bad.Body = append([]byte(nil), cb.Body...)
		bad.Body[pos] = flip(bad.Body[pos])
		vc, err := v.VerifyCallback(h.request(bad))
		if !errors.Is(err, payrecon.ErrSignatureInvalid) {
			continue // a strict decoding refusal: the body may not be readable
		}
		tried++
		got := vc.EventID
		if got == "" {
			got = payrecon.EventIDOf(err)
		}
		if got != cb.EventID {
			t.Fatalf("byte %d flipped: rejected with event id %q, want %q (err %v)", pos, got, cb.EventID, err)
		}
	}
	if tried == 0 {
		t.Skip("no flip reached the signature check")
	}
}
