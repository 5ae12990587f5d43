package alipay_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/alipay"
	"github.com/payrecon/payrecon/providers/alipay/sandbox"
)

func collect(t *testing.T, c *alipay.Client, day payrecon.Day, kind payrecon.BillKind) ([]payrecon.BillLine, payrecon.BillFile, error) {
	t.Helper()
	var lines []payrecon.BillLine
	bf, err := c.Bill(context.Background(), day, kind, func(l payrecon.BillLine) error { lines = append(lines, l); return nil })
	return lines, bf, err
}

func TestBill_Trade(t *testing.T) {
	sc := smallScenario()
	sb, c := MustSandbox(t, sc)
	lines, bf, err := collect(t, c, testDay, payrecon.BillTrade)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || bf.Lines != 3 || !bf.HasSummary || bf.SummaryCount != 3 || bf.SummaryAmount != (12345-345)+100 || bf.SummaryRefund != 2345 ||
		bf.Name != sandbox.PID+"0156_20261102_业务明细.csv" || len(bf.SHA256) != 64 {
		t.Fatalf("%+v", bf)
	}
	p, r := lines[0], lines[2]
	if p.Kind != payrecon.KindPayment || p.Amount != 12345 || p.PayerAmount != 12000 || p.PromotionAmount != 345 || p.Fee != 74 || !p.FeeStated ||
		p.Account != "sandbox" || p.Day != testDay || !p.FinishedAt.Equal(sc.Payments[0].PaidAt) || p.Product != "商品 A" || p.Payload != "p1" {
		t.Errorf("payment %+v", p)
	}
	if r.Kind != payrecon.KindRefund || r.Amount != 2345 || r.MerchantRefundNo != "R1" || r.ProviderTxnNo != sc.Payments[0].ProviderTxnNo || r.Fee != -14 {
		t.Errorf("refund %+v", r)
	}

	// The download itself: a zip with GBK names (no UTF-8 flag) and GBK
	// content; BillFile.SHA256 is the zip's.
	detail, summary := sb.TradeBill(testDay)
	z, err := sandbox.Zip([][2]string{{"a_业务明细.csv", detail}, {"a_业务明细(汇总).csv", summary}})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	if zr.File[0].Flags&0x800 != 0 || zr.File[0].Name == "a_业务明细.csv" || alipay.EntryName(zr.File[0]) != "a_业务明细.csv" || alipay.EntryName(zr.File[1]) != "a_业务明细(汇总).csv" {
		t.Fatalf("entry %q flags %x", zr.File[0].Name, zr.File[0].Flags)
	}
	rc, _ := zr.File[0].Open()
	raw, _ := io.ReadAll(rc)
	if bytes.Contains(raw, []byte("业务明细")) || !strings.Contains(detail, "\t,") {
		t.Fatal("content is not GBK or cells lack the trailing TAB")
	}
	again, bf2, err := collect(t, c, testDay, payrecon.BillTrade)
	if err != nil || len(again) != 3 || bf2.SHA256 != bf.SHA256 {
		t.Fatalf("second download: %d lines, sha %s vs %s, %v", len(again), bf2.SHA256, bf.SHA256, err)
	}
	if calls := strings.Join(sb.Calls(), "\n"); !strings.Contains(calls, "POST /gateway.do alipay.data.dataservice.bill.downloadurl.query") || !strings.Contains(calls, "GET /dwbillcenter/downloadBillFile.resource") {
		t.Fatalf("calls:\n%s", calls)
	}
}

func TestBill_ZipHash(t *testing.T) {
	sc := smallScenario()
	sb, c := MustSandbox(t, sc)
	_, bf, err := collect(t, c, testDay, payrecon.BillTrade)
	if err != nil {
		t.Fatal(err)
	}
	// the sandbox renders the same zip again: hash it here
	detail, summary := sb.TradeBill(testDay)
	prefix := sandbox.PID + "0156_" + testDay.Compact()
	z, _ := sandbox.Zip([][2]string{{prefix + "_业务明细.csv", detail}, {prefix + "_业务明细(汇总).csv", summary}})
	sum := sha256.Sum256(z)
	if hex.EncodeToString(sum[:]) != bf.SHA256 {
		t.Fatalf("BillFile.SHA256 %s is not the zip's %x", bf.SHA256, sum)
	}
}

