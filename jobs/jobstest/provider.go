package jobstest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/scenario"
)

// Provider implements the provider capabilities over a scenario, the
// way a sandbox would, without HTTP: the trade bill lists the scenario's
// successful payments and refunds of the day plus its other lines; the
// settlement bill lists each payment's and refund's net (plus the planted
// SettlementDelta); queries answer from the scenario.
type Provider struct {
	Sc *scenario.Scenario
	// Flaky makes the first query of every reference fail with a transient
	// error, so the run's retries are exercised.
	Flaky bool
	// FailQueries makes every query fail with a non-transient error.
	FailQueries bool
	// Block, when set, is called before every bill line (the kill test
	// slows the bill down with it).
	Block func(n int)
	// NoFees makes the bills state no fee: trade lines without a fee
	// column, settlement lines gross.
	NoFees bool
	// NoBill: for these days the provider says it has no bill
	// (payrecon.ErrNoBill), as for a day without transactions.
	NoBill map[payrecon.Day]bool

	// Queries counts the queries answered (and failed).
	Queries atomic.Int64

	mu   sync.Mutex
	seen map[string]bool
}

var (
	_ payrecon.BillSource       = (*Provider)(nil)
	_ payrecon.OrderQuerier     = (*Provider)(nil)
	_ payrecon.RefundQuerier    = (*Provider)(nil)
	_ payrecon.AgreementQuerier = (*Provider)(nil)
)

func (f *Provider) ProviderName() string { return "fake" }

func (f *Provider) Bill(ctx context.Context, day payrecon.Day, kind payrecon.BillKind, fn func(payrecon.BillLine) error) (payrecon.BillFile, error) {
	if !f.Sc.Ready(day) {
		return payrecon.BillFile{}, fmt.Errorf("fake bill %s: %w", day, payrecon.ErrBillNotReady)
	}
	if f.NoBill[day] {
		return payrecon.BillFile{}, fmt.Errorf("fake bill %s: NO_STATEMENT_EXIST: %w", day, payrecon.ErrNoBill)
	}
	bf := payrecon.BillFile{Account: Account, Day: day, Kind: kind, Name: string(kind) + "-" + day.Compact() + ".csv"}
	n := 0
	emit := func(l payrecon.BillLine) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		n++
		if f.Block != nil {
			f.Block(n)
		}
		l.Account, l.Day, l.Bill, l.File, l.LineNo = Account, day, kind, bf.Name, n
		if l.Status == "" {
			l.Status = payrecon.StatusSuccess
		}
		if f.NoFees {
			if l.Settlement != 0 {
				l.Settlement += l.Fee
			}
			l.Fee, l.FeeStated = 0, false
		}
		return fn(l)
	}
	f.Sc.RLock()
	delta := f.Sc.SettlementDelta[day]
	f.Sc.RUnlock()
	first := true
	for _, p := range f.Sc.BillPayments(day) {
		l := payrecon.BillLine{Kind: payrecon.KindPayment, Type: "收单", MerchantOrderNo: p.MerchantOrderNo, ProviderTxnNo: p.ProviderTxnNo,
			Amount: p.Amount, PayerAmount: p.PayerAmount, PromotionAmount: p.PromotionAmount, Fee: p.Fee, FeeStated: true, FeeRatePPM: p.FeeRatePPM,
			CreatedAt: p.CreatedAt, FinishedAt: p.PaidAt, Product: p.Product, Currency: "CNY"}
		if kind == payrecon.BillSettlement {
			l.Settlement = p.PayerAmount - p.Fee
			if first {
				l.Settlement += delta
				first = false
			}
		}
		if err := emit(l); err != nil {
			return bf, err
		}
	}
	for _, r := range f.Sc.BillRefunds(day) {
		l := payrecon.BillLine{Kind: payrecon.KindRefund, Type: "退款", MerchantOrderNo: r.MerchantOrderNo, ProviderTxnNo: r.ProviderTxnNo,
			MerchantRefundNo: r.MerchantRefundNo, ProviderRefundNo: r.ProviderRefundNo,
			Amount: r.Amount, PayerAmount: r.PayerAmount, Fee: -r.Fee, FeeStated: true, CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt, Currency: "CNY"}
		if kind == payrecon.BillSettlement {
			l.Settlement = -r.PayerAmount + r.Fee
		}
		if err := emit(l); err != nil {
			return bf, err
		}
	}
	for _, o := range f.Sc.BillOthers(day) {
		l := payrecon.BillLine{Kind: payrecon.KindOther, Type: o.Type, ProviderTxnNo: o.ProviderTxnNo, Amount: o.Amount, FinishedAt: o.At}
		if kind == payrecon.BillSettlement {
			l.Settlement = o.Amount
		}
		if err := emit(l); err != nil {
			return bf, err
		}
	}
	bf.Lines = int64(n)
	return bf, nil
}

