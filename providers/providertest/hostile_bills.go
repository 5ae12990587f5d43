package providertest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/billread"
	"github.com/payrecon/payrecon/providers/scenario"
)

// hostileBillCase is one hostile bill: how to tamper with the file holding the
// target line, and what the provider's bill source must say.
type hostileBillCase struct {
	name string
	// applies says whether the case exists in a format.
	applies func(f scenario.BillFormat) bool
	// plain rewrites the file holding the target (nil: unchanged).
	plain func(f scenario.BillFormat, b []byte, target string) []byte
	// archive rewrites the served bytes (nil: unchanged).
	archive func(f scenario.BillFormat, t *scenario.BillTamper) func([]byte) []byte
	// limits, when set, are billread's defaults during the case.
	limits *billread.Limits
	// want is the sentinel the error must wrap (nil: any); wantAny lists
	// sentinels one of which it must wrap.
	want    error
	wantAny []error
	// atLine: the error names the target's line (its record, for JSON)
	// and a column; jsonColumn: a column for JSON too (a JSON syntax error
	// or an oversized record names the record only).
	atLine, jsonColumn bool
}

// bombSize is how much the planted zip bomb inflates to; the case lowers
// the inflated-bytes limit so that it fails after a few MiB.
const bombSize = 64 << 20

