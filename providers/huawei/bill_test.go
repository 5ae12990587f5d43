package huawei_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/huawei"
	"github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
)

func parseFile(t *testing.T, name string, parse func(r io.Reader, name string, fn func(payrecon.BillLine) error) error) ([]payrecon.BillLine, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []payrecon.BillLine
	err = parse(f, name, func(l payrecon.BillLine) error {
		lines = append(lines, l)
		return nil
	})
	return lines, err
}

func trade(r io.Reader, name string, fn func(payrecon.BillLine) error) error {
	return huawei.ParseTradeBill(r, name, fn)
}

func settle(r io.Reader, name string, fn func(payrecon.BillLine) error) error {
	return huawei.ParseSettlementBill(r, name, fn)
}

func sh(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, payrecon.Shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// The documented column order, UTF-8, dash dates, a blank row, a 合计 and a
// # row at the end.
func TestParseTradeBillDocumented(t *testing.T) {
	lines, err := parseFile(t, "trade_documented.csv", trade)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 5 {
		t.Fatalf("got %d lines, want 5: %+v", len(lines), lines)
	}
	p1, p2, rf, other, p3 := lines[0], lines[1], lines[2], lines[3], lines[4]
	if p1.Kind != payrecon.KindPayment || p1.ProviderTxnNo != "420020261110000001" || p1.MerchantOrderNo != "ORDER-0001" ||
		p1.Amount != 10000 || p1.PayerAmount != 10000 || p1.Fee != 60 || !p1.FeeStated || p1.Status != payrecon.StatusSuccess ||
		!p1.FinishedAt.Equal(sh("2026-11-10 09:00:05")) || !p1.CreatedAt.Equal(sh("2026-11-10 09:00:00")) ||
		p1.Payload != "shop|a" || p1.Currency != "CNY" || p1.Product != "借记卡快捷支付" || p1.LineNo != 2 || p1.File != "trade_documented.csv" {
		t.Errorf("payment 1: %+v", p1)
	}
	if p2.Amount != 123456 || p2.PayerAmount != 122456 || p2.PromotionAmount != 1000 || p2.Fee != 741 || p2.LineNo != 3 {
		t.Errorf("payment 2: %+v", p2)
	}
	if rf.Kind != payrecon.KindRefund || rf.ProviderRefundNo != "510020261110000001" || rf.MerchantRefundNo != "REFUND-0001" ||
		rf.ProviderTxnNo != "420020261110000001" || rf.MerchantOrderNo != "ORDER-0001" || rf.Amount != 10000 || rf.PayerAmount != 10000 ||
		rf.Fee != -60 || rf.LineNo != 5 {
		t.Errorf("refund: %+v", rf)
	}
	if other.Kind != payrecon.KindOther || other.Type != "分账" || other.Amount != 777 || other.ProviderTxnNo != "430020261110000001" {
		t.Errorf("other: %+v", other)
	}
	if p3.Amount != 1 || p3.Payload != `含,逗号"引号` {
		t.Errorf("payment 3: %+v", p3)
	}
}

// The same bill with columns reordered and added, full-width parentheses,
// backtick guards and a title row; in GBK; with a BOM; with both date
// formats: every variant parses to the same lines.
func TestParseTradeBillVariants(t *testing.T) {
	want, err := parseFile(t, "trade_documented.csv", trade)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"trade_reordered.csv", "trade_gbk.csv", "trade_bom.csv", "trade_slash_minutes.csv"} {
		t.Run(name, func(t *testing.T) {
			got, err := parseFile(t, name, trade)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d lines, want %d", len(got), len(want))
			}
			for i := range want {
				g, w := got[i], want[i]
				if g.Kind != w.Kind || g.Type != w.Type || g.ProviderTxnNo != w.ProviderTxnNo || g.MerchantOrderNo != w.MerchantOrderNo ||
					g.ProviderRefundNo != w.ProviderRefundNo || g.MerchantRefundNo != w.MerchantRefundNo ||
					g.Amount != w.Amount || g.PayerAmount != w.PayerAmount || g.PromotionAmount != w.PromotionAmount || g.Fee != w.Fee ||
					g.Status != w.Status || g.Payload != w.Payload {
					t.Errorf("line %d:\n got %+v\nwant %+v", i, g, w)
				}
				wantFin := w.FinishedAt
				if name == "trade_slash_minutes.csv" {
					wantFin = wantFin.Truncate(time.Minute)
				}
				if !g.FinishedAt.Equal(wantFin) {
					t.Errorf("line %d: finished %s, want %s", i, g.FinishedAt, wantFin)
				}
			}
		})
	}
}

