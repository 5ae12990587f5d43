package douyin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// PaymentInfo is query_order's payment_info.
type PaymentInfo struct {
	TotalFee         json.Number `json:"total_fee"` // fen
	OrderStatus      string      `json:"order_status"`
	PayTime          string      `json:"pay_time"` // yyyy-MM-dd HH:mm:ss, Shanghai
	Way              json.Number `json:"way"`
	ChannelNo        string      `json:"channel_no"`
	ChannelGatewayNo string      `json:"channel_gateway_no"`
	SellerUID        string      `json:"seller_uid"`
	ItemID           string      `json:"item_id"`
}

// OrderAnswer is query_order's answer.
type OrderAnswer struct {
	OutOrderNo  string      `json:"out_order_no"`
	OrderID     string      `json:"order_id"`
	PaymentInfo PaymentInfo `json:"payment_info"`
}

// RefundInfo is query_refund's refundInfo (camel-case key in the answer).
type RefundInfo struct {
	RefundNo     string      `json:"refund_no"`
	RefundAmount json.Number `json:"refund_amount"` // fen
	RefundStatus string      `json:"refund_status"`
	RefundedAt   json.Number `json:"refunded_at"` // unix seconds
	IsAllSettled bool        `json:"is_all_settled"`
	CpExtra      string      `json:"cp_extra"`
	Msg          string      `json:"msg"`
}

// OrderStatuses are query_order's documented order_status values.
var OrderStatuses = payrecon.StatusMap{
	"SUCCESS":    payrecon.StatusSuccess,
	"PROCESSING": payrecon.StatusPending,
	"FAIL":       payrecon.StatusFailed,
	"TIMEOUT":    payrecon.StatusClosed,
}

// RefundStatuses are refund_status / a refund callback's documented status values.
var RefundStatuses = payrecon.StatusMap{
	"SUCCESS":    payrecon.StatusSuccess,
	"FAIL":       payrecon.StatusFailed,
	"PROCESSING": payrecon.StatusPending,
}

// OrderStatus maps a queried order_status; an undocumented value reads as
// pending (queried again). Callbacks refuse such a value.
func OrderStatus(s string) payrecon.Status {
	return OrderStatuses.Or(payrecon.StatusWord(s), payrecon.StatusPending)
}

// RefundStatus maps a queried refund_status; undocumented reads as pending.
func RefundStatus(s string) payrecon.Status {
	return RefundStatuses.Or(payrecon.StatusWord(s), payrecon.StatusPending)
}

// ErrNeedMerchantOrderNo is wrapped when an order is asked for by the
// platform order_id alone: ecpay v1 query_order only takes out_order_no.
var ErrNeedMerchantOrderNo = errors.New("douyin query_order needs the merchant order number (out_order_no)")

