package ledgersrc

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	_ "github.com/go-sql-driver/mysql" // the merchant table's driver

	"github.com/payrecon/payrecon"
)

// Mapping is the column mapping of a merchant order table (see
// payrecon.TableMapping).
type Mapping = payrecon.TableMapping

// Ledger field names, as payrecon declares them.
const (
	FieldMerchantOrderNo  = payrecon.FieldMerchantOrderNo
	FieldProviderTxnNo    = payrecon.FieldProviderTxnNo
	FieldKind             = payrecon.FieldKind
	FieldMerchantRefundNo = payrecon.FieldMerchantRefundNo
	FieldProviderRefundNo = payrecon.FieldProviderRefundNo
	FieldAmount           = payrecon.FieldAmount
	FieldStatus           = payrecon.FieldStatus
	FieldOccurredAt       = payrecon.FieldOccurredAt
	FieldCurrency         = payrecon.FieldCurrency
)

// fieldError names the row and column of a bad value.
type fieldError struct {
	field, column string
	err           error
}

func (e *fieldError) Error() string {
	return fmt.Sprintf("column %s (%s): %v", e.column, e.field, e.err)
}
func (e *fieldError) Unwrap() error { return e.err }

// entry converts one row; get returns a field's raw text.
func mapEntry(m Mapping, account, provider, source string, get func(field string) string) (payrecon.LedgerEntry, error) {
	bad := func(field string, format string, args ...any) error {
		return &fieldError{field: field, column: m.Columns[field], err: fmt.Errorf(format, args...)}
	}
	e := payrecon.LedgerEntry{
		Account: account, Provider: provider, Source: source, Kind: payrecon.KindPayment,
		MerchantOrderNo:  strings.TrimSpace(get(FieldMerchantOrderNo)),
		ProviderTxnNo:    strings.TrimSpace(get(FieldProviderTxnNo)),
		MerchantRefundNo: strings.TrimSpace(get(FieldMerchantRefundNo)),
		ProviderRefundNo: strings.TrimSpace(get(FieldProviderRefundNo)),
		Currency:         strings.TrimSpace(get(FieldCurrency)),
	}
	if m.Columns[FieldKind] != "" {
		raw := strings.TrimSpace(get(FieldKind))
		k, ok := m.KindMap[raw]
		if !ok && len(m.KindMap) == 0 && (raw == string(payrecon.KindPayment) || raw == string(payrecon.KindRefund)) {
			k, ok = payrecon.Kind(raw), true
		}
		if !ok {
			return e, bad(FieldKind, "value %q is not mapped to payment or refund (kind_map)", clip(raw))
		}
		e.Kind = k
	}
	raw := strings.TrimSpace(get(FieldStatus))
	st, ok := m.StatusMap[raw]
	if !ok && len(m.StatusMap) == 0 {
		switch s := payrecon.Status(raw); s {
		case payrecon.StatusSuccess, payrecon.StatusFailed, payrecon.StatusPending, payrecon.StatusClosed, payrecon.StatusNotPaid:
			st, ok = s, true
		}
	}
	if !ok {
		return e, bad(FieldStatus, "value %q is not mapped to a status (status_map)", clip(raw))
	}
	e.Status = st
	amt := strings.TrimSpace(get(FieldAmount))
	var err error
	if m.AmountUnit == payrecon.UnitYuan {
		e.Amount, err = payrecon.ParseYuanPadded(amt)
	} else {
		e.Amount, err = strconv.ParseInt(amt, 10, 64)
	}
	if err != nil {
		return e, bad(FieldAmount, "%q is not an amount in %s", clip(amt), m.AmountUnit)
	}
	if e.Status == payrecon.StatusSuccess {
		e.PayerAmount = e.Amount
	}
	at := strings.TrimSpace(get(FieldOccurredAt))
	if e.OccurredAt, err = parseTableTime(at); err != nil {
		return e, bad(FieldOccurredAt, "%v", err)
	}
	if e.MerchantOrderNo == "" {
		return e, bad(FieldMerchantOrderNo, "empty")
	}
	switch e.Kind {
	case payrecon.KindRefund:
		ref := e.MerchantRefundNo
		if ref == "" {
			ref = e.ProviderRefundNo
		}
		if ref == "" {
			return e, bad(FieldMerchantRefundNo, "a refund row needs merchant_refund_no or provider_refund_no")
		}
		e.EventKey = source + ":" + payrecon.EventKey(payrecon.KindRefund, ref, e.Status)
	default:
		e.EventKey = source + ":" + payrecon.EventKey(payrecon.KindPayment, e.MerchantOrderNo, e.Status)
	}
	return e, nil
}