func TestParseTradeBillErrors(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"trade_bad_amount.csv", "trade_bad_amount.csv line 3 column 订单金额(元)"},
		{"trade_bad_time.csv", "trade_bad_time.csv line 2 column 交易完成时间"},
	} {
		_, err := parseFile(t, tc.file, trade)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to name %q", tc.file, err, tc.want)
		}
	}
	for name, in := range map[string]string{
		"noHeader":     "a,b,c\r\n1,2,3\r\n",
		"noType":       "系统交易订单号,商户订单号,订单金额(元)\r\n1,2,3\r\n",
		"emptySysNo":   "系统交易订单号,商户订单号,交易类型,订单金额(元)\r\n,M1,收单,1.00\r\n",
		"badStatus":    "系统交易订单号,商户订单号,交易类型,交易状态,订单金额(元)\r\n1,M1,收单,处理中,1.00\r\n",
		"emptyType":    "系统交易订单号,商户订单号,交易类型,订单金额(元)\r\n1,M1,,1.00\r\n",
		"noAmount":     "系统交易订单号,商户订单号,交易类型\r\n1,M1,收单\r\n",
		"thirdDecimal": "系统交易订单号,商户订单号,交易类型,订单金额(元)\r\n1,M1,收单,0.001\r\n",
	} {
		err := huawei.ParseTradeBill(strings.NewReader(in), name+".csv", func(payrecon.BillLine) error { return nil })
		if err == nil || !strings.Contains(err.Error(), name+".csv") {
			t.Errorf("%s: err = %v, want an error naming the file", name, err)
		}
	}
	// fn's error stops the parse and comes back unchanged
	stop := errors.New("stop")
	err := huawei.ParseTradeBill(strings.NewReader("系统交易订单号,商户订单号,交易类型,订单金额(元)\r\n1,M1,收单,1.00\r\n2,M2,收单,1.00\r\n"), "x.csv",
		func(payrecon.BillLine) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("fn error: got %v", err)
	}
}

func TestParseSettlementBill(t *testing.T) {
	lines, err := parseFile(t, "settle_documented.csv", settle)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3", len(lines))
	}
	p, r, frz := lines[0], lines[1], lines[2]
	if p.Kind != payrecon.KindPayment || p.Settlement != 9940 || p.Amount != 10000 || p.Fee != 60 || p.Bill != payrecon.BillSettlement ||
		!p.CreatedAt.Equal(sh("2026-11-10 00:00:00")) || !p.FinishedAt.Equal(sh("2026-11-10 09:00:05")) {
		t.Errorf("payment: %+v", p)
	}
	if r.Kind != payrecon.KindRefund || r.Settlement != -9940 || r.Amount != 10000 || r.ProviderTxnNo != "420020261110000001" {
		t.Errorf("refund: %+v", r)
	}
	if frz.Kind != payrecon.KindOther || frz.Type != "冻结" || frz.Settlement != -500 {
		t.Errorf("freeze: %+v", frz)
	}
}

