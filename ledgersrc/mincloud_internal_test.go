package ledgersrc

import (
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/baas"
)

// An order refunded 30.00, whose latest refund attempt then failed
// (refund_status "failed", refund_amount 30.00), keeps its refund in the
// channel ledger: the same rule as MinCloud's own order-list lines.
func TestMinCloudRefundBookedWhateverLatestStatus(t *testing.T) {
	m := &MinCloud{Account: "wx", Channel: "wechat"}
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, payrecon.Shanghai)
	for _, tc := range []struct {
		st      payrecon.Status
		amount  int64
		refunds int
	}{
		{payrecon.StatusSuccess, 3000, 1},
		{payrecon.StatusFailed, 3000, 1}, // a later attempt failed: 30.00 still refunded
		{payrecon.StatusFailed, 0, 0},    // never refunded
	} {
		f := baas.Facts{MerchantOrderNo: "MC1", ChannelTxnNo: "4200001", Status: payrecon.StatusSuccess, Amount: 9900, Currency: "CNY",
			PaidAt: at, CreatedAt: at, UpdatedAt: at.Add(time.Hour), Refunded: true, RefundStatus: tc.st, RefundAmount: tc.amount}
		n := 0
		for _, e := range m.entries(f) {
			if e.Kind == payrecon.KindRefund {
				n++
				if e.Amount != tc.amount || e.Status != payrecon.StatusSuccess || !e.AggregatedRefund() {
					t.Errorf("%s %d: refund entry %+v", tc.st, tc.amount, e)
				}
			}
		}
		if n != tc.refunds {
			t.Errorf("refund_status %s, refund_amount %d: %d refund entries, want %d", tc.st, tc.amount, n, tc.refunds)
		}
	}
}
