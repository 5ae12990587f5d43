package baas_test

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/baas"
	"github.com/payrecon/payrecon/providers/internal/strict"
)

// FuzzParseOrderList: any input is parsed without panic; what is accepted
// is well formed (amounts non-negative, refunds within the order).
func FuzzParseOrderList(f *testing.F) {
	for _, p := range []string{"testdata/list/v22_numbers.json", "testdata/list/v20_strings_iso.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"meta":{"total_count":1},"objects":[{"trade_no":"a","status":"success","total_cost":"1","paid_at":1}]}`))
	day := payrecon.DayOf(time.Unix(1584681907, 0))
	f.Fuzz(func(t *testing.T, body []byte) {
		var pay, ref map[string]int64 = map[string]int64{}, map[string]int64{}
		_, err := baas.ParseOrderList(bytes.NewReader(body), "fuzz", func(o *baas.Order, n int) error {
			return baas.BillLines(o, baas.MappingTradeNo, day, func(l payrecon.BillLine) error {
				if l.Amount < 0 || l.Day != day {
					t.Fatalf("line %+v", l)
				}
				if l.Kind == payrecon.KindRefund {
					ref[l.MerchantOrderNo] = l.Amount
				} else {
					pay[l.MerchantOrderNo] = l.Amount
				}
				return nil
			})
		})
		if err != nil {
			return
		}
		for mo, amt := range ref {
			if p, ok := pay[mo]; ok && amt > p {
				t.Fatalf("refund %d above payment %d", amt, p)
			}
		}
	})
}

// FuzzVerifyCallback: any body, signed or not, is handled without panic;
// an unsigned one is always refused (as forged, or by strict decoding); an accepted one yields
// entries with keys and non-negative amounts.
func FuzzVerifyCallback(f *testing.F) {
	c := mustNew(f, testConfig())
	f.Add([]byte(paidRecord), true)
	f.Add([]byte(`{"event":{"data":`+paidRecord+`}}`), true)
	f.Add([]byte(paidRecord), false)
	f.Fuzz(func(t *testing.T, body []byte, sign bool) {
		req := payrecon.CallbackRequest{Account: "mc", Header: http.Header{"Content-Type": {"application/json"}}, Body: body, ReceivedAt: time.Unix(1584690000, 0)}
		if sign {
			req.Header.Set(baas.DefaultSignatureHeader, baas.SignCallback([]byte(testSecret), body))
		}
		vc, err := c.VerifyCallback(req)
		if !sign {
			// refused: as forged, or by strict decoding before the
			// signature is read (a body that is not the documented JSON)
			if err == nil || (len(bytes.TrimSpace(body)) > 0 && !errors.Is(err, payrecon.ErrSignatureInvalid) && strict.Rule(err) == "") {
				t.Fatalf("unsigned body: err = %v", err)
			}
			return
		}
		if err != nil {
			if errors.Is(err, payrecon.ErrSignatureInvalid) {
				t.Fatalf("signed body refused as forged: %v", err)
			}
			return
		}
		if vc.EventID == "" {
			t.Fatal("no event id")
		}
		for _, e := range vc.Entries {
			if e.EventKey == "" || e.Amount < 0 || e.Provider != baas.Name {
				t.Fatalf("entry %+v", e)
			}
		}
	})
}
