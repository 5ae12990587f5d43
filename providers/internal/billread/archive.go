package billread

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Zip is a checked zip archive: at most MaxEntries entries, every name a
// relative path (plain names under at most a few folders, not absolute, no
// "..", no backslash, no control character, no duplicate; folder entries
// are skipped), entries opened through a reader that counts the
// bytes actually inflated.
type Zip struct {
	file     string
	lim      Limits
	inflated int64
	Entries  []Entry
}

// Entry is one file of a Zip.
type Entry struct {
	// Name is the entry's name, decoded (GBK names without the UTF-8 flag,
	// as Alipay writes them, are decoded).
	Name string
	f    *zip.File
}

// OpenZip reads the directory of the zip archive ra of size bytes, called
// file (for errors), and checks its entries.
func OpenZip(ra io.ReaderAt, size int64, file string, lim Limits) (*Zip, error) {
	z := &Zip{file: file, lim: lim.resolved()}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		head := make([]byte, 4)
		n, _ := ra.ReadAt(head, 0)
		switch {
		case size == 0:
			return nil, &Error{File: file, Err: fmt.Errorf("%w: the archive is empty", ErrTruncated)}
		case n == 4 && bytes.Equal(head, []byte("PK\x03\x04")):
			return nil, &Error{File: file, Err: fmt.Errorf("%w: the zip has no complete central directory (%v)", ErrTruncated, err)}
		}
		return nil, &Error{File: file, Err: fmt.Errorf("%w: not a zip: %v", ErrNotAnArchive, err)}
	}
	if len(zr.File) > z.lim.MaxEntries {
		return nil, &Error{File: file, Err: fmt.Errorf("%w: %d entries, at most %d", ErrEntries, len(zr.File), z.lim.MaxEntries)}
	}
	seen := map[string]bool{}
	for _, f := range zr.File {
		name := EntryName(f)
		if err := checkEntryName(name); err != nil {
			return nil, &Error{File: file, Err: fmt.Errorf("%w %q: %s", ErrEntryName, name, err)}
		}
		if seen[name] {
			return nil, &Error{File: file, Err: fmt.Errorf("%w %q: it appears twice", ErrEntryName, name)}
		}
		seen[name] = true
		if strings.HasSuffix(name, "/") { // a folder: nothing to read
			if f.UncompressedSize64 != 0 {
				return nil, &Error{File: file, Err: fmt.Errorf("%w %q: a folder entry holding %d bytes", ErrEntryName, name, f.UncompressedSize64)}
			}
			continue
		}
		if f.UncompressedSize64 > uint64(z.lim.MaxInflated) {
			return nil, &Error{File: file, Err: fmt.Errorf("%w: entry %q declares %d bytes, at most %d", ErrTooLarge, name, f.UncompressedSize64, z.lim.MaxInflated)}
		}
		z.Entries = append(z.Entries, Entry{Name: name, f: f})
	}
	return z, nil
}

// EntryName decodes a zip entry name: GBK names without the UTF-8 flag (as
// Alipay writes them) are decoded; a name without the flag that reads as
// Chinese text in UTF-8 (a zip re-packed by a tool that does not set it)
// is taken as UTF-8.
func EntryName(f *zip.File) string {
	if !f.NonUTF8 && utf8.ValidString(f.Name) {
		return f.Name
	}
	if utf8.ValidString(f.Name) && (f.Flags&0x800 != 0 || chineseText(f.Name)) {
		return f.Name
	}
	if s, err := simplifiedchinese.GB18030.NewDecoder().String(f.Name); err == nil {
		return s
	}
	return f.Name
}

// maxEntryDepth is how many folders deep a zip entry may sit.
const maxEntryDepth = 4

// checkEntryName accepts a relative path of plain names separated by "/"
// (a provider may put its files in a folder: Huawei's "遍历附件目录"), at
// most maxEntryDepth folders deep; a folder entry ends in "/".
// chineseText reports whether every non-ASCII rune of s is a CJK
// ideograph or CJK / full-width punctuation: what a UTF-8 Chinese file name
// holds, and what GBK bytes misread as UTF-8 almost never do (they fall in
// the two-byte range U+0080–U+07FF).
func chineseText(s string) bool {
	for _, r := range s {
		switch {
		case r < 0x80:
		case r >= 0x4E00 && r <= 0x9FFF, r >= 0x3000 && r <= 0x303F, r >= 0xFF00 && r <= 0xFFEF:
		default:
			return false
		}
	}
	return true
}

func checkEntryName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case strings.ContainsRune(name, '\\'):
		return errors.New("holds a backslash (zip paths separate folders with /)")
	case strings.HasPrefix(name, "/"):
		return errors.New("is an absolute path")
	case len(name) >= 2 && name[1] == ':':
		return errors.New("is an absolute (drive) path")
	case !utf8.ValidString(name):
		return errors.New("is not valid text")
	}
	elems := strings.Split(strings.TrimSuffix(name, "/"), "/")
	if len(elems) > maxEntryDepth+1 {
		return fmt.Errorf("is nested more than %d folders deep", maxEntryDepth)
	}
	for _, e := range elems {
		if e == "" || e == "." || e == ".." {
			return errors.New(`holds an empty, "." or ".." path element`)
		}
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return errors.New("holds a control character")
		}
	}
	return nil
}

