package huawei

import (
	"errors"
	"slices"

	"github.com/payrecon/payrecon"
)

var _ payrecon.ActionConfigChecker = (*Client)(nil)

// CheckActions implements payrecon.ActionConfigChecker: Huawei's apply
// refund call requires callbackUrl, so refunds (refund_duplicate) need
// callback_url configured.
func (c *Client) CheckActions(enabled []payrecon.ActionKind) error {
	if slices.Contains(enabled, payrecon.ActionRefundDuplicate) && c.cfg.CallbackURL == "" {
		return errors.New("callback_url: required when refund_duplicate is enabled (jobs.provider_actions): Huawei's refund API needs it")
	}
	return nil
}
