package billread_test

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/payrecon/payrecon/providers/internal/billread"
)

// FuzzReader: any input, any options. The reader never panics; every error
// is a *billread.Error naming the file; every record it returns is valid
// UTF-8 and within the line bound; on UTF-8 CSV input it reads exactly the
// records and start lines encoding/csv (LazyQuotes) reads, and where it
// refuses such input strict encoding/csv refuses it too.
func FuzzReader(f *testing.F) {
	f.Add([]byte("a,b,c\r\n1,\"2,x\",3\r\n\"multi\nline\",\"q\"\"q\",\n"), byte(0))
	f.Add([]byte("\xef\xbb\xbf交易,金额\n收单,1.00\n"), byte(1))
	f.Add([]byte("\xbd\xbb\xd2\xd7,\xbd\xf0\xb6\xee\n\xca\xd5\xb5\xa5,1.00\n\xff\n"), byte(2))
	f.Add([]byte("h\n`a,`b,c`\n`\"q,`x\n"), byte(4))
	f.Add([]byte("a, \"b\" ,c\n`\"x\"\n"), byte(8))
	f.Fuzz(func(t *testing.T, data []byte, o byte) {
		opt := billread.Options{
			Encoding: billread.Encoding(o % 3),
			Split:    billread.Split((o >> 2) & 1),
			Limits:   billread.Limits{MaxLine: 64 + int(o>>4)*16},
		}
		opt.LeadingSpace = o&8 != 0
		r := billread.NewReader(bytes.NewReader(data), "f.csv", opt)
		var recs [][]string
		var lines []int
		var err error
		for {
			var rec []string
			rec, err = r.Read()
			if err != nil {
				break
			}
			if r.Encoding() != billread.GBK && len(r.Text()) > opt.Limits.MaxLine && !strings.Contains(r.Text(), "\n") {
				t.Fatalf("a %d-byte line passed the %d-byte bound", len(r.Text()), opt.Limits.MaxLine)
			}
			for _, c := range rec {
				if !utf8.ValidString(c) {
					t.Fatalf("field %q is not UTF-8", c)
				}
			}
			if r.Line() < 1 || (len(lines) > 0 && r.Line() <= lines[len(lines)-1]) {
				t.Fatalf("line %d after %v", r.Line(), lines)
			}
			recs = append(recs, append([]string(nil), rec...))
			lines = append(lines, r.Line())
		}
		if err != io.EOF {
			var be *billread.Error
			if !errors.As(err, &be) || be.File != "f.csv" || !strings.HasPrefix(err.Error(), "bill f.csv") {
				t.Fatalf("error %v is not a bill error naming the file", err)
			}
			if _, again := r.Read(); again != err {
				t.Fatalf("error not sticky: %v then %v", err, again)
			}
		}
		// the encoding/csv agreement on plain UTF-8 CSV
		if opt.Split != billread.SplitCSV || opt.LeadingSpace || opt.Encoding == billread.GBK || !utf8.Valid(data) ||
			bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) || bytes.Contains(data, []byte("`\"")) || len(data) > 60 {
			return
		}
		cr := csv.NewReader(bytes.NewReader(data))
		cr.FieldsPerRecord, cr.LazyQuotes = -1, true
		var want [][]string
		var wantLines []int
		var werr error
		for {
			rec, e := cr.Read()
			if e != nil {
				if e != io.EOF {
					werr = e
				}
				break
			}
			l, _ := cr.FieldPos(0)
			want, wantLines = append(want, rec), append(wantLines, l)
		}
		if err == io.EOF {
			if werr != nil || !reflect.DeepEqual(recs, want) || !reflect.DeepEqual(lines, wantLines) {
				t.Fatalf("%q:\nencoding/csv %q %v %v\nbillread     %q %v", data, want, wantLines, werr, recs, lines)
			}
			return
		}
		if errors.Is(err, billread.ErrQuote) {
			strict := csv.NewReader(bytes.NewReader(data))
			strict.FieldsPerRecord = -1
			if _, serr := strict.ReadAll(); serr == nil {
				t.Fatalf("%q: billread refuses a quote strict encoding/csv reads: %v", data, err)
			}
		}
	})
}

// FuzzZip: any bytes as a bill zip. Opening and reading every entry never
// panics, reads no more than the bounds allow, and names the archive in
// errors from opening it.
func FuzzZip(f *testing.F) {
	f.Add(zipOfF([]string{"a.csv"}, []byte("a,b\n1,2\n")))
	f.Add(zipOfF([]string{"../a.csv", "b.csv"}, []byte("x")))
	f.Add(zipOfF([]string{"d/", "d/a.csv", "d/../b.csv"}, []byte("x")))
	f.Add(zipOfF([]string{"a.csv"}, make([]byte, 4<<10)))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := billread.Limits{MaxInflated: 1 << 20, MaxEntries: 4}
		z, err := billread.OpenZip(bytes.NewReader(data), int64(len(data)), "f.zip", lim)
		if err != nil {
			var be *billread.Error
			if !errors.As(err, &be) || be.File != "f.zip" {
				t.Fatalf("open: %v", err)
			}
			return
		}
		var total int64
		for _, e := range z.Entries {
			// a relative path of plain names, at most 4 folders deep
			elems := strings.Split(e.Name, "/")
			if strings.ContainsRune(e.Name, '\\') || len(elems) > 5 || (len(e.Name) >= 2 && e.Name[1] == ':') ||
				slices.ContainsFunc(elems, func(s string) bool { return s == "" || s == "." || s == ".." }) {
				t.Fatalf("entry %q passed", e.Name)
			}
			rc, err := z.Open(e)
			if err != nil {
				continue
			}
			n, _ := io.Copy(io.Discard, rc)
			rc.Close()
			total += n
		}
		if total > lim.MaxInflated+64<<10 {
			t.Fatalf("inflated %d bytes past the %d bound", total, lim.MaxInflated)
		}
	})
}

func zipOfF(names []string, body []byte) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range names {
		w, _ := zw.Create(n)
		w.Write(body)
	}
	zw.Close()
	return b.Bytes()
}
