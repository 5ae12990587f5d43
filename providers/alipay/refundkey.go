package alipay

import "strings"

// RefundKey is the number payrecon gives an Alipay refund as its provider
// refund number: Alipay has none of its own, and the merchant's
// out_request_no is unique only within its trade (two trades may each have
// a refund "1"), so the refund is named by both: "<trade_no>/<out_request_no>".
// Bill lines, notifications and query answers carry it alike, so refunds
// match and their ledger entries are keyed by it.
func RefundKey(tradeNo, outRequestNo string) string {
	if tradeNo == "" || outRequestNo == "" {
		return ""
	}
	return tradeNo + "/" + outRequestNo
}

// splitRefundKey reads a RefundKey back.
func splitRefundKey(key string) (tradeNo, outRequestNo string, ok bool) {
	return strings.Cut(key, "/")
}
