package billread

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// Encoding is a bill's text encoding.
type Encoding int

const (
	// Auto: UTF-8 (a BOM is dropped) or GBK/GB18030, decided by the first
	// line holding a non-ASCII byte (valid UTF-8 there means UTF-8), then
	// held for the whole file: a later line that is not valid in the
	// decided encoding fails naming its line.
	Auto Encoding = iota
	// UTF8: the file must be UTF-8 (a BOM is dropped); GBK bytes fail.
	UTF8
	// GBK: the file must be GBK/GB18030 (decoded with GB18030, a superset);
	// bytes no GBK character has fail. A UTF-8 BOM makes it UTF-8.
	GBK
)

func (e Encoding) String() string {
	switch e {
	case UTF8:
		return "utf-8"
	case GBK:
		return "gbk"
	}
	return "auto"
}

// Split is how a line is cut into fields.
type Split int

const (
	// SplitCSV: fields separated by commas. A field whose first byte (after
	// spaces with LeadingSpace, and after a "`" guard) is a double quote is
	// quoted: "" stands for a quote, the field may run over several lines,
	// and it must close, followed by a comma or the end of the line. A quote
	// inside an unquoted field is an ordinary character. On input without
	// errors the records are encoding/csv's (LazyQuotes) records.
	SplitCSV Split = iota
	// SplitBacktick is WeChat Pay's layout: a line starting with "`" holds
	// values each prefixed by "`", separated by ",`" (a comma inside a value
	// stays in it); other lines (headers) are split on commas. Quotes are
	// ordinary characters. Values are returned without the backtick,
	// spaces trimmed.
	SplitBacktick
)

// Options say how to read one bill file.
type Options struct {
	Encoding Encoding
	Split    Split
	// LeadingSpace allows spaces after a comma before a quoted field (the
	// ", " separators some providers print).
	LeadingSpace bool
	// Limits; only MaxLine matters to the reader.
	Limits Limits
}

// bufSize is the read buffer: lines are sliced out of it.
const bufSize = 64 << 10

// Reader reads the records of one bill file. It keeps no more than one
// record (and the read buffer) in memory.
type Reader struct {
	file    string
	opt     Options
	maxLine int
	br      *bufio.Reader
	enc     Encoding // decided encoding; Auto while undecided
	dec     transform.Transformer

	n       int // lines read
	recLine int // line the current record starts on
	long    []byte
	dbuf    []byte
	buf     []byte
	ends    []int
	text    string
	rec     []string
	header  []string
	err     error // sticky
}

// NewReader reads r, a bill file called file (for errors).
func NewReader(r io.Reader, file string, opt Options) *Reader {
	lim := opt.Limits.resolved()
	rd := &Reader{file: file, opt: opt, maxLine: lim.MaxLine, br: bufio.NewReaderSize(r, bufSize)}
	if opt.Encoding == UTF8 || opt.Encoding == GBK {
		rd.enc = opt.Encoding
	}
	if rd.enc == GBK {
		rd.dec = simplifiedchinese.GB18030.NewDecoder()
	}
	return rd
}

// File is the file name errors carry.
func (r *Reader) File() string { return r.file }

// Line is the line the last record read starts on (1-based).
func (r *Reader) Line() int { return r.recLine }

// Text is the last record's text, decoded, without its line end (lines of
// a multi-line record joined by "\n").
func (r *Reader) Text() string { return r.text }

// Encoding is the encoding decided so far (Auto while the file has been
// ASCII only).
func (r *Reader) Encoding() Encoding { return r.enc }

// SetHeader records the header's column names (copied) so that errors can
// name columns; cells are trimmed of spaces, BOM and "`".
func (r *Reader) SetHeader(names []string) {
	r.header = make([]string, len(names))
	for i, n := range names {
		r.header[i] = strings.Trim(strings.TrimSpace(strings.TrimPrefix(n, "\ufeff")), "`\t ")
	}
}

// Column names column i (0-based): its header name, or "#i+1".
func (r *Reader) Column(i int) string {
	if i >= 0 && i < len(r.header) && r.header[i] != "" {
		return r.header[i]
	}
	return "#" + strconv.Itoa(i+1)
}

// Errorf is an *Error at the current record's line, naming column (may be "").
func (r *Reader) Errorf(column string, format string, args ...any) error {
	return &Error{File: r.file, Line: r.recLine, Column: column, Err: fmt.Errorf(format, args...)}
}

// Wrap names err with the current record's line and column ("" for none,
// or the column of a ColumnError inside err); an error that already is an
// *Error is returned as is.
func (r *Reader) Wrap(column string, err error) error {
	var ce *ColumnError
	if column == "" && errors.As(err, &ce) {
		return Errorf(r.file, r.recLine, ce.Column, ce.Err)
	}
	return Errorf(r.file, r.recLine, column, err)
}