func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	return s
}

// parseTableTime reads a merchant table's time (see Mapping).
func parseTableTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty")
	}
	if t, ok := payrecon.ParseWallTime(s); ok {
		return t, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0).In(payrecon.Shanghai), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, payrecon.Shanghai); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.In(payrecon.Shanghai), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want 2006-01-02 15:04:05 Asia/Shanghai, RFC 3339 or unix seconds)", clip(s))
}

// table turns rows into entries of day: rows outside the day are skipped,
// a bad row fails the whole pull with its position.
type table struct {
	account, provider, source string
	mapping                   Mapping
	check                     func(payrecon.LedgerEntry) error
}

func (t table) row(day payrecon.Day, where string, get func(string) string, out *[]payrecon.LedgerEntry) error {
	e, err := mapEntry(t.mapping, t.account, t.provider, t.source, get)
	if err != nil {
		return fmt.Errorf("%s %w", where, err)
	}
	if payrecon.DayOf(e.OccurredAt) != day {
		return nil
	}
	if t.check != nil {
		if err := t.check(e); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	*out = append(*out, e)
	return nil
}

// SQL reads the merchant's order table with Query over DB. Query takes
// two "?" arguments, the day's start (inclusive) and end (exclusive) as
// Asia/Shanghai wall time "2006-01-02 15:04:05", e.g.
//
//	SELECT order_no, pay_no, total_fee, state, paid_at FROM orders
//	WHERE paid_at >= ? AND paid_at < ?
//
// and returns the columns the Mapping names. Values are read as text
// (DECIMAL and integer amounts; DATETIME as Shanghai wall time);
// floating-point amounts are refused. Entries have Source "sql".
type SQL struct {
	Account, Provider string
	DB                *sql.DB
	Query             string
	Mapping           Mapping
	// Check, when set, validates each entry so that a failure names its
	// row (the account's payrecon.Policy.CheckEntry).
	Check func(payrecon.LedgerEntry) error
}

var _ payrecon.LedgerSource = (*SQL)(nil)

// OpenSQL opens a MySQL (MariaDB, TiDB) DSN for an SQL source.
func OpenSQL(dsn string) (*sql.DB, error) {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, fmt.Errorf("open merchant order table: %w", err)
	}
	db.SetMaxOpenConns(2)
	return db, nil
}

