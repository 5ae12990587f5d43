package sandbox

import (
	"encoding/json"
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

// triggerRecord turns the record's amounts into JSON numbers: the payment
// trigger serialises total_cost as a number (baas.md), whatever the list
// API version the sandbox imitates.
func triggerRecord(rec map[string]any) map[string]any {
	for _, k := range []string{"total_cost", "refund_amount"} {
		if v, ok := rec[k].(string); ok {
			rec[k] = json.Number(v)
		}
	}
	return rec
}
