package qqpay

import "github.com/payrecon/payrecon"

// Limits declares QQ Wallet's identifier limits. Its APIs (the WeChat v2
// shape) take out_trade_no and out_refund_no up to 32 bytes, but what its
// statements and notifications carry may be longer (the documented
// statement row holds the 34-byte 商户退款订单号
// REV_100540000011201607231001010451): identifiers read are held to the
// domain's default length, refund numbers payrecon derives to 32.
func (c *Client) Limits() payrecon.Limits {
	return payrecon.Limits{RefundNoLen: 32}
}

var _ payrecon.LimitsDeclarer = (*Client)(nil)
