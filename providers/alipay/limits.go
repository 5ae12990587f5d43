package alipay

import "github.com/payrecon/payrecon"

// Limits declares Alipay's documented identifier lengths: out_trade_no,
// trade_no, out_request_no and agreement_no up to 64,
// external_agreement_no up to 32; the provider refund number is payrecon's
// RefundKey (trade_no/out_request_no), up to 129.
func (c *Client) Limits() payrecon.Limits {
	return payrecon.Limits{
		MerchantOrderNo:  payrecon.IDRule{MaxLen: 64},
		ProviderTxnNo:    payrecon.IDRule{MaxLen: 64, Charset: payrecon.CharsetAlnum},
		MerchantRefundNo: payrecon.IDRule{MaxLen: 64},
		ProviderRefundNo: payrecon.IDRule{MaxLen: 129},
		AgreementNo:      payrecon.IDRule{MaxLen: 64},
		MerchantAgreeNo:  payrecon.IDRule{MaxLen: 32},
	}
}

var _ payrecon.LimitsDeclarer = (*Client)(nil)