// QueryOrder implements payrecon.OrderQuerier (POST query_order). ecpay v1
// can look an order up only by out_order_no: a ref with only
// ProviderTxnNo is resolved through the OrderLookup given WithOrderLookup,
// and is otherwise an error wrapping payrecon.ErrNotSupported.
func (c *Client) QueryOrder(ctx context.Context, ref payrecon.OrderRef) (payrecon.Order, error) {
	out := ref.MerchantOrderNo
	if out == "" {
		if c.lookup == nil || ref.ProviderTxnNo == "" {
			return payrecon.Order{}, fmt.Errorf("query order %s: %w: %w", ref.ProviderTxnNo, ErrNeedMerchantOrderNo, payrecon.ErrNotSupported)
		}
		no, err := c.lookup(ctx, ref.ProviderTxnNo)
		if err != nil {
			return payrecon.Order{}, fmt.Errorf("douyin query order %s: look up out_order_no: %w", ref.ProviderTxnNo, err)
		}
		out = no
	}
	var a OrderAnswer
	if err := c.do(ctx, "query_order", map[string]any{"out_order_no": out}, &a); err != nil {
		return payrecon.Order{}, err
	}
	if a.OutOrderNo != "" && a.OutOrderNo != out {
		return payrecon.Order{}, fmt.Errorf("douyin query_order %s: answer is about out_order_no %s", out, a.OutOrderNo)
	}
	if ref.ProviderTxnNo != "" && a.OrderID != "" && a.OrderID != ref.ProviderTxnNo {
		return payrecon.Order{}, fmt.Errorf("douyin query_order %s: order_id %s, asked for %s: %w", out, a.OrderID, ref.ProviderTxnNo, payrecon.ErrNotFound)
	}
	pi := a.PaymentInfo
	o := payrecon.Order{
		MerchantOrderNo: out,
		ProviderTxnNo:   a.OrderID,
		Status:          OrderStatus(pi.OrderStatus),
		RawStatus:       pi.OrderStatus,
		Currency:        "CNY",
	}
	if pi.TotalFee != "" {
		v, err := parseFen(string(pi.TotalFee))
		if err != nil {
			return o, fmt.Errorf("douyin query_order %s: payment_info.total_fee: %w", out, err)
		}
		o.Amount, o.PayerAmount = v, v
	}
	if pi.PayTime != "" && o.Status == payrecon.StatusSuccess {
		t, err := parseTime(pi.PayTime)
		if err != nil {
			return o, fmt.Errorf("douyin query_order %s: payment_info.pay_time: %w", out, err)
		}
		o.PaidAt = t
	}
	return o, nil
}

// QueryRefund implements payrecon.RefundQuerier (POST query_refund, by
// out_refund_no only: a ref with only ProviderRefundNo is ErrNotSupported).
func (c *Client) QueryRefund(ctx context.Context, ref payrecon.RefundRef) (payrecon.Refund, error) {
	if ref.MerchantRefundNo == "" {
		return payrecon.Refund{}, fmt.Errorf("douyin query refund %s: query_refund takes out_refund_no only: %w", ref.ProviderRefundNo, payrecon.ErrNotSupported)
	}
	var a struct {
		RefundInfo  *RefundInfo `json:"refundInfo"`
		RefundInfo2 *RefundInfo `json:"refund_info"` // tolerated spelling [I]
	}
	if err := c.do(ctx, "query_refund", map[string]any{"out_refund_no": ref.MerchantRefundNo}, &a); err != nil {
		return payrecon.Refund{}, err
	}
	ri := a.RefundInfo
	if ri == nil {
		ri = a.RefundInfo2
	}
	if ri == nil {
		return payrecon.Refund{}, fmt.Errorf("douyin query_refund %s: answer has no refundInfo: %w", ref.MerchantRefundNo, payrecon.ErrNotFound)
	}
	if ref.ProviderRefundNo != "" && ri.RefundNo != "" && ri.RefundNo != ref.ProviderRefundNo {
		return payrecon.Refund{}, fmt.Errorf("douyin query_refund %s: refund_no %s, asked for %s: %w", ref.MerchantRefundNo, ri.RefundNo, ref.ProviderRefundNo, payrecon.ErrNotFound)
	}
	return refundFromInfo(ref, *ri)
}

func refundFromInfo(ref payrecon.RefundRef, ri RefundInfo) (payrecon.Refund, error) {
	r := payrecon.Refund{
		MerchantRefundNo: ref.MerchantRefundNo,
		ProviderRefundNo: ri.RefundNo,
		MerchantOrderNo:  ref.MerchantOrderNo,
		ProviderTxnNo:    ref.ProviderTxnNo,
		Status:           RefundStatus(ri.RefundStatus),
		RawStatus:        ri.RefundStatus,
	}
	if ri.RefundAmount != "" {
		v, err := parseFen(string(ri.RefundAmount))
		if err != nil {
			return r, fmt.Errorf("douyin query_refund %s: refundInfo.refund_amount: %w", ref.MerchantRefundNo, err)
		}
		r.Amount, r.PayerAmount = v, v
	}
	if r.Status == payrecon.StatusSuccess && ri.RefundedAt != "" && ri.RefundedAt != "0" {
		t, err := parseTime(string(ri.RefundedAt))
		if err != nil {
			return r, fmt.Errorf("douyin query_refund %s: refundInfo.refunded_at: %w", ref.MerchantRefundNo, err)
		}
		r.FinishedAt = t
	}
	return r, nil
}

