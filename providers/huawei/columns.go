package huawei

import "github.com/payrecon/payrecon"

var _ payrecon.BillColumnsDeclarer = (*Client)(nil)

// Where billLine reads each field (trade bill §4.2, settlement bill §4.3).
// A refund row names the refund in 系统交易订单号 / 商户订单号 and its
// payment in 原系统交易订单号 / 原商户订单号. The amount is 订单金额 (the
// parser falls back to 交易金额 + 优惠金额, then 结算金额, in a file
// without it); the settlement bill has no 交易状态 or 交易金额 column.
var (
	tradeColumns = map[payrecon.Kind]payrecon.BillColumns{
		payrecon.KindPayment: columnsWith(payrecon.BillColumns{"status": ColStatus, "payer_amount": ColPaid},
			payrecon.BillColumns{"provider_txn_no": ColSysNo, "merchant_order_no": ColMercOrderNo}),
		payrecon.KindRefund: columnsWith(payrecon.BillColumns{"status": ColStatus, "payer_amount": ColPaid},
			payrecon.BillColumns{"provider_refund_no": ColSysNo, "merchant_refund_no": ColMercOrderNo,
				"provider_txn_no": ColOrigSysNo, "merchant_order_no": ColOrigMercNo}),
		payrecon.KindOther: columnsWith(payrecon.BillColumns{"status": ColStatus, "payer_amount": ColPaid},
			payrecon.BillColumns{"provider_txn_no": ColSysNo, "merchant_order_no": ColMercOrderNo}),
	}
	settlementColumns = map[payrecon.Kind]payrecon.BillColumns{
		payrecon.KindPayment: columnsWith(payrecon.BillColumns{"settlement": ColSettleAmount},
			payrecon.BillColumns{"provider_txn_no": ColSysNo, "merchant_order_no": ColMercOrderNo}),
		payrecon.KindRefund: columnsWith(payrecon.BillColumns{"settlement": ColSettleAmount},
			payrecon.BillColumns{"provider_refund_no": ColSysNo, "merchant_refund_no": ColMercOrderNo,
				"provider_txn_no": ColOrigSysNo, "merchant_order_no": ColOrigMercNo}),
		payrecon.KindOther: columnsWith(payrecon.BillColumns{"settlement": ColSettleAmount},
			payrecon.BillColumns{"provider_txn_no": ColSysNo, "merchant_order_no": ColMercOrderNo}),
	}
)

// columnsWith is the columns both bills share, plus the bill's own and the
// line kind's identifiers.
func columnsWith(bill, ids payrecon.BillColumns) payrecon.BillColumns {
	c := payrecon.BillColumns{
		"kind": ColType, "type": ColType, "amount": ColOrderAmount, "promotion_amount": ColPromotion, "fee": ColFee,
		"currency": ColCurrency, "created_at": ColCreated, "finished_at": ColFinished, "product": ColProduct, "payload": ColPayload,
	}
	for _, m := range []payrecon.BillColumns{bill, ids} {
		for f, col := range m {
			c[f] = col
		}
	}
	return c
}

// BillColumns implements payrecon.BillColumnsDeclarer.
func (c *Client) BillColumns(bill payrecon.BillKind, kind payrecon.Kind) payrecon.BillColumns {
	switch bill {
	case payrecon.BillTrade:
		return tradeColumns[kind]
	case payrecon.BillSettlement:
		return settlementColumns[kind]
	}
	return nil
}
