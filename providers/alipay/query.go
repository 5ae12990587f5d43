package alipay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/payrecon/payrecon"
)

// TradeQueryResponse is alipay_trade_query_response (amounts are yuan
// strings; json.Number keeps a number printed bare exact).
type TradeQueryResponse struct {
	TradeNo        string      `json:"trade_no"`
	OutTradeNo     string      `json:"out_trade_no"`
	BuyerLogonID   string      `json:"buyer_logon_id"`
	BuyerUserID    string      `json:"buyer_user_id"`
	TradeStatus    string      `json:"trade_status"`
	TotalAmount    json.Number `json:"total_amount"`
	BuyerPayAmount json.Number `json:"buyer_pay_amount"`
	ReceiptAmount  json.Number `json:"receipt_amount"`
	SendPayDate    string      `json:"send_pay_date"`
}

// RefundQueryResponse is alipay_trade_fastpay_refund_query_response.
type RefundQueryResponse struct {
	TradeNo      string      `json:"trade_no"`
	OutTradeNo   string      `json:"out_trade_no"`
	OutRequestNo string      `json:"out_request_no"`
	TotalAmount  json.Number `json:"total_amount"`
	RefundAmount json.Number `json:"refund_amount"`
	RefundStatus string      `json:"refund_status"`
	GmtRefundPay string      `json:"gmt_refund_pay"`
}

// RefundResponse is alipay_trade_refund_response.
type RefundResponse struct {
	TradeNo      string      `json:"trade_no"`
	OutTradeNo   string      `json:"out_trade_no"`
	FundChange   string      `json:"fund_change"`
	RefundFee    json.Number `json:"refund_fee"`
	GmtRefundPay string      `json:"gmt_refund_pay"`
}

// AgreementQueryResponse is alipay_user_agreement_query_response.
type AgreementQueryResponse struct {
	AgreementNo         string `json:"agreement_no"`
	ExternalAgreementNo string `json:"external_agreement_no"`
	Status              string `json:"status"`
	SignTime            string `json:"sign_time"`
	ValidTime           string `json:"valid_time"`
	InvalidTime         string `json:"invalid_time"`
	PersonalProductCode string `json:"personal_product_code"`
	SignScene           string `json:"sign_scene"`
	PrincipalID         string `json:"principal_id"`
}

// Methods of the gateway payrecon calls.
const (
	MethodTradeQuery      = "alipay.trade.query"
	MethodRefundQuery     = "alipay.trade.fastpay.refund.query"
	MethodRefund          = "alipay.trade.refund"
	MethodTradeClose      = "alipay.trade.close"
	MethodAgreementQuery  = "alipay.user.agreement.query"
	MethodAgreementUnsign = "alipay.user.agreement.unsign"
	MethodBillDownloadURL = "alipay.data.dataservice.bill.downloadurl.query"
)

// yuanNumber parses a yuan amount given as a JSON string or bare number
// from its literal text.
func yuanNumber(field string, n json.Number) (int64, error) {
	if n == "" {
		return 0, nil
	}
	v, err := payrecon.ParseYuan(n.String())
	if err != nil {
		return 0, fmt.Errorf("%s: %w", field, err)
	}
	return v, nil
}

// gatewayTime parses yyyy-MM-dd HH:mm:ss[.SSS] (Shanghai); empty is zero.
func gatewayTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := notifyTime(field, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not yyyy-MM-dd HH:mm:ss", field, s)
	}
	return t, nil
}

func orderBiz(ref payrecon.OrderRef) (map[string]any, error) {
	biz := map[string]any{}
	if ref.ProviderTxnNo != "" {
		biz["trade_no"] = ref.ProviderTxnNo // trade_no wins when both are sent
	}
	if ref.MerchantOrderNo != "" {
		biz["out_trade_no"] = ref.MerchantOrderNo
	}
	if len(biz) == 0 {
		return nil, errors.New("order reference names no number")
	}
	return biz, nil
}

