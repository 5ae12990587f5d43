// Package scenario is the provider-neutral description of what happened at
// a provider: the truth a sandbox serves through its bills, queries and
// callbacks. The demo, the tests and the benchmark build scenarios; every
// provider sandbox renders them in that provider's real formats.
package scenario

import (
	"sync"
	"time"

	"github.com/payrecon/payrecon"
)

// Payment is an order as the provider knows it.
type Payment struct {
	MerchantOrderNo string
	ProviderTxnNo   string
	Status          payrecon.Status // provider truth: success, pending, failed, closed, not_paid
	Amount          int64           // order total, fen
	PayerAmount     int64
	PromotionAmount int64
	Fee             int64 // fee printed in the bill, fen
	FeeRatePPM      int64 // rate printed in the bill
	CreatedAt       time.Time
	PaidAt          time.Time
	// BillDay is the day whose trade bill lists it; empty means DayOf(PaidAt).
	// A cut-off item has PaidAt late on D and BillDay D+1.
	BillDay  payrecon.Day
	OmitBill bool // never listed in any bill (provider-side loss; query still answers)
	Product  string
	Payload  string
	OpenID   string
}

// Day is the bill day of the payment.
func (p Payment) Day() payrecon.Day {
	if p.BillDay != "" {
		return p.BillDay
	}
	return payrecon.DayOf(p.PaidAt)
}

// Refund is a refund as the provider knows it.
type Refund struct {
	MerchantRefundNo string
	ProviderRefundNo string
	MerchantOrderNo  string // original payment
	ProviderTxnNo    string
	Status           payrecon.Status
	Amount           int64
	PayerAmount      int64
	Fee              int64 // fee returned, fen (bills print it negative or zero)
	CreatedAt        time.Time
	FinishedAt       time.Time
	BillDay          payrecon.Day
	OmitBill         bool
	Reason           string
}

// Day is the bill day of the refund.
func (r Refund) Day() payrecon.Day {
	if r.BillDay != "" {
		return r.BillDay
	}
	return payrecon.DayOf(r.FinishedAt)
}

// Agreement is a recurring-debit agreement as the provider knows it.
type Agreement struct {
	AgreementNo     string
	MerchantAgreeNo string
	PlanID          string
	Status          payrecon.Status // signed or unsigned
	SignedAt        time.Time
	TerminatedAt    time.Time
	ChangeMode      string // provider's reason, e.g. USER_UNSIGN
	OpenID          string
}

// Other is a bill line of a type payrecon does not reconcile (分账, 充值…).
type Other struct {
	Type          string
	ProviderTxnNo string
	Amount        int64
	At            time.Time
}

// Scenario is everything a sandbox knows. Safe for concurrent use through
// its methods; the sandbox reads a snapshot per request.
type Scenario struct {
	mu         sync.RWMutex
	Payments   []Payment
	Refunds    []Refund
	Agreements []Agreement
	Others     []Other
	// NotReady lists days whose bills are not published yet (ErrBillNotReady).
	NotReady map[payrecon.Day]bool
	// SettlementDelta is added to the settlement bill's total for a day,
	// planting a settlement_mismatch.
	SettlementDelta map[payrecon.Day]int64
}

// Lock/Unlock/RLock/RUnlock let sandboxes and tests mutate a live scenario.
func (s *Scenario) Lock()    { s.mu.Lock() }
func (s *Scenario) Unlock()  { s.mu.Unlock() }
func (s *Scenario) RLock()   { s.mu.RLock() }
func (s *Scenario) RUnlock() { s.mu.RUnlock() }

// FindPayment returns the payment with either number (empty numbers never match).
func (s *Scenario) FindPayment(merchantOrderNo, providerTxnNo string) (Payment, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, p := range s.Payments {
		if (providerTxnNo != "" && p.ProviderTxnNo == providerTxnNo) || (providerTxnNo == "" && merchantOrderNo != "" && p.MerchantOrderNo == merchantOrderNo) {
			return p, true
		}
	}
	return Payment{}, false
}

// FindRefund returns the refund with either number.
func (s *Scenario) FindRefund(merchantRefundNo, providerRefundNo string) (Refund, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, r := range s.Refunds {
		if (providerRefundNo != "" && r.ProviderRefundNo == providerRefundNo) || (merchantRefundNo != "" && r.MerchantRefundNo == merchantRefundNo) {
			return r, true
		}
	}
	return Refund{}, false
}

// FindAgreement returns the agreement with either number.
func (s *Scenario) FindAgreement(agreementNo, merchantAgreeNo string) (Agreement, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, a := range s.Agreements {
		if (agreementNo != "" && a.AgreementNo == agreementNo) || (merchantAgreeNo != "" && a.MerchantAgreeNo == merchantAgreeNo) {
			return a, true
		}
	}
	return Agreement{}, false
}

// BillPayments returns the successful payments the trade bill of day lists.
func (s *Scenario) BillPayments(day payrecon.Day) []Payment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Payment
	for _, p := range s.Payments {
		if p.Status == payrecon.StatusSuccess && !p.OmitBill && p.Day() == day {
			out = append(out, p)
		}
	}
	return out
}

// BillRefunds returns the successful refunds the trade bill of day lists.
func (s *Scenario) BillRefunds(day payrecon.Day) []Refund {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Refund
	for _, r := range s.Refunds {
		if r.Status == payrecon.StatusSuccess && !r.OmitBill && r.Day() == day {
			out = append(out, r)
		}
	}
	return out
}

// BillOthers returns the other lines of day.
func (s *Scenario) BillOthers(day payrecon.Day) []Other {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Other
	for _, o := range s.Others {
		if payrecon.DayOf(o.At) == day {
			out = append(out, o)
		}
	}
	return out
}

// Ready reports whether day's bills are published.
func (s *Scenario) Ready(day payrecon.Day) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return !s.NotReady[day]
}

// AddRefund appends a refund (sandboxes call it when the merchant applies
// one); it is idempotent on MerchantRefundNo and returns the stored refund.
func (s *Scenario) AddRefund(r Refund) (Refund, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, old := range s.Refunds {
		if old.MerchantRefundNo == r.MerchantRefundNo {
			return old, false
		}
	}
	s.Refunds = append(s.Refunds, r)
	return r, true
}

// SetPaymentStatus changes a payment's status (close order); false when absent.
func (s *Scenario) SetPaymentStatus(merchantOrderNo, providerTxnNo string, st payrecon.Status) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range s.Payments {
		if (providerTxnNo != "" && p.ProviderTxnNo == providerTxnNo) || (providerTxnNo == "" && p.MerchantOrderNo == merchantOrderNo) {
			s.Payments[i].Status = st
			return true
		}
	}
	return false
}

// SetAgreementStatus changes an agreement's status (unsign); false when absent.
func (s *Scenario) SetAgreementStatus(agreementNo, merchantAgreeNo string, st payrecon.Status, at time.Time, mode string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, a := range s.Agreements {
		if (agreementNo != "" && a.AgreementNo == agreementNo) || (agreementNo == "" && a.MerchantAgreeNo == merchantAgreeNo) {
			s.Agreements[i].Status = st
			s.Agreements[i].TerminatedAt = at
			s.Agreements[i].ChangeMode = mode
			return true
		}
	}
	return false
}