func (f *Provider) gate(ref string) error {
	f.Queries.Add(1)
	if f.FailQueries {
		return fmt.Errorf("fake query %s: provider exploded", ref)
	}
	if !f.Flaky {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	if !f.seen[ref] {
		f.seen[ref] = true
		return &payrecon.ProviderError{Provider: "fake", Code: "BUSY", Transient: true}
	}
	return nil
}

func (f *Provider) QueryOrder(ctx context.Context, ref payrecon.OrderRef) (payrecon.Order, error) {
	if err := f.gate("o" + ref.ProviderTxnNo + "/" + ref.MerchantOrderNo); err != nil {
		return payrecon.Order{}, err
	}
	p, ok := f.Sc.FindPayment(ref.MerchantOrderNo, ref.ProviderTxnNo)
	if !ok {
		return payrecon.Order{}, &payrecon.ProviderError{Provider: "fake", Code: "ORDER_NOT_EXIST", NotFound: true}
	}
	return payrecon.Order{MerchantOrderNo: p.MerchantOrderNo, ProviderTxnNo: p.ProviderTxnNo, Status: p.Status,
		RawStatus: "RAW_" + string(p.Status), Amount: p.Amount, PayerAmount: p.PayerAmount, PaidAt: p.PaidAt}, nil
}

func (f *Provider) QueryRefund(ctx context.Context, ref payrecon.RefundRef) (payrecon.Refund, error) {
	if err := f.gate("r" + ref.ProviderRefundNo + "/" + ref.MerchantRefundNo); err != nil {
		return payrecon.Refund{}, err
	}
	r, ok := f.Sc.FindRefund(ref.MerchantRefundNo, ref.ProviderRefundNo)
	if !ok {
		return payrecon.Refund{}, &payrecon.ProviderError{Provider: "fake", Code: "REFUND_NOT_EXIST", NotFound: true}
	}
	return payrecon.Refund{MerchantRefundNo: r.MerchantRefundNo, ProviderRefundNo: r.ProviderRefundNo, Status: r.Status,
		RawStatus: "RAW_" + string(r.Status), Amount: r.Amount}, nil
}

func (f *Provider) QueryAgreement(ctx context.Context, ref payrecon.AgreementRef) (payrecon.Agreement, error) {
	if err := f.gate("a" + ref.AgreementNo + "/" + ref.MerchantAgreeNo); err != nil {
		return payrecon.Agreement{}, err
	}
	a, ok := f.Sc.FindAgreement(ref.AgreementNo, ref.MerchantAgreeNo)
	if !ok {
		return payrecon.Agreement{}, &payrecon.ProviderError{Provider: "fake", Code: "CONTRACT_NOT_EXIST", NotFound: true}
	}
	return payrecon.Agreement{AgreementNo: a.AgreementNo, MerchantAgreeNo: a.MerchantAgreeNo, Status: a.Status, RawStatus: "RAW_" + string(a.Status)}, nil
}