// TradeStatus maps trade_status. TRADE_CLOSED is both "closed unpaid" and
// "paid, then fully refunded": with a send_pay_date the payment happened
// and is a success (its refunds are reconciled on their own).
func TradeStatus(raw string, paid bool) payrecon.Status {
	switch raw {
	case "TRADE_SUCCESS", "TRADE_FINISHED":
		return payrecon.StatusSuccess
	case "WAIT_BUYER_PAY":
		return payrecon.StatusNotPaid
	case "TRADE_CLOSED":
		if paid {
			return payrecon.StatusSuccess
		}
		return payrecon.StatusClosed
	}
	return payrecon.StatusPending
}

// QueryOrder implements payrecon.OrderQuerier with alipay.trade.query.
// ACQ.TRADE_NOT_EXIST is payrecon.ErrNotFound.
func (c *Client) QueryOrder(ctx context.Context, ref payrecon.OrderRef) (payrecon.Order, error) {
	biz, err := orderBiz(ref)
	if err != nil {
		return payrecon.Order{}, fmt.Errorf("alipay query order: %w", err)
	}
	var r TradeQueryResponse
	if err := c.call(ctx, MethodTradeQuery, biz, &r); err != nil {
		return payrecon.Order{}, err
	}
	o := payrecon.Order{MerchantOrderNo: r.OutTradeNo, ProviderTxnNo: r.TradeNo, RawStatus: r.TradeStatus, Currency: "CNY"}
	if o.PaidAt, err = gatewayTime("send_pay_date", r.SendPayDate); err != nil {
		return o, fmt.Errorf("alipay query order %s: %w", r.OutTradeNo, err)
	}
	o.Status = TradeStatus(r.TradeStatus, !o.PaidAt.IsZero())
	if o.Amount, err = yuanNumber("total_amount", r.TotalAmount); err != nil {
		return o, fmt.Errorf("alipay query order %s: %w", r.OutTradeNo, err)
	}
	o.PayerAmount = o.Amount
	if r.BuyerPayAmount != "" {
		if o.PayerAmount, err = yuanNumber("buyer_pay_amount", r.BuyerPayAmount); err != nil {
			return o, fmt.Errorf("alipay query order %s: %w", r.OutTradeNo, err)
		}
	}
	if o.Status != payrecon.StatusSuccess {
		o.PayerAmount = 0
	}
	o.PromotionAmount = max(0, o.Amount-o.PayerAmount)
	if o.Status != payrecon.StatusSuccess {
		o.PromotionAmount = 0
	}
	return o, nil
}

// QueryRefund implements payrecon.RefundQuerier with
// alipay.trade.fastpay.refund.query: out_request_no is the merchant's
// refund number (Alipay has none of its own, so ref.ProviderRefundNo is
// not usable alone) and the original trade is required. refund_status
// REFUND_SUCCESS is a success; an answer for the refund without it means
// "not received or failed" by the fact file and is StatusPending; an answer
// without the refund at all (no out_request_no / refund_amount) is
// payrecon.ErrNotFound.
func (c *Client) QueryRefund(ctx context.Context, ref payrecon.RefundRef) (payrecon.Refund, error) {
	if trade, no, ok := splitRefundKey(ref.ProviderRefundNo); ok {
		// payrecon's RefundKey names both
		if ref.MerchantRefundNo == "" {
			ref.MerchantRefundNo = no
		}
		if ref.ProviderTxnNo == "" {
			ref.ProviderTxnNo = trade
		}
	}
	if ref.MerchantRefundNo == "" {
		return payrecon.Refund{}, fmt.Errorf("alipay query refund: out_request_no (the merchant refund number) is required: %w", payrecon.ErrNotSupported)
	}
	biz, err := orderBiz(payrecon.OrderRef{MerchantOrderNo: ref.MerchantOrderNo, ProviderTxnNo: ref.ProviderTxnNo})
	if err != nil {
		return payrecon.Refund{}, fmt.Errorf("alipay query refund %s: %w", ref.MerchantRefundNo, err)
	}
	biz["out_request_no"] = ref.MerchantRefundNo
	biz["query_options"] = []string{"gmt_refund_pay"}
	var r RefundQueryResponse
	if err := c.call(ctx, MethodRefundQuery, biz, &r); err != nil {
		return payrecon.Refund{}, err
	}
	if r.OutRequestNo == "" && r.RefundAmount == "" {
		return payrecon.Refund{}, fmt.Errorf("alipay query refund %s: %w", ref.MerchantRefundNo,
			&payrecon.ProviderError{Provider: Name, Code: "10000", SubCode: "REFUND_NOT_EXIST", Message: "the answer holds no refund", NotFound: true})
	}
	out := payrecon.Refund{MerchantRefundNo: ref.MerchantRefundNo, MerchantOrderNo: r.OutTradeNo, ProviderTxnNo: r.TradeNo, RawStatus: r.RefundStatus}
	if r.OutRequestNo != "" {
		out.MerchantRefundNo = r.OutRequestNo
	}
	trade := out.ProviderTxnNo
	if trade == "" {
		trade = ref.ProviderTxnNo
	}
	out.ProviderRefundNo = RefundKey(trade, out.MerchantRefundNo)
	if out.Amount, err = yuanNumber("refund_amount", r.RefundAmount); err != nil {
		return out, fmt.Errorf("alipay query refund %s: %w", ref.MerchantRefundNo, err)
	}
	out.PayerAmount = out.Amount
	if out.FinishedAt, err = gatewayTime("gmt_refund_pay", r.GmtRefundPay); err != nil {
		return out, fmt.Errorf("alipay query refund %s: %w", ref.MerchantRefundNo, err)
	}
	out.Status = payrecon.StatusPending
	if r.RefundStatus == "REFUND_SUCCESS" {
		out.Status = payrecon.StatusSuccess
	}
	return out, nil
}

