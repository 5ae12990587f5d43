package qqpay

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
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
// escaped text) into a map. Nested elements, a repeated key or text outside
// the elements are errors: what is signed must be unambiguous.
func DecodeXML(body []byte) (map[string]string, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	out := map[string]string{}
	depth := 0
	var key string
	var val strings.Builder
	root := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if root {
					return nil, errors.New("xml: more than one root element")
				}
				root = true
			case 2:
				key = t.Name.Local
				val.Reset()
			default:
				return nil, fmt.Errorf("xml: element <%s> nested in <%s>", t.Name.Local, key)
			}
		case xml.EndElement:
			if depth == 2 {
				if _, dup := out[key]; dup {
					return nil, fmt.Errorf("xml: <%s> appears twice", key)
				}
				out[key] = val.String()
			}
			depth--
		case xml.CharData:
			switch depth {
			case 2:
				val.Write(t)
			default:
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, errors.New("xml: text outside the parameter elements")
				}
			}
		}
	}
	if !root {
		return nil, errors.New("xml: empty document")
	}
	return out, nil
}
