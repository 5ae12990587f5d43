package qqpay

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// TradeStatuses are the trade_state words ([I] the WeChat-v2 set) and the
// statement's Chinese ones. REFUND means the payment succeeded and was
// (partly) refunded since.
var TradeStatuses = payrecon.StatusMap{
	"SUCCESS": payrecon.StatusSuccess, "REFUND": payrecon.StatusSuccess, "支付成功": payrecon.StatusSuccess, "转入退款": payrecon.StatusSuccess,
	"NOTPAY": payrecon.StatusNotPaid, "未支付": payrecon.StatusNotPaid,
	"CLOSED": payrecon.StatusClosed, "REVOKED": payrecon.StatusClosed, "已关闭": payrecon.StatusClosed, "已撤销": payrecon.StatusClosed,
	"USERPAYING": payrecon.StatusPending, "用户支付中": payrecon.StatusPending,
	"PAYERROR": payrecon.StatusFailed, "FAIL": payrecon.StatusFailed, "支付失败": payrecon.StatusFailed,
}

// RefundStatuses: the fact file knows two spellings [?]: strings (SUCCESS /
// FAIL / PROCESSING / NOTSURE / CHANGE, and the bill's Chinese text) and an
// older numeric mapping (4,10 success; 3,5,6 fail; 8,9,11 processing; 1,2
// not sure; 7 转入代发); both are accepted. NOTSURE (1,2) needs a re-query:
// pending. CHANGE / 7 (转入代发, the money did not reach the payer and goes
// to offline payout) counts as failed.
var RefundStatuses = payrecon.StatusMap{
	"SUCCESS": payrecon.StatusSuccess, "4": payrecon.StatusSuccess, "10": payrecon.StatusSuccess, "退款成功": payrecon.StatusSuccess,
	"FAIL": payrecon.StatusFailed, "FAILED": payrecon.StatusFailed, "3": payrecon.StatusFailed, "5": payrecon.StatusFailed,
	"6": payrecon.StatusFailed, "退款失败": payrecon.StatusFailed, "CHANGE": payrecon.StatusFailed, "7": payrecon.StatusFailed,
	"转入代发": payrecon.StatusFailed, "退款异常": payrecon.StatusFailed,
	"CLOSED": payrecon.StatusClosed, "REFUNDCLOSE": payrecon.StatusClosed, "退款关闭": payrecon.StatusClosed,
	"PROCESSING": payrecon.StatusPending, "NOTSURE": payrecon.StatusPending, "8": payrecon.StatusPending, "9": payrecon.StatusPending,
	"11": payrecon.StatusPending, "1": payrecon.StatusPending, "2": payrecon.StatusPending, "退款中": payrecon.StatusPending,
	"处理中": payrecon.StatusPending,
}

// TradeStatus maps a queried trade_state; an undocumented word reads as
// pending (queried again). Notifications refuse such a word.
func TradeStatus(s string) payrecon.Status {
	return TradeStatuses.Or(payrecon.StatusWord(s), payrecon.StatusPending)
}

// RefundStatus maps a queried refund status; undocumented reads as pending.
func RefundStatus(s string) payrecon.Status {
	return RefundStatuses.Or(payrecon.StatusWord(s), payrecon.StatusPending)
}

// shanghai parses QQ's API times: yyyyMMddHHmmss, or yyyy-MM-dd HH:mm:ss.
func apiTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"20060102150405", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, payrecon.Shanghai); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is neither yyyyMMddHHmmss nor yyyy-MM-dd HH:mm:ss", s)
}

// couponFee is coupon_fee, or when absent the sum of the indexed
// coupon_fee_$n (gopay's qq model carries coupon_fee_0, coupon_fee_1).
func couponFee(m map[string]string) (int64, error) {
	if m["coupon_fee"] != "" {
		return fen(m, "coupon_fee")
	}
	var sum int64
	for i := 0; i < 100; i++ {
		k := "coupon_fee_" + strconv.Itoa(i)
		if m[k] == "" {
			break
		}
		v, err := fen(m, k)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// fen parses an integer fen field ("" is 0).
func fen(m map[string]string, field string) (int64, error) {
	s := strings.TrimSpace(m[field])
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%s %q is not a fen amount", field, s)
	}
	return v, nil
}

// currency normalises fee_type / 货币种类 (RMB and CNY are the same).
func currency(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" || s == "RMB" {
		return "CNY"
	}
	return s
}

