package wechat

import "github.com/payrecon/payrecon"

// Internal helpers exposed to the external tests.
var (
	Yuan     = yuan
	BillTime = billTime
	FeeUnits = feeUnits
	ToFen    = unitsToFen
)

// DecodeCallback is VerifyCallback without the signature check, for the
// fuzz target (an RSA signature per input is too slow under coverage
// instrumentation).
func (c *Client) DecodeCallback(req payrecon.CallbackRequest) (payrecon.VerifiedCallback, error) {
	return c.decodeCallback(req)
}
