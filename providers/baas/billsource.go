package baas

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/billread"
)

// BillLimits bound an order-list record (MaxLine: its JSON bytes); zero
// fields are billread's defaults.
var BillLimits billread.Limits

// ListMeta is the order list's meta object.
type ListMeta struct {
	Limit      Literal `json:"limit"`
	Offset     Literal `json:"offset"`
	Next       Literal `json:"next"`
	Previous   Literal `json:"previous"`
	TotalCount Literal `json:"total_count"`
	seen       bool
}

// Total returns meta.total_count, or -1 when absent.
func (m ListMeta) Total() (int64, error) {
	if m.TotalCount == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(string(m.TotalCount), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("meta.total_count %q is not a count", m.TotalCount)
	}
	return n, nil
}

// ParseOrderList reads one order list answer {"meta": {...}, "objects":
// [...]} from r, streaming: each order record is decoded and handed to fn
// (n is its 1-based position in the answer) before the next is read, so
// memory does not grow with the number of records. Keys other than meta
// and objects are skipped. Errors name the answer (name), the record and
// the field.
func ParseOrderList(r io.Reader, name string, fn func(o *Order, n int) error) (ListMeta, error) {
	var meta ListMeta
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return meta, fmt.Errorf("%s: %w", name, err)
	}
	n := 0
	sawObjects := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return meta, fmt.Errorf("%s: %w", name, err)
		}
		key, _ := tok.(string)
		switch key {
		case "meta":
			if err := dec.Decode(&meta); err != nil {
				return meta, fmt.Errorf("%s: field meta: %w", name, err)
			}
			meta.seen = true
		case "objects":
			sawObjects = true
			if err := expectDelim(dec, '['); err != nil {
				return meta, fmt.Errorf("%s: field objects: %w", name, err)
			}
			maxRecord := int64(BillLimits.MaxLineOrDefault())
			for dec.More() {
				n++
				var o Order
				start := dec.InputOffset()
				if err := dec.Decode(&o); err != nil {
					return meta, &billread.Error{File: name, Line: n, Err: fmt.Errorf("record %d (byte %d): %w", n, dec.InputOffset(), err)}
				}
				if size := dec.InputOffset() - start; size > maxRecord {
					return meta, &billread.Error{File: name, Line: n, Err: fmt.Errorf("%w: record %d is %d bytes, more than %d", billread.ErrLineTooLong, n, size, maxRecord)}
				}
				if err := fn(&o, n); err != nil {
					return meta, err
				}
			}
			if err := expectDelim(dec, ']'); err != nil {
				return meta, fmt.Errorf("%s: field objects: %w", name, err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return meta, fmt.Errorf("%s: field %s: %w", name, key, err)
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return meta, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return meta, fmt.Errorf("%s: data after the answer", name)
	}
	if !sawObjects {
		return meta, fmt.Errorf("%s: no objects list", name)
	}
	if !meta.seen {
		return meta, fmt.Errorf("%s: no meta object", name)
	}
	return meta, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("want %q, got end of input: %w", want, io.ErrUnexpectedEOF)
		}
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, tok)
	}
	return nil
}

// BillLines turns one order record into its bill lines for day: a payment
// line when the order was paid on day, and a successful refund line for
// its cumulative refund whenever refund_amount is above zero, whatever
// refund_status says (record.RefundBooked: "failed" names the latest
// attempt, and an earlier partial refund's money stays refunded). Records of other
// days or states yield nothing (a server that ignores the list's filters
// must not add lines). mapping is Config.OrderNoMapping.
func BillLines(o *Order, mapping string, day payrecon.Day, fn func(payrecon.BillLine) error) error {
	r, err := o.read(mapping)
	if err != nil {
		return err
	}
	if r.Status != payrecon.StatusSuccess || payrecon.DayOf(r.PaidAt) != day {
		return nil
	}
	pay := payrecon.BillLine{
		Day: day, Bill: payrecon.BillTrade, Kind: payrecon.KindPayment, Type: o.GatewayType, Status: payrecon.StatusSuccess,
		MerchantOrderNo: r.MerchantOrderNo, ProviderTxnNo: r.ProviderTxnNo,
		Amount: r.Amount, PayerAmount: r.Amount, Currency: r.Currency,
		FinishedAt: r.PaidAt, Product: o.MerchandiseDescription,
	}
	if t, err := ParseTime(string(o.CreatedAt)); err == nil {
		pay.CreatedAt = t
	}
	if err := fn(pay); err != nil {
		return err
	}
	if !r.RefundBooked() {
		return nil
	}
	ref := pay
	ref.Kind = payrecon.KindRefund
	ref.Type = o.GatewayType + " refund"
	if r.Refunded {
		ref.Type += " " + string(o.RefundStatus)
	}
	ref.MerchantRefundNo = r.MerchantOrderNo
	ref.Amount, ref.PayerAmount = r.RefundAmount, r.RefundAmount
	ref.FinishedAt = r.UpdatedAt
	return fn(ref)
}

