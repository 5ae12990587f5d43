package payrecon

import (
	"errors"
	"fmt"
)

// Sentinel errors, checked with errors.Is.
var (
	// ErrBillNotReady: the provider has not published the bill for that day yet; retry later.
	ErrBillNotReady = errors.New("bill not ready")
	// ErrNoBill: the provider says there is no bill for that day (WeChat
	// Pay's NO_STATEMENT_EXIST, Alipay's isp.bill_not_exist, QQ Wallet's
	// "No Bill Exist"): nothing was traded, or (before it publishes its
	// bills) it is not generated yet. Runs read it as not ready until the
	// publication time has passed, and as a bill without lines after.
	ErrNoBill = errors.New("no bill for the day")
	// ErrSignatureInvalid: a callback or response failed signature verification.
	ErrSignatureInvalid = errors.New("signature invalid")
	// ErrNotFound: the provider (or the store) knows no such order, refund, agreement or record.
	ErrNotFound = errors.New("not found")
	// ErrNotSupported: the provider has no such capability or bill kind.
	ErrNotSupported = errors.New("not supported")
	// ErrTransient: a failure worth retrying (provider busy, rate limited, network).
	ErrTransient = errors.New("transient provider error")
	// ErrLocked: another process holds the run lock for that account and day.
	ErrLocked = errors.New("run locked by another process")
	// ErrUnbalanced: a run whose totals do not balance to the fen; nothing is reported.
	ErrUnbalanced = errors.New("books do not balance")
	// ErrInvalidState: an action transition that is not allowed (apply before approve, …).
	ErrInvalidState = errors.New("invalid state")
)

// ProviderError is a business error a provider API returned.
// It Is ErrTransient when Transient, and ErrNotFound when NotFound.
type ProviderError struct {
	Provider  string
	Code      string // e.g. Huawei resultCode "400000", WeChat "ORDER_NOT_EXIST"
	SubCode   string // e.g. Huawei subCode "MERC_ORDER_NOT_EXIST"
	Message   string
	Transient bool
	NotFound  bool
}

func (e *ProviderError) Error() string {
	s := fmt.Sprintf("%s error %s", e.Provider, e.Code)
	if e.SubCode != "" {
		s += "/" + e.SubCode
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (e *ProviderError) Is(target error) bool {
	switch target {
	case ErrTransient:
		return e.Transient
	case ErrNotFound:
		return e.NotFound
	}
	return false
}
