package strict

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseXML reads a flat <root><key>value</key>…</root> document (escaped
// text or CDATA) into a map, strictly: the body is UTF-8 (an XML
// declaration may say so and nothing else), there is exactly one root
// element, no element is nested below the parameters, no parameter
// element appears twice, no text stands outside them, and there is no
// DOCTYPE, entity declaration or other directive (only the five predefined
// entities and character references are read).
func ParseXML(body []byte) (map[string]string, error) {
	if !utf8.Valid(body) {
		return nil, &Error{Rule: RuleUTF8, Field: "body", Detail: "is not valid UTF-8 at byte " + strconv.Itoa(invalidAt(body))}
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	dec.CharsetReader = func(charset string, _ io.Reader) (io.Reader, error) {
		return nil, &Error{Rule: RuleUTF8, Field: "body", Detail: "declares encoding " + clip(charset) + ", not UTF-8"}
	}
	out := map[string]string{}
	depth, roots := 0, 0
	var key string
	var val strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *Error
			if errors.As(err, &se) {
				return nil, se
			}
			return nil, &Error{Rule: RuleSyntax, Field: "body", Detail: "is not well-formed XML: " + err.Error()}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				roots++
				if roots > 1 {
					return nil, &Error{Rule: RuleSyntax, Field: "<" + t.Name.Local + ">", Detail: "is a second root element"}
				}
			case 2:
				key = t.Name.Local
				val.Reset()
			default:
				return nil, &Error{Rule: RuleSyntax, Field: "<" + t.Name.Local + ">", Detail: "is nested in <" + key + ">"}
			}
		case xml.EndElement:
			if depth == 2 {
				if _, dup := out[key]; dup {
					return nil, &Error{Rule: RuleRepeatedParam, Field: key, Detail: "appears more than once"}
				}
				out[key] = val.String()
			}
			depth--
		case xml.CharData:
			if depth == 2 {
				val.Write(t)
			} else if len(bytes.TrimSpace(t)) != 0 {
				return nil, &Error{Rule: RuleSyntax, Field: "body", Detail: "has text outside the parameter elements"}
			}
		case xml.Directive:
			return nil, &Error{Rule: RuleSyntax, Field: "body", Detail: "has a directive <!" + clip(firstWord(t)) + ": no DOCTYPE or entity declarations"}
		case xml.ProcInst:
			if t.Target != "xml" || depth != 0 || roots != 0 {
				return nil, &Error{Rule: RuleSyntax, Field: "body", Detail: "has a processing instruction <?" + clip(t.Target) + ">"}
			}
		}
	}
	if roots == 0 {
		return nil, &Error{Rule: RuleSyntax, Field: "body", Detail: "has no root element"}
	}
	return out, nil
}

func firstWord(b []byte) string {
	s := string(b)
	if i := strings.IndexAny(s, " \t\r\n["); i >= 0 {
		s = s[:i]
	}
	if len(s) > 16 {
		s = s[:16]
	}
	return s
}

func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}
