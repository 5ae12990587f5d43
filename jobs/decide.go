package jobs

import (
	"fmt"

	"github.com/payrecon/payrecon"
)

// Caps are what an account's provider can do for the repair actions: the
// queries apply re-checks a fact with, and the calls that change something
// at the provider. Disabled money-moving kinds (Options.ProviderActions)
// count as missing.
type Caps struct {
	Provider                                string
	QueryOrder, QueryRefund, QueryAgreement bool
	Refund, CloseOrder, Unsign              bool
}

// CapsOf reads a provider's capabilities by type assertion; enabled lists
// the money-moving kinds the configuration allows (nil: all of them).
func CapsOf(p payrecon.Provider, enabled []payrecon.ActionKind) Caps {
	if p == nil {
		return Caps{}
	}
	on := func(k payrecon.ActionKind) bool {
		if enabled == nil {
			return true
		}
		for _, e := range enabled {
			if e == k {
				return true
			}
		}
		return false
	}
	var c Caps
	c.Provider = p.ProviderName()
	_, c.QueryOrder = p.(payrecon.OrderQuerier)
	_, c.QueryRefund = p.(payrecon.RefundQuerier)
	_, c.QueryAgreement = p.(payrecon.AgreementQuerier)
	_, c.Refund = p.(payrecon.Refunder)
	_, c.CloseOrder = p.(payrecon.OrderCloser)
	_, c.Unsign = p.(payrecon.Unsigner)
	c.Refund = c.Refund && on(payrecon.ActionRefundDuplicate)
	c.CloseOrder = c.CloseOrder && c.QueryOrder && on(payrecon.ActionCloseOrder)
	c.Unsign = c.Unsign && on(payrecon.ActionUnsign)
	return c
}

func (c Caps) query(kind payrecon.Kind) bool {
	switch kind {
	case payrecon.KindPayment:
		return c.QueryOrder
	case payrecon.KindRefund:
		return c.QueryRefund
	case payrecon.KindAgreement:
		return c.QueryAgreement
	}
	return false
}

func (c Caps) name() string {
	if c.Provider == "" {
		return "the provider"
	}
	return c.Provider
}

// decideAction picks the repair for an item of class and kind whose
// ledger side has status ledger ("" when the ledger has no entry) and whose
// provider side (bill line or query) has status provider ("" when not
// known). It proposes only what Apply can carry out in that state with
// those capabilities; everything else is manual_review with a note naming
// why (or recheck / none for classes that need no repair).
func decideAction(class payrecon.Class, kind payrecon.Kind, ledger, provider payrecon.Status, caps Caps) (payrecon.ActionKind, string) {
	manual := func(format string, args ...any) (payrecon.ActionKind, string) {
		return payrecon.ActionManualReview, fmt.Sprintf(format, args...)
	}
	switch class {
	case payrecon.ClassMatched, payrecon.ClassResolvedLate, payrecon.ClassOtherBillLine:
		return payrecon.ActionNone, ""
	case payrecon.ClassCarriedOver:
		return payrecon.ActionRecheck, ""
	case payrecon.ClassAmountMismatch, payrecon.ClassRefundAmountMismatch, payrecon.ClassFeeMismatch, payrecon.ClassSettlementMismatch:
		return payrecon.ActionManualReview, ""

	case payrecon.ClassMissingInLedger, payrecon.ClassRefundMissingInLedger:
		switch {
		case kind != payrecon.KindPayment && kind != payrecon.KindRefund:
			return manual("a %s item cannot be backfilled", kind)
		case !caps.query(kind):
			return manual("not confirmed: %s offers no %s query", caps.name(), kind)
		case provider != payrecon.StatusSuccess:
			return manual("the provider reports %s, not success: nothing to backfill", statusOrUnknown(provider))
		}
		return payrecon.ActionBackfillLedger, ""

	case payrecon.ClassMissingInBill, payrecon.ClassRefundMissingInBill:
		switch {
		case kind != payrecon.KindPayment && kind != payrecon.KindRefund:
			return manual("a %s item cannot be reversed", kind)
		case !caps.query(kind):
			return manual("not in the bill and %s offers no %s query to confirm it", caps.name(), kind)
		case ledger == "":
			return manual("no ledger entry to reverse")
		case ledger != payrecon.StatusSuccess:
			return manual("the ledger entry is %s, not success: nothing to reverse", ledger)
		}
		switch provider {
		case "":
			return manual("the provider's current status is unknown: query it before reversing the ledger")
		case payrecon.StatusSuccess:
			return manual("paid per the provider but absent from its bills: ask the provider for the bill line")
		case payrecon.StatusPending:
			if kind == payrecon.KindRefund {
				return manual("refund still pending at the provider past the re-query schedule, and a refund cannot be closed: ask the provider")
			}
			if !caps.CloseOrder {
				return manual("still pending at the provider past the re-query schedule, and %s cannot close orders here: close it at the provider by hand", caps.name())
			}
			return payrecon.ActionCloseOrder, ""
		}
		return payrecon.ActionReverseLedger, ""

	case payrecon.ClassStatusMismatch:
		switch {
		case kind != payrecon.KindPayment && kind != payrecon.KindRefund:
			return manual("a %s item's status cannot be corrected here", kind)
		case !caps.query(kind):
			return manual("%s offers no %s query to confirm the status", caps.name(), kind)
		case ledger == "":
			return manual("no ledger entry to correct")
		}
		switch provider {
		case "", payrecon.StatusPending, payrecon.StatusNotFound:
			return manual("the provider gives no final status (%s) to correct the ledger to", statusOrUnknown(provider))
		}
		return payrecon.ActionCorrectStatus, ""

	case payrecon.ClassDuplicatePayment:
		switch {
		case provider != payrecon.StatusSuccess:
			return manual("the provider reports the second payment as %s, not paid: nothing to refund", statusOrUnknown(provider))
		case !caps.Refund:
			return manual("%s cannot refund here (no refund API, or refund_duplicate is not in jobs.provider_actions): refund by hand", caps.name())
		}
		return payrecon.ActionRefundDuplicate, ""

	case payrecon.ClassAgreementMismatch:
		if !caps.QueryAgreement {
			return manual("%s offers no agreement query to confirm the state", caps.name())
		}
		switch provider {
		case payrecon.StatusSigned, payrecon.StatusUnsigned, payrecon.StatusNotFound:
			return payrecon.ActionCorrectAgreement, ""
		}
		return manual("the provider gives the agreement no final state (%s)", statusOrUnknown(provider))
	}
	return payrecon.ActionManualReview, fmt.Sprintf("class %s has no automatic repair", class)
}

func statusOrUnknown(st payrecon.Status) string {
	if st == "" {
		return "unknown"
	}
	return string(st)
}
