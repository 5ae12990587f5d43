package wechat

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/billread"
)

// BillLimits bound what a downloaded bill may make the reader do (the
// gzip stream's inflated bytes); zero fields are billread's defaults.
var BillLimits billread.Limits

// BillLink is the answer to a bill application (trade or fund flow).
type BillLink struct {
	HashType    string `json:"hash_type"`
	HashValue   string `json:"hash_value"`
	DownloadURL string `json:"download_url"`
}

// notReadyCodes are the error codes WeChat Pay answers for a bill it is
// still generating; noBillCodes those for a bill that does not exist — per
// WeChat Pay's FAQ, a day without trades or refunds (NO_STATEMENT_EXIST),
// which the run reads as not ready until the bills are published
// (payrecon.ErrNoBill).
var (
	notReadyCodes = map[string]bool{"STATEMENT_CREATING": true}
	noBillCodes   = map[string]bool{"NO_STATEMENT_EXIST": true, "NO_BILL_EXIST": true, "BILL_NOT_EXIST": true}
)

// Bill implements payrecon.BillSource for BillTrade (bill_type ALL) and
// BillSettlement (the BASIC fund-flow bill): it applies for the bill,
// downloads it (gzip), hashes the decompressed text with SHA1 while parsing
// it and streams the lines to fn.
//
// The hash and the summary rows can only be checked at the end, so Bill
// may return an error after lines were delivered (hash mismatch, summary
// disagreement, truncated download): callers must then discard everything
// fn received for this bill. The run stores a day in one transaction, so
// nothing partial is kept.
//
// In partner mode the fund-flow bill is ErrNotSupported (the service
// provider's fund flow is not the sub-merchant's).
//
// A day that is today or later (Shanghai), or a bill WeChat Pay reports as
// not generated (NO_STATEMENT_EXIST), is payrecon.ErrBillNotReady.
func (c *Client) Bill(ctx context.Context, day payrecon.Day, kind payrecon.BillKind, fn func(payrecon.BillLine) error) (payrecon.BillFile, error) {
	bf := payrecon.BillFile{Account: c.cfg.Account, Day: day, Kind: kind}
	if _, err := payrecon.ParseDay(string(day)); err != nil {
		return bf, fmt.Errorf("wechat bill: %w", err)
	}
	if day >= payrecon.DayOf(c.now()) {
		return bf, fmt.Errorf("wechat %s bill %s: the day is not over: %w", kind, day, payrecon.ErrBillNotReady)
	}
	q := url.Values{"bill_date": {string(day)}, "tar_type": {"GZIP"}}
	var path string
	var parse func(io.Reader, string, func(payrecon.BillLine) error) (Summary, error)
	switch kind {
	case payrecon.BillTrade:
		q.Set("bill_type", "ALL")
		if c.partner() {
			q.Set("sub_mchid", c.cfg.SubMchID)
		}
		path, parse = "/v3/bill/tradebill", ParseTradeBill
		bf.Name = fmt.Sprintf("wechat_%s_%s_trade_ALL.csv", c.cfg.MchID, day.Compact())
	case payrecon.BillSettlement:
		if c.partner() {
			// /v3/bill/fundflowbill is the service provider's own account;
			// a sub-merchant's fund flow is another (encrypted) API.
			return bf, fmt.Errorf("wechat fund-flow bill for sub-merchant %s: %w", c.cfg.SubMchID, payrecon.ErrNotSupported)
		}
		q.Set("account_type", "BASIC")
		path, parse = "/v3/bill/fundflowbill", ParseFundFlowBill
		bf.Name = fmt.Sprintf("wechat_%s_%s_fundflow_BASIC.csv", c.cfg.MchID, day.Compact())
	default:
		return bf, fmt.Errorf("wechat bill kind %q: %w", kind, payrecon.ErrNotSupported)
	}
	var link BillLink
	if err := c.do(ctx, "GET", path+"?"+q.Encode(), nil, &link); err != nil {
		var pe *payrecon.ProviderError
		switch {
		case errors.As(err, &pe) && notReadyCodes[pe.Code]:
			return bf, fmt.Errorf("wechat %s bill %s: %s: %w", kind, day, pe.Code, payrecon.ErrBillNotReady)
		case errors.As(err, &pe) && noBillCodes[pe.Code]:
			return bf, fmt.Errorf("wechat %s bill %s: %s: %w", kind, day, pe.Code, payrecon.ErrNoBill)
		}
		return bf, fmt.Errorf("wechat %s bill %s: %w", kind, day, err)
	}
	if !strings.EqualFold(link.HashType, "SHA1") || link.HashValue == "" {
		return bf, fmt.Errorf("wechat %s bill %s: hash_type %q: only SHA1 is known", kind, day, link.HashType)
	}
	body, err := c.download(ctx, link.DownloadURL)
	if err != nil {
		return bf, fmt.Errorf("wechat %s bill %s: %w", kind, day, err)
	}
	defer body.Close()

	raw := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(body, raw), 64<<10)
	var text io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := billread.Gunzip(br, bf.Name, BillLimits)
		if err != nil {
			return bf, fmt.Errorf("wechat %s bill %s: %w", kind, day, err)
		}
		defer gz.Close()
		text = gz
	}
	h := sha1.New()
	tee := io.TeeReader(text, h)
	sum, err := parse(tee, bf.Name, func(l payrecon.BillLine) error {
		l.Account, l.Day = c.cfg.Account, day
		return fn(l)
	})
	bf.Lines = sum.Lines
	if err != nil {
		return bf, fmt.Errorf("wechat %s bill %s: %w", kind, day, err)
	}
	// Read what the parser left (nothing, for a well-formed bill) so the
	// hash covers the whole file and gzip checks its trailer.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return bf, fmt.Errorf("wechat %s bill %s: %w", kind, day, billread.Errorf(bf.Name, 0, "", err))
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, link.HashValue) {
		return bf, fmt.Errorf("wechat %s bill %s: %s SHA1 is %s, the bill application said %s: discard the bill", kind, day, bf.Name, got, strings.ToLower(link.HashValue))
	}
	_, _ = io.Copy(io.Discard, br)
	bf.SHA256 = hex.EncodeToString(raw.Sum(nil))
	bf.HasSummary = sum.HasSummary
	bf.SummaryCount = sum.Count
	if kind == payrecon.BillTrade {
		bf.SummaryAmount, bf.SummaryRefund, bf.SummaryFee = sum.Amount, sum.Refund, sum.Fee
	} else {
		bf.SummaryAmount = sum.Income - sum.Expense
	}
	c.log.Info("bill downloaded", "kind", string(kind), "day", string(day), "file", bf.Name, "lines", bf.Lines)
	return bf, nil
}

