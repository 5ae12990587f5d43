package qqpay

import (
	"bytes"
	"encoding/xml"
	"sort"

	"github.com/payrecon/payrecon/providers/internal/strict"
)

// EncodeXML renders a flat parameter map as QQ Wallet's request / notify
// body: <xml><key>value</key>…</xml>, keys sorted, values escaped, empty
// values left out (they are not signed either).
func EncodeXML(params map[string]string) []byte {
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString("<xml>")
	for _, k := range keys {
		b.WriteString("<" + k + ">")
		_ = xml.EscapeText(&b, []byte(params[k]))
		b.WriteString("</" + k + ">")
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

// DecodeXML reads a flat <xml><key>value</key>…</xml> document (CDATA or
// escaped text) into a map with the shared strict reader (package strict):
// UTF-8 only, one root, no nested element, no repeated key (rule
// repeated_param), no text outside the elements, no DOCTYPE or entity
// declaration: what is signed must be unambiguous.
func DecodeXML(body []byte) (map[string]string, error) {
	return strict.ParseXML(body)
}
