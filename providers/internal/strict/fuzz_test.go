package strict_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/payrecon/payrecon/providers/internal/strict"
)

// uniqueKeys walks body with encoding/json's tokenizer (an independent
// implementation) and reports whether every object's keys are distinct
// under case folding.
func uniqueKeys(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	type obj struct {
		keys  []string
		isObj bool
		inKey bool
	}
	var stack []*obj
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			return true // syntax is compared elsewhere
		}
		var top *obj
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top != nil && top.isObj {
					top.inKey = true
				}
				stack = append(stack, &obj{isObj: t == '{', inKey: true})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.isObj && top.inKey {
				for _, k := range top.keys {
					if strings.EqualFold(k, t) {
						return false
					}
				}
				top.keys = append(top.keys, t)
				top.inKey = false
				continue
			}
		}
		if top != nil && top.isObj {
			top.inKey = true
		}
	}
}

// FuzzCheckJSON: CheckJSON never panics; what it accepts encoding/json
// accepts too, is valid UTF-8 and has distinct keys (by encoding/json's own
// tokenizer); what encoding/json refuses it refuses; a declared field's
// type holds.
func FuzzCheckJSON(f *testing.F) {
	f.Add([]byte(`{"totalAmount":100,"amount":{"total":5,"currency":"CNY"},"subOrders":[{"totalAmount":1}]}`))
	f.Add([]byte(`{"a":"\ud83d\ude00","A":1}`))
	f.Add([]byte(`[{"x":1},{"x":2,"x":3}]`))
	f.Add([]byte(`{"totalAmount":"100"} `))
	f.Add([]byte("{\"a\":\"\xff\\u00e9\"}"))
	f.Add(callbackLike)
	f.Fuzz(func(t *testing.T, body []byte) {
		err := strict.CheckJSON(body, schema)
		if err != nil {
			var se *strict.Error
			if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), se.Rule+": ") {
				t.Fatalf("error %v is not a *strict.Error in rule form", err)
			}
			if json.Valid(body) && utf8.Valid(body) && se.Rule == strict.RuleSyntax && !strings.Contains(se.Detail, "deeper") {
				t.Fatalf("valid JSON refused as syntax: %v", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted what encoding/json refuses: %q", body)
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8: %q", body)
		}
		if !uniqueKeys(body) {
			t.Fatalf("accepted repeated keys: %q", body)
		}
		var v struct {
			Total  *json.RawMessage `json:"totalAmount"`
			Amount *struct {
				Total json.RawMessage `json:"total"`
			} `json:"amount"`
		}
		if json.Unmarshal(body, &v) == nil {
			for _, raw := range []*json.RawMessage{v.Total} {
				if raw != nil && bytes.ContainsAny(*raw, `".eE{[tfn`) {
					t.Fatalf("totalAmount %s accepted as an integer", *raw)
				}
			}
		}
	})
}

// FuzzParseForm: no panic; an accepted body has one value per key, valid
// UTF-8 everywhere, and re-encodes to a body parsed to the same values.
func FuzzParseForm(f *testing.F) {
	f.Add([]byte("notify_id=1&total_amount=0.01&subject=%E4%B8%AD&charset=utf-8"))
	f.Add([]byte("a=1&a=2"))
	f.Add([]byte("a=%zz&b"))
	f.Add([]byte("charset=gbk&s=%D6%D0"))
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := strict.ParseForm(body, "", "")
		if err != nil {
			if strict.Rule(err) == "" {
				t.Fatalf("error %v has no rule", err)
			}
			return
		}
		for k, vs := range v {
			if len(vs) != 1 || !utf8.ValidString(k) || !utf8.ValidString(vs[0]) {
				t.Fatalf("accepted %q = %q", k, vs)
			}
		}
		again, err := strict.ParseForm([]byte(v.Encode()), "", "")
		if err != nil {
			t.Fatalf("re-encoded %q refused: %v", v.Encode(), err)
		}
		if len(again) != len(v) {
			t.Fatalf("round trip %v -> %v", v, again)
		}
		for k := range v {
			if again.Get(k) != v.Get(k) {
				t.Fatalf("round trip %q: %q -> %q", k, v.Get(k), again.Get(k))
			}
		}
		if std, err := url.ParseQuery(string(body)); err == nil {
			for k := range v {
				if std.Get(k) != v.Get(k) {
					t.Fatalf("net/url reads %q as %q, strict as %q", k, std.Get(k), v.Get(k))
				}
			}
		}
	})
}

// FuzzParseXML: no panic; an accepted body was valid UTF-8 with no
// directive, and its values are valid UTF-8.
func FuzzParseXML(f *testing.F) {
	f.Add([]byte("<xml><return_code>SUCCESS</return_code><total_fee>100</total_fee></xml>"))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><xml><a>&a;</a></xml>`))
	f.Add([]byte("<xml><a>1</a><a>2</a></xml>"))
	f.Add([]byte("<xml><a><![CDATA[<b>]]></a></xml>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := strict.ParseXML(body)
		if err != nil {
			if strict.Rule(err) == "" {
				t.Fatalf("error %v has no rule", err)
			}
			return
		}
		if !utf8.Valid(body) || bytes.Contains(body, []byte("<!D")) || bytes.Contains(body, []byte("<!E")) {
			t.Fatalf("accepted %q", body)
		}
		for k, v := range m {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				t.Fatalf("accepted %q = %q", k, v)
			}
		}
	})
}