// APIHosts are WeChat Pay's API domains (api2 is the documented backup):
// a download_url on either is fetched with the signed request.
var APIHosts = []string{"api.mch.weixin.qq.com", "api2.mch.weixin.qq.com"}

// download fetches a download_url with a signed request. The URL must be
// on the API's host or one of APIHosts (the signed Authorization is never
// sent elsewhere). The
// answer is not signed (WeChat Pay documents that).
func (c *Client) download(ctx context.Context, raw string) (io.ReadCloser, error) {
	u, err := billread.DownloadURL(raw, c.cfg.BaseURL, true, APIHosts...)
	if err != nil {
		return nil, fmt.Errorf("download_url: %w", err)
	}
	pq := u.EscapedPath()
	if u.RawQuery != "" {
		pq += "?" + u.RawQuery
	}
	auth, err := c.authorization("GET", pq, nil)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "GET", raw, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("User-Agent", "payrecon")
	resp, err := c.downloadClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("download bill: %w: %v", payrecon.ErrTransient, err)
	}
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, fmt.Errorf("download bill: %w", providerError(resp.StatusCode, b))
	}
	return resp.Body, nil
}

// downloadClient is the HTTP client without its overall timeout: a large
// bill streams for longer than one API call may take; the context bounds it.
func (c *Client) downloadClient() *http.Client {
	h := *c.http
	h.Timeout = 0
	return &h
}