// QueryOrder implements payrecon.OrderQuerier (qpay_order_query.cgi).
func (c *Client) QueryOrder(ctx context.Context, ref payrecon.OrderRef) (payrecon.Order, error) {
	p := map[string]string{}
	switch {
	case ref.ProviderTxnNo != "":
		p["transaction_id"] = ref.ProviderTxnNo
	case ref.MerchantOrderNo != "":
		p["out_trade_no"] = ref.MerchantOrderNo
	default:
		return payrecon.Order{}, errors.New("qqpay query order: no order number")
	}
	m, err := c.call(ctx, c.http, c.cfg.BaseURL, PathOrderQuery, p)
	if err != nil {
		return payrecon.Order{}, err
	}
	o := payrecon.Order{
		MerchantOrderNo: m["out_trade_no"],
		ProviderTxnNo:   m["transaction_id"],
		RawStatus:       m["trade_state"],
		Status:          TradeStatus(m["trade_state"]),
		Currency:        currency(m["fee_type"]),
	}
	if o.Amount, err = fen(m, "total_fee"); err != nil {
		return o, fmt.Errorf("qqpay query order: %w", err)
	}
	cash, err := fen(m, "cash_fee")
	if err != nil {
		return o, fmt.Errorf("qqpay query order: %w", err)
	}
	coupon, err := couponFee(m)
	if err != nil {
		return o, fmt.Errorf("qqpay query order: %w", err)
	}
	o.PayerAmount, o.PromotionAmount = payerPromo(o.Amount, cash, coupon, m["cash_fee"] != "")
	if o.Status == payrecon.StatusSuccess {
		if o.PaidAt, err = apiTime(m["time_end"]); err != nil {
			return o, fmt.Errorf("qqpay query order: time_end: %w", err)
		}
	}
	return o, nil
}

// payerPromo derives what the payer paid and the promotion from total_fee,
// cash_fee and coupon_fee (cash_fee absent: total minus coupons).
func payerPromo(total, cash, coupon int64, hasCash bool) (payer, promo int64) {
	if !hasCash {
		cash = total - coupon
	}
	promo = coupon
	if promo == 0 && total > cash {
		promo = total - cash
	}
	return cash, promo
}

// QueryRefund implements payrecon.RefundQuerier (qpay_refund_query.cgi):
// by refund_id, out_refund_no, or the order (the refund matching the
// reference's numbers is picked from the indexed answer).
func (c *Client) QueryRefund(ctx context.Context, ref payrecon.RefundRef) (payrecon.Refund, error) {
	p := map[string]string{}
	switch {
	case ref.ProviderRefundNo != "":
		p["refund_id"] = ref.ProviderRefundNo
	case ref.MerchantRefundNo != "":
		p["out_refund_no"] = ref.MerchantRefundNo
	case ref.ProviderTxnNo != "":
		p["transaction_id"] = ref.ProviderTxnNo
	case ref.MerchantOrderNo != "":
		p["out_trade_no"] = ref.MerchantOrderNo
	default:
		return payrecon.Refund{}, errors.New("qqpay query refund: no refund or order number")
	}
	m, err := c.call(ctx, c.http, c.cfg.BaseURL, PathRefundQuery, p)
	if err != nil {
		return payrecon.Refund{}, err
	}
	refunds, err := ParseRefundQuery(m)
	if err != nil {
		return payrecon.Refund{}, fmt.Errorf("qqpay query refund: %w", err)
	}
	for _, r := range refunds {
		if (ref.ProviderRefundNo != "" && r.ProviderRefundNo == ref.ProviderRefundNo) ||
			(ref.ProviderRefundNo == "" && ref.MerchantRefundNo != "" && r.MerchantRefundNo == ref.MerchantRefundNo) ||
			(ref.ProviderRefundNo == "" && ref.MerchantRefundNo == "") {
			return r, nil
		}
	}
	return payrecon.Refund{}, fmt.Errorf("qqpay query refund: %w", &payrecon.ProviderError{Provider: Name, Code: "REFUNDNOTEXIST",
		Message: "the answer lists no refund with that number", NotFound: true})
}

