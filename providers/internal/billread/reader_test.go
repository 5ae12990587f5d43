package billread_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/payrecon/payrecon/providers/internal/billread"
)

func readAll(t *testing.T, data string, opt billread.Options) ([][]string, []int, error) {
	t.Helper()
	r := billread.NewReader(strings.NewReader(data), "t.csv", opt)
	var recs [][]string
	var lines []int
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return recs, lines, nil
		}
		if err != nil {
			return recs, lines, err
		}
		recs = append(recs, append([]string(nil), rec...))
		lines = append(lines, r.Line())
		if len(recs) == 1 {
			r.SetHeader(rec)
		}
	}
}

func gbk(t *testing.T, s string) string {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReaderMatchesCSVOnWellFormedInput(t *testing.T) {
	for _, data := range []string{
		"a,b,c\n1,2,3\n",
		"a,b,c\r\n1,\"2,x\",3\r\n\r\n4,5,6",
		"a,b\n\"multi\nline\",x\n",
		"a,b\n\"q\"\"uote\",\n",
		"h\n\n\nx\n",
		"a,b\nx\"y,z\n",
	} {
		want, _ := csv.NewReader(strings.NewReader(data)).ReadAll()
		for i := range want {
			_ = i
		}
		cr := csv.NewReader(strings.NewReader(data))
		cr.FieldsPerRecord, cr.LazyQuotes = -1, true
		want, err := cr.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := readAll(t, data, billread.Options{})
		if err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d records, csv %d", data, len(got), len(want))
		}
		for i := range got {
			if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
				t.Errorf("%q record %d: %q, csv %q", data, i, got[i], want[i])
			}
		}
	}
}

func TestReaderErrorsNameLineAndColumn(t *testing.T) {
	head := "商户订单号,交易类型,金额\n"
	ok := "A1,收单,1.00\n"
	cases := []struct {
		name, data string
		opt        billread.Options
		want       error
		line       int
		col        string
	}{
		{"unterminated quote mid-file", head + ok + "A2,\"收单,1.00\n" + strings.Repeat(ok, 5), billread.Options{}, billread.ErrQuote, 3, "交易类型"},
		{"text after closing quote", head + "A2,\"x\"y,1\n", billread.Options{}, billread.ErrQuote, 2, "交易类型"},
		{"gbk line in utf-8 file", head + ok + gbk(t, "A2,收单,1.00\n"), billread.Options{}, billread.ErrEncoding, 3, "交易类型"},
		{"gbk file declared utf-8", gbk(t, head+ok), billread.Options{Encoding: billread.UTF8}, billread.ErrEncoding, 1, "#1"},
		{"invalid gbk mid-file", gbk(t, head+ok) + "A2,\xff\xfe,1\n", billread.Options{}, billread.ErrEncoding, 3, "交易类型"},
		{"line too long", head + ok + "A2,收单," + strings.Repeat("9", 70<<10) + "\n", billread.Options{}, billread.ErrLineTooLong, 3, "金额"},
		{"quote runs past max line", head + "A2,\"x\n" + strings.Repeat("A3,收单,1.00\n", 8000), billread.Options{}, billread.ErrQuote, 2, "交易类型"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := readAll(t, c.data, c.opt)
			var be *billread.Error
			if !errors.As(err, &be) || !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if be.File != "t.csv" || be.Line != c.line || be.Column != c.col {
				t.Fatalf("err names %s line %d column %s, want line %d column %s: %v", be.File, be.Line, be.Column, c.line, c.col, err)
			}
		})
	}
}

