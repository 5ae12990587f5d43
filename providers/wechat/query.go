package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/payrecon/payrecon"
)

// Transaction is the v3 order (transaction) object: the order query's answer
// and the plaintext of a TRANSACTION.SUCCESS notification.
type Transaction struct {
	AppID          string `json:"appid"`
	MchID          string `json:"mchid"`
	SpMchID        string `json:"sp_mchid,omitempty"`
	SubMchID       string `json:"sub_mchid,omitempty"`
	OutTradeNo     string `json:"out_trade_no"`
	TransactionID  string `json:"transaction_id"`
	TradeType      string `json:"trade_type"`
	TradeState     string `json:"trade_state"`
	TradeStateDesc string `json:"trade_state_desc"`
	BankType       string `json:"bank_type"`
	Attach         string `json:"attach"`
	SuccessTime    string `json:"success_time"`
	Payer          struct {
		OpenID string `json:"openid"`
	} `json:"payer"`
	Amount struct {
		Total         int64  `json:"total"`
		PayerTotal    int64  `json:"payer_total"`
		Currency      string `json:"currency"`
		PayerCurrency string `json:"payer_currency"`
	} `json:"amount"`
	PromotionDetail []struct {
		CouponID string `json:"coupon_id"`
		Amount   int64  `json:"amount"`
	} `json:"promotion_detail,omitempty"`
}

// RefundObject is the v3 refund object: the refund query's and apply
// refund's answer. Refund notifications carry a subset (RefundStatus
// instead of Status) and name the merchant: mchid, or in partner mode
// sp_mchid and sub_mchid.
type RefundObject struct {
	MchID               string `json:"mchid,omitempty"`
	SpMchID             string `json:"sp_mchid,omitempty"`
	SubMchID            string `json:"sub_mchid,omitempty"`
	RefundID            string `json:"refund_id"`
	OutRefundNo         string `json:"out_refund_no"`
	TransactionID       string `json:"transaction_id"`
	OutTradeNo          string `json:"out_trade_no"`
	Channel             string `json:"channel,omitempty"`
	UserReceivedAccount string `json:"user_received_account,omitempty"`
	SuccessTime         string `json:"success_time,omitempty"`
	CreateTime          string `json:"create_time,omitempty"`
	Status              string `json:"status,omitempty"`
	RefundStatus        string `json:"refund_status,omitempty"`
	FundsAccount        string `json:"funds_account,omitempty"`
	Amount              struct {
		Total       int64  `json:"total"`
		Refund      int64  `json:"refund"`
		PayerTotal  int64  `json:"payer_total"`
		PayerRefund int64  `json:"payer_refund"`
		Currency    string `json:"currency,omitempty"`
	} `json:"amount"`
}

// TradeStatus maps trade_state. REFUND ("转入退款") maps to success: the
// order was paid; its refunds are separate refund records.
// An undocumented word reads as pending (the order is queried again).
func TradeStatus(state string) payrecon.Status {
	return TradeStates.Or(state, payrecon.StatusPending)
}

// TradeStates are the documented trade_state words.
var TradeStates = payrecon.StatusMap{
	"SUCCESS": payrecon.StatusSuccess, "REFUND": payrecon.StatusSuccess,
	"NOTPAY": payrecon.StatusNotPaid,
	"CLOSED": payrecon.StatusClosed, "REVOKED": payrecon.StatusClosed,
	"USERPAYING": payrecon.StatusPending, "ACCEPT": payrecon.StatusPending,
	"PAYERROR": payrecon.StatusFailed,
}

// RefundStatus maps a v3 refund status (query) or refund_status (notification).
func RefundStatus(s string) payrecon.Status {
	switch s {
	case "SUCCESS":
		return payrecon.StatusSuccess
	case "CLOSED":
		return payrecon.StatusClosed
	case "ABNORMAL":
		return payrecon.StatusFailed
	}
	return payrecon.StatusPending // PROCESSING
}

