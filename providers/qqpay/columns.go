package qqpay

import "github.com/payrecon/payrecon"

var _ payrecon.BillColumnsDeclarer = (*Client)(nil)

// The trade bill's (the ALL statement's) columns, per kind of line, as
// tradeCols.line reads them. A field is declared only where it is read from
// that one column; an empty or 暂无数据 cell reads as the field's default
// (zero, CNY, success), which is still that column's reading. Left out:
//   - fields computed from several columns: a payment's promotion_amount
//     (商户优惠金额 + QQ钱包优惠金额), a refund's payer_amount (退款金额 −
//     退还QQ钱包优惠金额);
//   - fields taken from another column (or computed) when their own cell is
//     empty or zero: a payment's payer_amount (total − promotions without
//     用户支付金额), a refund's finished_at (交易时间 without 退款成功时间, as
//     in the published sample row) and created_at (then finished_at), an
//     other line's amount (退款金额 when 订单金额 is 0);
//   - fields the statement does not state: a payment's or other line's
//     status (always success), settlement; the kind of a refund or other
//     line (a refund may also be told by its refund number and amount).
var (
	tradePaymentColumns = tradeColumns(payrecon.BillColumns{
		"kind":        ColStatus, // 支付成功 / SUCCESS
		"amount":      ColOrderAmount,
		"created_at":  ColTime, // the statement has one time for a payment
		"finished_at": ColTime,
	})
	tradeRefundColumns = tradeColumns(payrecon.BillColumns{
		"status":           ColRefundStatus,
		"amount":           ColRefundAmount,
		"promotion_amount": ColRefundQQPromo,
	})
	tradeOtherColumns = tradeColumns(payrecon.BillColumns{
		"created_at":  ColTime,
		"finished_at": ColTime,
	})
)

// tradeColumns adds the columns every line of the statement reads the same
// way (a refund's provider_txn_no is its payment's, in the same column).
func tradeColumns(own payrecon.BillColumns) payrecon.BillColumns {
	for field, col := range map[string]string{
		"type":               ColStatus,
		"merchant_order_no":  ColMerchantOrderNo,
		"provider_txn_no":    ColTxnNo,
		"merchant_refund_no": ColMerchantRefundNo,
		"provider_refund_no": ColRefundNo,
		"fee":                ColFee,
		"fee_rate":           ColFeeRate,
		"currency":           ColCurrency, // RMB read as CNY
		"product":            ColProduct,
		"payload":            ColPayload,
	} {
		own[field] = col
	}
	return own
}

// BillColumns implements payrecon.BillColumnsDeclarer: the trade bill's
// columns per kind of line, nil for the settlement bill (not supported,
// see Bill). The maps are shared: callers must not modify them.
func (c *Client) BillColumns(bill payrecon.BillKind, kind payrecon.Kind) payrecon.BillColumns {
	if bill != payrecon.BillTrade {
		return nil
	}
	switch kind {
	case payrecon.KindPayment:
		return tradePaymentColumns
	case payrecon.KindRefund:
		return tradeRefundColumns
	case payrecon.KindOther:
		return tradeOtherColumns
	}
	return nil
}
