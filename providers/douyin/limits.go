package douyin

import "github.com/payrecon/payrecon"

// Limits declares Douyin ecpay's identifier lengths: out_order_no,
// out_refund_no and the platform's order_id / refund_no up to 64.
func (c *Client) Limits() payrecon.Limits {
	return payrecon.Limits{
		MerchantOrderNo:  payrecon.IDRule{MaxLen: 64},
		ProviderTxnNo:    payrecon.IDRule{MaxLen: 64},
		MerchantRefundNo: payrecon.IDRule{MaxLen: 64},
		ProviderRefundNo: payrecon.IDRule{MaxLen: 64},
	}
}

var _ payrecon.LimitsDeclarer = (*Client)(nil)
