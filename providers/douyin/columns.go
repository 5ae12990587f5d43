package douyin

import "github.com/payrecon/payrecon"

var _ payrecon.BillColumnsDeclarer = (*Client)(nil)

// The columns ParseBill reads each BillLine field from, per bill and kind of
// line, spelled by the same constants the parser looks the columns up by.
// Fields the parser sets without reading a cell are left out: Kind and Type
// of payment and 分账 lines (fixed by the bill type), Currency (always CNY,
// the bill states none), a refund's ProviderTxnNo (the refund bill has no
// 平台订单号) and a 分账 line's Settlement (订单金额 − 技术服务费 − 抽佣金额,
// computed from three columns). CreatedAt of payment and 分账 lines is the
// same cell as FinishedAt; a refund's PayerAmount is its 退款金额.
var (
	// payment bill → KindPayment lines of the trade bill
	paymentColumns = payrecon.BillColumns{
		"merchant_order_no": colOrderNo,
		"provider_txn_no":   colPlatformNo,
		"amount":            colOrderAmount,
		"status":            colPayStatus,
		"created_at":        colPayTime,
		"finished_at":       colPayTime,
	}
	// refund bill → KindRefund lines of the trade bill; 订单号 is the
	// refunded order's. FinishedAt falls back to 退款时间 when 退款完成时间
	// is empty, and Type to "退款" when 退款类型 is.
	refundColumns = payrecon.BillColumns{
		"merchant_order_no":  colOrderNo,
		"merchant_refund_no": colRefundNo,
		"provider_refund_no": colPlatRefundNo,
		"amount":             colRefundAmount,
		"payer_amount":       colRefundAmount,
		"status":             colRefundStatus,
		"type":               colRefundType,
		"created_at":         colRefundTime,
		"finished_at":        colRefundDone,
	}
	// settle (分账) bill → KindOther lines of the settlement bill.
	settleColumns = payrecon.BillColumns{
		"merchant_order_no": colOrderNo,
		"provider_txn_no":   colPlatformNo,
		"amount":            colOrderAmount,
		"fee":               colServiceFee,
		"deduction":         colCommission,
		"status":            colSettleStatus,
		"created_at":        colSettleTime,
		"finished_at":       colSettleTime,
		"product":           colSettleNo,
		"payload":           colSettleParts,
	}
)

// BillColumns implements payrecon.BillColumnsDeclarer: the trade bill's
// payment lines come from the payment bill, its refund lines from the
// refund bill; the settlement bill's lines are the settle bill's 分账 rows
// (KindOther, refunds settled back included). Any other pair has no lines.
// The maps are shared: callers must not change them.
func (c *Client) BillColumns(bill payrecon.BillKind, kind payrecon.Kind) payrecon.BillColumns {
	switch {
	case bill == payrecon.BillTrade && kind == payrecon.KindPayment:
		return paymentColumns
	case bill == payrecon.BillTrade && kind == payrecon.KindRefund:
		return refundColumns
	case bill == payrecon.BillSettlement && kind == payrecon.KindOther:
		return settleColumns
	}
	return nil
}