// CheckWidth is an error unless rec has exactly n fields (the header's
// count): a short row names the first missing column, a long one the first
// extra.
func (r *Reader) CheckWidth(rec []string, n int) error {
	switch {
	case len(rec) < n:
		return &Error{File: r.file, Line: r.recLine, Column: r.Column(len(rec)), Err: fmt.Errorf("%w: %d columns, the header has %d", ErrColumns, len(rec), n)}
	case len(rec) > n:
		return &Error{File: r.file, Line: r.recLine, Column: r.Column(n), Err: fmt.Errorf("%w: %d columns, the header has %d", ErrColumns, len(rec), n)}
	}
	return nil
}

// readErr maps an error of the underlying reader.
func readErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrTruncated) {
		return fmt.Errorf("%w: %w", ErrTruncated, err)
	}
	return err
}

// rawLine returns the next line (decoded to UTF-8, without "\r\n" or
// "\n"), valid until the next call, or io.EOF.
func (r *Reader) rawLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.long = append(r.long[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(r.long) > r.maxLine+2 {
				break
			}
			line, err = r.br.ReadSlice('\n')
			r.long = append(r.long, line...)
		}
		line = r.long
		if err == bufio.ErrBufferFull {
			err = nil
		}
	}
	if err != nil && err != io.EOF {
		return nil, &Error{File: r.file, Line: r.n + 1, Err: readErr(err)}
	}
	if len(line) == 0 {
		return nil, io.EOF
	}
	r.n++
	if len(line) > r.maxLine+2 || (len(line) > r.maxLine && len(bytes.TrimRight(line, "\r\n")) > r.maxLine) {
		return nil, &Error{File: r.file, Line: r.n, Column: r.column(line, r.maxLine), Err: fmt.Errorf("%w: more than %d bytes", ErrLineTooLong, r.maxLine)}
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n > 1 && line[n-2] == '\r' {
			line = line[:n-2]
		}
	} else if n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if r.n == 1 && len(line) >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF {
		line = line[3:]
		if r.enc != UTF8 { // a BOM says UTF-8
			r.enc, r.dec = UTF8, nil
		}
	}
	return r.decode(line)
}

// decode checks (and for GBK converts) one raw line.
func (r *Reader) decode(line []byte) ([]byte, error) {
	switch r.enc {
	case UTF8:
		if utf8.Valid(line) {
			return line, nil
		}
		return nil, r.encErr(line, invalidUTF8(line), "not valid UTF-8 (a GBK file where UTF-8 is expected?)")
	case GBK:
		return r.gbk(line)
	}
	// undecided
	if utf8.Valid(line) {
		if !ascii(line) {
			r.enc = UTF8
		}
		return line, nil
	}
	if r.opt.Encoding == UTF8 {
		return nil, r.encErr(line, invalidUTF8(line), "not valid UTF-8")
	}
	r.enc, r.dec = GBK, simplifiedchinese.GB18030.NewDecoder()
	return r.gbk(line)
}

func (r *Reader) gbk(line []byte) ([]byte, error) {
	if ascii(line) {
		return line, nil
	}
	if need := 3*len(line) + 16; cap(r.dbuf) < need {
		r.dbuf = make([]byte, need)
	}
	r.dec.Reset()
	n, _, err := r.dec.Transform(r.dbuf[:cap(r.dbuf)], line, true)
	if err != nil {
		return nil, r.encErr(line, 0, "not valid GBK: "+err.Error())
	}
	d := r.dbuf[:n]
	if i := bytes.Index(d, []byte("\uFFFD")); i >= 0 {
		return nil, &Error{File: r.file, Line: r.n, Column: r.column(d, i), Err: fmt.Errorf("%w: bytes that are no GBK character (a UTF-8 or corrupt line in a GBK file?)", ErrEncoding)}
	}
	return d, nil
}

func (r *Reader) encErr(line []byte, off int, msg string) error {
	return &Error{File: r.file, Line: r.n, Column: r.column(line, off), Err: fmt.Errorf("%w: %s", ErrEncoding, msg)}
}

// column names the field holding byte off of line (quotes ignored).
func (r *Reader) column(line []byte, off int) string {
	if off > len(line) {
		off = len(line)
	}
	pre := line[:off]
	i := bytes.Count(pre, []byte{','})
	if r.opt.Split == SplitBacktick && len(line) > 0 && line[0] == '`' {
		i = bytes.Count(pre, []byte(",`"))
	}
	return r.Column(i)
}

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// invalidUTF8 is the offset of the first invalid byte of b.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// Read returns the next record's fields (valid until the next call), or
// io.EOF after the last. Empty lines are skipped. Errors are *Error.
func (r *Reader) Read() ([]string, error) {
	if r.err != nil {
		return nil, r.err
	}
	rec, err := r.read()
	if err != nil {
		r.err = err
	}
	return rec, err
}