// The settlement bill reads refunds by the trade bill's convention (by
// 交易类型): a refund printed positive, as the trade bill may print it, is
// money out all the same, so the day's settlement total does not depend on
// the sign the file prints.
func TestParseSettlementBillRefundSign(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "settle_documented.csv"))
	if err != nil {
		t.Fatal(err)
	}
	total := func(text string) (int64, []payrecon.BillLine) {
		var sum int64
		var lines []payrecon.BillLine
		err := huawei.ParseSettlementBill(strings.NewReader(text), "s.csv", func(l payrecon.BillLine) error {
			sum += l.Settlement
			lines = append(lines, l)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return sum, lines
	}
	neg, negLines := total(string(b))
	positive := strings.Replace(string(b), ",-99.40,", ",99.40,", 1)
	if positive == string(b) {
		t.Fatal("fixture changed: no refund settlement of -99.40")
	}
	pos, posLines := total(positive)
	if neg != pos || negLines[1].Settlement != -9940 || posLines[1].Settlement != -9940 {
		t.Fatalf("settlement total %d (refund printed negative) vs %d (printed positive); refund lines %+v / %+v", neg, pos, negLines[1], posLines[1])
	}
}

// Bill through the client: downloadInfo, presigned download, zip, CSV;
// settlement bill; the settlement delta; not-ready; the download refuses
// requests without the presigned headers.
func TestBillDownload(t *testing.T) {
	day := payrecon.MustDay("2026-11-05")
	sb := mustSandbox(t, sandbox.Options{Encoding: sandbox.EncodingGBK})
	sc := sb.Scenario()
	sc.Lock()
	sc.Payments = append(sc.Payments,
		scenario.Payment{MerchantOrderNo: "M1", ProviderTxnNo: "4201", Status: payrecon.StatusSuccess, Amount: 1000, PayerAmount: 1000, Fee: 6, PaidAt: at(day, 10, 0), CreatedAt: at(day, 9, 59)},
		scenario.Payment{MerchantOrderNo: "M2", ProviderTxnNo: "4202", Status: payrecon.StatusSuccess, Amount: 2000, PayerAmount: 1500, PromotionAmount: 500, Fee: 12, PaidAt: at(day, 11, 0), CreatedAt: at(day, 10, 59)},
	)
	sc.Refunds = append(sc.Refunds, scenario.Refund{MerchantRefundNo: "R1", ProviderRefundNo: "5101", MerchantOrderNo: "M1", ProviderTxnNo: "4201",
		Status: payrecon.StatusSuccess, Amount: 400, PayerAmount: 400, Fee: -2, FinishedAt: at(day, 12, 0), CreatedAt: at(day, 11, 59)})
	sc.SettlementDelta = map[payrecon.Day]int64{day: 7}
	sc.Unlock()
	c := mustClient(t, sb, huawei.ModelDirect)

	var trade []payrecon.BillLine
	file, err := c.Bill(context.Background(), day, payrecon.BillTrade, func(l payrecon.BillLine) error { trade = append(trade, l); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(trade) != 3 || file.Lines != 3 || len(file.SHA256) != 64 || !strings.HasSuffix(file.Name, ".csv") || file.Account != "hw-direct" {
		t.Fatalf("trade bill: %+v, %d lines", file, len(trade))
	}
	wantZip, err := sb.BillZip(day, payrecon.BillTrade, sandbox.MercNo)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(wantZip); file.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("BillFile.SHA256 %s is not the zip's", file.SHA256)
	}
	var sum int64
	for _, l := range trade {
		if l.Day != day || l.Account != "hw-direct" || l.Bill != payrecon.BillTrade {
			t.Errorf("line not stamped: %+v", l)
		}
		if l.Kind == payrecon.KindRefund {
			sum -= l.Amount
		} else {
			sum += l.Amount
		}
	}
	if sum != 1000+2000-400 {
		t.Errorf("trade net %d", sum)
	}
	var settleTotal int64
	if _, err := c.Bill(context.Background(), day, payrecon.BillSettlement, func(l payrecon.BillLine) error { settleTotal += l.Settlement; return nil }); err != nil {
		t.Fatal(err)
	}
	if want := int64((1000 - 6) + (1500 - 12) + (-400 + 2) + 7); settleTotal != want {
		t.Errorf("settlement total %d, want %d", settleTotal, want)
	}

	sc.Lock()
	sc.NotReady = map[payrecon.Day]bool{day.Add(-1): true}
	sc.Unlock()
	if _, err := c.Bill(context.Background(), day.Add(-1), payrecon.BillTrade, func(payrecon.BillLine) error { return nil }); !errors.Is(err, payrecon.ErrBillNotReady) {
		t.Errorf("not ready: %v", err)
	}
	today := payrecon.DayOf(time.Now())
	if _, err := c.Bill(context.Background(), today, payrecon.BillTrade, func(payrecon.BillLine) error { return nil }); !errors.Is(err, payrecon.ErrBillNotReady) {
		t.Errorf("today: %v", err)
	}
	// the OBS URL refuses a download without the presigned headers
	calls := sb.Calls()
	var obs string
	for _, cl := range calls {
		if strings.Contains(cl, "/obs/") {
			obs = strings.TrimPrefix(cl, "GET ")
		}
	}
	if obs == "" {
		t.Fatalf("no OBS download among %v", calls)
	}
	resp, err := sb.Client().Get(sb.URL() + obs)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("download without presigned headers: %d, want 403", resp.StatusCode)
	}
}

func TestSandboxBillZipIsDeterministic(t *testing.T) {
	sb := mustSandbox(t, sandbox.Options{})
	day := payrecon.MustDay("2026-11-05")
	a, err := sb.BillZip(day, payrecon.BillTrade, sandbox.MercNo)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := sb.BillZip(day, payrecon.BillTrade, sandbox.MercNo)
	if !bytes.Equal(a, b) {
		t.Error("same scenario, different zips")
	}
	zr, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	if err != nil || len(zr.File) != 1 {
		t.Fatalf("zip: %v", err)
	}
}

// The docs say to walk the attachment's folders for .csv files: a zip
// holding the bill in a folder (with the folder's own entry) reads the
// same lines, and the file is named with its folder.
func TestBillZipWithFolder(t *testing.T) {
	day := payrecon.MustDay("2026-11-05")
	var lines [2][]payrecon.BillLine
	var files [2]payrecon.BillFile
	for i, folder := range []string{"", day.Compact()} {
		sb := mustSandbox(t, sandbox.Options{Folder: folder})
		sc := sb.Scenario()
		sc.Lock()
		sc.Payments = append(sc.Payments,
			scenario.Payment{MerchantOrderNo: "M1", ProviderTxnNo: "4201", Status: payrecon.StatusSuccess, Amount: 1000, PayerAmount: 1000, Fee: 6, PaidAt: at(day, 10, 0), CreatedAt: at(day, 9, 59)})
		sc.Unlock()
		f, err := mustClient(t, sb, huawei.ModelDirect).Bill(context.Background(), day, payrecon.BillTrade, func(l payrecon.BillLine) error {
			lines[i] = append(lines[i], l)
			return nil
		})
		if err != nil {
			t.Fatalf("folder %q: %v", folder, err)
		}
		files[i] = f
	}
	if len(lines[1]) != 1 || lines[1][0].ProviderTxnNo != "4201" || lines[1][0].Amount != 1000 {
		t.Fatalf("bill in a folder: %+v", lines[1])
	}
	if want := day.Compact() + "/" + files[0].Name; files[1].Name != want || lines[1][0].File != want {
		t.Errorf("file named %q (line says %q), want %q", files[1].Name, lines[1][0].File, want)
	}
}