// ApplyRefund implements payrecon.Refunder with alipay.trade.refund,
// out_request_no = req.MerchantRefundNo: Alipay refunds a given
// out_request_no once and answers a repeat with fund_change N. The result
// is then read back with the refund query (status and amount).
func (c *Client) ApplyRefund(ctx context.Context, req payrecon.RefundRequest) (payrecon.Refund, error) {
	if req.MerchantRefundNo == "" || req.Amount <= 0 {
		return payrecon.Refund{}, errors.New("alipay apply refund: merchant refund number and a positive amount are required")
	}
	biz, err := orderBiz(req.OrderRef)
	if err != nil {
		return payrecon.Refund{}, fmt.Errorf("alipay apply refund %s: %w", req.MerchantRefundNo, err)
	}
	biz["refund_amount"] = payrecon.FormatYuan(req.Amount)
	biz["out_request_no"] = req.MerchantRefundNo
	if req.Reason != "" {
		biz["refund_reason"] = req.Reason
	}
	var r RefundResponse
	if err := c.call(ctx, MethodRefund, biz, &r); err != nil {
		return payrecon.Refund{}, err
	}
	c.log.Info("refund applied", "refund", req.MerchantRefundNo, "order", r.OutTradeNo, "fund_change", r.FundChange)
	got, err := c.QueryRefund(ctx, payrecon.RefundRef{MerchantRefundNo: req.MerchantRefundNo, MerchantOrderNo: r.OutTradeNo, ProviderTxnNo: r.TradeNo})
	if err != nil {
		// the refund was accepted; its state is for a later query
		c.log.Warn("refund query after apply failed", "refund", req.MerchantRefundNo, "err", err)
		return payrecon.Refund{MerchantRefundNo: req.MerchantRefundNo, ProviderRefundNo: RefundKey(r.TradeNo, req.MerchantRefundNo),
			MerchantOrderNo: r.OutTradeNo, ProviderTxnNo: r.TradeNo, Status: payrecon.StatusPending, Amount: req.Amount, PayerAmount: req.Amount}, nil
	}
	return got, nil
}

// CloseOrder implements payrecon.OrderCloser with alipay.trade.close.
// Closing twice, or an order Alipay never created (not scanned yet:
// ACQ.TRADE_NOT_EXIST), is not an error; a trade that cannot be closed
// (ACQ.TRADE_STATUS_ERROR) is checked with a query: already closed is fine.
func (c *Client) CloseOrder(ctx context.Context, ref payrecon.OrderRef) error {
	biz, err := orderBiz(ref)
	if err != nil {
		return fmt.Errorf("alipay close order: %w", err)
	}
	err = c.call(ctx, MethodTradeClose, biz, nil)
	var pe *payrecon.ProviderError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe) && pe.NotFound:
		c.log.Info("close order: alipay has no such trade (never scanned)", "order", ref.MerchantOrderNo)
		return nil
	case errors.As(err, &pe) && pe.SubCode == "ACQ.TRADE_STATUS_ERROR":
		o, qerr := c.QueryOrder(ctx, ref)
		if qerr == nil && o.Status == payrecon.StatusClosed {
			return nil
		}
	}
	return err
}

