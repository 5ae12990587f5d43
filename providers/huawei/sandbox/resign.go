package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/payrecon/payrecon/providers/scenario"
)

var _ scenario.Resigner = (*Sandbox)(nil)

// Resign implements scenario.Resigner: the payload is the JSON body itself
// (e.Payload then e.Body edit it), signed again with the current key over
// the sort-join of the fields a lenient reader keeps (the last of repeated
// keys), the new sign put in place of the old one in the edited bytes.
func (sb *Sandbox) Resign(cb scenario.Callback, e scenario.Edit) (scenario.Callback, error) {
	body, err := e.EditBody(cb.Body)
	if err != nil {
		return scenario.Callback{}, fmt.Errorf("huawei sandbox resign: %w", err)
	}
	var fields map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		return scenario.Callback{}, fmt.Errorf("huawei sandbox resign: edited body: %w", err)
	}
	old, _ := fields["sign"].(string)
	signed, err := sb.signFields(fields)
	if err != nil {
		return scenario.Callback{}, fmt.Errorf("huawei sandbox resign: %w", err)
	}
	var s struct {
		Sign string `json:"sign"`
	}
	if err := json.Unmarshal(signed, &s); err != nil {
		return scenario.Callback{}, err
	}
	oldField, newField := []byte(`"sign":"`+old+`"`), []byte(`"sign":"`+s.Sign+`"`)
	if old == "" || !bytes.Contains(body, oldField) {
		return scenario.Callback{}, fmt.Errorf("huawei sandbox resign: edited body has no sign field to replace")
	}
	body = bytes.Replace(body, oldField, newField, 1)
	return scenario.Callback{Header: e.FinishHeader(cb.Header), Body: body, EventID: cb.EventID}, nil
}
