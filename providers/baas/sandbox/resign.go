package sandbox

import (
	"fmt"

	"github.com/payrecon/payrecon/providers/baas"
	"github.com/payrecon/payrecon/providers/scenario"
)

var _ scenario.Resigner = (*Sandbox)(nil)

// Resign implements scenario.Resigner: the payload is the webhook's JSON
// body itself (e.Payload then e.Body edit it), its HMAC header computed
// again with CallbackSecret.
func (s *Sandbox) Resign(cb scenario.Callback, e scenario.Edit) (scenario.Callback, error) {
	body, err := e.EditBody(cb.Body)
	if err != nil {
		return scenario.Callback{}, fmt.Errorf("baas sandbox resign: %w", err)
	}
	h := cb.Header.Clone()
	if h == nil {
		h = map[string][]string{}
	}
	h.Set(baas.DefaultSignatureHeader, baas.SignCallback([]byte(CallbackSecret), body))
	return scenario.Callback{Header: e.FinishHeader(h), Body: body, EventID: cb.EventID}, nil
}
