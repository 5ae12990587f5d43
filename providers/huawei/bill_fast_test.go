package huawei

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
)

// csvRecords reads data with encoding/csv as parseBill did before the fast
// path: records, the line each starts on, and the first error.
func csvRecords(data string) (recs [][]string, lines []int, err error) {
	cr := csv.NewReader(strings.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return recs, lines, nil
		}
		if err != nil {
			return recs, lines, err
		}
		line, _ := cr.FieldPos(0)
		recs, lines = append(recs, rec), append(lines, line)
	}
}

func fastRecords(data string) (recs [][]string, lines []int, err error) {
	r := newBillReader(strings.NewReader(data))
	for {
		rec, line, err := r.read()
		if err == io.EOF {
			return recs, lines, nil
		}
		if err != nil {
			return recs, lines, err
		}
		recs, lines = append(recs, append([]string(nil), rec...)), append(lines, line)
	}
}

func checkRecords(t *testing.T, data string) {
	t.Helper()
	wr, wl, werr := csvRecords(data)
	gr, gl, gerr := fastRecords(data)
	if !reflect.DeepEqual(wr, gr) || !reflect.DeepEqual(wl, gl) || fmt.Sprint(werr) != fmt.Sprint(gerr) {
		t.Fatalf("input %q:\nencoding/csv %q %v %v\nfast path    %q %v %v", data, wr, wl, werr, gr, gl, gerr)
	}
}

// refParseBill is parseBill as it was with encoding/csv: the reference the
// fast path must match line for line and error for error.
func refParseBill(r io.Reader, name string, kind payrecon.BillKind, fn func(payrecon.BillLine) error) error {
	what := "trade bill"
	if kind == payrecon.BillSettlement {
		what = "settlement bill"
	}
	dr, err := decodeBill(r)
	if err != nil {
		return fmt.Errorf("parse %s %s: %w", what, name, err)
	}
	cr := csv.NewReader(dr)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	var cols billCols
	header := false
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return fmt.Errorf("parse %s %s line %d: %w", what, name, line, err)
		}
		if !header {
			idx := map[string]int{}
			for i, h := range rec {
				h = normHeader(h)
				if _, dup := idx[h]; !dup && h != "" {
					idx[h] = i
				}
			}
			if _, ok := idx[ColSysNo]; !ok {
				if line > 20 {
					return fmt.Errorf("parse %s %s: no header row with %s in the first 20 lines", what, name, ColSysNo)
				}
				continue
			}
			for _, need := range []string{ColMercOrderNo, ColType} {
				if _, ok := idx[need]; !ok {
					return fmt.Errorf("parse %s %s line %d: header lacks column %s", what, name, line, need)
				}
			}
			_, hasOrder := idx[ColOrderAmount]
			_, hasPaid := idx[ColPaid]
			_, hasSettle := idx[ColSettleAmount]
			if !hasOrder && !hasPaid && !hasSettle {
				return fmt.Errorf("parse %s %s line %d: header lacks an amount column (%s / %s)", what, name, line, ColOrderAmount, ColPaid)
			}
			cols = newBillCols(idx)
			header = true
			continue
		}
		blank := true
		for _, c := range rec {
			if cleanCell(c) != "" {
				blank = false
				break
			}
		}
		if blank {
			continue
		}
		sys := cols.get(rec, cSysNo)
		if !isDigits(sys) && looksLikeSummary(rec) {
			continue
		}
		l, err := billLine(&cols, rec, kind)
		if err != nil {
			return fmt.Errorf("parse %s %s line %d %w", what, name, line, err)
		}
		l.File, l.LineNo = name, line
		if err := fn(l); err != nil {
			return err
		}
	}
	if !header {
		return fmt.Errorf("parse %s %s: no header row (column %s)", what, name, ColSysNo)
	}
	return nil
}