func (r *Reader) read() ([]string, error) {
	var line []byte
	for {
		l, err := r.rawLine()
		if err != nil {
			return nil, err
		}
		if len(l) > 0 {
			line = l
			break
		}
	}
	r.recLine = r.n
	rec := r.rec[:0]
	if r.opt.Split == SplitBacktick {
		r.text = string(line)
		r.rec = splitBacktick(r.text, rec)
		return r.rec, nil
	}
	if bytes.IndexByte(line, '"') < 0 {
		// fast path: no quote, every field unquoted
		s := string(line)
		r.text = s
		for {
			i := strings.IndexByte(s, ',')
			if i < 0 {
				break
			}
			rec = append(rec, s[:i])
			s = s[i+1:]
		}
		r.rec = append(rec, s)
		return r.rec, nil
	}
	return r.quoted(line, rec)
}

// quoted splits a record holding a quote; a quoted field may pull further
// lines.
func (r *Reader) quoted(line []byte, rec []string) ([]string, error) {
	buf, ends := r.buf[:0], r.ends[:0]
	var text []byte
	text = append(text, line...)
	size := len(line)
	field := 0
	for {
		// one field starts at line[0]
		j := 0
		if r.opt.LeadingSpace {
			for j < len(line) && line[j] == ' ' {
				j++
			}
		}
		k := j
		if k < len(line) && line[k] == '`' {
			k++
		}
		if k >= len(line) || line[k] != '"' {
			// unquoted field
			i := bytes.IndexByte(line, ',')
			if i < 0 {
				buf = append(buf, line...)
				ends = append(ends, len(buf))
				break
			}
			buf = append(buf, line[:i]...)
			ends = append(ends, len(buf))
			line = line[i+1:]
			field++
			continue
		}
		// quoted field: keep a "`" guard before the quote
		buf = append(buf, line[j:k]...)
		line = line[k+1:]
		for {
			i := bytes.IndexByte(line, '"')
			if i >= 0 {
				buf = append(buf, line[:i]...)
				line = line[i+1:]
				if len(line) > 0 && line[0] == '"' {
					buf = append(buf, '"')
					line = line[1:]
					continue
				}
				// closed: a comma or the end of the line follows
				ends = append(ends, len(buf))
				if len(line) == 0 {
					goto done
				}
				if line[0] != ',' {
					return nil, &Error{File: r.file, Line: r.n, Column: r.Column(field), Err: fmt.Errorf("%w: text after the closing quote of a quoted field", ErrQuote)}
				}
				line = line[1:]
				field++
				break
			}
			// the line ends inside the quotes: the field goes on
			buf = append(buf, line...)
			next, err := r.rawLine()
			if err == io.EOF {
				return nil, &Error{File: r.file, Line: r.recLine, Column: r.Column(field), Err: fmt.Errorf("%w: the quote opened here never closes", ErrQuote)}
			}
			if err != nil {
				var be *Error
				if errors.As(err, &be) && errors.Is(err, ErrLineTooLong) {
					return nil, &Error{File: r.file, Line: r.recLine, Column: r.Column(field), Err: fmt.Errorf("%w: a quoted field runs over more than %d bytes", ErrQuote, r.maxLine)}
				}
				return nil, err
			}
			size += len(next) + 1
			if size > r.maxLine {
				return nil, &Error{File: r.file, Line: r.recLine, Column: r.Column(field), Err: fmt.Errorf("%w: a quoted field runs over more than %d bytes", ErrQuote, r.maxLine)}
			}
			buf = append(buf, '\n')
			text = append(text, '\n')
			text = append(text, next...)
			line = next
		}
	}
done:
	r.buf, r.ends = buf, ends
	r.text = string(text)
	str := string(buf)
	prev := 0
	for _, e := range ends {
		rec = append(rec, str[prev:e])
		prev = e
	}
	r.rec = rec
	return rec, nil
}

// splitBacktick is SplitBacktick.
func splitBacktick(line string, dst []string) []string {
	if strings.HasPrefix(line, "`") {
		rest := line[1:]
		for {
			i := sepIndex(rest)
			if i < 0 {
				return append(dst, trim(rest))
			}
			dst = append(dst, trim(rest[:i]))
			rest = rest[i+2:]
		}
	}
	for {
		i := strings.IndexByte(line, ',')
		if i < 0 {
			return append(dst, trim(strings.TrimPrefix(line, "`")))
		}
		dst = append(dst, trim(strings.TrimPrefix(line[:i], "`")))
		line = line[i+1:]
	}
}

// sepIndex finds the next ",`".
func sepIndex(s string) int {
	off := 0
	for {
		i := strings.IndexByte(s[off:], ',')
		if i < 0 {
			return -1
		}
		off += i
		if off+1 < len(s) && s[off+1] == '`' {
			return off
		}
		off++
	}
}

// trim is strings.TrimSpace for the usual case of nothing to trim.
func trim(s string) string {
	if s == "" || (s[0] > ' ' && s[0] < 0x80 && s[len(s)-1] > ' ' && s[len(s)-1] < 0x80) {
		return s
	}
	return strings.TrimSpace(s)
}
