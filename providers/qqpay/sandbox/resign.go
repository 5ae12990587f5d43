package sandbox

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"github.com/payrecon/payrecon/providers/qqpay"
	"github.com/payrecon/payrecon/providers/scenario"
)

var _ scenario.Resigner = (*Sandbox)(nil)

// Resign implements scenario.Resigner: the payload is the XML body itself
// (e.Payload then e.Body edit it), signed again with the API key over the
// elements a lenient reader keeps (the last of repeated ones; invalid
// UTF-8 read as U+FFFD), the new <sign> put in place of the old one.
func (s *Sandbox) Resign(cb scenario.Callback, e scenario.Edit) (scenario.Callback, error) {
	body, err := e.EditBody(cb.Body)
	if err != nil {
		return scenario.Callback{}, fmt.Errorf("qqpay sandbox resign: %w", err)
	}
	m, err := lenientXML(bytes.ToValidUTF8(body, []byte("\uFFFD")))
	if err != nil {
		return scenario.Callback{}, fmt.Errorf("qqpay sandbox resign: %w", err)
	}
	old := m["sign"]
	delete(m, "sign")
	sig := qqpay.Sign(m, APIKey, s.opts.SignType)
	oldElem := []byte("<sign>" + old + "</sign>")
	if old == "" || !bytes.Contains(body, oldElem) {
		return scenario.Callback{}, errors.New("qqpay sandbox resign: edited body has no <sign> to replace")
	}
	body = bytes.Replace(body, oldElem, []byte("<sign>"+sig+"</sign>"), 1)
	return scenario.Callback{Header: e.FinishHeader(cb.Header), Body: body, EventID: cb.EventID}, nil
}

// lenientXML reads the second-level elements of a document, the last of
// repeated ones winning.
func lenientXML(body []byte) (map[string]string, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	m := map[string]string{}
	depth := 0
	var key string
	var val []byte
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 {
				key, val = t.Name.Local, val[:0]
			}
		case xml.EndElement:
			if depth == 2 {
				m[key] = string(val)
			}
			depth--
		case xml.CharData:
			if depth == 2 {
				val = append(val, t...)
			}
		}
	}
}