// Pull implements payrecon.LedgerSource.
func (s *SQL) Pull(ctx context.Context, day payrecon.Day, fn func(payrecon.LedgerEntry) error) error {
	const layout = "2006-01-02 15:04:05"
	rows, err := s.DB.QueryContext(ctx, s.Query, day.Start().In(payrecon.Shanghai).Format(layout), day.End().In(payrecon.Shanghai).Format(layout))
	if err != nil {
		return fmt.Errorf("merchant order query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("merchant order query: %w", err)
	}
	idx, err := columnIndex(s.Mapping, cols, "query result")
	if err != nil {
		return err
	}
	t := table{account: s.Account, provider: s.Provider, source: payrecon.SourceSQL, mapping: s.Mapping, check: s.Check}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []payrecon.LedgerEntry
	n := 0
	for rows.Next() {
		n++
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("merchant order query row %d: %w", n, err)
		}
		var cellErr error
		get := func(field string) string {
			i, ok := idx[field]
			if !ok {
				return ""
			}
			v, err := sqlText(vals[i])
			if err != nil && cellErr == nil {
				cellErr = &fieldError{field: field, column: cols[i], err: err}
			}
			return v
		}
		where := fmt.Sprintf("merchant order query row %d", n)
		err := t.row(day, where, get, &out)
		if cellErr != nil { // a value that cannot be read names itself first
			return fmt.Errorf("%s %w", where, cellErr)
		}
		if err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("merchant order query: %w", err)
	}
	for _, e := range out {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// sqlText renders a scanned value as the text the mapping parses.
func sqlText(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case []byte:
		return string(x), nil
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case time.Time:
		// DATETIME has no zone: its wall clock is Shanghai time.
		return time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), payrecon.Shanghai).Format("2006-01-02 15:04:05.999999999"), nil
	case float64, float32:
		return "", errors.New("floating-point value; use DECIMAL or integer fen")
	case bool:
		return "", errors.New("boolean value")
	}
	return "", fmt.Errorf("unsupported value of type %T", v)
}

// columnIndex finds the mapped columns among the names (case-insensitive).
func columnIndex(m Mapping, names []string, what string) (map[string]int, error) {
	pos := map[string]int{}
	for i, n := range names {
		pos[strings.ToLower(strings.TrimSpace(n))] = i
	}
	idx := map[string]int{}
	var errs []error
	for _, f := range payrecon.TableFields {
		col := m.Columns[f]
		if col == "" {
			continue
		}
		i, ok := pos[strings.ToLower(col)]
		if !ok {
			errs = append(errs, fmt.Errorf("%s has no column %q (mapped to %s)", what, col, f))
			continue
		}
		idx[f] = i
	}
	return idx, errors.Join(errs...)
}

// CSV reads the merchant's order table from a CSV export with a header
// row (UTF-8, optional BOM). Path may contain "{date}" (the bill day,
// 2006-01-02) and "{yyyymmdd}" for one file per day. Entries have Source
// "csv".
type CSV struct {
	Account, Provider string
	Path              string
	Mapping           Mapping
	// Check, when set, validates each entry so that a failure names its
	// line (the account's payrecon.Policy.CheckEntry).
	Check func(payrecon.LedgerEntry) error
}

var _ payrecon.LedgerSource = (*CSV)(nil)

// FilePath is the file read for day.
func (c *CSV) FilePath(day payrecon.Day) string {
	return strings.NewReplacer("{date}", string(day), "{yyyymmdd}", day.Compact()).Replace(c.Path)
}

// Pull implements payrecon.LedgerSource.
func (c *CSV) Pull(ctx context.Context, day payrecon.Day, fn func(payrecon.LedgerEntry) error) error {
	name := c.FilePath(day)
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("merchant order export: %w", err)
	}
	defer f.Close()
	out, err := c.read(f, name, day)
	if err != nil {
		return err
	}
	for _, e := range out {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

const maxCSVField = 4096

func (c *CSV) read(r io.Reader, name string, day payrecon.Day) ([]payrecon.LedgerEntry, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s line 1: header: %w", name, err)
	}
	header = append([]string(nil), header...)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	idx, err := columnIndex(c.Mapping, header, name+" header")
	if err != nil {
		return nil, err
	}
	t := table{account: c.Account, provider: c.Provider, source: payrecon.SourceCSV, mapping: c.Mapping, check: c.Check}
	var out []payrecon.LedgerEntry
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		for i, v := range rec {
			if len(v) > maxCSVField || !utf8.ValidString(v) {
				return nil, fmt.Errorf("%s line %d column %s: not UTF-8 text of at most %d bytes", name, line, header[i], maxCSVField)
			}
		}
		get := func(field string) string {
			if i, ok := idx[field]; ok {
				return rec[i]
			}
			return ""
		}
		if err := t.row(day, fmt.Sprintf("%s line %d", name, line), get, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}
