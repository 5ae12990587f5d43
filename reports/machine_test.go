package reports_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reports"
)

func TestWriteCSVGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := reports.WriteCSV(&buf, newFixture().source(), reports.Options{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "items.csv.golden", buf.String())
}

func TestWriteJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := reports.WriteJSON(&buf, newFixture().source(), reports.Options{}); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(buf.Bytes()) {
		t.Fatalf("invalid JSON:\n%s", buf.String())
	}
	golden(t, "report.json.golden", buf.String())
}

// TestMachineFormatsAgree reads the CSV and the JSON back: both carry every
// item once with the same keys, fen integers that match the fixture, yuan
// strings equal to FormatYuan of the fen, times in +08:00.
func TestMachineFormatsAgree(t *testing.T) {
	fx := newFixture()
	var cbuf, jbuf bytes.Buffer
	if err := reports.WriteCSV(&cbuf, fx.source(), reports.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := reports.WriteJSON(&jbuf, fx.source(), reports.Options{}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&cbuf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs []struct {
			Account       string `json:"account"`
			DifferenceFen int64  `json:"difference_fen"`
			Difference    string `json:"difference"`
			Balanced      bool   `json:"balanced"`
			Classes       []struct {
				Class     string `json:"class"`
				AmountFen int64  `json:"amount_fen"`
			} `json:"classes"`
		} `json:"runs"`
		Items   []map[string]any `json:"items"`
		Actions []map[string]any `json:"actions"`
	}
	if err := json.Unmarshal(jbuf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	hdr := recs[0]
	var want []payrecon.Item
	for _, r := range fx.runs {
		want = append(want, fx.items[r.ID]...)
	}
	if len(recs)-1 != len(want) || len(doc.Items) != len(want) {
		t.Fatalf("csv %d rows, json %d items, want %d", len(recs)-1, len(doc.Items), len(want))
	}
	// Same columns: every CSV header is a JSON key, and the reverse.
	keys := make([]string, 0, len(doc.Items[0]))
	for k := range doc.Items[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := slices.Clone(hdr)
	slices.Sort(h)
	if !slices.Equal(keys, h) {
		t.Fatalf("csv columns %q\njson keys %q", h, keys)
	}
	col := func(name string) int { return slices.Index(hdr, name) }
	for i, it := range want {
		rec, obj := recs[i+1], doc.Items[i]
		if rec[col("key")] != it.Key() || obj["key"] != it.Key() {
			t.Fatalf("row %d is not item %s", i, it.Key())
		}
		for name, fen := range map[string]int64{"ledger_amount": it.LedgerAmount, "bill_amount": it.BillAmount, "difference": it.Delta} {
			if rec[col(name+"_fen")] != strconv.FormatInt(fen, 10) || obj[name+"_fen"] != float64(fen) {
				t.Errorf("item %d %s_fen: csv %s json %v, want %d", i, name, rec[col(name+"_fen")], obj[name+"_fen"], fen)
			}
			if rec[col(name)] != payrecon.FormatYuan(fen) || obj[name] != payrecon.FormatYuan(fen) {
				t.Errorf("item %d %s: csv %s json %v", i, name, rec[col(name)], obj[name])
			}
		}
		if it.BillTime.IsZero() {
			if rec[col("bill_time")] != "" || obj["bill_time"] != nil {
				t.Errorf("item %d: zero bill time shows %q / %v", i, rec[col("bill_time")], obj["bill_time"])
			}
		} else {
			got, err := time.Parse(time.RFC3339, rec[col("bill_time")])
			if err != nil || !got.Equal(it.BillTime) || !strings.HasSuffix(rec[col("bill_time")], "+08:00") || obj["bill_time"] != rec[col("bill_time")] {
				t.Errorf("item %d bill_time %q / %v, want %v in +08:00", i, rec[col("bill_time")], obj["bill_time"], it.BillTime)
			}
		}
		if rec[col("class")] != string(it.Class) {
			t.Errorf("item %d class %q", i, rec[col("class")])
		}
	}
	for i, r := range doc.Runs {
		var sum int64
		for _, c := range r.Classes {
			sum += c.AmountFen
		}
		tot := fx.runs[i].Totals
		if r.DifferenceFen != tot.Difference || r.Difference != payrecon.FormatYuan(tot.Difference) || r.Balanced != (sum == r.DifferenceFen) {
			t.Errorf("run %s: %+v, class sum %d", r.Account, r, sum)
		}
	}
	if len(doc.Actions) != len(fx.actions) {
		t.Fatalf("%d actions", len(doc.Actions))
	}
	if a := doc.Actions[0]; a["approved_by"] != "张三" || len(a["audit"].([]any)) != 3 {
		t.Errorf("action 101: %v", a)
	}
}

func TestWriteSourceErrors(t *testing.T) {
	fx := newFixture()
	src := fx.source()
	boom := src
	boom.Items = func(int64, func(payrecon.Item) error) error { return errTest }
	boom.ReviewedItems = func(int64, func(payrecon.Item, payrecon.Review) error) error { return errTest }
	for name, write := range map[string]func(*bytes.Buffer, reports.Source) error{
		"xlsx": func(b *bytes.Buffer, s reports.Source) error { return reports.WriteXLSX(b, s, reports.Options{}) },
		"csv":  func(b *bytes.Buffer, s reports.Source) error { return reports.WriteCSV(b, s, reports.Options{}) },
		"json": func(b *bytes.Buffer, s reports.Source) error { return reports.WriteJSON(b, s, reports.Options{}) },
	} {
		var buf bytes.Buffer
		if err := write(&buf, boom); err == nil || !strings.Contains(err.Error(), "run 11") || !strings.Contains(err.Error(), errTest.Error()) {
			t.Errorf("%s: item error not passed on with the run: %v", name, err)
		}
		noItems := src
		noItems.Items = nil
		if err := write(&buf, noItems); err == nil {
			t.Errorf("%s: no error without an item iterator", name)
		}
	}
}

var errTest = errString("store went away")

type errString string

func (e errString) Error() string { return string(e) }

// TestActionJoin: an item with several actions shows the one of its own
// proposed kind, the newest of them; otherwise the newest action.
func TestActionJoin(t *testing.T) {
	fx := newFixture()
	dup := fx.items[11][4] // duplicate_payment, proposes refund_duplicate; action 102 exists
	mis := fx.items[11][1] // missing_in_bill, proposes reverse_ledger; no action yet
	extra := func(id int64, it payrecon.Item, kind payrecon.ActionKind, st payrecon.ActionState) payrecon.Action {
		return payrecon.Action{ID: id, DiscrepancyKey: it.Key(), Account: it.Account, Day: it.Day, Kind: kind, State: st, Item: it}
	}
	fx.actions = append(fx.actions,
		extra(300, dup, payrecon.ActionManualReview, payrecon.ActionApplied),     // newer, other kind
		extra(90, dup, payrecon.ActionRefundDuplicate, payrecon.ActionDismissed), // older, same kind
		extra(50, mis, payrecon.ActionManualReview, payrecon.ActionApproved),
		extra(60, mis, payrecon.ActionCorrectStatus, payrecon.ActionFailed), // newest of other kinds
	)
	var buf bytes.Buffer
	if err := reports.WriteCSV(&buf, fx.source(), reports.Options{}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int { return slices.Index(recs[0], name) }
	got := map[string][2]string{}
	for _, r := range recs[1:] {
		got[r[col("key")]] = [2]string{r[col("action_id")], r[col("action_state")]}
	}
	if g := got[dup.Key()]; g != [2]string{"102", "proposed"} {
		t.Errorf("duplicate payment joined to %v, want action 102 (own kind, newest)", g)
	}
	if g := got[mis.Key()]; g != [2]string{"60", "failed"} {
		t.Errorf("missing in bill joined to %v, want action 60 (newest)", g)
	}
}
