package qqpay

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/payrecon/payrecon"
)

// BillType is the statement's bill_type payrecon downloads: ALL (payments,
// refunds and the rest, with the summary).
const BillType = "ALL"

// Bill implements payrecon.BillSource: the trade bill is the daily
// statement (qpay_mch_statement_down.cgi, bill_type ALL, plain text). The
// fund-flow bill (qpay_mch_acc_roll.cgi) has no documented layout, so
// BillSettlement is ErrNotSupported. An XML answer instead of the CSV is an
// error; one saying the bill does not exist (yet) wraps ErrBillNotReady.
func (c *Client) Bill(ctx context.Context, day payrecon.Day, kind payrecon.BillKind, fn func(payrecon.BillLine) error) (payrecon.BillFile, error) {
	file := payrecon.BillFile{Account: c.cfg.Account, Day: day, Kind: kind}
	if kind != payrecon.BillTrade {
		return file, fmt.Errorf("qqpay %s bill: %w (the fund-flow statement's layout is undocumented)", kind, payrecon.ErrNotSupported)
	}
	file.Name = "qpay_statement_" + day.Compact() + "_" + BillType + ".csv"
	resp, err := c.send(ctx, c.http, c.cfg.BaseURL, PathStatement, map[string]string{
		"bill_date": day.Compact(),
		"bill_type": BillType,
	})
	if err != nil {
		return file, fmt.Errorf("qqpay bill %s: %w", day, err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(resp.Body, h), 64<<10)
	head, _ := br.Peek(512)
	if t := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n"); bytes.HasPrefix(t, []byte("<xml")) || bytes.HasPrefix(t, []byte("<?xml")) {
		raw, _ := io.ReadAll(io.LimitReader(br, maxBody))
		return file, fmt.Errorf("qqpay bill %s: %w", day, statementError(raw))
	}
	sum, err := ParseTradeBillEncoding(br, file.Name, c.cfg.BillEncoding, func(l payrecon.BillLine) error {
		l.Account, l.Day, l.Bill = c.cfg.Account, day, payrecon.BillTrade
		return fn(l)
	})
	file.Lines = sum.Lines
	if err != nil {
		return file, fmt.Errorf("qqpay bill %s: %w", day, err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil { // hash what is left (nothing, normally)
		return file, fmt.Errorf("qqpay bill %s: read: %w: %v", day, payrecon.ErrTransient, err)
	}
	file.SHA256 = hexSum(h)
	if sum.HasSummary {
		file.HasSummary = true
		file.SummaryCount, file.SummaryAmount, file.SummaryRefund, file.SummaryFee = sum.Count, sum.OrderAmount, sum.Refund, sum.Fee
	}
	return file, nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// statementError maps the statement's XML error answer. The not-ready
// wording is not documented [?]: "no bill", "not exist", 不存在, 未生成 and
// 没有 are read as not (yet) published.
func statementError(raw []byte) error {
	m, err := DecodeXML(raw)
	if err != nil {
		return fmt.Errorf("unreadable error answer: %w", err)
	}
	pe := responseError(m)
	if pe == nil {
		pe = &payrecon.ProviderError{Provider: Name, Code: "FAIL", Message: clip(m["return_msg"] + m["retmsg"])}
	}
	text := strings.ToLower(pe.Message + " " + m["return_msg"] + " " + m["retmsg"] + " " + m["err_code"])
	// "Bill Creating" / 未生成: not ready; "No Bill Exist" / 不存在: no bill
	// for the day (in the WeChat v2 protocol QQ Wallet follows, a day
	// without trades), read as not ready until the bills are published.
	for _, w := range []string{"creating", "未生成", "生成中", "not ready"} {
		if strings.Contains(text, w) {
			return fmt.Errorf("%w: %v", payrecon.ErrBillNotReady, pe)
		}
	}
	for _, w := range []string{"no bill", "not exist", "bill_not_exist", "不存在", "没有"} {
		if strings.Contains(text, w) {
			return fmt.Errorf("%w: %v", payrecon.ErrNoBill, pe)
		}
	}
	return pe
}
