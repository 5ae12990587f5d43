package wechat

import "github.com/payrecon/payrecon"

var _ payrecon.BillColumnsDeclarer = (*Client)(nil)

// BillColumns implements payrecon.BillColumnsDeclarer: the column of the
// bill Bill downloads (the ALL trade bill, the BASIC fund-flow bill) each
// field of a line of kind is read from, as ParseTradeBill and
// ParseFundFlowBill read them. Fields the parsers derive are left out
// (PayerAmount, the constant Status of fund-flow and other lines, an other
// line's Type made of two columns); so is the currency the fund-flow bill
// never states. A partner client has no fund-flow bill: nil.
func (c *Client) BillColumns(bill payrecon.BillKind, kind payrecon.Kind) payrecon.BillColumns {
	switch bill {
	case payrecon.BillTrade:
		return tradeColumns[kind]
	case payrecon.BillSettlement:
		if c != nil && c.partner() {
			return nil
		}
		return fundColumns[kind]
	}
	return nil
}

// tradeColumns: the ALL trade bill. 交易状态 decides the kind (SUCCESS and
// REVOKED payments, REFUND refunds and REVOKED rows with their amount in
// the refund columns, anything else other) and a payment's status; a refund row carries the original order's numbers in the order
// columns and its status in 退款状态. The ALL bill has no 退款申请时间 or
// 退款成功时间 (REFUND layout only): a refund's times are its 交易时间.
// Amount is 订单金额 (申请退款金额 for a refund), falling back to the legacy
// or settled amount only when that cell is zero.
var tradeColumns = map[payrecon.Kind]payrecon.BillColumns{
	payrecon.KindPayment: {
		"kind":              ColTradeState,
		"status":            ColTradeState,
		"type":              ColTradeType,
		"merchant_order_no": ColOrderNo,
		"provider_txn_no":   ColTxnNo,
		"amount":            ColOrderAmount,
		"promotion_amount":  ColCoupon,
		"settlement":        ColSettle,
		"fee":               ColFee,
		"fee_rate":          ColFeeRate,
		"currency":          ColCurrency,
		"created_at":        ColTradeTime,
		"finished_at":       ColTradeTime,
		"product":           ColProduct,
		"payload":           ColPayload,
	},
	payrecon.KindRefund: {
		"kind":               ColTradeState,
		"status":             ColRefundStatus,
		"type":               ColTradeType,
		"merchant_order_no":  ColOrderNo,
		"provider_txn_no":    ColTxnNo,
		"merchant_refund_no": ColOutRefundNo,
		"provider_refund_no": ColRefundNo,
		"amount":             ColRefundApplied,
		"promotion_amount":   ColCouponRefund,
		"settlement":         ColRefund,
		"fee":                ColFee,
		"fee_rate":           ColFeeRate,
		"currency":           ColCurrency,
		"created_at":         ColTradeTime,
		"finished_at":        ColTradeTime,
		"product":            ColProduct,
		"payload":            ColPayload,
	},
	payrecon.KindOther: {
		"kind":              ColTradeState,
		"merchant_order_no": ColOrderNo,
		"provider_txn_no":   ColTxnNo,
		"amount":            ColOrderAmount,
		"fee":               ColFee,
		"fee_rate":          ColFeeRate,
		"currency":          ColCurrency,
		"created_at":        ColTradeTime,
		"finished_at":       ColTradeTime,
		"product":           ColProduct,
		"payload":           ColPayload,
	},
}

// fundColumns: the fund-flow bill. 业务类型 decides the kind (交易
// payment, 退款 refund, anything else other); 收支金额(元) is Amount and,
// signed by 收支类型, Settlement; 微信支付业务单号 and 业务凭证号 are the
// payment's or the refund's numbers.
var fundColumns = map[payrecon.Kind]payrecon.BillColumns{
	payrecon.KindPayment: {
		"kind":              ColBizType,
		"type":              ColBizType,
		"provider_txn_no":   ColBizNo,
		"merchant_order_no": ColVoucher,
		"amount":            ColFlowAmount,
		"settlement":        ColFlowAmount,
		"created_at":        ColBookedAt,
		"finished_at":       ColBookedAt,
		"product":           ColNote,
	},
	payrecon.KindRefund: {
		"kind":               ColBizType,
		"type":               ColBizType,
		"provider_refund_no": ColBizNo,
		"merchant_refund_no": ColVoucher,
		"amount":             ColFlowAmount,
		"settlement":         ColFlowAmount,
		"created_at":         ColBookedAt,
		"finished_at":        ColBookedAt,
		"product":            ColNote,
	},
	payrecon.KindOther: {
		"kind":            ColBizType,
		"provider_txn_no": ColBizNo,
		"amount":          ColFlowAmount,
		"settlement":      ColFlowAmount,
		"created_at":      ColBookedAt,
		"finished_at":     ColBookedAt,
		"product":         ColNote,
	},
}