// ApplyRefund implements payrecon.Refunder (POST create_refund). It is
// idempotent on out_refund_no: when the platform refuses a repeated
// out_refund_no, the existing refund is queried and returned.
func (c *Client) ApplyRefund(ctx context.Context, req payrecon.RefundRequest) (payrecon.Refund, error) {
	if req.MerchantOrderNo == "" || req.MerchantRefundNo == "" || req.Amount <= 0 {
		return payrecon.Refund{}, fmt.Errorf("douyin create_refund: out_order_no, out_refund_no and a positive amount are required")
	}
	reason := req.Reason
	if reason == "" {
		reason = "payrecon refund"
	}
	params := map[string]any{
		"out_order_no":  req.MerchantOrderNo,
		"out_refund_no": req.MerchantRefundNo,
		"reason":        reason,
		"refund_amount": req.Amount,
		"cp_extra":      "payrecon",
	}
	if c.cfg.NotifyURL != "" {
		params["notify_url"] = c.cfg.NotifyURL
	}
	var a struct {
		RefundNo string `json:"refund_no"`
	}
	ref := payrecon.RefundRef{MerchantRefundNo: req.MerchantRefundNo, MerchantOrderNo: req.MerchantOrderNo, ProviderTxnNo: req.ProviderTxnNo}
	if err := c.do(ctx, "create_refund", params, &a); err != nil {
		var pe *payrecon.ProviderError
		if errors.As(err, &pe) && !pe.Transient && isDuplicate(pe.Message) {
			return c.QueryRefund(ctx, ref)
		}
		return payrecon.Refund{}, err
	}
	c.log.Info("refund applied", "out_order_no", req.MerchantOrderNo, "out_refund_no", req.MerchantRefundNo, "refund_no", a.RefundNo, "amount", req.Amount)
	return payrecon.Refund{
		MerchantRefundNo: req.MerchantRefundNo,
		ProviderRefundNo: a.RefundNo,
		MerchantOrderNo:  req.MerchantOrderNo,
		ProviderTxnNo:    req.ProviderTxnNo,
		Status:           payrecon.StatusPending,
		RawStatus:        "PROCESSING",
		Amount:           req.Amount,
		PayerAmount:      req.Amount,
	}, nil
}

func isDuplicate(tips string) bool {
	t := strings.ToLower(tips)
	for _, s := range []string{"重复", "已存在", "duplicate", "already exist"} {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

// parseFen parses an integer fen amount from its literal text ("9980");
// a JSON number written with a fraction ("100.00") must be whole fen.
func parseFen(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if strings.Trim(s[i+1:], "0") != "" {
			return 0, fmt.Errorf("%w %q: fen amount with a fraction", payrecon.ErrAmountSyntax, s)
		}
		s = s[:i]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%w %q: not a whole non-negative fen amount", payrecon.ErrAmountSyntax, s)
	}
	return v, nil
}

// parseTime reads "yyyy-MM-dd HH:mm:ss" (also with "/" or a "T", Shanghai
// time) or a 10-digit unix timestamp.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, ok := payrecon.ParseWallTime(s); ok {
		return t, nil
	}
	if len(s) == 10 && isDigits(s) {
		n, _ := strconv.ParseInt(s, 10, 64)
		return time.Unix(n, 0).In(payrecon.Shanghai), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006/01/02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006/01/02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, payrecon.Shanghai); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is not yyyy-MM-dd HH:mm:ss", s)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