func TestBill_Faults(t *testing.T) {
	sb, c := MustSandbox(t, smallScenario())
	sb.SetBillFault(sandbox.FaultTotalMismatch)
	_, _, err := collect(t, c, testDay, payrecon.BillTrade)
	if !errors.Is(err, alipay.ErrSummaryMismatch) || !strings.Contains(err.Error(), "交易合计 商家实收 121.01元, the rows sum to 121.00元") {
		t.Fatalf("total mismatch: %v", err)
	}
	sb.SetBillFault(sandbox.FaultSummaryFile)
	_, _, err = collect(t, c, testDay, payrecon.BillTrade)
	if !errors.Is(err, alipay.ErrSummaryMismatch) || !strings.Contains(err.Error(), "业务明细(汇总).csv: bill summary disagrees with its lines: 合计 交易订单总笔数 3, the detail has 2") {
		t.Fatalf("summary file: %v", err)
	}
	sb.SetBillFault(sandbox.FaultNotZip)
	if _, _, err := collect(t, c, testDay, payrecon.BillTrade); err == nil || !strings.Contains(err.Error(), "not a zip") {
		t.Fatalf("not a zip: %v", err)
	}
	sb.SetBillFault(sandbox.FaultNone)
	for _, day := range []payrecon.Day{payrecon.DayOf(fixedNow()), payrecon.DayOf(fixedNow()).Add(1)} {
		n := 0
		_, err := c.Bill(context.Background(), day, payrecon.BillTrade, func(payrecon.BillLine) error { n++; return nil })
		if !errors.Is(err, payrecon.ErrBillNotReady) || n != 0 {
			t.Fatalf("%s: %v", day, err)
		}
	}
	sb.Scenario().NotReady = map[payrecon.Day]bool{testDay: true}
	if _, _, err := collect(t, c, testDay, payrecon.BillTrade); !errors.Is(err, payrecon.ErrBillNotReady) || !strings.Contains(err.Error(), "isp.bill_not_ready") {
		t.Fatalf("not ready: %v", err)
	}
	sb.Scenario().NotReady = nil
	sb.SetBillFault(sandbox.FaultNoBill) // no bill for the day: the run decides by the time
	if _, _, err := collect(t, c, testDay, payrecon.BillTrade); !errors.Is(err, payrecon.ErrNoBill) || errors.Is(err, payrecon.ErrBillNotReady) {
		t.Fatalf("no bill: %v, want ErrNoBill", err)
	}
	sb.SetBillFault(sandbox.FaultNone)
	if _, _, err := collect(t, c, testDay, payrecon.BillKind("weird")); !errors.Is(err, payrecon.ErrNotSupported) {
		t.Fatalf("kind: %v", err)
	}
}

func TestBill_Settlement(t *testing.T) {
	sc := smallScenario()
	_, c := MustSandbox(t, sc)
	lines, bf, err := collect(t, c, testDay, payrecon.BillSettlement)
	if err != nil {
		t.Fatal(err)
	}
	// income per payment (商家实收), expense per fee and per refund
	var net int64
	kinds := map[payrecon.Kind]int{}
	for _, l := range lines {
		net += l.Settlement
		kinds[l.Kind]++
		if l.Bill != payrecon.BillSettlement || l.Day != testDay {
			t.Errorf("line %+v", l)
		}
	}
	want := (12345 - 345) + 100 - 74 - 2345 + 14 // fee returned on the refund
	if net != int64(want) || bf.SummaryAmount != int64(want) || kinds[payrecon.KindPayment] != 2 || kinds[payrecon.KindRefund] != 1 || kinds[payrecon.KindOther] != 2 || !bf.HasSummary {
		t.Fatalf("net %d (want %d), kinds %v, file %+v", net, want, kinds, bf)
	}
	if !strings.HasSuffix(bf.Name, "_账务明细.csv") {
		t.Fatalf("name %q", bf.Name)
	}
}

func TestParseTradeSummary(t *testing.T) {
	sb, _ := MustSandbox(t, smallScenario())
	_, summary := sb.TradeBill(testDay)
	tot, err := alipay.ParseTradeSummary(strings.NewReader(summary), "s.csv")
	if err != nil || tot.Trades != 2 || tot.Refunds != 1 || tot.Received != (12345-345)+100-2345 {
		t.Fatalf("%+v %v", tot, err)
	}
	if _, err := alipay.ParseTradeSummary(strings.NewReader(strings.Replace(summary, "合计", "小计", 1)), "s.csv"); !errors.Is(err, alipay.ErrBillFormat) {
		t.Fatalf("no 合计 row: %v", err)
	}
}
