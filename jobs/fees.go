package jobs

import (
	"fmt"

	"github.com/payrecon/payrecon"
)

// Fees are checked where the provider's bills state them
// (payrecon.FeeFacts): on each trade-bill line that states a fee, or per
// order on the settlement bill. A line that states no fee is never
// fee-checked, and the settlement check nets the same stated fees on both
// sides: the settlement bill's lines are already net of them, the trade
// net subtracts them.

// tradeFee is what a trade line's fee takes off the trade net: its stated
// fee when fees live on the trade bill, else nothing (a provider whose
// fees are stated on the settlement bill has them netted there).
func tradeFee(f payrecon.FeeFacts, l *payrecon.BillLine) int64 {
	if f.Bill == payrecon.BillTrade {
		return l.Fee
	}
	return 0
}

// tradeFeeMismatch reports whether a trade line states a fee the
// configured rate (parts per million, 0 = no check) does not give.
func tradeFeeMismatch(f payrecon.FeeFacts, l *payrecon.BillLine, rate int64) bool {
	return rate > 0 && f.Bill == payrecon.BillTrade && l.FeeStated && l.Fee != payrecon.FeeFor(l.Amount, rate)
}

// settleFee is one order whose settlement-bill fee differs from the
// configured rate.
type settleFee struct {
	line      payrecon.BillLine // the order's first disagreeing line: keys, time
	amount    int64             // order amounts of its disagreeing lines
	fee, want int64             // stated and expected fees, summed over them
	lines     int
	taken     bool
}

// settleFees keeps the (rare) orders whose settlement-bill fee disagrees,
// found by provider transaction number or merchant order number, so the
// trade line of the same order is classed fee_mismatch instead of matched;
// orders no trade line of the day takes are reported on their own.
type settleFees struct {
	byTxn, byOrder map[string]*settleFee
	list           []*settleFee
}

// check records a settlement line whose stated fee the rate does not give.
// Each line is checked on its own amount, so an order settled in several
// lines is not flagged for rounding.
func (s *settleFees) check(l *payrecon.BillLine, rate int64) {
	if rate <= 0 || !l.FeeStated || (l.ProviderTxnNo == "" && l.MerchantOrderNo == "") {
		return
	}
	want := payrecon.FeeFor(abs(l.Amount), rate)
	if l.Amount < 0 || l.Settlement < 0 {
		want = -want
	}
	if l.Fee == want {
		return
	}
	f := s.lookup(l)
	if f == nil {
		if s.byTxn == nil {
			s.byTxn, s.byOrder = map[string]*settleFee{}, map[string]*settleFee{}
		}
		f = &settleFee{line: *l}
		s.list = append(s.list, f)
		if l.ProviderTxnNo != "" {
			s.byTxn[l.ProviderTxnNo] = f
		}
		if l.MerchantOrderNo != "" {
			s.byOrder[l.MerchantOrderNo] = f
		}
	}
	f.amount += l.Amount
	f.fee += l.Fee
	f.want += want
	f.lines++
}

func (s *settleFees) lookup(l *payrecon.BillLine) *settleFee {
	if l.ProviderTxnNo != "" {
		if f := s.byTxn[l.ProviderTxnNo]; f != nil {
			return f
		}
	}
	if l.MerchantOrderNo != "" {
		return s.byOrder[l.MerchantOrderNo]
	}
	return nil
}

// find returns the unreported disagreeing order of a trade payment line.
func (s *settleFees) find(l *payrecon.BillLine) *settleFee {
	if len(s.list) == 0 || l.Kind != payrecon.KindPayment {
		return nil
	}
	if f := s.lookup(l); f != nil && !f.taken {
		return f
	}
	return nil
}

// note describes a settlement-bill fee mismatch.
func (f *settleFee) note(rate int64) string {
	return fmt.Sprintf("settlement bill fee %s on order amount %s (%d line(s)), configured rate %s gives %s",
		payrecon.FormatYuan(f.fee), payrecon.FormatYuan(f.amount), f.lines, formatRate(rate), payrecon.FormatYuan(f.want))
}

// leftover is the item of a disagreeing order no trade line of the day
// took (settleFeeLeftover): no money of the day's balance (delta 0), the
// fees side by side.
func (f *settleFee) leftover() payrecon.Item {
	return payrecon.Item{
		Kind:            payrecon.KindPayment,
		MerchantOrderNo: f.line.MerchantOrderNo, ProviderTxnNo: f.line.ProviderTxnNo,
		BillFee: f.fee, LedgerFee: f.want, BillTime: f.line.FinishedAt, ProviderStatus: f.line.Status,
	}
}

// formatRate prints parts per million as a percentage, "0.6000%".
func formatRate(ppm int64) string { return fmt.Sprintf("%d.%04d%%", ppm/10000, ppm%10000) }