// agreementBiz names the agreement by agreement_no, else by the merchant's
// external_agreement_no, with the configured product code and scene.
func (c *Client) agreementBiz(ref payrecon.AgreementRef) (map[string]any, error) {
	biz := map[string]any{"personal_product_code": c.cfg.PersonalProductCode}
	if c.cfg.SignScene != "" {
		biz["sign_scene"] = c.cfg.SignScene
	}
	switch {
	case ref.AgreementNo != "":
		biz["agreement_no"] = ref.AgreementNo
	case ref.MerchantAgreeNo != "":
		biz["external_agreement_no"] = ref.MerchantAgreeNo
	default:
		return nil, errors.New("agreement reference names no number")
	}
	return biz, nil
}

// AgreementStatus maps status: NORMAL is signed; TEMP (暂存, never in
// force) and STOP (暂停) are not in force and count as unsigned.
func AgreementStatus(raw string) payrecon.Status {
	if raw == "NORMAL" {
		return payrecon.StatusSigned
	}
	return payrecon.StatusUnsigned
}

// QueryAgreement implements payrecon.AgreementQuerier with
// alipay.user.agreement.query. A not-exist answer is payrecon.ErrNotFound,
// or an unsigned agreement when Config.AgreementNotExistUnsigned is set.
func (c *Client) QueryAgreement(ctx context.Context, ref payrecon.AgreementRef) (payrecon.Agreement, error) {
	biz, err := c.agreementBiz(ref)
	if err != nil {
		return payrecon.Agreement{}, fmt.Errorf("alipay query agreement: %w", err)
	}
	var r AgreementQueryResponse
	if err := c.call(ctx, MethodAgreementQuery, biz, &r); err != nil {
		if c.cfg.AgreementNotExistUnsigned && errors.Is(err, payrecon.ErrNotFound) {
			return payrecon.Agreement{AgreementNo: ref.AgreementNo, MerchantAgreeNo: ref.MerchantAgreeNo, PlanID: ref.PlanID, Status: payrecon.StatusUnsigned, RawStatus: "NOT_EXIST"}, nil
		}
		return payrecon.Agreement{}, err
	}
	a := payrecon.Agreement{AgreementNo: r.AgreementNo, MerchantAgreeNo: r.ExternalAgreementNo, PlanID: ref.PlanID, RawStatus: r.Status, Status: AgreementStatus(r.Status)}
	if a.SignedAt, err = gatewayTime("sign_time", r.SignTime); err != nil {
		return a, fmt.Errorf("alipay query agreement %s: %w", r.AgreementNo, err)
	}
	if a.Status == payrecon.StatusUnsigned {
		if a.TerminatedAt, err = gatewayTime("invalid_time", r.InvalidTime); err != nil {
			return a, fmt.Errorf("alipay query agreement %s: %w", r.AgreementNo, err)
		}
	}
	return a, nil
}

// Unsign implements payrecon.Unsigner with alipay.user.agreement.unsign.
// Unsigning an agreement Alipay no longer has (already unsigned) is not an
// error.
func (c *Client) Unsign(ctx context.Context, ref payrecon.AgreementRef, reason string) error {
	biz, err := c.agreementBiz(ref)
	if err != nil {
		return fmt.Errorf("alipay unsign: %w", err)
	}
	// the unsign API takes no free-text reason: it is logged only
	c.log.Info("unsign", "agreement", ref.AgreementNo, "merchant_agreement", ref.MerchantAgreeNo, "reason", reason)
	err = c.call(ctx, MethodAgreementUnsign, biz, nil)
	if errors.Is(err, payrecon.ErrNotFound) {
		c.log.Info("unsign: agreement already gone", "agreement", ref.AgreementNo)
		return nil
	}
	return err
}
