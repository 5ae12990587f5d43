package huawei

import (
	"encoding/csv"
	"errors"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/billread"
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
	r := billread.NewReader(strings.NewReader(data), "t.csv", ReadOptions)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return recs, lines, nil
		}
		if err != nil {
			return recs, lines, err
		}
		recs, lines = append(recs, append([]string(nil), rec...)), append(lines, r.Line())
	}
}

// checkRecords: where the shared reader reads data, it reads the records
// and start lines encoding/csv reads; where it fails, it fails on a quote
// that does not close (or is followed by text), which strict encoding/csv
// refuses too, or on a line over the limit.
func checkRecords(t *testing.T, data string) {
	t.Helper()
	data = strings.TrimPrefix(data, "\ufeff")
	if !utf8.ValidString(data) {
		return // GBK: the reader decodes it, encoding/csv does not
	}
	wr, wl, werr := csvRecords(data)
	gr, gl, gerr := fastRecords(data)
	if gerr != nil {
		if errors.Is(gerr, billread.ErrLineTooLong) {
			return
		}
		strict := csv.NewReader(strings.NewReader(data))
		strict.FieldsPerRecord = -1
		_, serr := strict.ReadAll()
		if !errors.Is(gerr, billread.ErrQuote) || serr == nil {
			t.Fatalf("input %q: shared reader fails with %v, strict encoding/csv with %v", data, gerr, serr)
		}
		return
	}
	if werr != nil || !reflect.DeepEqual(wr, gr) || !reflect.DeepEqual(wl, gl) {
		t.Fatalf("input %q:\nencoding/csv %q %v %v\nshared reader %q %v", data, wr, wl, werr, gr, gl)
	}
}

func collect(data string, kind payrecon.BillKind) ([]payrecon.BillLine, error) {
	var lines []payrecon.BillLine
	err := parseBill(strings.NewReader(data), "t.csv", kind, func(l payrecon.BillLine) error {
		lines = append(lines, l)
		return nil
	})
	return lines, err
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
		"合计,,,,5.00,,\n" + // a summary-looking row without a count: skipped
		"1004,\"M,4\",收单,成功,4.00,0,\"ends without newline\"" // line 12, no final newline
	lines, err := collect(bill, payrecon.BillTrade)
	if err != nil {
		t.Fatal(err)
	}
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
		checkRecords(t, fastHeader+sb.String())
	}
}

// A read error comes back naming the file and the line it happened on.
func TestParseFastPathReadError(t *testing.T) {
	boom := errors.New("boom")
	for _, data := range []string{fastHeader + "1,M,收单,成功,1.00,0,p\n2,M", fastHeader + "1,M,收单,成功,1.00,0,p\n", fastHeader + "1,M,收单,成功,1.00,0,\"p\n"} {
		err := parseBill(io.MultiReader(strings.NewReader(data), errReader{boom}), "t.csv", payrecon.BillTrade, func(l payrecon.BillLine) error { return nil })
		var be *billread.Error
		if !errors.Is(err, boom) || !errors.As(err, &be) || be.File != "t.csv" || be.Line < 2 {
			t.Fatalf("%q: %v", data, err)
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

// Summary and footer rows in shapes the docs leave open: a 交易总笔数 /
// 交易总金额 row is checked; a label row with its values row under it, and a
// 下载时间 footer, are skipped; a data row after such a trailer is refused,
// and so is a summary that disagrees.
func TestTrailerShapes(t *testing.T) {
	data := strings.ReplaceAll(fastHeader, "\n", "\r\n") +
		"1001,M1,收单,成功,1.00,0.01,x\r\n" +
		"1002,M2,收单,成功,2.00,0.01,y\r\n"
	for _, tc := range []struct {
		name, trailer string
		ok            bool
	}{
		{"count and total", "交易总笔数:2,交易总金额:3.00\r\n", true},
		{"total in yuan label", "总笔数：2,总金额(元)：3.00\r\n", true},
		{"label and values rows", "总交易笔数,总金额\r\n2,3.00\r\n", true},
		{"download time footer", "下载时间:2026-11-21 10:00:00\r\n", true},
		{"count disagrees", "交易总笔数:3,交易总金额:3.00\r\n", false},
		{"data after a footer", "下载时间:2026-11-21 10:00:00\r\n1003,M3,收单,成功,3.00,0.01,z\r\n", false},
	} {
		lines, err := collect(data+tc.trailer, payrecon.BillTrade)
		if (err == nil) != tc.ok || (tc.ok && len(lines) != 2) {
			t.Errorf("%s: %d lines, %v; want ok=%v", tc.name, len(lines), err, tc.ok)
		}
	}
}
