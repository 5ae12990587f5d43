package wechat

import "github.com/payrecon/payrecon"

// Limits declares WeChat Pay's documented identifiers: out_trade_no 6–32 of
// [0-9A-Za-z_-|*], out_refund_no up to 64 of [0-9A-Za-z_-|*@], WeChat's own
// transaction_id / refund_id / contract_id up to 32 alphanumerics.
func (c *Client) Limits() payrecon.Limits {
	return payrecon.Limits{
		MerchantOrderNo:  payrecon.IDRule{MaxLen: 32, Charset: payrecon.CharsetOrderNo},
		ProviderTxnNo:    payrecon.IDRule{MaxLen: 32, Charset: payrecon.CharsetAlnum},
		MerchantRefundNo: payrecon.IDRule{MaxLen: 64, Charset: payrecon.CharsetOrderNoAt},
		ProviderRefundNo: payrecon.IDRule{MaxLen: 32, Charset: payrecon.CharsetAlnum},
		AgreementNo:      payrecon.IDRule{MaxLen: 32, Charset: payrecon.CharsetAlnum},
		MerchantAgreeNo:  payrecon.IDRule{MaxLen: 32},
	}
}

var _ payrecon.LimitsDeclarer = (*Client)(nil)
