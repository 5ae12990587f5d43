package qqpay

import "github.com/payrecon/payrecon"

// Limits declares QQ Wallet's identifier lengths (the WeChat v2 shape it
// follows): out_trade_no, transaction_id, out_refund_no and refund_id up to 32.
func (c *Client) Limits() payrecon.Limits {
	return payrecon.Limits{
		MerchantOrderNo:  payrecon.IDRule{MaxLen: 32},
		ProviderTxnNo:    payrecon.IDRule{MaxLen: 32},
		MerchantRefundNo: payrecon.IDRule{MaxLen: 32},
		ProviderRefundNo: payrecon.IDRule{MaxLen: 32},
	}
}

var _ payrecon.LimitsDeclarer = (*Client)(nil)
