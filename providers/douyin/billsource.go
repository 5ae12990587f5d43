package douyin

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/billread"
)

// BillQuery is the signed query of GET /api/apps/bill for one day and type:
// start_date, end_date (yyyyMMdd), seller, bill_type, app_id and the MD5
// sign over the values (app_id excluded, as in every ecpay request).
func BillQuery(appID, seller, salt string, day payrecon.Day, billType string) url.Values {
	p := map[string]any{
		"start_date": day.Compact(),
		"end_date":   day.Compact(),
		"seller":     seller,
		"bill_type":  billType,
		"app_id":     appID,
	}
	q := url.Values{}
	for k, v := range p {
		q.Set(k, v.(string))
	}
	q.Set("sign", Sign(p, salt))
	return q
}

// notReadyTips are err_tips fragments of a bill that is not generated yet.
// The platform documents none [?]; these are the tolerant guess, as is a
// day that is not over.
var notReadyTips = []string{"未生成", "生成中", "暂未", "not ready", "not generated", "no bill", "账单不存在", "bill not exist"}

// Bill implements payrecon.BillSource.
//
// BillTrade is the payment bill followed by the refund bill of the day
// (two downloads, BillFile.Name "<payment file>+<refund file>", SHA256 over
// both bodies in that order). BillSettlement is the settle (分账) bill,
// delivered as KindOther lines of Type "分账" whose Settlement is what
// stays with the merchant. The settle bill is not part of the trade bill:
// 分账 moves money already counted by the payment.
//
// Lines stream as they are read; an error after some lines were delivered
// (a bad row, a summary mismatch, the refund bill failing) means the caller
// discards everything fn received for this bill.
func (c *Client) Bill(ctx context.Context, day payrecon.Day, kind payrecon.BillKind, fn func(payrecon.BillLine) error) (payrecon.BillFile, error) {
	bf := payrecon.BillFile{Account: c.cfg.Account, Day: day, Kind: kind}
	if _, err := payrecon.ParseDay(string(day)); err != nil {
		return bf, fmt.Errorf("douyin bill: %w", err)
	}
	if day >= payrecon.DayOf(c.now()) {
		return bf, fmt.Errorf("douyin %s bill %s: the day is not over: %w", kind, day, payrecon.ErrBillNotReady)
	}
	var types []string
	switch kind {
	case payrecon.BillTrade:
		types = []string{BillPayment, BillRefund}
	case payrecon.BillSettlement:
		types = []string{BillSettle}
	default:
		return bf, fmt.Errorf("douyin bill kind %q: %w", kind, payrecon.ErrNotSupported)
	}
	raw := sha256.New()
	var names []string
	for _, bt := range types {
		name := fmt.Sprintf("douyin_%s_%s_%s.csv", c.cfg.MerchantUID, day.Compact(), bt)
		names = append(names, name)
		sum, err := c.billFile(ctx, day, bt, name, raw, func(l payrecon.BillLine) error {
			l.Account, l.Day = c.cfg.Account, day
			if kind == payrecon.BillTrade {
				l.Bill = payrecon.BillTrade
			}
			return fn(l)
		})
		bf.Lines += sum.Lines
		if err != nil {
			return bf, fmt.Errorf("douyin %s bill %s: %w", kind, day, err)
		}
		if sum.HasSummary {
			bf.HasSummary = true
			if sum.Count > 0 {
				bf.SummaryCount += sum.Count
			} else {
				bf.SummaryCount += sum.Lines
			}
			if bt == BillRefund {
				bf.SummaryRefund += sum.Total
			} else {
				bf.SummaryAmount += sum.Total
			}
		}
	}
	bf.Name = strings.Join(names, "+")
	bf.SHA256 = hex.EncodeToString(raw.Sum(nil))
	c.log.Info("bill downloaded", "kind", string(kind), "day", string(day), "file", bf.Name, "lines", bf.Lines)
	return bf, nil
}

// billFile downloads and parses one bill type.
func (c *Client) billFile(ctx context.Context, day payrecon.Day, billType, name string, raw hash.Hash, fn func(payrecon.BillLine) error) (Summary, error) {
	q := BillQuery(c.cfg.AppID, c.cfg.MerchantUID, c.cfg.Salt.Reveal(), day, billType)
	if c.cfg.ThirdpartyID != "" {
		q.Set("thirdparty_id", c.cfg.ThirdpartyID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.BaseURL+BillPath+"?"+q.Encode(), nil)
	if err != nil {
		return Summary{}, err
	}
	req.Header.Set("User-Agent", "payrecon")
	h := *c.http
	h.Timeout = 0 // a large bill streams longer than one API call; ctx bounds it
	resp, err := h.Do(req)
	if err != nil {
		return Summary{}, fmt.Errorf("download %s: %w: %v", name, payrecon.ErrTransient, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return Summary{}, fmt.Errorf("download %s: %w", name, billError(httpError(resp.StatusCode, b)))
	}
	br := bufio.NewReaderSize(io.TeeReader(resp.Body, raw), 64<<10)
	// an error answer is JSON {"err_no":…,"err_tips":…}; a bill is a table
	head, _ := br.Peek(512)
	if t := bytes.TrimLeft(bytes.TrimPrefix(head, []byte{0xEF, 0xBB, 0xBF}), " \t\r\n"); len(t) > 0 && t[0] == '{' {
		b, _ := io.ReadAll(io.LimitReader(br, 64<<10))
		b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
		var env envelope
		if err := json.Unmarshal(b, &env); err != nil {
			return Summary{}, fmt.Errorf("download %s: answer is neither a bill nor json: %v", name, err)
		}
		if env.code() == "0" {
			// err_no 0 says "ok", yet no table came: never read as an
			// empty bill, and not the provider refusing either
			tips := ""
			if env.ErrTips != "" {
				tips = fmt.Sprintf(" (err_tips %q)", env.ErrTips)
			}
			return Summary{}, &billread.Error{File: name, Err: fmt.Errorf("%w: unexpected JSON answer (err_no 0) where a bill table was expected%s", billread.ErrFormat, tips)}
		}
		return Summary{}, fmt.Errorf("download %s: %w", name, billError(providerError(env.code(), env.ErrTips)))
	}
	sum, err := ParseBill(br, billType, ParseOptions{File: name, Unit: c.cfg.BillAmountUnit}, fn)
	if err != nil {
		return sum, err
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return sum, fmt.Errorf("read %s: %w: %v", name, payrecon.ErrTransient, err)
	}
	return sum, nil
}

// billError marks a not-generated bill as ErrBillNotReady.
func billError(pe *payrecon.ProviderError) error {
	t := strings.ToLower(pe.Message)
	for _, s := range notReadyTips {
		if strings.Contains(t, s) {
			return fmt.Errorf("%w: %w", pe, payrecon.ErrBillNotReady)
		}
	}
	return pe
}
