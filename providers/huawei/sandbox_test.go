package huawei_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/huawei"
	"github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
)

// Deliver retries until the documented acknowledgement, then re-sends
// duplicates, as Huawei does; each post carries the same signed body.
func TestSandboxDeliverRetriesAndDuplicates(t *testing.T) {
	sb := mustSandbox(t, sandbox.Options{})
	c := mustClient(t, sb, huawei.ModelDirect)
	var posts, failFirst atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := posts.Add(1)
		body, _ := io.ReadAll(r.Body)
		_, err := c.VerifyCallback(payrecon.CallbackRequest{Header: r.Header, Body: body})
		if n <= failFirst.Load() {
			err = io.ErrUnexpectedEOF // pretend the store failed
		}
		reply := c.Reply(err)
		w.Header().Set("Content-Type", reply.ContentType)
		w.WriteHeader(reply.Status)
		_, _ = w.Write(reply.Body)
	}))
	defer srv.Close()
	cb, err := sb.PaymentCallback(scenario.Payment{MerchantOrderNo: "M1", ProviderTxnNo: "4201", Status: payrecon.StatusSuccess, Amount: 1, PayerAmount: 1, PaidAt: at(cbDay, 1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	failFirst.Store(2)
	acked, n, err := sb.Deliver(context.Background(), srv.Client(), srv.URL, cb, 5, 2)
	if !acked || n != 5 || posts.Load() != 5 || err != nil {
		t.Errorf("acked %v after %d posts (server saw %d): %v; want acked after 3 + 2 duplicates", acked, n, posts.Load(), err)
	}
	posts.Store(0)
	failFirst.Store(100)
	acked, n, _ = sb.Deliver(context.Background(), srv.Client(), srv.URL, cb, 4, 2)
	if acked || n != 4 {
		t.Errorf("never acknowledged: acked %v after %d posts, want false after 4", acked, n)
	}
}
