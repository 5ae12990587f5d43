package strict

import (
	"bytes"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseForm decodes an application/x-www-form-urlencoded body strictly:
// every pair is key=value (a pair without "=" has an empty value, empty
// pairs are skipped), "+" is a space and every "%" starts a valid
// two-digit escape, no parameter appears twice, no key is empty, and every
// decoded key and value is valid text in the body's charset. That charset
// is the value of charsetParam when the provider declares one inside the
// body (Alipay's "charset"), else the Content-Type's charset, else UTF-8;
// UTF-8 and GBK / GB2312 / GB18030 are known (GB text is validated, not
// converted: signatures are over the bytes as sent).
func ParseForm(body []byte, contentCharset, charsetParam string) (url.Values, error) {
	v := url.Values{}
	for rest := body; len(rest) > 0; {
		var pair []byte
		if i := bytes.IndexByte(rest, '&'); i >= 0 {
			pair, rest = rest[:i], rest[i+1:]
		} else {
			pair, rest = rest, nil
		}
		if len(pair) == 0 {
			continue
		}
		rawKey, rawVal, _ := bytes.Cut(pair, []byte{'='})
		key, ok := formUnescape(rawKey)
		if !ok {
			return nil, &Error{Rule: RuleSyntax, Field: clip(string(rawKey)), Detail: "is not valid percent-encoding"}
		}
		if key == "" {
			return nil, &Error{Rule: RuleSyntax, Field: "body", Detail: "has a parameter with no name"}
		}
		val, ok := formUnescape(rawVal)
		if !ok {
			return nil, &Error{Rule: RuleSyntax, Field: key, Detail: "value is not valid percent-encoding"}
		}
		if _, dup := v[key]; dup {
			return nil, &Error{Rule: RuleRepeatedParam, Field: key, Detail: "appears more than once"}
		}
		v[key] = []string{val}
	}
	charset := contentCharset
	if charsetParam != "" && v.Get(charsetParam) != "" {
		charset = strings.ToLower(v.Get(charsetParam))
	}
	valid, err := textValidator(charset)
	if err != nil {
		return nil, err
	}
	for k, vs := range v {
		if !valid([]byte(k)) {
			return nil, &Error{Rule: RuleUTF8, Field: clip(k), Detail: "name is not valid " + charsetName(charset)}
		}
		if !valid([]byte(vs[0])) {
			return nil, &Error{Rule: RuleUTF8, Field: k, Detail: "is not valid " + charsetName(charset)}
		}
	}
	return v, nil
}

func charsetName(cs string) string {
	if cs == "" {
		return "utf-8"
	}
	return cs
}

// textValidator returns the validity check of a declared charset.
func textValidator(charset string) (func([]byte) bool, error) {
	switch charset {
	case "", "utf-8", "utf8":
		return utf8.Valid, nil
	case "gbk", "gb2312", "gb18030":
		return validGB18030, nil
	}
	return nil, &Error{Rule: RuleUTF8, Field: "charset", Detail: clip(charset) + " is not utf-8, gbk or gb18030"}
}

// validGB18030 checks the byte structure of GB18030 (a superset of GBK and
// GB2312): ASCII, two-byte 81–FE 40–7E/80–FE, four-byte 81–FE 30–39 81–FE 30–39.
func validGB18030(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < 0x80:
			i++
		case c == 0x80 || c == 0xFF:
			return false
		case i+1 < len(b) && (b[i+1] >= 0x40 && b[i+1] <= 0x7E || b[i+1] >= 0x80 && b[i+1] <= 0xFE):
			i += 2
		case i+3 < len(b) && b[i+1] >= 0x30 && b[i+1] <= 0x39 && b[i+2] >= 0x81 && b[i+2] <= 0xFE && b[i+3] >= 0x30 && b[i+3] <= 0x39:
			i += 4
		default:
			return false
		}
	}
	return true
}

// formUnescape decodes "+" and %XX; a "%" not followed by two hex digits
// is an error.
func formUnescape(s []byte) (string, bool) {
	if bytes.IndexByte(s, '%') < 0 && bytes.IndexByte(s, '+') < 0 {
		return string(s), true
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			out = append(out, ' ')
		case '%':
			if i+2 >= len(s) {
				return "", false
			}
			n, err := strconv.ParseUint(string(s[i+1:i+3]), 16, 8)
			if err != nil || s[i+1] == '+' || s[i+1] == '-' {
				return "", false
			}
			out = append(out, byte(n))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return string(out), true
}
