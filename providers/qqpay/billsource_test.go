package qqpay_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/qqpay"
	"github.com/payrecon/payrecon/providers/qqpay/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
)

func TestBillSource(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts sandbox.Options
		enc  string
	}{
		{"utf8", sandbox.Options{}, ""},
		{"gbk-configured", sandbox.Options{GBK: true}, qqpay.EncodingGBK},
		{"gbk-detected", sandbox.Options{GBK: true, LongTimes: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := billScenario()
			sb, _ := mustSandbox(t, sc, tc.opts)
			cfg := sb.MerchantConfig()
			cfg.Account, cfg.BillEncoding = "qq1", tc.enc
			c := mustClient(t, cfg)
			var lines []payrecon.BillLine
			file, err := c.Bill(context.Background(), testDay, payrecon.BillTrade, func(l payrecon.BillLine) error {
				lines = append(lines, l)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			checkBill(t, lines, qqpay.Summary{Lines: file.Lines, HasSummary: file.HasSummary, Count: file.SummaryCount,
				OrderAmount: file.SummaryAmount, Refund: file.SummaryRefund, Fee: file.SummaryFee})
			var served bytes.Buffer
			sb.RenderStatement(&served, testDay)
			sum := sha256.Sum256(served.Bytes())
			if file.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("SHA256 %s is not the served bytes' %x", file.SHA256, sum)
			}
			for _, l := range lines {
				if l.Account != "qq1" || l.Day != testDay || l.Bill != payrecon.BillTrade {
					t.Errorf("line %+v", l)
				}
			}
		})
	}
}

func TestBillSourceErrors(t *testing.T) {
	sc := &scenario.Scenario{NotReady: map[payrecon.Day]bool{testDay: true}}
	_, c := mustSandbox(t, sc, sandbox.Options{})
	noop := func(payrecon.BillLine) error { return nil }
	if _, err := c.Bill(context.Background(), testDay, payrecon.BillSettlement, noop); !errors.Is(err, payrecon.ErrNotSupported) {
		t.Errorf("settlement: %v", err)
	}
	if _, err := c.Bill(context.Background(), testDay, payrecon.BillTrade, noop); !errors.Is(err, payrecon.ErrBillNotReady) {
		t.Errorf("not ready: %v", err)
	}
	// "No Bill Exist" is no bill for the day (the run decides by the time),
	// "Bill Creating" not ready; another XML error is a provider error
	answer := "<xml><return_code>FAIL</return_code><return_msg>No Bill Exist</return_msg><retcode>-1</retcode></xml>"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(answer)) }))
	defer srv.Close()
	cfg := qqpay.Config{MchID: "1", APIKey: payrecon.NewSecret("k"), BaseURL: srv.URL}
	if _, err := mustClient(t, cfg).Bill(context.Background(), testDay, payrecon.BillTrade, noop); !errors.Is(err, payrecon.ErrNoBill) || errors.Is(err, payrecon.ErrBillNotReady) {
		t.Errorf("No Bill Exist: %v, want ErrNoBill", err)
	}
	answer = "<xml><return_code>FAIL</return_code><return_msg>Bill Creating</return_msg><retcode>-1</retcode></xml>"
	if _, err := mustClient(t, cfg).Bill(context.Background(), testDay, payrecon.BillTrade, noop); !errors.Is(err, payrecon.ErrBillNotReady) {
		t.Errorf("Bill Creating: %v, want ErrBillNotReady", err)
	}
	answer = "<xml><return_code>FAIL</return_code><return_msg>签名错误</return_msg><retcode>-1</retcode></xml>"
	_, err := mustClient(t, cfg).Bill(context.Background(), testDay, payrecon.BillTrade, noop)
	var pe *payrecon.ProviderError
	if errors.Is(err, payrecon.ErrBillNotReady) || !errors.As(err, &pe) || pe.Message != "签名错误" {
		t.Errorf("sign error answer: %v", err)
	}
	// the callback's error stops the download
	sc2 := billScenario()
	_, c2 := mustSandbox(t, sc2, sandbox.Options{})
	stop := errors.New("stop")
	if _, err := c2.Bill(context.Background(), testDay, payrecon.BillTrade, func(payrecon.BillLine) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn error: %v", err)
	}
}

// TestV2SignVector reproduces the published v2 signature example (the
// WeChat-v2 documentation's; QQ Wallet's scheme is the same [C G1
// qq/param.go]) through qqpay.Sign / Verify.
func TestV2SignVector(t *testing.T) {
	p := map[string]string{"appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "device_info": "1000", "body": "test", "nonce_str": "ibuaiVcKdpRxkhJA"}
	const key = "192006250b4c09247ec02edce69f6a2d"
	if got := qqpay.Sign(p, key, qqpay.SignMD5); got != "9A0A8659F005D6984697E2CA0A9CF3B7" {
		t.Fatalf("MD5 sign %s", got)
	}
	p["sign"] = "9a0a8659f005d6984697e2ca0a9cf3b7" // case-insensitive
	if !qqpay.Verify(p, key, qqpay.SignMD5) {
		t.Fatal("vector does not verify")
	}
	p["body"] = "test2"
	if qqpay.Verify(p, key, qqpay.SignMD5) {
		t.Fatal("changed body verifies")
	}
}
