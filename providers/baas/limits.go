package baas

import "github.com/payrecon/payrecon"

// Limits declares MinCloud's order identifiers: trade_no (the out_trade_no
// sent to the channel, 32 characters in every documented example) and
// transaction_no up to 64. MinCloud refunds carry no merchant refund number.
func (c *Client) Limits() payrecon.Limits {
	return payrecon.Limits{
		MerchantOrderNo:  payrecon.IDRule{MaxLen: 64},
		ProviderTxnNo:    payrecon.IDRule{MaxLen: 64},
		MerchantRefundNo: payrecon.IDRule{MaxLen: 64},
		ProviderRefundNo: payrecon.IDRule{MaxLen: 64},
	}
}

var _ payrecon.LimitsDeclarer = (*Client)(nil)
