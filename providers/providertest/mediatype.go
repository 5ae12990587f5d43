package providertest

import (
	"mime"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/scenario"
)

// testCallbackMediaType: the verifier declares the media type its
// provider's callbacks carry (payrecon.CallbackMediaTyper; an imported
// callback captured without headers is given it), and it is the one the
// sandbox's callbacks are sent with.
func testCallbackMediaType(t *testing.T, h Harness, pl planted) {
	v := h.Verifier
	if v == nil {
		var ok bool
		if v, ok = h.Provider.(payrecon.CallbackVerifier); !ok {
			t.Skip("provider has no CallbackVerifier")
		}
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