func TestReaderEncodings(t *testing.T) {
	text := "商户订单号,交易类型\nA1,收单\n"
	for name, data := range map[string]string{"utf8": text, "bom": "\ufeff" + text, "gbk": gbk(t, text), "gbk-ascii-first": "order,type\n" + gbk(t, text)} {
		recs, _, err := readAll(t, data, billread.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := recs[len(recs)-1]; got[1] != "收单" {
			t.Fatalf("%s: %q", name, got)
		}
	}
}

func TestCheckWidth(t *testing.T) {
	r := billread.NewReader(strings.NewReader("a,b,c\n1,2\n"), "w.csv", billread.Options{})
	h, _ := r.Read()
	r.SetHeader(h)
	rec, _ := r.Read()
	err := r.CheckWidth(rec, 3)
	if !errors.Is(err, billread.ErrColumns) || !strings.Contains(err.Error(), "bill w.csv line 2 column c:") {
		t.Fatal(err)
	}
}

func zipOf(t *testing.T, names []string, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestZipChecks(t *testing.T) {
	for _, name := range []string{"../x.csv", "/abs.csv", `dir\x.csv`, "C:x.csv", "dir/../x.csv", "dir//x.csv", "./x.csv", "a/b/c/d/e/x.csv", "x\x01.csv"} {
		z := zipOf(t, []string{name}, []byte("a\n"))
		_, err := billread.OpenZip(bytes.NewReader(z), int64(len(z)), "b.zip", billread.Limits{})
		if !errors.Is(err, billread.ErrEntryName) {
			t.Errorf("%q: %v", name, err)
		}
	}
	// Files in folders are read (the folder entries themselves skipped).
	z0 := zipOf(t, []string{"20261120/", "20261120/a.csv", "a/b/c/d/x.csv", "a..csv"}, nil)
	zr0, err := billread.OpenZip(bytes.NewReader(z0), int64(len(z0)), "b.zip", billread.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range zr0.Entries {
		names = append(names, e.Name)
	}
	if strings.Join(names, " ") != "20261120/a.csv a/b/c/d/x.csv a..csv" {
		t.Errorf("entries %q", names)
	}
	z := zipOf(t, []string{"a.csv", "b.csv", "c.csv"}, []byte("a\n"))
	if _, err := billread.OpenZip(bytes.NewReader(z), int64(len(z)), "b.zip", billread.Limits{MaxEntries: 2}); !errors.Is(err, billread.ErrEntries) {
		t.Error(err)
	}
	if _, err := billread.OpenZip(bytes.NewReader(z[:len(z)/2]), int64(len(z)/2), "b.zip", billread.Limits{}); !errors.Is(err, billread.ErrTruncated) {
		t.Error(err)
	}
	// a bomb: zeros inflate ~1000:1
	bomb := zipOf(t, []string{"a.csv"}, make([]byte, 8<<20))
	zr, err := billread.OpenZip(bytes.NewReader(bomb), int64(len(bomb)), "b.zip", billread.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := zr.Open(zr.Entries[0])
	n, err := io.Copy(io.Discard, rc)
	if !errors.Is(err, billread.ErrTooLarge) || n > 2<<20 {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	// the inflated bound, counted while reading
	plain := zipOf(t, []string{"a.csv"}, bytes.Repeat([]byte("1234567,交易,abcdefgh\n"), 1<<16))
	zr, err = billread.OpenZip(bytes.NewReader(plain), int64(len(plain)), "b.zip", billread.Limits{MaxInflated: 10 << 20, MaxRatio: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rc, _ = zr.Open(zr.Entries[0])
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatal(err)
	}
	// two entries under the bound each, over it together: counted while reading
	two := zipOf(t, []string{"a.csv", "b.csv"}, bytes.Repeat([]byte("1234567,交易,abcdefgh\n"), 1<<16))
	zr, err = billread.OpenZip(bytes.NewReader(two), int64(len(two)), "b.zip", billread.Limits{MaxInflated: 2 << 20, MaxRatio: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, e := range zr.Entries {
		rc, _ := zr.Open(e)
		n, err := io.Copy(io.Discard, rc)
		total += n
		if err != nil {
			if !errors.Is(err, billread.ErrTooLarge) || total > 2<<20 {
				t.Fatalf("read %d: %v", total, err)
			}
			break
		}
	}
	if total <= 1<<20 || total > 2<<20 {
		t.Fatalf("read %d bytes in all", total)
	}
	// a flipped byte in stored data fails the CRC
	stored := storedZip(t, []byte("a,b\n1,2\n"))
	i := bytes.Index(stored, []byte("1,2"))
	stored[i] = '7'
	zr, err = billread.OpenZip(bytes.NewReader(stored), int64(len(stored)), "b.zip", billread.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	rc, _ = zr.Open(zr.Entries[0])
	if _, err := io.Copy(io.Discard, rc); !errors.Is(err, billread.ErrArchiveFormat) {
		t.Fatalf("crc: %v", err)
	}
}

func storedZip(t *testing.T, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "s.csv", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(body)
	zw.Close()
	return b.Bytes()
}

func TestGunzip(t *testing.T) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(bytes.Repeat([]byte("line of a bill\n"), 1000))
	zw.Close()
	gz := b.Bytes()
	rc, err := billread.Gunzip(bytes.NewReader(gz[:len(gz)-10]), "g.csv", billread.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, rc); !errors.Is(err, billread.ErrTruncated) {
		t.Fatalf("truncated gzip: %v", err)
	}
	if _, err := billread.Gunzip(bytes.NewReader(gz[:5]), "g.csv", billread.Limits{}); !errors.Is(err, billread.ErrTruncated) {
		t.Fatalf("cut header: %v", err)
	}
	rc, _ = billread.Gunzip(bytes.NewReader(gz), "g.csv", billread.Limits{MaxInflated: 100})
	if _, err := io.Copy(io.Discard, rc); !errors.Is(err, billread.ErrTooLarge) {
		t.Fatalf("bound: %v", err)
	}
}

// Entry names: GBK without the UTF-8 flag (Alipay) decoded; UTF-8 Chinese
// without the flag (a re-packed zip) kept; flagged UTF-8 kept.
func TestEntryNameEncodings(t *testing.T) {
	gbkName, err := simplifiedchinese.GBK.NewEncoder().String("2088_20261120_业务明细.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		nonUTF8 bool
		want    string
	}{
		{gbkName, true, "2088_20261120_业务明细.csv"},
		{"2088_20261120_业务明细.csv", true, "2088_20261120_业务明细.csv"},
		{"2088_20261120_业务明细.csv", false, "2088_20261120_业务明细.csv"},
		{"plain.csv", true, "plain.csv"},
	} {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: tc.name, NonUTF8: tc.nonUTF8}); err != nil {
			t.Fatal(err)
		}
		zw.Close()
		zr, err := zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if got := billread.EntryName(zr.File[0]); got != tc.want {
			t.Errorf("%q (no flag %v): %q, want %q", tc.name, tc.nonUTF8, got, tc.want)
		}
	}
}

func TestFold(t *testing.T) {
	numeric := func(i int) func([]string) bool {
		return func(v []string) bool { _, err := strconv.Atoi(strings.TrimSpace(v[i])); return err == nil }
	}
	for _, tc := range []struct {
		name string
		vals []string
		free []int
		ok   func([]string) bool
		want []string
	}{
		{"comma in the text column", []string{"1", "a", "b", "7"}, []int{1}, numeric(2), []string{"1", "a,b", "7"}},
		{"comma in the last column, empty tail kept", []string{"1", "7", "a", "b"}, []int{2}, numeric(1), []string{"1", "7", "a,b"}},
		{"trailing comma is not folded into the last column", []string{"1", "7", "a", ""}, []int{2}, numeric(1), nil},
		{"folding that does not read", []string{"1", "a", "b", "x"}, []int{1}, numeric(2), nil},
		{"an empty text column before an empty last column", []string{"1", "a", "b", "7", ""}, []int{1}, numeric(2), []string{"1", "a,b", "7", ""}},
	} {
		n := 3
		if tc.name == "an empty text column before an empty last column" {
			n = 4
		}
		got, ok := billread.Fold(tc.vals, n, ",", tc.free, tc.ok)
		if (tc.want != nil) != ok || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q %v, want %q", tc.name, got, ok, tc.want)
		}
	}
}
