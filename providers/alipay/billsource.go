package alipay

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/billread"
)

// BillDownloadResponse is alipay_data_dataservice_bill_downloadurl_query_response.
type BillDownloadResponse struct {
	BillDownloadURL string `json:"bill_download_url"`
	BillFileCode    string `json:"bill_file_code"`
}

// notReadyCodes are sub_codes meaning the bill is being generated;
// noBillCodes that there is none for the day (isp.bill_not_exist, the one
// the fact file names, [I]): a day without transactions once the bills are
// published, not ready before (payrecon.ErrNoBill).
var (
	notReadyCodes = map[string]bool{"isp.bill_not_ready": true, "isp.bill_file_creating": true}
	noBillCodes   = map[string]bool{"isp.bill_not_exist": true, "BILL_NOT_EXIST": true}
)

// Bill implements payrecon.BillSource: BillTrade is bill_type trade (the
// zip's 业务明细.csv), BillSettlement is bill_type signcustomer (账务明细.csv).
// It asks alipay.data.dataservice.bill.downloadurl.query for the URL
// (valid 30 s, so the download follows at once), downloads the zip to a
// temporary file (zip needs random access; the CSV inside is streamed),
// and parses the detail file, checking its footer totals. A day that is not
// over in Shanghai, or isp.bill_not_exist, is payrecon.ErrBillNotReady.
// BillFile.SHA256 is the downloaded zip's.
//
// Totals can only be checked at the end, so Bill may fail after lines were
// delivered: callers then discard what fn received for this bill.
func (c *Client) Bill(ctx context.Context, day payrecon.Day, kind payrecon.BillKind, fn func(payrecon.BillLine) error) (payrecon.BillFile, error) {
	bf := payrecon.BillFile{Account: c.cfg.Account, Day: day, Kind: kind}
	if _, err := payrecon.ParseDay(string(day)); err != nil {
		return bf, fmt.Errorf("alipay bill: %w", err)
	}
	var billType, suffix string
	var parse func(io.Reader, string, func(payrecon.BillLine) error) (Summary, error)
	switch kind {
	case payrecon.BillTrade:
		billType, suffix, parse = "trade", "_业务明细.csv", ParseTradeBill
	case payrecon.BillSettlement:
		billType, suffix, parse = "signcustomer", "_账务明细.csv", ParseFundBill
	default:
		return bf, fmt.Errorf("alipay bill kind %q: %w", kind, payrecon.ErrNotSupported)
	}
	if day >= payrecon.DayOf(c.now()) {
		return bf, fmt.Errorf("alipay %s bill %s: the day is not over: %w", billType, day, payrecon.ErrBillNotReady)
	}
	var link BillDownloadResponse
	err := c.call(ctx, MethodBillDownloadURL, map[string]string{"bill_type": billType, "bill_date": string(day)}, &link)
	if err != nil {
		var pe *payrecon.ProviderError
		switch {
		case errors.As(err, &pe) && (notReadyCodes[pe.SubCode] || c.extraNotReady(pe.SubCode)):
			return bf, fmt.Errorf("alipay %s bill %s: %s: %w", billType, day, pe.SubCode, payrecon.ErrBillNotReady)
		case errors.As(err, &pe) && noBillCodes[pe.SubCode]:
			return bf, fmt.Errorf("alipay %s bill %s: %s: %w", billType, day, pe.SubCode, payrecon.ErrNoBill)
		}
		return bf, fmt.Errorf("alipay %s bill %s: %w", billType, day, err)
	}
	f, sum, err := c.download(ctx, link.BillDownloadURL)
	if err != nil {
		return bf, fmt.Errorf("alipay %s bill %s: %w", billType, day, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	bf.SHA256 = sum
	st, err := f.Stat()
	if err != nil {
		return bf, fmt.Errorf("alipay %s bill %s: %w", billType, day, err)
	}
	zr, err := billread.OpenZip(f, st.Size(), fmt.Sprintf("alipay_%s_%s.csv.zip", billType, day.Compact()), BillLimits)
	if err != nil {
		return bf, fmt.Errorf("alipay %s bill %s: %w", billType, day, err)
	}
	entry, ok := findEntry(zr, suffix)
	if !ok {
		return bf, fmt.Errorf("alipay %s bill %s: %w: the zip has no *%s (has %s)", billType, day, ErrBillFormat, suffix, strings.Join(entryNames(zr), ", "))
	}
	name := entry.Name
	bf.Name = name
	rc, err := zr.Open(entry)
	if err != nil {
		return bf, fmt.Errorf("alipay %s bill %s: %w", billType, day, err)
	}
	defer rc.Close()
	s, err := parse(rc, name, func(l payrecon.BillLine) error {
		l.Account, l.Day = c.cfg.Account, day
		return fn(l)
	})
	bf.Lines = s.Lines
	if err != nil {
		return bf, fmt.Errorf("alipay %s bill %s: %w", billType, day, err)
	}
	if _, err := io.Copy(io.Discard, rc); err != nil { // checks the entry's CRC
		return bf, fmt.Errorf("alipay %s bill %s: %w", billType, day, billread.Errorf(name, 0, "", err))
	}
	if kind == payrecon.BillTrade {
		if err := checkSummaryFile(zr, s); err != nil {
			return bf, fmt.Errorf("alipay %s bill %s: %w", billType, day, err)
		}
	}
	bf.HasSummary = s.HasSummary()
	if kind == payrecon.BillTrade {
		bf.SummaryCount = s.TradeCount + s.RefundCount
		bf.SummaryAmount = s.TradeReceived
		bf.SummaryRefund = -s.RefundReceived
	} else {
		bf.SummaryCount = s.IncomeCount + s.ExpenseCount
		bf.SummaryAmount = s.Income - abs(s.Expense)
	}
	c.log.Info("bill downloaded", "kind", string(kind), "day", string(day), "file", name, "lines", bf.Lines)
	return bf, nil
}

func (c *Client) extraNotReady(code string) bool {
	for _, s := range c.cfg.BillNotReadyCodes {
		if s == code {
			return true
		}
	}
	return false
}

// EntryName decodes a zip entry name: Alipay writes GBK names without the
// UTF-8 flag.
func EntryName(f *zip.File) string { return billread.EntryName(f) }

// BillLimits bound what a bill zip may make the reader do; zero fields are
// billread's defaults.
var BillLimits billread.Limits

// findEntry finds the detail file (…_业务明细.csv, not …(汇总).csv).
func findEntry(zr *billread.Zip, suffix string) (billread.Entry, bool) {
	for _, e := range zr.Entries {
		if strings.HasSuffix(e.Name, suffix) {
			return e, true
		}
	}
	return billread.Entry{}, false
}

func entryNames(zr *billread.Zip) []string {
	var out []string
	for _, e := range zr.Entries {
		out = append(out, e.Name)
	}
	return out
}

// maxZip bounds a downloaded bill zip.
const maxZip = 4 << 30

// download fetches the bill URL (the URL carries its own signature; no
// credentials are sent) into a temporary file and returns it with the hex
// SHA-256 of its bytes. The URL must pass billread.DownloadURL (https, or
// http on loopback).
func (c *Client) download(ctx context.Context, raw string) (*os.File, string, error) {
	if _, err := billread.DownloadURL(raw, c.cfg.BaseURL, false); err != nil {
		return nil, "", fmt.Errorf("bill_download_url: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("User-Agent", "payrecon")
	h := *c.http
	h.Timeout = 0 // a large bill streams longer than one API call; ctx bounds it
	resp, err := h.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("download bill: %w: %v", payrecon.ErrTransient, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, "", fmt.Errorf("download bill: %w", &payrecon.ProviderError{Provider: Name, Code: fmt.Sprintf("HTTP_%d", resp.StatusCode), Transient: resp.StatusCode >= 500})
	}
	f, err := os.CreateTemp("", "payrecon-alipay-*.zip")
	if err != nil {
		return nil, "", fmt.Errorf("download bill: %w", err)
	}
	hash := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, hash), io.LimitReader(resp.Body, maxZip+1))
	if err == nil && n > maxZip {
		err = fmt.Errorf("larger than %d bytes", int64(maxZip))
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, "", fmt.Errorf("download bill: %w: %v", payrecon.ErrTransient, err)
	}
	return f, hex.EncodeToString(hash.Sum(nil)), nil
}

// checkSummaryFile compares the 合计 row of the zip's 业务明细(汇总).csv
// with the detail rows (counts and 商家实收). A zip without the file passes:
// the detail file's own footer was checked already.
func checkSummaryFile(zr *billread.Zip, s Summary) error {
	e, ok := findEntry(zr, "_业务明细(汇总).csv")
	if !ok {
		return nil
	}
	name := e.Name
	rc, err := zr.Open(e)
	if err != nil {
		return err
	}
	defer rc.Close()
	t, err := ParseTradeSummary(rc, name)
	if err != nil {
		return err
	}
	switch {
	case t.Trades != s.RowTrades:
		return &billread.Error{File: name, Err: fmt.Errorf("%w: 合计 交易订单总笔数 %d, the detail has %d", ErrSummaryMismatch, t.Trades, s.RowTrades)}
	case t.Refunds != s.RowRefunds:
		return &billread.Error{File: name, Err: fmt.Errorf("%w: 合计 退款订单总笔数 %d, the detail has %d", ErrSummaryMismatch, t.Refunds, s.RowRefunds)}
	case t.Received != s.RowReceived:
		return &billread.Error{File: name, Err: fmt.Errorf("%w: 合计 商家实收 %s元, the detail sums to %s元", ErrSummaryMismatch, payrecon.FormatYuan(t.Received), payrecon.FormatYuan(s.RowReceived))}
	}
	return nil
}
