package qqpay

import "github.com/payrecon/payrecon"

var _ payrecon.RefundNoLimiter = (*Client)(nil)

// RefundNoMaxLen is the longest merchant refund number the refund API
// takes (32 characters).
func (c *Client) RefundNoMaxLen() int { return 32 }
