package wechat

// Internal helpers exposed to the external tests.
var (
	Yuan     = yuan
	BillTime = billTime
)