// rfc3339 parses a v3 time; an empty or bad value is the zero time.
func rfc3339(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func (t Transaction) order() payrecon.Order {
	o := payrecon.Order{
		MerchantOrderNo: t.OutTradeNo,
		ProviderTxnNo:   t.TransactionID,
		Status:          TradeStatus(t.TradeState),
		RawStatus:       t.TradeState,
		Amount:          t.Amount.Total,
		PayerAmount:     t.Amount.PayerTotal,
		Currency:        t.Amount.Currency,
		PaidAt:          rfc3339(t.SuccessTime),
	}
	if o.Status == payrecon.StatusSuccess {
		o.PromotionAmount = t.Amount.Total - t.Amount.PayerTotal
	} else {
		o.PayerAmount = 0
	}
	return o
}

func (r RefundObject) refund() payrecon.Refund {
	raw := r.Status
	if raw == "" {
		raw = r.RefundStatus
	}
	return payrecon.Refund{
		MerchantRefundNo: r.OutRefundNo,
		ProviderRefundNo: r.RefundID,
		MerchantOrderNo:  r.OutTradeNo,
		ProviderTxnNo:    r.TransactionID,
		Status:           RefundStatus(raw),
		RawStatus:        raw,
		Amount:           r.Amount.Refund,
		PayerAmount:      r.Amount.PayerRefund,
		FinishedAt:       rfc3339(r.SuccessTime),
	}
}

// partner reports whether the account is a service provider's sub-merchant.
func (c *Client) partner() bool { return c.cfg.SubMchID != "" }

// merchantQuery is the query string naming the merchant.
func (c *Client) merchantQuery() string {
	if c.partner() {
		return "?sp_mchid=" + url.QueryEscape(c.cfg.MchID) + "&sub_mchid=" + url.QueryEscape(c.cfg.SubMchID)
	}
	return "?mchid=" + url.QueryEscape(c.cfg.MchID)
}

func (c *Client) txnBase() string {
	if c.partner() {
		return "/v3/pay/partner/transactions"
	}
	return "/v3/pay/transactions"
}

// QueryOrder queries a payment by transaction_id (preferred) or
// out_trade_no. A missing order wraps payrecon.ErrNotFound.
func (c *Client) QueryOrder(ctx context.Context, ref payrecon.OrderRef) (payrecon.Order, error) {
	var path string
	switch {
	case ref.ProviderTxnNo != "":
		path = c.txnBase() + "/id/" + url.PathEscape(ref.ProviderTxnNo) + c.merchantQuery()
	case ref.MerchantOrderNo != "":
		path = c.txnBase() + "/out-trade-no/" + url.PathEscape(ref.MerchantOrderNo) + c.merchantQuery()
	default:
		return payrecon.Order{}, errors.New("wechat query order: neither transaction_id nor out_trade_no given")
	}
	var t Transaction
	if err := c.do(ctx, "GET", path, nil, &t); err != nil {
		return payrecon.Order{}, fmt.Errorf("query order: %w", err)
	}
	return t.order(), nil
}

// QueryRefund queries a refund by out_refund_no (API v3 has no query by
// refund_id). A missing refund wraps payrecon.ErrNotFound.
func (c *Client) QueryRefund(ctx context.Context, ref payrecon.RefundRef) (payrecon.Refund, error) {
	if ref.MerchantRefundNo == "" {
		return payrecon.Refund{}, fmt.Errorf("wechat query refund: out_refund_no is required (API v3 cannot query by refund_id %q): %w", ref.ProviderRefundNo, payrecon.ErrNotSupported)
	}
	path := "/v3/refund/domestic/refunds/" + url.PathEscape(ref.MerchantRefundNo)
	if c.partner() {
		path += "?sub_mchid=" + url.QueryEscape(c.cfg.SubMchID)
	}
	var r RefundObject
	if err := c.do(ctx, "GET", path, nil, &r); err != nil {
		return payrecon.Refund{}, fmt.Errorf("query refund: %w", err)
	}
	return r.refund(), nil
}

// ApplyRefund asks for a refund (POST /v3/refund/domestic/refunds).
// WeChat Pay refunds once per out_refund_no, so a retried request with the
// same MerchantRefundNo returns the existing refund. The original order's
// total is taken from an order query.
func (c *Client) ApplyRefund(ctx context.Context, req payrecon.RefundRequest) (payrecon.Refund, error) {
	if req.MerchantRefundNo == "" || req.Amount <= 0 {
		return payrecon.Refund{}, errors.New("wechat apply refund: out_refund_no and a positive amount are required")
	}
	o, err := c.QueryOrder(ctx, req.OrderRef)
	if err != nil {
		return payrecon.Refund{}, fmt.Errorf("apply refund %s: %w", req.MerchantRefundNo, err)
	}
	type amount struct {
		Refund   int64  `json:"refund"`
		Total    int64  `json:"total"`
		Currency string `json:"currency"`
	}
	body := struct {
		SubMchID      string `json:"sub_mchid,omitempty"`
		TransactionID string `json:"transaction_id,omitempty"`
		OutTradeNo    string `json:"out_trade_no,omitempty"`
		OutRefundNo   string `json:"out_refund_no"`
		Reason        string `json:"reason,omitempty"`
		Amount        amount `json:"amount"`
	}{
		SubMchID: c.cfg.SubMchID, OutRefundNo: req.MerchantRefundNo, Reason: req.Reason,
		Amount: amount{Refund: req.Amount, Total: o.Amount, Currency: "CNY"},
	}
	if o.ProviderTxnNo != "" {
		body.TransactionID = o.ProviderTxnNo
	} else {
		body.OutTradeNo = o.MerchantOrderNo
	}
	var r RefundObject
	if err := c.do(ctx, "POST", "/v3/refund/domestic/refunds", body, &r); err != nil {
		return payrecon.Refund{}, fmt.Errorf("apply refund %s: %w", req.MerchantRefundNo, err)
	}
	c.log.Info("refund applied", "out_refund_no", r.OutRefundNo, "refund_id", r.RefundID, "status", r.Status)
	return r.refund(), nil
}

// CloseOrder closes an unpaid order (POST …/out-trade-no/{no}/close) by
// the merchant's order number (the repair action finds it when the ledger
// lacks it). Closing a closed order is not an error; a paid order is.
func (c *Client) CloseOrder(ctx context.Context, ref payrecon.OrderRef) error {
	no := ref.MerchantOrderNo
	if no == "" {
		return errors.New("wechat close order: needs the merchant order number (out_trade_no)")
	}
	body := map[string]string{"mchid": c.cfg.MchID}
	if c.partner() {
		body = map[string]string{"sp_mchid": c.cfg.MchID, "sub_mchid": c.cfg.SubMchID}
	}
	err := c.do(ctx, "POST", c.txnBase()+"/out-trade-no/"+url.PathEscape(no)+"/close", body, nil)
	var pe *payrecon.ProviderError
	if errors.As(err, &pe) && pe.Code == "ORDER_CLOSED" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("close order %s: %w", no, err)
	}
	return nil
}

