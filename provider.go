package payrecon

import (
	"context"
	"time"
)

// Providers: the accounts payrecon reconciles and the small capability interfaces a provider implements.

// Account is one provider account as the reconciliation sees it; the
// provider-specific settings live in the provider package's Config.
type Account struct {
	Name       string // unique name, used in URLs, the store and reports
	Provider   string // "huawei", "wechat", …
	FeeRatePPM int64  // configured fee rate, parts per million; 0 = no fee check
	Currency   string // the account's currency; "" means DefaultCurrency (CNY)
	MaxAmount  int64  // largest single amount accepted, fen; 0 means DefaultMaxAmount
}

// OrderRef names a payment at the provider; either number may be empty.
type OrderRef struct {
	MerchantOrderNo string
	ProviderTxnNo   string
}

// Order is a provider's answer to an order query.
type Order struct {
	MerchantOrderNo string
	ProviderTxnNo   string
	Status          Status // StatusSuccess, StatusPending, StatusFailed, StatusClosed, StatusNotPaid
	RawStatus       string // provider's own value, e.g. "TRX_SUCCESS", "NOTPAY"
	Amount          int64
	PayerAmount     int64
	PromotionAmount int64
	Currency        string
	PaidAt          time.Time
}

// RefundRef names a refund; either number may be empty.
type RefundRef struct {
	MerchantRefundNo string
	ProviderRefundNo string
	MerchantOrderNo  string // some providers need the order for a refund query
	ProviderTxnNo    string
}

// Refund is a provider's answer to a refund query or an apply-refund call.
type Refund struct {
	MerchantRefundNo string
	ProviderRefundNo string
	MerchantOrderNo  string
	ProviderTxnNo    string
	Status           Status // StatusSuccess, StatusPending, StatusFailed, StatusClosed
	RawStatus        string
	Amount           int64
	PayerAmount      int64
	FinishedAt       time.Time
}

// AgreementRef names a recurring-debit agreement; either number may be empty.
type AgreementRef struct {
	AgreementNo     string // provider's id (contractId)
	MerchantAgreeNo string // merchant's code (mercContractCode)
	PlanID          string
}

// Agreement is a provider's answer to an agreement (contract) query.
type Agreement struct {
	AgreementNo     string
	MerchantAgreeNo string
	PlanID          string
	Status          Status // StatusSigned or StatusUnsigned
	RawStatus       string
	SignedAt        time.Time
	TerminatedAt    time.Time
}

// OrderQuerier queries payments. A missing order is an error wrapping
// ErrNotFound; errors worth retrying wrap ErrTransient.
type OrderQuerier interface {
	QueryOrder(ctx context.Context, ref OrderRef) (Order, error)
}

// RefundQuerier queries refunds; errors as for OrderQuerier.
type RefundQuerier interface {
	QueryRefund(ctx context.Context, ref RefundRef) (Refund, error)
}

// AgreementQuerier queries recurring-debit agreements; errors as for OrderQuerier.
type AgreementQuerier interface {
	QueryAgreement(ctx context.Context, ref AgreementRef) (Agreement, error)
}

// RefundRequest asks the provider to refund a payment. MerchantRefundNo is
// the idempotency key: callers derive it deterministically so that a retried
// request refunds once.
type RefundRequest struct {
	OrderRef
	MerchantRefundNo string
	Amount           int64 // fen; the full order when 0 is not allowed: callers pass it
	Reason           string
}

// Refunder applies refunds. Idempotent on MerchantRefundNo.
type Refunder interface {
	ApplyRefund(ctx context.Context, req RefundRequest) (Refund, error)
}

// OrderCloser closes an unpaid order. Closing a closed order is not an error.
type OrderCloser interface {
	CloseOrder(ctx context.Context, ref OrderRef) error
}

// Unsigner terminates an agreement. Terminating a terminated one is not an error.
type Unsigner interface {
	Unsign(ctx context.Context, ref AgreementRef, reason string) error
}

// Provider is one configured provider account: its name and whatever
// capabilities it has; callers find the optional ones by type assertion
// (BillSource, OrderQuerier, RefundQuerier, AgreementQuerier, Refunder,
// OrderCloser, Unsigner, CallbackVerifier).
type Provider interface {
	// ProviderName is the provider's short name: "huawei", "wechat", …
	ProviderName() string
}
