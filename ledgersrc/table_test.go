package ledgersrc

import (
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
)

var day = payrecon.MustDay("2026-11-20")

func testCSV() *CSV {
	return &CSV{Account: "shop", Provider: "wechat", Mapping: Mapping{
		AmountUnit: payrecon.UnitYuan,
		Columns: map[string]string{FieldMerchantOrderNo: "order", FieldAmount: "yuan", FieldStatus: "st", FieldOccurredAt: "at",
			FieldKind: "kind", FieldMerchantRefundNo: "refund", FieldProviderTxnNo: "txn"},
		StatusMap: map[string]payrecon.Status{"ok": payrecon.StatusSuccess, "wait": payrecon.StatusPending},
		KindMap:   map[string]payrecon.Kind{"P": payrecon.KindPayment, "R": payrecon.KindRefund},
	}}
}

func TestCSVRows(t *testing.T) {
	src := "\ufeffORDER,Yuan,st,at,kind,refund,txn\n" +
		"A1,12.30,ok,2026-11-20 10:00:00,P,,T1\n" +
		"A1,2.00,ok,1795150800,R,RF1,\n" + // unix seconds: 2026-11-20 13:00 Shanghai
		"A2,0.5,wait,2026-11-20T23:59:59+08:00,P,,\n" +
		"A3,1.00,ok,2026-11-21 00:00:00,P,,\n" // the next day: skipped
	got, err := testCSV().read(strings.NewReader(src), "o.csv", day)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d entries: %+v", len(got), got)
	}
	want := []struct {
		key    string
		amount int64
		at     time.Time
	}{
		{"csv:payment:A1:success", 1230, time.Date(2026, 11, 20, 10, 0, 0, 0, payrecon.Shanghai)},
		{"csv:refund:RF1:success", 200, time.Date(2026, 11, 20, 13, 0, 0, 0, payrecon.Shanghai)},
		{"csv:payment:A2:pending", 50, time.Date(2026, 11, 20, 23, 59, 59, 0, payrecon.Shanghai)},
	}
	for i, w := range want {
		e := got[i]
		if e.EventKey != w.key || e.Amount != w.amount || !e.OccurredAt.Equal(w.at) || e.Account != "shop" || e.Source != payrecon.SourceCSV {
			t.Errorf("entry %d: %+v, want %+v", i, e, w)
		}
	}
	if got[0].ProviderTxnNo != "T1" || got[0].PayerAmount != 1230 || got[2].PayerAmount != 0 || got[1].Kind != payrecon.KindRefund {
		t.Errorf("fields: %+v", got)
	}
}

func TestCSVErrorsNamePosition(t *testing.T) {
	head := "order,yuan,st,at,kind,refund,txn\n"
	good := "A1,1.00,ok,2026-11-20 10:00:00,P,,\n"
	for _, c := range []struct{ body, want string }{
		{"order,yuan,st,kind\n", `o.csv header has no column "at" (mapped to occurred_at)`},
		{head + good + "A2,1.001,ok,2026-11-20 10:00:00,P,,\n", `o.csv line 3 column yuan (amount): "1.001" is not an amount in yuan`},
		{head + "A2,1e3,ok,2026-11-20 10:00:00,P,,\n", `o.csv line 2 column yuan (amount)`},
		{head + good + good + "A2,1.00,gone,2026-11-20 10:00:00,P,,\n", `o.csv line 4 column st (status): value "gone" is not mapped`},
		{head + "A2,1.00,ok,2026-11-20 10:00:00,X,,\n", `o.csv line 2 column kind (kind): value "X"`},
		{head + "A2,1.00,ok,yesterday,P,,\n", `o.csv line 2 column at (occurred_at): "yesterday" is not a time`},
		{head + "A2,1.00,ok,2026-02-30 10:00:00,P,,\n", `o.csv line 2 column at (occurred_at)`},
		{head + ",1.00,ok,2026-11-20 10:00:00,P,,\n", `o.csv line 2 column order (merchant_order_no): empty`},
		{head + "A2,1.00,ok,2026-11-20 10:00:00,R,,\n", `o.csv line 2 column refund (merchant_refund_no): a refund row needs`},
		{head + "A2,1.00,ok,2026-11-20 10:00:00,P,,,extra\n", `o.csv: record on line 2: wrong number of fields`},
		{head + "A\xff,1.00,ok,2026-11-20 10:00:00,P,,\n", `o.csv line 2 column order: not UTF-8`},
		{head + "\"A2,1.00,ok\n", `o.csv: parse error on line 2`},
	} {
		_, err := testCSV().read(strings.NewReader(c.body), "o.csv", day)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.body, err, c.want)
		}
	}
}

func TestSQLText(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC) // a DATETIME read with loc=UTC
	for _, c := range []struct {
		in   any
		want string
		bad  bool
	}{{[]byte("12.30"), "12.30", false}, {int64(1230), "1230", false}, {nil, "", false}, {"x", "x", false},
		{at, "2026-11-20 10:00:00", false}, {1.5, "", true}, {true, "", true}} {
		got, err := sqlText(c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("sqlText(%v) = %q, %v", c.in, got, err)
		}
	}
	if tt, err := parseTableTime("2026-11-20 10:00:00"); err != nil || !tt.Equal(time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("DATETIME text is Shanghai wall time: %v %v", tt, err)
	}
}
