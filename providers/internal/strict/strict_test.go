package strict_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/providers/internal/strict"
)

var schema = strict.Schema{
	"totalAmount":             strict.Integer,
	"amount.total":            strict.Integer,
	"amount.currency":         strict.String,
	"subOrders[].totalAmount": strict.Integer,
	"total_cost":              strict.Number,
	"planId":                  strict.String | strict.Number,
	"finishTime":              strict.String | strict.Null,
}

func TestCheckJSON(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		rule       string // "" = accepted
		field      string // substring of the error text
	}{
		{"ok", `{"totalAmount":100,"amount":{"total":5,"currency":"CNY"},"subOrders":[{"totalAmount":1},{"totalAmount":2}],"x":[1,"a",null,true,{}]}`, "", ""},
		{"ok spaces", " \n{ \"a\" : [ ] , \"b\":{ } }\r\n", "", ""},
		{"ok escapes", `{"a":"\u00e9\ud83d\ude00\n\"\\\/","b\u0061":1}`, "", ""},
		{"ok number types", `{"total_cost":1.5,"planId":7,"finishTime":null}`, "", ""},
		{"ok integer as number", `{"total_cost":100}`, "", ""},
		{"dup top", `{"a":1,"a":2}`, strict.RuleDuplicateKey, "duplicate_key: a appears twice"},
		{"dup nested", `{"amount":{"total":1,"total":100}}`, strict.RuleDuplicateKey, "amount.total appears twice"},
		{"dup in array object", `{"subOrders":[{"x":1},{"x":1,"y":2,"x":3}]}`, strict.RuleDuplicateKey, "subOrders[1].x appears twice"},
		{"dup case", `{"totalAmount":1,"TotalAmount":100}`, strict.RuleDuplicateKey, `repeats key "totalAmount"`},
		{"dup escaped", `{"id":"1","\u0069d":"2"}`, strict.RuleDuplicateKey, "appears twice"},
		{"dup in big object", `{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":0,"k11":0,"k12":0,"k13":0,"k14":0,"k15":0,"k16":0,"k17":0,"K3":1}`, strict.RuleDuplicateKey, "K3"},
		{"string amount", `{"totalAmount":"100"}`, strict.RuleJSONType, `json_type: totalAmount is a string ("\"100\""), documented as integer`},
		{"string amount under another case", `{"TotalAmount":"100"}`, strict.RuleJSONType, "TotalAmount is a string"},
		{"nested key under another case", `{"AMOUNT":{"Total":"5"}}`, strict.RuleJSONType, "AMOUNT.Total"},
		{"fraction amount", `{"totalAmount":1.0}`, strict.RuleJSONType, "totalAmount is a number"},
		{"exponent amount", `{"amount":{"total":1e2}}`, strict.RuleJSONType, "amount.total"},
		{"null amount", `{"totalAmount":null}`, strict.RuleJSONType, "documented as integer"},
		{"nested string amount", `{"subOrders":[{"totalAmount":1},{"totalAmount":"2"}]}`, strict.RuleJSONType, "subOrders[1].totalAmount"},
		{"number where string", `{"amount":{"currency":1}}`, strict.RuleJSONType, "amount.currency is a number"},
		{"object where number", `{"total_cost":{}}`, strict.RuleJSONType, "is an object"},
		{"bad utf8", "{\"a\":\"\xff\"}", strict.RuleUTF8, "utf8: a has invalid UTF-8"},
		{"bad utf8 key", "{\"\xc3\":1}", strict.RuleUTF8, "invalid UTF-8"},
		{"overlong", "{\"a\":\"\xc0\xaf\"}", strict.RuleUTF8, "invalid UTF-8"},
		{"lone high", `{"a":"\ud800x"}`, strict.RuleUTF8, "lone high surrogate"},
		{"lone low", `{"a":"\udc00"}`, strict.RuleUTF8, "lone low surrogate"},
		{"high high", `{"a":"\ud800\ud800"}`, strict.RuleUTF8, "lone high surrogate"},
		{"trailing", `{"a":1}{"a":2}`, strict.RuleSyntax, "data after the JSON value"},
		{"trailing garbage", `{"a":1} x`, strict.RuleSyntax, "data after"},
		{"bom", "\ufeff{}", strict.RuleSyntax, "unexpected"},
		{"empty", ``, strict.RuleSyntax, "ends early"},
		{"unterminated", `{"a":"x`, strict.RuleSyntax, "unterminated"},
		{"control char", "{\"a\":\"\x01\"}", strict.RuleSyntax, "control character"},
		{"bad escape", `{"a":"\x"}`, strict.RuleSyntax, "invalid escape"},
		{"leading zero", `{"a":01}`, strict.RuleSyntax, ""},
		{"trailing comma", `{"a":1,}`, strict.RuleSyntax, ""},
		{"single quotes", `{'a':1}`, strict.RuleSyntax, ""},
		{"nan", `{"a":NaN}`, strict.RuleSyntax, ""},
		{"deep", strings.Repeat("[", 40) + strings.Repeat("]", 40), strict.RuleSyntax, "deeper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := strict.CheckJSON([]byte(tc.body), schema)
			if tc.rule == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !json.Valid([]byte(tc.body)) {
					t.Fatal("encoding/json disagrees: invalid")
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %q", tc.body)
			}
			if got := strict.Rule(err); got != tc.rule {
				t.Errorf("rule %q, want %q (%v)", got, tc.rule, err)
			}
			if !strings.HasPrefix(err.Error(), tc.rule+": ") || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q, want %q… containing %q", err, tc.rule+": ", tc.field)
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	var v struct {
		Total int64 `json:"totalAmount"`
	}
	if err := strict.DecodeJSON([]byte(`{"totalAmount":100}`), schema, &v); err != nil || v.Total != 100 {
		t.Fatalf("decode: %v %d", err, v.Total)
	}
	// encoding/json alone keeps the last of two keys equal but for case
	if err := json.Unmarshal([]byte(`{"totalAmount":1,"TOTALAMOUNT":100}`), &v); err != nil || v.Total != 100 {
		t.Fatalf("encoding/json premise: %v %d", err, v.Total)
	}
	var se *strict.Error
	if err := strict.DecodeJSON([]byte(`{"totalAmount":1,"TOTALAMOUNT":100}`), schema, &v); !errors.As(err, &se) || se.Rule != strict.RuleDuplicateKey {
		t.Fatalf("err = %v, want duplicate_key", err)
	}
}

func TestContentType(t *testing.T) {
	for _, tc := range []struct {
		values  []string
		want    []string
		charset string
		ok      bool
	}{
		{[]string{"application/json"}, []string{"application/json"}, "", true},
		{[]string{"application/json; charset=UTF-8"}, []string{"application/json"}, "utf-8", true},
		{[]string{"Application/JSON;charset=utf-8"}, []string{"application/json"}, "utf-8", true},
		{[]string{"text/xml; charset=utf-8"}, []string{"text/xml", "application/xml"}, "utf-8", true},
		{[]string{"application/x-www-form-urlencoded; charset=gbk"}, []string{"application/x-www-form-urlencoded"}, "gbk", true},
		{[]string{"text/plain"}, []string{"application/json"}, "", false},
		{[]string{"text/plain; charset=utf-8"}, []string{"application/x-www-form-urlencoded"}, "", false},
		{nil, []string{"application/json"}, "", false},
		{[]string{"application/json", "application/json"}, []string{"application/json"}, "", false},
		{[]string{"application/json; charset"}, []string{"application/json"}, "", false},
		{[]string{"application/jsonx"}, []string{"application/json"}, "", false},
	} {
		h := http.Header{}
		for _, v := range tc.values {
			h.Add("Content-Type", v)
		}
		cs, err := strict.ContentType(h, tc.want...)
		if tc.ok != (err == nil) || cs != tc.charset {
			t.Errorf("%q against %q: charset %q err %v", tc.values, tc.want, cs, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "content_type: Content-Type ") {
			t.Errorf("%q: error %q", tc.values, err)
		}
	}
	if err := strict.UTF8Charset("iso-8859-1"); strict.Rule(err) != strict.RuleUTF8 {
		t.Errorf("latin-1 charset: %v", err)
	}
	if err := strict.UTF8Charset("utf-8"); err != nil {
		t.Error(err)
	}
}

func TestParseForm(t *testing.T) {
	v, err := strict.ParseForm([]byte("a=1&b=x+y%2B%E4%B8%AD&c=&d&&charset=utf-8"), "", "charset")
	if err != nil {
		t.Fatal(err)
	}
	if v.Get("a") != "1" || v.Get("b") != "x y+中" || !v.Has("c") || !v.Has("d") {
		t.Errorf("parsed %v", v)
	}
	// GBK declared in the body: 中 is D6 D0
	if _, err := strict.ParseForm([]byte("charset=gbk&subject=%D6%D0"), "utf-8", "charset"); err != nil {
		t.Errorf("gbk body: %v", err)
	}
	for _, tc := range []struct{ body, ctCharset, rule, text string }{
		{"a=1&a=2", "", strict.RuleRepeatedParam, "repeated_param: a appears more than once"},
		{"notify_id=1&x=2&notify_id=1", "", strict.RuleRepeatedParam, "notify_id"},
		{"a=%zz", "", strict.RuleSyntax, "syntax: a value is not valid percent-encoding"},
		{"a=%4", "", strict.RuleSyntax, "percent-encoding"},
		{"a=%+1", "", strict.RuleSyntax, "percent-encoding"},
		{"%=1", "", strict.RuleSyntax, "percent-encoding"},
		{"=1", "", strict.RuleSyntax, "no name"},
		{"a=%FF", "", strict.RuleUTF8, "utf8: a is not valid utf-8"},
		{"a=\xff", "", strict.RuleUTF8, "utf8: a"},
		{"charset=utf-8&subject=%D6%D0", "gbk", strict.RuleUTF8, "subject"},
		{"charset=gbk&subject=%D6", "", strict.RuleUTF8, "not valid gbk"},
		{"a=1", "latin1", strict.RuleUTF8, "latin1"},
	} {
		_, err := strict.ParseForm([]byte(tc.body), tc.ctCharset, "charset")
		if strict.Rule(err) != tc.rule || !strings.Contains(fmtErr(err), tc.text) {
			t.Errorf("%q: err %v, want %s containing %q", tc.body, err, tc.rule, tc.text)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestParseXML(t *testing.T) {
	m, err := strict.ParseXML([]byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<xml><a>1</a><b><![CDATA[x<y]]></b><c>&amp;&#20013;</c><!-- note --></xml>\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m["a"] != "1" || m["b"] != "x<y" || m["c"] != "&中" {
		t.Errorf("parsed %v", m)
	}
	for _, tc := range []struct{ body, rule, text string }{
		{"<xml><a>1</a><a>2</a></xml>", strict.RuleRepeatedParam, "repeated_param: a appears more than once"},
		{`<!DOCTYPE xml [<!ENTITY x "100">]><xml><a>&x;</a></xml>`, strict.RuleSyntax, "DOCTYPE"},
		{"<xml><a>&x;</a></xml>", strict.RuleSyntax, "not well-formed"},
		{"<xml><a>1</a></xml><xml><a>2</a></xml>", strict.RuleSyntax, "second root"},
		{"<xml><a><b>1</b></a></xml>", strict.RuleSyntax, "nested"},
		{"<xml>x<a>1</a></xml>", strict.RuleSyntax, "text outside"},
		{"", strict.RuleSyntax, "no root"},
		{"<xml><a>1</a>", strict.RuleSyntax, "not well-formed"},
		{"<xml><a>\xff</a></xml>", strict.RuleUTF8, "utf8: body"},
		{`<?xml version="1.0" encoding="GBK"?><xml><a>1</a></xml>`, strict.RuleUTF8, "GBK"},
		{"<xml><?php x?><a>1</a></xml>", strict.RuleSyntax, "processing instruction"},
	} {
		_, err := strict.ParseXML([]byte(tc.body))
		if strict.Rule(err) != tc.rule || !strings.Contains(fmtErr(err), tc.text) {
			t.Errorf("%q: err %v, want %s containing %q", tc.body, err, tc.rule, tc.text)
		}
	}
}

// callbackLike is a WeChat-sized callback plaintext for the benchmark.
var callbackLike = []byte(`{"mchid":"1900000100","appid":"wxd678efh567hg6787","out_trade_no":"PT20261120O001","transaction_id":"4200001234202611200000001","trade_type":"JSAPI","trade_state":"SUCCESS","trade_state_desc":"支付成功","bank_type":"CMC","attach":"pt|1","success_time":"2026-11-20T09:00:05+08:00","payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"amount":{"total":10000,"payer_total":10000,"currency":"CNY","payer_currency":"CNY"},"promotion_detail":[{"coupon_id":"109519","amount":100,"currency":"CNY"}]}`)

func BenchmarkCheckJSON(b *testing.B) {
	s := strict.Schema{"amount.total": strict.Integer, "amount.payer_total": strict.Integer, "promotion_detail[].amount": strict.Integer, "out_trade_no": strict.String}
	b.SetBytes(int64(len(callbackLike)))
	b.ReportAllocs()
	for b.Loop() {
		if err := strict.CheckJSON(callbackLike, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalForComparison(b *testing.B) {
	b.SetBytes(int64(len(callbackLike)))
	b.ReportAllocs()
	for b.Loop() {
		var v map[string]any
		if err := json.NewDecoder(bytes.NewReader(callbackLike)).Decode(&v); err != nil && err != io.EOF {
			b.Fatal(err)
		}
	}
}
