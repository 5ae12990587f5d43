package alipay

import (
	"maps"

	"github.com/payrecon/payrecon"
)

var _ payrecon.BillColumnsDeclarer = (*Client)(nil)

// The columns the parsers read each BillLine field from. Left out, as the
// parsers derive them: status (every row is a success), currency (CNY, the
// bills state none), payer_amount (订单金额 less the promotions),
// promotion_amount (the sum of 支付宝红包, 集分宝, 支付宝优惠 and 商家优惠),
// provider_refund_no (Alipay has none); and on the 账务明细, settlement and
// amount: they are 收入金额 less 支出金额, and which of the two a row
// fills follows the money's direction, not the line's kind (a 收费退回 is
// income, a 收费 an expense, both KindOther).
var (
	tradeColumns = payrecon.BillColumns{
		"kind":              ColType, // 交易 payment, 退款 refund, else other
		"type":              ColType,
		"provider_txn_no":   ColTradeNo,
		"merchant_order_no": ColOrderNo,
		"amount":            ColTotal,
		"fee":               ColFee,
		"created_at":        ColCreated,
		"finished_at":       ColFinished,
		"product":           ColProduct,
		"payload":           ColRemark,
	}
	// A refund row repeats its trade's 支付宝交易号 and 商户订单号; its own
	// number is the 退款批次号/请求号 (when Alipay printed none, the parser
	// takes the 商户订单号, as Alipay numbers such a refund).
	tradeRefundColumns = with(tradeColumns, "merchant_refund_no", ColRefundNo)

	fundColumns = payrecon.BillColumns{
		"kind":              ColType, // 退款 refund, 在线支付 / 交易 / 收款 payment, else other
		"type":              ColType,
		"provider_txn_no":   ColBizNo, // 业务订单号 when 业务流水号 is empty (newer files)
		"merchant_order_no": ColOrderNo,
		"finished_at":       ColOccurred,
		"product":           ColProduct,
		"payload":           ColRemark,
	}
)

func with(c payrecon.BillColumns, field, col string) payrecon.BillColumns {
	out := maps.Clone(c)
	out[field] = col
	return out
}

// BillColumns implements payrecon.BillColumnsDeclarer: the 业务明细 columns
// of BillTrade lines, the 账务明细 columns of BillSettlement lines, as fact
// file B3 / B5 spell them. The maps are shared: callers must not change
// them.
func (c *Client) BillColumns(bill payrecon.BillKind, kind payrecon.Kind) payrecon.BillColumns {
	switch bill {
	case payrecon.BillTrade:
		switch kind {
		case payrecon.KindPayment, payrecon.KindOther:
			return tradeColumns
		case payrecon.KindRefund:
			return tradeRefundColumns
		}
	case payrecon.BillSettlement:
		switch kind {
		case payrecon.KindPayment, payrecon.KindRefund, payrecon.KindOther:
			return fundColumns
		}
	}
	return nil
}
