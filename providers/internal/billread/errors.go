// Package billread is the one hardened reader of provider bill files: the
// encoding checked over the whole file (UTF-8, UTF-8 with BOM, GBK/GB18030),
// quotes that must close, a bound on the line length, column counts, and
// archives (zip, gzip) with checked entry names, a bound on the entry count
// and on the bytes actually inflated. Providers keep their column mapping
// and business rules; reading, limits and the error shape live here.
//
// Every error it returns is an *Error naming the file and, where one
// exists, the line and the column:
//
//	bill trade_20261120.csv line 1084 column 交易类型: unterminated quote
package billread

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors wrapped by *Error (errors.Is).
var (
	ErrEncoding      = errors.New("invalid text encoding")
	ErrQuote         = errors.New("unterminated quote")
	ErrLineTooLong   = errors.New("line too long")
	ErrColumns       = errors.New("wrong number of columns")
	ErrTruncated     = errors.New("file is truncated")
	ErrTooLarge      = errors.New("archive inflates beyond the limit")
	ErrEntryName     = errors.New("unsafe archive entry name")
	ErrEntries       = errors.New("too many archive entries")
	ErrSummary       = errors.New("bill summary disagrees with its lines")
	ErrFormat        = errors.New("malformed bill")
	ErrNotAnArchive  = errors.New("not an archive")
	ErrArchiveFormat = errors.New("corrupt archive")
)

// Error is a bill error naming the file, line and column.
type Error struct {
	File   string
	Line   int    // 0: no line (the archive, the whole file)
	Column string // "": no column
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("bill ")
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(" line ")
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Column != "" {
		b.WriteString(" column ")
		b.WriteString(e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf is an *Error for file, line and column wrapping err.
func Errorf(file string, line int, column string, err error) error {
	var be *Error
	if errors.As(err, &be) {
		return err // already named
	}
	return &Error{File: file, Line: line, Column: column, Err: err}
}

// ColumnError is a provider's error about one cell; Reader.Wrap names its
// column.
type ColumnError struct {
	Column string
	Err    error
}

func (e *ColumnError) Error() string { return "field " + e.Column + ": " + e.Err.Error() }
func (e *ColumnError) Unwrap() error { return e.Err }

// Col marks err as being about column (a provider's cell check).
func Col(column string, err error) error { return &ColumnError{Column: column, Err: err} }
