package huawei

import "github.com/payrecon/payrecon"

// Limits declares Huawei Payment Kit's documented identifier lengths
// (mercOrderNo ≤ 46, mercRefundOrderNo ≤ 64); the domain enforces them on
// every callback and bill line.
func (c *Client) Limits() payrecon.Limits {
	return payrecon.Limits{
		MerchantOrderNo:  payrecon.IDRule{MaxLen: 46},
		ProviderTxnNo:    payrecon.IDRule{MaxLen: 64},
		MerchantRefundNo: payrecon.IDRule{MaxLen: 64},
		ProviderRefundNo: payrecon.IDRule{MaxLen: 64},
		AgreementNo:      payrecon.IDRule{MaxLen: 64},
		MerchantAgreeNo:  payrecon.IDRule{MaxLen: 64},
	}
}

var _ payrecon.LimitsDeclarer = (*Client)(nil)
