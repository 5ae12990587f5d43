package jobs

import (
	"context"
	"fmt"

	"github.com/payrecon/payrecon"
)

// closeOrder closes, at the provider, an order the ledger records as paid
// but the provider still reports pending past the re-query schedule, then
// reverses the ledger entry. It re-queries first: an order the provider now
// reports paid is not closed (the run will match it), one already closed
// or unknown is only reversed in the ledger. When the provider still
// reports the order open after the close call, the outcome is not final
// and Sync follows it. Providers close an order by the merchant's order
// number: when neither the item nor the ledger entry has it, the
// provider's answer to the re-query gives it.
func (s *Actions) closeOrder(ctx context.Context, a *payrecon.Action, prov payrecon.Provider, actor string) (outcome, error) {
	c, ok := prov.(payrecon.OrderCloser)
	if !ok {
		return outcome{}, fmt.Errorf("%s cannot close orders: %w", prov.ProviderName(), payrecon.ErrNotSupported)
	}
	e, err := s.ledgerEntry(ctx, *a)
	if err != nil {
		return outcome{}, err
	}
	o, err := s.orderAnswer(ctx, prov, a.Item)
	if err != nil {
		return outcome{}, err
	}
	st, raw := o.Status, o.RawStatus
	switch st {
	case payrecon.StatusSuccess:
		return outcome{}, fmt.Errorf("provider now reports order %s paid (%s): not closing it", a.Item.MerchantOrderNo, statusText(st, raw))
	case payrecon.StatusPending, payrecon.StatusNotPaid:
		ref := payrecon.OrderRef{MerchantOrderNo: firstNonEmpty(a.Item.MerchantOrderNo, e.MerchantOrderNo, o.MerchantOrderNo),
			ProviderTxnNo: firstNonEmpty(a.Item.ProviderTxnNo, e.ProviderTxnNo, o.ProviderTxnNo)}
		if ref.MerchantOrderNo == "" {
			return outcome{}, fmt.Errorf("close order %s: the merchant order number is known to neither the item, the ledger nor the provider's answer", ref.ProviderTxnNo)
		}
		if err := c.CloseOrder(ctx, ref); err != nil {
			return outcome{}, fmt.Errorf("close order %s: %w", ref.MerchantOrderNo, err)
		}
		st, raw, err = s.providerStatus(ctx, prov, a.Item)
		if err != nil {
			return outcome{}, fmt.Errorf("query order %s after closing it: %w", ref.MerchantOrderNo, err)
		}
	}
	return s.closeOutcome(ctx, *a, e, st, raw, actor)
}

// closeOutcome turns the provider's status of an order payrecon asked to
// close into the action's outcome, reversing the ledger entry once the
// provider reports it closed (or unknown, or failed).
func (s *Actions) closeOutcome(ctx context.Context, a payrecon.Action, e payrecon.LedgerEntry, st payrecon.Status, raw, actor string) (outcome, error) {
	switch st {
	case payrecon.StatusSuccess:
		return outcome{final: true, failed: true, msg: fmt.Sprintf("provider reports order %s paid after all (%s): not closed, ledger unchanged", a.Item.MerchantOrderNo, statusText(st, raw))}, nil
	case payrecon.StatusPending, payrecon.StatusNotPaid, "":
		return outcome{msg: fmt.Sprintf("close of order %s requested; the provider still reports %s", a.Item.MerchantOrderNo, statusText(st, raw))}, nil
	}
	msg := fmt.Sprintf("order %s closed at the provider (%s)", a.Item.MerchantOrderNo, statusText(st, raw))
	if e.Status == payrecon.StatusClosed {
		return outcome{final: true, msg: msg + fmt.Sprintf("; ledger entry %d already closed", e.ID)}, nil
	}
	reason := fmt.Sprintf("action %d close_order: provider says %s", a.ID, statusText(st, raw))
	if err := s.ledger.SetLedgerStatus(ctx, e.ID, payrecon.StatusClosed, actor, reason); err != nil {
		return outcome{}, fmt.Errorf("set ledger entry %d status: %w", e.ID, err)
	}
	return outcome{final: true, msg: msg + fmt.Sprintf("; ledger entry %d reversed: %s → closed", e.ID, e.Status)}, nil
}
