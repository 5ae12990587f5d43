package sign_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/payrecon/payrecon/providers/internal/sign"
)

// The two examples printed in Huawei's REST API docs (公共说明 and 发放优惠券).
func TestSortJoinOfficialExamples(t *testing.T) {
	for _, name := range []string{"sortjoin_preorder", "sortjoin_coupon"} {
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", name+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := sign.SortJoin(body)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("sort-join mismatch\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func TestSortJoinRules(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"DropTopSign", `{"b":"2","sign":"x","a":"1"}`, "a=1&b=2"},
		{"KeepNestedSign", `{"o":{"sign":"s","a":1}}`, "o=a=1&sign=s"},
		{"NullOmittedEmptyKept", `{"a":null,"b":"","c":"x"}`, "b=&c=x"},
		{"NumbersLiteral", `{"amt":10000,"f":1.50,"e":1e3,"neg":-0}`, "amt=10000&e=1e3&f=1.50&neg=-0"},
		{"Booleans", `{"t":true,"f":false}`, "f=false&t=true"},
		{"StringsUnescaped", `{"s":"a\"b\u4e2d&c=d"}`, `s=a"b中&c=d`},
		{"ListOfScalars", `{"l":["x","y",3]}`, "l=x,y,3"},
		{"NestedSorted", `{"o":{"z":{"b":1,"a":2},"a":"q"}}`, "o=a=q&z=a=2&b=1"},
		{"ByteOrder", `{"b":1,"B":2,"_":3,"a1":4,"a":5}`, "B=2&_=3&a=5&a1=4&b=1"},
		{"EmptyObjectAndList", `{"o":{},"l":[]}`, "l=&o="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sign.SortJoin([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("SortJoin(%s) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSortJoinRejects(t *testing.T) {
	for _, in := range []string{``, `[]`, `"x"`, `{"a":1,"a":2}`, `{"a":1} {"b":2}`, `{"a":`, `{"o":{"k":1,"k":2}}`} {
		if got, err := sign.SortJoin([]byte(in)); err == nil {
			t.Errorf("SortJoin(%q) = %q, want an error", in, got)
		}
	}
}

func TestSortJoinFields(t *testing.T) {
	got := sign.SortJoinFields(map[string]string{"traceId": "t", "authId": "a", "time": "1", "callerId": "c", "bodySign": ""})
	if want := "authId=a&bodySign=&callerId=c&time=1&traceId=t"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