// Bill implements payrecon.BillSource for BillTrade. MinCloud publishes no
// bill: the "bill" is a snapshot of the order list for the day (status
// success, paid_at from the Shanghai day's start to its end inclusive, the
// records of the next day's first instant then dropped), read page by page with
// limit/offset until the list is exhausted, each page parsed as it
// arrives. Refunds are the cumulative refunds of the day's orders (see the
// package doc). The list's meta.total_count is required, must equal the
// records received, and must not change between pages. BillFile.SHA256 is over the
// pages' bodies.
//
// The day is ErrBillNotReady until Config.BillDelay after its end.
func (c *Client) Bill(ctx context.Context, day payrecon.Day, kind payrecon.BillKind, fn func(payrecon.BillLine) error) (payrecon.BillFile, error) {
	bf := payrecon.BillFile{Account: c.cfg.Account, Day: day, Kind: kind}
	if _, err := payrecon.ParseDay(string(day)); err != nil {
		return bf, fmt.Errorf("baas bill: %w", err)
	}
	if kind != payrecon.BillTrade {
		return bf, fmt.Errorf("baas %s bill: MinCloud has no settlement bill: %w", kind, payrecon.ErrNotSupported)
	}
	if c.now().Before(day.End().Add(c.cfg.BillDelay)) {
		return bf, fmt.Errorf("baas order-list snapshot %s: the day is not over (plus bill_delay %s): %w", day, c.cfg.BillDelay, payrecon.ErrBillNotReady)
	}
	bf.Name = fmt.Sprintf("baas_%s_%s_order-list-snapshot.json", c.cfg.ClientID, day.Compact())
	hash := sha256.New()
	total, received, offset := int64(-1), int64(0), 0
	var lines int64
	emit := func(l payrecon.BillLine) error {
		lines++
		l.Account, l.File, l.LineNo = c.cfg.Account, bf.Name, int(received)
		return fn(l)
	}
	for page := 1; ; page++ {
		// paid_at up to the day's END, not its last whole second: paid_at
		// may carry a fraction (23:59:59.5 is above End-1), and an order
		// paid at the next day's 00:00:00 is dropped by BillLines.
		q := url.Values{
			"status":       {"success"},
			"paid_at__gte": {strconv.FormatInt(day.Start().Unix(), 10)},
			"paid_at__lte": {strconv.FormatInt(day.End().Unix(), 10)},
			"limit":        {strconv.Itoa(c.cfg.PageSize)},
			"offset":       {strconv.Itoa(offset)},
		}
		body, err := c.get(ctx, PathOrderList, q)
		if err != nil {
			return bf, fmt.Errorf("baas order-list snapshot %s page %d: %w", day, page, err)
		}
		hash.Write(body)
		pageName := fmt.Sprintf("%s (page %d, offset %d)", bf.Name, page, offset)
		if err := billread.CheckJSONText(pageName, body); err != nil {
			return bf, fmt.Errorf("baas bill: %w", err)
		}
		n := 0
		meta, err := ParseOrderList(bytes.NewReader(body), pageName, func(o *Order, i int) error {
			n++
			received++
			if err := BillLines(o, c.cfg.OrderNoMapping, day, emit); err != nil {
				var ce *billread.ColumnError
				col := ""
				if errors.As(err, &ce) {
					col, err = ce.Column, ce.Err
				}
				return &billread.Error{File: pageName, Line: i, Column: col, Err: fmt.Errorf("order record %d of the day: %w", received, err)}
			}
			return nil
		})
		if err != nil {
			return bf, fmt.Errorf("baas bill: %w", err)
		}
		t, err := meta.Total()
		if err != nil {
			return bf, fmt.Errorf("baas bill %s: %w", pageName, err)
		}
		if total < 0 {
			total = t
		} else if t >= 0 && t != total {
			return bf, fmt.Errorf("baas bill %s: meta.total_count changed from %d to %d during the download; retry", pageName, total, t)
		}
		offset += n
		if n == 0 || meta.Next == "" || (total >= 0 && received >= total) {
			break
		}
	}
	if total < 0 {
		// MinCloud documents meta.total_count on every list answer: without
		// it a list cut short cannot be told from a complete one.
		return bf, fmt.Errorf("baas bill: %w", &billread.Error{File: bf.Name, Err: fmt.Errorf("%w: %w: the order list states no meta.total_count", billread.ErrFormat, billread.ErrTruncated)})
	}
	if received != total {
		return bf, fmt.Errorf("baas bill: %w", &billread.Error{File: bf.Name, Err: fmt.Errorf("%w: meta.total_count %d, received %d order records", billread.ErrSummary, total, received)})
	}
	bf.Lines = lines
	bf.SHA256 = hex.EncodeToString(hash.Sum(nil))
	c.log.Info("baas order-list snapshot", "day", string(day), "orders", received, "lines", lines)
	return bf, nil
}