// Open opens an entry for reading. Reading fails once the archive has
// inflated more than MaxInflated bytes, or the entry more than MaxRatio
// times the compressed bytes read so far (after the first MiB); a stream
// that ends early is ErrTruncated, a size or checksum that does not match
// the directory ErrArchiveFormat. The entry is inflated here (from its raw
// bytes) so that the compressed bytes consumed are counted as they are
// read.
func (z *Zip) Open(e Entry) (io.ReadCloser, error) {
	raw, err := e.f.OpenRaw()
	if err != nil {
		return nil, &Error{File: z.file, Err: fmt.Errorf("%w: open %s: %v", ErrArchiveFormat, e.Name, err)}
	}
	cr := &counter{r: raw}
	var r io.Reader
	var c io.Closer = io.NopCloser(nil)
	switch e.f.Method {
	case zip.Store:
		r = cr
	case zip.Deflate:
		fr := flate.NewReader(cr)
		r, c = fr, fr
	default:
		return nil, &Error{File: z.file, Err: fmt.Errorf("%w: entry %s: compression method %d", ErrArchiveFormat, e.Name, e.f.Method)}
	}
	return &bounded{r: r, c: c, what: "zip entry " + e.Name, total: &z.inflated, lim: z.lim, compressed: func() int64 { return cr.n },
		check: &entryCheck{crc: crc32.NewIEEE(), want: e.f.CRC32, size: e.f.UncompressedSize64}}, nil
}

// entryCheck verifies a zip entry's size and CRC-32 against its directory
// record at the end of the stream.
type entryCheck struct {
	crc  hash.Hash32
	want uint32
	size uint64
}

// Gunzip opens a gzip stream (one member) read through the same bounds as
// a zip entry. file names it in errors.
func Gunzip(r io.Reader, file string, lim Limits) (io.ReadCloser, error) {
	lim = lim.resolved()
	cr := &counter{r: r}
	gz, err := gzip.NewReader(cr)
	if err != nil {
		switch {
		case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
			return nil, &Error{File: file, Err: fmt.Errorf("%w: the gzip stream ends in its header", ErrTruncated)}
		case errors.Is(err, gzip.ErrHeader):
			return nil, &Error{File: file, Err: fmt.Errorf("%w: not gzip", ErrNotAnArchive)}
		}
		return nil, &Error{File: file, Err: fmt.Errorf("%w: gzip: %v", ErrArchiveFormat, err)}
	}
	gz.Multistream(false)
	var total int64
	return &bounded{r: gz, c: gz, what: "gzip stream", total: &total, lim: lim, compressed: func() int64 { return cr.n }}, nil
}

type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// bounded counts inflated bytes and maps decompression errors.
type bounded struct {
	r          io.Reader
	c          io.Closer
	what       string
	n          int64
	total      *int64
	lim        Limits
	compressed func() int64
	check      *entryCheck // zip entries only
	err        error
}

func (b *bounded) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	*b.total += int64(n)
	if b.check != nil {
		b.check.crc.Write(p[:n])
		if uint64(b.n) > b.check.size {
			b.err = fmt.Errorf("%w: %s inflates past the %d bytes its directory record declares", ErrArchiveFormat, b.what, b.check.size)
			return 0, b.err
		}
		if err == io.EOF && (uint64(b.n) != b.check.size || b.check.crc.Sum32() != b.check.want) {
			if uint64(b.n) < b.check.size {
				b.err = fmt.Errorf("%w: the %s ends after %d of %d bytes", ErrTruncated, b.what, b.n, b.check.size)
			} else {
				b.err = fmt.Errorf("%w: %s checksum mismatch", ErrArchiveFormat, b.what)
			}
			return n, b.err
		}
	}
	if *b.total > b.lim.MaxInflated {
		b.err = fmt.Errorf("%w: %s inflates past %d bytes", ErrTooLarge, b.what, b.lim.MaxInflated)
		return 0, b.err
	}
	if b.n >= ratioAfter {
		if c := b.compressed(); c > 0 && b.n/c > b.lim.MaxRatio {
			b.err = fmt.Errorf("%w: %s inflates more than %d times its compressed size (a zip bomb?)", ErrTooLarge, b.what, b.lim.MaxRatio)
			return 0, b.err
		}
	}
	switch {
	case err == nil || err == io.EOF:
	case errors.Is(err, io.ErrUnexpectedEOF):
		b.err = fmt.Errorf("%w: the %s ends early", ErrTruncated, b.what)
		err = b.err
	case errors.Is(err, zip.ErrChecksum), errors.Is(err, gzip.ErrChecksum):
		b.err = fmt.Errorf("%w: %s checksum mismatch", ErrArchiveFormat, b.what)
		err = b.err
	default:
		b.err = fmt.Errorf("%w: %s: %v", ErrArchiveFormat, b.what, err)
		err = b.err
	}
	return n, err
}

func (b *bounded) Close() error { return b.c.Close() }