// Contract is the v3 papay (预约扣费) contract object.
type Contract struct {
	MchID                 string `json:"mchid"`
	AppID                 string `json:"appid"`
	ContractID            string `json:"contract_id"`
	PlanID                string `json:"plan_id"`
	OutContractCode       string `json:"out_contract_code"`
	OpenID                string `json:"openid"`
	ContractState         string `json:"contract_state"`
	ContractSignedTime    string `json:"contract_signed_time"`
	ContractExpiredTime   string `json:"contract_expired_time,omitempty"`
	ContractTerminateInfo *struct {
		Mode   string `json:"contract_termination_mode"`
		Time   string `json:"contract_terminated_time"`
		Remark string `json:"contract_termination_remark"`
	} `json:"contract_terminate_info,omitempty"`
}

// ContractStatus maps contract_state: SIGNED and TO_BE_RENEWED are in
// force; TERMINATED and SIGN_FAILED are not.
func ContractStatus(s string) payrecon.Status {
	switch s {
	case "SIGNED", "TO_BE_RENEWED":
		return payrecon.StatusSigned
	}
	return payrecon.StatusUnsigned
}

// QueryAgreement queries a papay contract by plan id and out_contract_code
// (GET /v3/papay/sign/contracts/plan-id/{}/out-contract-code/{}). The v3
// API has no query by contract_id alone.
func (c *Client) QueryAgreement(ctx context.Context, ref payrecon.AgreementRef) (payrecon.Agreement, error) {
	if ref.PlanID == "" || ref.MerchantAgreeNo == "" {
		return payrecon.Agreement{}, fmt.Errorf("wechat query contract: plan id and out_contract_code are required: %w", payrecon.ErrNotSupported)
	}
	base := "/v3/papay/sign/contracts"
	query := ""
	if c.partner() {
		base = "/v3/papay/sign/partner/contracts"
		query = "?sub_mchid=" + url.QueryEscape(c.cfg.SubMchID)
	}
	path := base + "/plan-id/" + url.PathEscape(ref.PlanID) + "/out-contract-code/" + url.PathEscape(ref.MerchantAgreeNo) + query
	var k Contract
	if err := c.do(ctx, "GET", path, nil, &k); err != nil {
		return payrecon.Agreement{}, fmt.Errorf("query contract: %w", err)
	}
	a := payrecon.Agreement{
		AgreementNo:     k.ContractID,
		MerchantAgreeNo: k.OutContractCode,
		PlanID:          k.PlanID,
		Status:          ContractStatus(k.ContractState),
		RawStatus:       k.ContractState,
		SignedAt:        rfc3339(k.ContractSignedTime),
	}
	if k.ContractTerminateInfo != nil {
		a.TerminatedAt = rfc3339(k.ContractTerminateInfo.Time)
	}
	return a, nil
}