// ParseRefundQuery reads the indexed refunds (out_refund_no_$n, refund_id_$n,
// refund_fee_$n, refund_status_$n, …) of a refund-query answer. It reads
// refund_count when present, else every index from 0 while one exists.
func ParseRefundQuery(m map[string]string) ([]payrecon.Refund, error) {
	n := -1
	if s := m["refund_count"]; s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > 1000 {
			return nil, fmt.Errorf("refund_count %q is not a count", s)
		}
		n = v
	}
	var out []payrecon.Refund
	for i := 0; n < 0 || i < n; i++ {
		sfx := "_" + strconv.Itoa(i)
		if m["out_refund_no"+sfx] == "" && m["refund_id"+sfx] == "" {
			if n < 0 {
				break
			}
			return nil, fmt.Errorf("refund %d of refund_count %d is missing", i, n)
		}
		r := payrecon.Refund{
			MerchantRefundNo: m["out_refund_no"+sfx],
			ProviderRefundNo: m["refund_id"+sfx],
			MerchantOrderNo:  m["out_trade_no"],
			ProviderTxnNo:    m["transaction_id"],
			RawStatus:        m["refund_status"+sfx],
			Status:           RefundStatus(m["refund_status"+sfx]),
		}
		var err error
		if r.Amount, err = fen(m, "refund_fee"+sfx); err != nil {
			return nil, err
		}
		r.PayerAmount = r.Amount
		if _, ok := m["cash_refund_fee"+sfx]; ok {
			if r.PayerAmount, err = fen(m, "cash_refund_fee"+sfx); err != nil {
				return nil, err
			}
		} else if coupon, err := fen(m, "coupon_refund_fee"+sfx); err != nil {
			return nil, err
		} else {
			r.PayerAmount -= coupon
		}
		if r.Status == payrecon.StatusSuccess {
			// not in the fact file; WeChat-v2 clones print refund_success_time_$n
			if r.FinishedAt, err = apiTime(m["refund_success_time"+sfx]); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// ApplyRefund implements payrecon.Refunder (qpay_refund.cgi on the refund
// host, with the client certificate and the operator). QQ Wallet is
// idempotent on out_refund_no: a repeated request answers the same refund.
func (c *Client) ApplyRefund(ctx context.Context, req payrecon.RefundRequest) (payrecon.Refund, error) {
	if req.MerchantRefundNo == "" || req.Amount <= 0 {
		return payrecon.Refund{}, errors.New("qqpay apply refund: needs a merchant refund number and a positive amount")
	}
	if c.cfg.OpUserID == "" {
		return payrecon.Refund{}, errors.New("qqpay apply refund: op_user_id is not configured")
	}
	p := map[string]string{
		"out_refund_no":  req.MerchantRefundNo,
		"refund_fee":     strconv.FormatInt(req.Amount, 10),
		"op_user_id":     c.cfg.OpUserID,
		"op_user_passwd": c.cfg.OpUserPasswd.Reveal(),
	}
	switch {
	case req.ProviderTxnNo != "":
		p["transaction_id"] = req.ProviderTxnNo
	case req.MerchantOrderNo != "":
		p["out_trade_no"] = req.MerchantOrderNo
	default:
		return payrecon.Refund{}, errors.New("qqpay apply refund: no order number")
	}
	m, err := c.call(ctx, c.refundHTTP, c.cfg.RefundBaseURL, PathRefund, p)
	if err != nil {
		return payrecon.Refund{}, err
	}
	r := payrecon.Refund{
		MerchantRefundNo: m["out_refund_no"],
		ProviderRefundNo: m["refund_id"],
		MerchantOrderNo:  m["out_trade_no"],
		ProviderTxnNo:    m["transaction_id"],
		Status:           payrecon.StatusPending, // accepted; the refund query tells the outcome
		RawStatus:        "PROCESSING",
	}
	if r.MerchantRefundNo == "" {
		r.MerchantRefundNo = req.MerchantRefundNo
	}
	if r.Amount, err = fen(m, "refund_fee"); err != nil {
		return r, fmt.Errorf("qqpay apply refund: %w", err)
	}
	if r.Amount == 0 {
		r.Amount = req.Amount
	}
	r.PayerAmount = r.Amount
	if st := m["refund_status"]; st != "" {
		r.RawStatus, r.Status = st, RefundStatus(st)
	}
	return r, nil
}

// CloseOrder implements payrecon.OrderCloser (qpay_close_order.cgi). An
// already closed order is not an error.
func (c *Client) CloseOrder(ctx context.Context, ref payrecon.OrderRef) error {
	if ref.MerchantOrderNo == "" {
		return errors.New("qqpay close order: needs the merchant order number (out_trade_no)")
	}
	p := map[string]string{"out_trade_no": ref.MerchantOrderNo}
	if c.cfg.OpUserID != "" {
		p["op_user_id"] = c.cfg.OpUserID
		p["op_user_passwd"] = c.cfg.OpUserPasswd.Reveal()
	}
	_, err := c.call(ctx, c.http, c.cfg.BaseURL, PathCloseOrder, p)
	var pe *payrecon.ProviderError
	if errors.As(err, &pe) && (strings.EqualFold(pe.Code, "ORDERCLOSED") || strings.Contains(pe.Message, "已关闭")) {
		return nil
	}
	return err
}
