package baas

import "github.com/payrecon/payrecon"

// The "columns" of MinCloud's bill, the order-list snapshot: the JSON keys
// of an order record (Order's struct tags, which Go cannot spell with
// constants; TestBillColumnsRead proves each declared key is the one the
// field is read from). The parser's errors and the BillColumns declaration
// both use these names.
const (
	ColTradeNo       = "trade_no"
	ColTransactionNo = "transaction_no"
	ColStatus        = "status"
	ColRefundStatus  = "refund_status"
	ColRefundAmount  = "refund_amount"
	ColTotalCost     = "total_cost"
	ColGatewayType   = "gateway_type"
	ColCurrencyType  = "currency_type"
	ColPaidAt        = "paid_at"
	ColCreatedAt     = "created_at"
	ColUpdatedAt     = "updated_at"
	ColDescription   = "merchandise_description"
)

var _ payrecon.BillColumnsDeclarer = (*Client)(nil)

// billColumns builds the declaration for one order number mapping: mo and
// txn are the keys read as the merchant order number and the provider
// transaction number (Config.OrderNoMapping).
//
// A payment line is a paid order: its status is decided by status, its
// amount is total_cost, its time paid_at. A refund line is the order's
// cumulative refund: present, and successful, whenever refund_amount is
// above zero (record.RefundBooked: refund_status names only the latest
// attempt, so its status is derived, not read, and not declared), amount
// refund_amount, time updated_at, named by the order (merchant_refund_no
// is the merchant order number; no refund number exists). Its type is
// gateway_type followed by " refund" and, when set, refund_status, which
// the parser has already restricted to complete, partial or failed:
// gateway_type is its only free part. Kind is not declared (a paid order
// always yields a payment line), nor provider_refund_no, fee or settlement
// (the order record has none).
func billColumns(mo, txn string) map[payrecon.Kind]payrecon.BillColumns {
	common := func(extra payrecon.BillColumns) payrecon.BillColumns {
		cols := payrecon.BillColumns{
			"type":              ColGatewayType,
			"merchant_order_no": mo,
			"provider_txn_no":   txn,
			"currency":          ColCurrencyType,
			"created_at":        ColCreatedAt,
			"product":           ColDescription,
		}
		for f, c := range extra {
			cols[f] = c
		}
		return cols
	}
	return map[payrecon.Kind]payrecon.BillColumns{
		payrecon.KindPayment: common(payrecon.BillColumns{
			"status":       ColStatus,
			"amount":       ColTotalCost,
			"payer_amount": ColTotalCost,
			"finished_at":  ColPaidAt,
		}),
		payrecon.KindRefund: common(payrecon.BillColumns{
			"merchant_refund_no": mo,
			"amount":             ColRefundAmount,
			"payer_amount":       ColRefundAmount,
			"finished_at":        ColUpdatedAt,
		}),
	}
}

var (
	columnsTradeNo       = billColumns(ColTradeNo, ColTransactionNo)
	columnsTransactionNo = billColumns(ColTransactionNo, ColTradeNo)
)

// BillColumns implements payrecon.BillColumnsDeclarer for the order-list
// snapshot (BillTrade), under the client's order number mapping. MinCloud
// has no settlement bill: nil.
func (c *Client) BillColumns(bill payrecon.BillKind, kind payrecon.Kind) payrecon.BillColumns {
	if bill != payrecon.BillTrade {
		return nil
	}
	if c.cfg.OrderNoMapping == MappingTransactionNo {
		return columnsTransactionNo[kind]
	}
	return columnsTradeNo[kind]
}
