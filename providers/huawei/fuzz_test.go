package huawei_test

import (
	"errors"
	"net/http"
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

// FuzzVerifyCallback feeds arbitrary bodies to the verifier, seeded with
// real signed callbacks of every kind. Whatever the input: no panic, an
// accepted callback yields well-formed entries, and a rejection renders a
// failure reply.
func FuzzVerifyCallback(f *testing.F) {
	sb, err := sandbox.New(&scenario.Scenario{}, sandbox.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer sb.Close()
	c := mustClient(f, sb, huawei.ModelDirect)
	d := payrecon.MustDay("2026-11-10")
	seeds := []func() (scenario.Callback, error){
		func() (scenario.Callback, error) {
			return sb.PaymentCallback(scenario.Payment{MerchantOrderNo: "M1", ProviderTxnNo: "4201", Status: payrecon.StatusSuccess, Amount: 100, PayerAmount: 90, PromotionAmount: 10, PaidAt: at(d, 9, 0), OpenID: "o"})
		},
		func() (scenario.Callback, error) {
			return sb.PaymentCallback(scenario.Payment{MerchantOrderNo: "M2", ProviderTxnNo: "4202", Status: payrecon.StatusFailed, Amount: 100})
		},
		func() (scenario.Callback, error) {
			return sb.RefundCallback(scenario.Refund{MerchantRefundNo: "R1", ProviderRefundNo: "5101", Status: payrecon.StatusSuccess, Amount: 50, PayerAmount: 50, FinishedAt: at(d, 10, 0)})
		},
		func() (scenario.Callback, error) {
			return sb.AgreementCallback(scenario.Agreement{AgreementNo: "7001", MerchantAgreeNo: "C1", PlanID: "P", Status: payrecon.StatusSigned, SignedAt: at(d, 8, 0)})
		},
		func() (scenario.Callback, error) {
			return sb.AgreementCallback(scenario.Agreement{AgreementNo: "7002", MerchantAgreeNo: "C2", Status: payrecon.StatusUnsigned, TerminatedAt: at(d, 8, 0)})
		},
		func() (scenario.Callback, error) {
			return sb.SignCallback(map[string]any{"callbackId": "X", "combinedSysTransOrderNo": "9", "orderStatus": "TRX_SUCCESS",
				"subOrders": []any{map[string]any{"sysTransOrderNo": "4301", "mercOrderNo": "S1", "orderStatus": "TRX_SUCCESS", "totalAmount": 5}}})
		},
	}
	for _, s := range seeds {
		cb, err := s()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(cb.Body)
	}
	f.Add([]byte(`{"dataType":"encrypt","callbackId":"1"}`))
	f.Add([]byte(`{"a":{"b":[1,{"c":null}]},"sign":"MEUCIQ=="}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := payrecon.CallbackRequest{Account: "acct", Header: http.Header{"Content-Type": {"application/json"}}, Body: body, ReceivedAt: time.Unix(1_800_000_000, 0)}
		vc, err := c.VerifyCallback(req)
		reply := c.Reply(err)
		if err != nil {
			if reply.Status == 200 {
				t.Fatalf("rejection %v answered 200", err)
			}
			return
		}
		if reply.Status != 200 {
			t.Fatalf("accepted callback answered %d", reply.Status)
		}
		if len(vc.Entries) == 0 {
			t.Fatalf("accepted callback of type %q has no entries", vc.Type)
		}
		for _, e := range vc.Entries {
			if e.EventKey == "" || e.Account != "acct" || e.Provider != huawei.Name || e.OccurredAt.IsZero() {
				t.Fatalf("bad entry %+v", e)
			}
			prefix := map[payrecon.Kind]string{payrecon.KindPayment: "payment:", payrecon.KindRefund: "refund:", payrecon.KindAgreement: "agreement:"}[e.Kind]
			if prefix == "" || !strings.HasPrefix(e.EventKey, prefix) {
				t.Fatalf("entry kind %q with key %q", e.Kind, e.EventKey)
			}
		}
		// accepted means signed: the same body verifies again the same way
		again, err := c.VerifyCallback(req)
		if err != nil || len(again.Entries) != len(vc.Entries) || again.Entries[0].EventKey != vc.Entries[0].EventKey {
			t.Fatalf("second verification differs: %v", err)
		}
	})
}

// FuzzParseTradeBill feeds arbitrary CSV to the trade bill parser, seeded
// with the fixtures. No panic; every delivered line is well formed; every
// error names the file.
func FuzzParseTradeBill(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.csv"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("系统交易订单号,商户订单号,交易类型,订单金额(元)\n1,M,收单,1.00\n"))
	f.Add([]byte("系统交易订单号,商户订单号,交易类型,交易金额(元),优惠金额(元)\n1,M,商户收单,-1.00,0.50\n2,A,分账,-5.00,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		stop := errors.New("stop")
		err := huawei.ParseTradeBill(strings.NewReader(string(data)), "fuzz.csv", func(l payrecon.BillLine) error {
			n++
			if l.LineNo <= 0 || l.File != "fuzz.csv" {
				t.Fatalf("line position %d %q", l.LineNo, l.File)
			}
			// payments and refunds are normalised to positive amounts;
			// other lines keep the sign the file prints (money out < 0)
			if l.Kind != payrecon.KindOther && (l.Amount < 0 || l.PayerAmount < 0 || l.PromotionAmount < 0) {
				t.Fatalf("negative amounts %+v", l)
			}
			switch l.Kind {
			case payrecon.KindPayment:
				if l.ProviderTxnNo == "" {
					t.Fatalf("payment without txn no: %+v", l)
				}
			case payrecon.KindRefund:
				if l.ProviderRefundNo == "" {
					t.Fatalf("refund without refund no: %+v", l)
				}
			case payrecon.KindOther:
			default:
				t.Fatalf("kind %q", l.Kind)
			}
			if n > 1_000_000 {
				return stop
			}
			return nil
		})
		if err != nil && !errors.Is(err, stop) && !strings.Contains(err.Error(), "fuzz.csv") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