func collect(parse func(io.Reader, string, payrecon.BillKind, func(payrecon.BillLine) error) error, data string, kind payrecon.BillKind) ([]payrecon.BillLine, error) {
	var lines []payrecon.BillLine
	err := parse(strings.NewReader(data), "t.csv", kind, func(l payrecon.BillLine) error {
		lines = append(lines, l)
		return nil
	})
	return lines, err
}

func checkBill(t *testing.T, data string) []payrecon.BillLine {
	t.Helper()
	for _, kind := range []payrecon.BillKind{payrecon.BillTrade, payrecon.BillSettlement} {
		want, werr := collect(refParseBill, data, kind)
		got, gerr := collect(parseBill, data, kind)
		if !reflect.DeepEqual(want, got) || fmt.Sprint(werr) != fmt.Sprint(gerr) {
			t.Fatalf("%s %q:\nencoding/csv %+v %v\nfast path    %+v %v", kind, data, want, werr, got, gerr)
		}
	}
	got, _ := collect(parseBill, data, payrecon.BillTrade)
	return got
}

const fastHeader = "系统交易订单号,商户订单号,交易类型,交易状态,订单金额(元),手续费金额(元),商户预留信息\n"

func TestParseFastPathMatchesCSV(t *testing.T) {
	// Hand-built expectations: a split quoted comma would shift columns.
	bill := "华为支付交易账单\r\n起止日期：2026-11-10,\r\n\r\n" + // title rows, CRLF, a blank line
		strings.ReplaceAll(fastHeader, "\n", "\r\n") +
		"1001,M1,收单,成功,\"1,234.50\",0.06,\"a,b\"\r\n" + // quoted commas (line 5)
		"\n" +
		"1002,M2,收单,成功,2.00,0.01,\"multi\r\nline, \"\"quoted\"\"\"\n" + // a field across lines (line 7)
		"1003,M3,退款,成功,3.00,,plain\n" + // line 9
		",,,,,,\n" + // blank row
		"合计,,,,5.00,,\n" + // summary row
		"1004,\"M,4\",收单,成功,4.00,0,\"ends without newline\"" // line 12, no final newline
	lines := checkBill(t, bill)
	type want struct {
		no      int
		sys     string
		merc    string
		amount  int64
		payload string
	}
	wants := []want{
		{5, "1001", "M1", 123450, "a,b"},
		{7, "1002", "M2", 200, "multi\nline, \"quoted\""},
		{9, "1003", "M3", 300, "plain"},
		{12, "1004", "M,4", 400, "ends without newline"},
	}
	if len(lines) != len(wants) {
		t.Fatalf("got %d lines, want %d: %+v", len(lines), len(wants), lines)
	}
	for i, w := range wants {
		l := lines[i]
		sys, merc := l.ProviderTxnNo, l.MerchantOrderNo
		if l.Kind == payrecon.KindRefund {
			sys, merc = l.ProviderRefundNo, l.MerchantRefundNo
		}
		if l.LineNo != w.no || sys != w.sys || merc != w.merc || l.Amount != w.amount || l.Payload != w.payload || l.File != "t.csv" {
			t.Errorf("line %d: got %+v, want %+v", i, l, w)
		}
	}

	// Record-level: the reader matches encoding/csv on tricky text.
	for _, s := range []string{
		"", "\n", "\r\n", "\r", "a", "a\r", "a\r\r\n", "a\rb\n", "a,b\r\n\r\nc", `"a,b",c`, "\"a\nb\"\nc",
		`"unterminated`, "\"unterminated\n", "\"a\"b,c\n", `a"b,c`, `"a""b"`, `""`, `"",""`, "\"x\"\r\n", "\"x\r\ny\"\r\n",
		"x,\"\n\n\",y\n", "\"a\" ,b\n", ",,\n", "a,\"b\n", "\"a\"\"\n", "\"\r", "\"a\r\"", "\ufeffa,b",
		strings.Repeat("x", 300<<10) + ",y\n" + "\"" + strings.Repeat("z,", 200<<10) + "\"\n", // lines longer than the buffer
	} {
		checkRecords(t, s)
	}

	// Whole bills from the fixtures, and random CSV-ish text.
	files, _ := filepath.Glob(filepath.Join("testdata", "*.csv"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		checkBill(t, string(b))
		checkRecords(t, string(b))
	}
	rng := rand.New(rand.NewSource(1))
	alphabet := []string{"a", "1", ",", ",", "\"", "\"", "\"\"", "\n", "\r\n", "\r", " ", "收单", "1.00"}
	for i := 0; i < 3000; i++ {
		var sb strings.Builder
		for n := rng.Intn(40); n > 0; n-- {
			sb.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		checkRecords(t, sb.String())
		checkBill(t, fastHeader+sb.String())
	}
	rows := []string{"1,M,收单,成功,1.00,0,p\n", "2,\"M,2\",退款,,2.00,,\"q\"\"\n", "\n", "\r\n", "\"", "3,M,收单,失败,\"1,0\"\"0\",x\r\n", ",,,\n", "合计,,\n", "4,M,x,成功,1,0,\"a\nb\"\n"}
	for i := 0; i < 1500; i++ {
		var sb strings.Builder
		sb.WriteString(fastHeader)
		for n := rng.Intn(8); n > 0; n-- {
			sb.WriteString(rows[rng.Intn(len(rows))])
		}
		checkBill(t, sb.String())
	}
}

// A read error comes back with the line it happened on, as before.
func TestParseFastPathReadError(t *testing.T) {
	boom := errors.New("boom")
	for _, data := range []string{fastHeader + "1,M,收单,成功,1.00,0,p\n2,M", fastHeader + "1,M,收单,成功,1.00,0,p\n", fastHeader + "1,M,收单,成功,1.00,0,\"p\n"} {
		var w, g []payrecon.BillLine
		werr := refParseBill(io.MultiReader(strings.NewReader(data), errReader{boom}), "t.csv", payrecon.BillTrade, func(l payrecon.BillLine) error { w = append(w, l); return nil })
		gerr := parseBill(io.MultiReader(strings.NewReader(data), errReader{boom}), "t.csv", payrecon.BillTrade, func(l payrecon.BillLine) error { g = append(g, l); return nil })
		if !reflect.DeepEqual(w, g) || fmt.Sprint(werr) != fmt.Sprint(gerr) {
			t.Fatalf("%q:\nencoding/csv %+v %v\nfast path    %+v %v", data, w, werr, g, gerr)
		}
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// FuzzBillReaderMatchesCSV: the reader splits any input into the same
// records, start lines and error as encoding/csv.
func FuzzBillReaderMatchesCSV(f *testing.F) {
	f.Add("a,\"b\nc\"\r\n\"d\"\"e\",f\r")
	f.Fuzz(func(t *testing.T, data string) {
		checkRecords(t, data)
	})
}

// cleanCell's shortcut returns only cells the full trim leaves alone.
func TestCleanEnds(t *testing.T) {
	slow := func(s string) string {
		s = strings.TrimSpace(s)
		s = strings.TrimPrefix(s, "\ufeff")
		s = strings.TrimLeft(s, "`\t")
		if strings.HasPrefix(s, `="`) && strings.HasSuffix(s, `"`) && len(s) >= 3 {
			s = s[2 : len(s)-1]
		}
		return strings.TrimSpace(s)
	}
	parts := []string{"a", "1", " ", "\t", "`", "=", "\"", "收单", "\u3000", "\u00a0", "\ufeff", "\u0085", "\xe3", "\x80", "\xff", "\x01", "\u2028"}
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 200000; i++ {
		var sb strings.Builder
		for n := 1 + rng.Intn(4); n > 0; n-- {
			sb.WriteString(parts[rng.Intn(len(parts))])
		}
		s := sb.String()
		if got, want := cleanCell(s), slow(s); got != want {
			t.Fatalf("cleanCell(%q) = %q, want %q", s, got, want)
		}
	}
}