func hostileBillCases() []hostileBillCase {
	always := func(scenario.BillFormat) bool { return true }
	isZip := func(f scenario.BillFormat) bool { return f.Archive == "zip" }
	archived := func(f scenario.BillFormat) bool { return f.Archive != "" }
	entryName := func(rename func(string) string) func(scenario.BillFormat, *scenario.BillTamper) func([]byte) []byte {
		return func(_ scenario.BillFormat, t *scenario.BillTamper) func([]byte) []byte {
			return func(served []byte) []byte { return renameZipEntries(served, rename) }
		}
	}
	return []hostileBillCase{
		{name: "UnterminatedQuote", applies: always, atLine: true,
			plain: func(f scenario.BillFormat, b []byte, target string) []byte {
				i := targetIndex(f, b, target)
				if f.JSON { // the order number's string never closes
					return splice(b, i+len(target), i+len(target)+1, "")
				}
				return splice(b, i, i, `"`)
			}},
		{name: "ZipBomb", applies: archived, want: billread.ErrTooLarge, limits: &billread.Limits{MaxInflated: 8 << 20, MaxRatio: 1 << 30},
			archive: func(f scenario.BillFormat, t *scenario.BillTamper) func([]byte) []byte {
				body := bombBody(t.Plain, bombSize)
				if f.Archive == "gzip" {
					return func([]byte) []byte { return gzipOf(body) }
				}
				name := t.Name
				return func(served []byte) []byte { return zipOf(entryNames(served, name), body) }
			}},
		{name: "ZipRatioBomb", applies: archived, wantAny: []error{billread.ErrTooLarge, billread.ErrLineTooLong},
			archive: func(f scenario.BillFormat, t *scenario.BillTamper) func([]byte) []byte {
				zeros := make([]byte, 16<<20) // no line end at all: ~1000:1
				if f.Archive == "gzip" {
					return func([]byte) []byte { return gzipOf(zeros) }
				}
				name := t.Name
				return func(served []byte) []byte { return zipOf(entryNames(served, name), zeros) }
			}},
		{name: "EntryDotDot", applies: isZip, want: billread.ErrEntryName, archive: entryName(func(n string) string { return "../" + n })},
		{name: "EntryAbsolute", applies: isZip, want: billread.ErrEntryName, archive: entryName(func(n string) string { return "/" + n })},
		{name: "EntrySeparator", applies: isZip, want: billread.ErrEntryName, archive: entryName(func(n string) string { return `bills\` + n })},
		{name: "ShortRow", applies: always, atLine: true, jsonColumn: true,
			plain: func(f scenario.BillFormat, b []byte, target string) []byte {
				if f.JSON { // the record loses its amount
					start, end := recordBounds(b, targetIndex(f, b, target))
					j := start + bytes.Index(b[start:end], []byte(`"total_cost":`))
					k := j + bytes.IndexByte(b[j:], ',')
					return splice(b, j, k+1, "")
				}
				start, end := lineAround(b, target)
				line := b[start:end]
				k := bytes.LastIndexByte(line, ',')
				return append(append(append([]byte{}, b[:start]...), line[:k]...), b[end:]...)
			}},
		{name: "WrongEncoding", applies: always, want: billread.ErrEncoding, atLine: true, jsonColumn: true,
			plain: func(f scenario.BillFormat, b []byte, target string) []byte {
				bad := "\xc9\xcc\xc6\xb7" // 商品 in GBK: not UTF-8
				if f.Encoding == "gbk" {
					bad = "\xff" // no GBK character
				}
				i := targetIndex(f, b, target)
				return splice(b, i, i, bad)
			}},
		{name: "LongLine", applies: always, want: billread.ErrLineTooLong, atLine: true,
			plain: func(f scenario.BillFormat, b []byte, target string) []byte {
				i := targetIndex(f, b, target) + len(target)
				return splice(b, i, i, strings.Repeat("9", 80<<10))
			}},
		{name: "TruncatedArchive", applies: always, want: nil,
			archive: func(scenario.BillFormat, *scenario.BillTamper) func([]byte) []byte {
				return func(served []byte) []byte { return served[:len(served)/2] }
			}},
		{name: "LineTakenOut", applies: func(f scenario.BillFormat) bool { return f.Summary }, want: billread.ErrSummary,
			plain: func(f scenario.BillFormat, b []byte, target string) []byte {
				if f.JSON { // the record is left out of objects; total_count stays
					start, end := recordBounds(b, targetIndex(f, b, target))
					switch {
					case b[end+1] == ',':
						return splice(b, start, end+2, "")
					case b[start-1] == ',':
						return splice(b, start-1, end+1, "")
					}
					return splice(b, start, end+1, "")
				}
				start, end := lineAround(b, target)
				return append(append([]byte{}, b[:start]...), b[end+1:]...)
			}},
	}
}

// testHostileBills plays each hostile bill category against the provider's
// bill source: the sandbox serves the day's trade bill tampered in the
// provider's own format, and Bill must fail with an error naming the file,
// and the line and column where a line exists; an unterminated quote in a
// format where quotes are not syntax must at least not shorten the bill.
func testHostileBills(t *testing.T, h Harness, pl planted) {
	src, ok := h.Provider.(payrecon.BillSource)
	if h.HostileBills != nil {
		src, ok = h.HostileBills, true
	}
	if !ok {
		t.Skip("provider has no BillSource")
	}
	tb, ok := h.Sandbox.(scenario.BillTamperer)
	if !ok {
		t.Skip("sandbox cannot tamper with its bills")
	}
	defer tb.TamperBills(nil)
	good, _ := collectBill(t, h, src, h.Day)
	target := pl.paid[1].MerchantOrderNo
	for _, c := range hostileBillCases() {
		t.Run(c.name, func(t *testing.T) {
			var format scenario.BillFormat
			targetLine, tampered := 0, false
			tb.TamperBills(func(bt *scenario.BillTamper) {
				i := targetIndex(bt.Format, bt.Plain, target)
				if i < 0 || bt.Day != h.Day || bt.Kind != payrecon.BillTrade {
					return
				}
				format = bt.Format
				if !c.applies(bt.Format) {
					return
				}
				tampered = true
				targetLine = bytes.Count(bt.Plain[:i], []byte("\n")) + 1
				if bt.Format.JSON {
					targetLine = jsonRecord(bt.Plain, i)
				}
				if c.plain != nil {
					bt.Plain = c.plain(bt.Format, bt.Plain, target)
				}
				if c.archive != nil {
					bt.Archive = c.archive(bt.Format, bt)
				}
			})
			if c.limits != nil {
				defer billread.SetDefaults(*c.limits)()
			}
			n := 0
			_, err := src.Bill(h.ctx(t), h.Day, payrecon.BillTrade, func(payrecon.BillLine) error { n++; return nil })
			tb.TamperBills(nil)
			if !tampered {
				if format == (scenario.BillFormat{}) {
					t.Fatalf("the sandbox served no trade bill holding %s", target)
				}
				t.Skipf("no %s in a %+v bill", c.name, format)
			}
			if c.name == "UnterminatedQuote" && !format.Quoting && !format.JSON {
				// a quote is an ordinary character here: the bill must
				// still be read whole, or fail naming the line
				if err == nil && n != len(good) {
					t.Fatalf("a stray quote shortened the bill: %d lines, %d without it", n, len(good))
				}
				return
			}
			if err == nil {
				t.Fatalf("the bill was read (%d lines, %d untampered): want an error", n, len(good))
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if c.name == "UnterminatedQuote" && format.Quoting && !errors.Is(err, billread.ErrQuote) {
				t.Fatalf("err = %v, want %v", err, billread.ErrQuote)
			}
			if len(c.wantAny) > 0 {
				found := false
				for _, w := range c.wantAny {
					found = found || errors.Is(err, w)
				}
				if !found {
					t.Fatalf("err = %v, want one of %v", err, c.wantAny)
				}
			}
			var be *billread.Error
			if !errors.As(err, &be) {
				if c.name == "TruncatedArchive" && format.JSON && strings.Contains(err.Error(), "unexpected EOF") {
					return // a page cut in transfer: the HTTP read fails
				}
				t.Fatalf("err = %v: not a bill error naming file, line and column", err)
			}
			if be.File == "" || !strings.Contains(err.Error(), be.File) {
				t.Fatalf("err = %v: does not name the file", err)
			}
			if c.name == "TruncatedArchive" && !format.JSON && !errors.Is(err, billread.ErrTruncated) {
				t.Fatalf("err = %v, want it to say truncated", err)
			}
			t.Logf("%v", err)
			if c.atLine {
				if be.Line != targetLine {
					t.Fatalf("err = %v: want line %d", err, targetLine)
				}
				if format.JSON && !c.jsonColumn {
					return
				}
				if be.Column == "" || !strings.Contains(err.Error(), fmt.Sprintf(" line %d column ", targetLine)) {
					t.Fatalf("err = %v: does not say line %d column …", err, targetLine)
				}
			}
		})
	}
}

// targetIndex is where the target order number sits in b: for JSON, the
// value of trade_no or transaction_no (it may appear in nested provider
// data before).
func targetIndex(f scenario.BillFormat, b []byte, target string) int {
	if f.JSON {
		for _, k := range []string{`"trade_no":"`, `"transaction_no":"`} {
			if i := bytes.Index(b, []byte(k+target+`"`)); i >= 0 {
				return i + len(k)
			}
		}
		return -1
	}
	return bytes.Index(b, []byte(target))
}

// splice is b with b[i:j] replaced by s (a new slice).
func splice(b []byte, i, j int, s string) []byte {
	out := make([]byte, 0, len(b)+len(s))
	out = append(out, b[:i]...)
	out = append(out, s...)
	return append(out, b[j:]...)
}

// recordBounds is the first and last byte of the objects record holding
// byte off.
func recordBounds(b []byte, off int) (int, int) {
	i := bytes.Index(b, []byte(`"objects":[`)) + len(`"objects":[`)
	depth, start := 0, -1
	inStr := false
	for j := i; j < len(b); j++ {
		switch c := b[j]; {
		case inStr && c == '\\':
			j++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{':
			if depth == 0 {
				start = j
			}
			depth++
		case c == '}':
			depth--
			if depth == 0 && j > off {
				return start, j
			}
		}
	}
	return start, len(b) - 1
}

// lineAround returns the bounds of the line holding target (end at its
// "\n").
func lineAround(b []byte, target string) (int, int) {
	i := bytes.Index(b, []byte(target))
	start := bytes.LastIndexByte(b[:i], '\n') + 1
	end := i + bytes.IndexByte(b[i:], '\n')
	if end < i {
		end = len(b)
	}
	if end > start && b[end-1] == '\r' {
		end--
	}
	return start, end
}

// jsonRecord is the 1-based index of the objects record holding byte off.
func jsonRecord(b []byte, off int) int {
	i := bytes.Index(b, []byte(`"objects":[`))
	if i < 0 || i > off {
		return 0
	}
	depth, n := 0, 0
	inStr := false
	for j := i + len(`"objects":[`); j < off; j++ {
		switch c := b[j]; {
		case inStr && c == '\\':
			j++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{':
			if depth == 0 {
				n++
			}
			depth++
		case c == '}':
			depth--
		}
	}
	return n
}

// bombBody is the bill's lines up to and with the target's repeated to n
// bytes: valid-looking text, so that only the inflated-bytes bound stops it.
func bombBody(plain []byte, n int) []byte {
	head := plain
	if i := bytes.LastIndexByte(plain[:len(plain)/2+1], '\n'); i > 0 {
		head = plain[:i+1]
	}
	line := head
	if i := bytes.LastIndexByte(head[:len(head)-1], '\n'); i >= 0 {
		line = head[i+1:]
	}
	out := make([]byte, 0, n+len(head))
	out = append(out, head...)
	for len(out) < n {
		out = append(out, line...)
	}
	return out
}

func gzipOf(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// zipOf is a zip holding body under each name.
func zipOf(names []string, body []byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	for _, n := range names {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate})
		_, _ = w.Write(body)
	}
	_ = zw.Close()
	return buf.Bytes()
}

// entryNames lists a zip's raw entry names (or just fallback when served is
// not a zip).
func entryNames(served []byte, fallback string) []string {
	zr, err := zip.NewReader(bytes.NewReader(served), int64(len(served)))
	if err != nil || len(zr.File) == 0 {
		return []string{fallback}
	}
	var out []string
	for _, f := range zr.File {
		out = append(out, f.Name)
	}
	return out[:1]
}

// renameZipEntries rewrites a zip with every entry renamed (contents kept).
func renameZipEntries(served []byte, rename func(string) string) []byte {
	zr, err := zip.NewReader(bytes.NewReader(served), int64(len(served)))
	if err != nil {
		return served
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return served
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		fh := f.FileHeader
		fh.Name = rename(f.Name)
		w, err := zw.CreateHeader(&fh)
		if err != nil {
			return served
		}
		_, _ = w.Write(body)
	}
	_ = zw.Close()
	return buf.Bytes()
}
