package huawei

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/payrecon/payrecon"
)

// Endpoints (direct, partner).
const (
	pathOrderByMerc     = "/api/v2/aggr/transactions/merc-orders/"
	pathOrderByMercP    = "/api/v2/partner/aggr/transactions/merc-orders/"
	pathOrderBySys      = "/api/v2/aggr/transactions/orders/"
	pathOrderBySysP     = "/api/v2/partner/aggr/transactions/orders/"
	pathClose           = "/api/v1/aggr/transactions/orders/close"
	pathCloseP          = "/api/v1/partner/aggr/transactions/orders/close"
	pathRefunds         = "/api/v1/aggr/transactions/refunds"
	pathRefundsP        = "/api/v1/partner/aggr/transactions/refunds"
	pathRefundByMerc    = "/api/v1/aggr/transactions/refunds/merc-orders/"
	pathRefundByMercP   = "/api/v1/partner/aggr/transactions/refunds/merc-orders/"
	pathRefundBySys     = "/api/v1/aggr/transactions/refunds/orders/"
	pathRefundBySysP    = "/api/v1/partner/aggr/transactions/refunds/orders/"
	pathContractByID    = "/api/v2/contract/sign/contracts/"
	pathContractByIDP   = "/api/v1/partner/contract/sign/contracts/"
	pathContractByCode  = "/api/v2/contract/sign/merc-contracts/"
	pathContractByCodeP = "/api/v1/partner/contract/sign/merc-contracts/"
	pathUnsign          = "/api/v2/contract/unsign"
	pathUnsignP         = "/api/v1/partner/contract/unsign"
	pathTradeBillInfo   = "/api/v1/bill/trade-bill/downloadInfo"
	pathTradeBillInfoP  = "/api/v1/partner/bill/trade-bill/downloadInfo"
	pathSettleBillInfo  = "/api/v1/bill/settle-bill/downloadInfo"
	pathSettleBillInfoP = "/api/v1/partner/bill/settle-bill/downloadInfo"
)

// Paths lists every endpoint the client calls, direct then partner form;
// the sandbox serves the same list.
var Paths = struct {
	OrderByMerc, OrderBySys, Close, Refunds, RefundByMerc, RefundBySys,
	ContractByID, ContractByCode, Unsign, TradeBillInfo, SettleBillInfo [2]string
}{
	OrderByMerc:    [2]string{pathOrderByMerc, pathOrderByMercP},
	OrderBySys:     [2]string{pathOrderBySys, pathOrderBySysP},
	Close:          [2]string{pathClose, pathCloseP},
	Refunds:        [2]string{pathRefunds, pathRefundsP},
	RefundByMerc:   [2]string{pathRefundByMerc, pathRefundByMercP},
	RefundBySys:    [2]string{pathRefundBySys, pathRefundBySysP},
	ContractByID:   [2]string{pathContractByID, pathContractByIDP},
	ContractByCode: [2]string{pathContractByCode, pathContractByCodeP},
	Unsign:         [2]string{pathUnsign, pathUnsignP},
	TradeBillInfo:  [2]string{pathTradeBillInfo, pathTradeBillInfoP},
	SettleBillInfo: [2]string{pathSettleBillInfo, pathSettleBillInfoP},
}

// OrderStatuses are Huawei's documented orderStatus values.
var OrderStatuses = payrecon.StatusMap{
	"TRX_SUCCESS": payrecon.StatusSuccess,
	"TRX_FAILED":  payrecon.StatusFailed,
	"TRX_CLOSED":  payrecon.StatusClosed,
	"TRX_CLOSE":   payrecon.StatusClosed,
	"TRX_APPLY":   payrecon.StatusPending,
	"TRX_PROC":    payrecon.StatusPending,
}

// RefundStatuses are Huawei's documented refundOrderStatus values.
var RefundStatuses = payrecon.StatusMap{
	"REFUND_SUCCESS":  payrecon.StatusSuccess,
	"REFUND_FAILED":   payrecon.StatusFailed,
	"REFUND_CHL_PROC": payrecon.StatusPending,
}

// OrderStatus maps a queried orderStatus; an undocumented value reads as
// pending (the order is queried again). Callbacks refuse such a value.
func OrderStatus(raw string) payrecon.Status { return OrderStatuses.Or(raw, payrecon.StatusPending) }

// RefundStatus maps a queried refundOrderStatus; undocumented reads as pending.
func RefundStatus(raw string) payrecon.Status { return RefundStatuses.Or(raw, payrecon.StatusPending) }

// SignStatus maps a contract's signStatus (1 signed, 9 unsigned).
func SignStatus(raw string) (payrecon.Status, error) {
	switch raw {
	case "1":
		return payrecon.StatusSigned, nil
	case "9":
		return payrecon.StatusUnsigned, nil
	}
	return "", fmt.Errorf("signStatus %q: want 1 or 9", raw)
}

type orderResponse struct {
	SysTransOrderNo string `json:"sysTransOrderNo"`
	MercOrderNo     string `json:"mercOrderNo"`
	OrderStatus     string `json:"orderStatus"`
	Currency        string `json:"currency"`
	TotalAmount     fen    `json:"totalAmount"`
	PayerAmount     fen    `json:"payerAmount"`
	PromotionAmount fen    `json:"promotionAmount"`
	FinishTime      string `json:"finishTime"`
}

// QueryOrder queries a payment by sysTransOrderNo (preferred) or mercOrderNo.
func (c *Client) QueryOrder(ctx context.Context, ref payrecon.OrderRef) (payrecon.Order, error) {
	var path string
	switch {
	case ref.ProviderTxnNo != "":
		path = c.path(pathOrderBySys, pathOrderBySysP) + url.PathEscape(ref.ProviderTxnNo)
	case ref.MerchantOrderNo != "":
		path = c.path(pathOrderByMerc, pathOrderByMercP) + url.PathEscape(ref.MerchantOrderNo)
	default:
		return payrecon.Order{}, errors.New("huawei query order: no order number")
	}
	var r orderResponse
	if err := c.call(ctx, "GET", path, nil, nil, &r); err != nil {
		return payrecon.Order{}, err
	}
	paid, err := ParseTime(r.FinishTime)
	if err != nil {
		return payrecon.Order{}, fmt.Errorf("huawei query order %s: finishTime: %w", r.MercOrderNo, err)
	}
	return payrecon.Order{
		MerchantOrderNo: r.MercOrderNo, ProviderTxnNo: r.SysTransOrderNo,
		Status: OrderStatus(r.OrderStatus), RawStatus: r.OrderStatus,
		Amount: int64(r.TotalAmount), PayerAmount: int64(r.PayerAmount), PromotionAmount: int64(r.PromotionAmount),
		Currency: r.Currency, PaidAt: paid,
	}, nil
}

type refundResponse struct {
	SysRefundOrderNo  string `json:"sysRefundOrderNo"`
	MercRefundOrderNo string `json:"mercRefundOrderNo"`
	SysTransOrderNo   string `json:"sysTransOrderNo"`
	MercOrderNo       string `json:"mercOrderNo"`
	RefundOrderStatus string `json:"refundOrderStatus"`
	RefundAmount      fen    `json:"refundAmount"`
	PayerRefundAmount fen    `json:"payerRefundAmount"`
	FinishTime        string `json:"finishTime"`
}

func (r refundResponse) refund(ref payrecon.RefundRef) (payrecon.Refund, error) {
	fin, err := ParseTime(r.FinishTime)
	if err != nil {
		return payrecon.Refund{}, fmt.Errorf("finishTime: %w", err)
	}
	out := payrecon.Refund{
		MerchantRefundNo: r.MercRefundOrderNo, ProviderRefundNo: r.SysRefundOrderNo,
		MerchantOrderNo: r.MercOrderNo, ProviderTxnNo: r.SysTransOrderNo,
		Status: RefundStatus(r.RefundOrderStatus), RawStatus: r.RefundOrderStatus,
		Amount: int64(r.RefundAmount), PayerAmount: int64(r.PayerRefundAmount), FinishedAt: fin,
	}
	// the refund query returns no order numbers: keep the caller's
	if out.MerchantOrderNo == "" {
		out.MerchantOrderNo = ref.MerchantOrderNo
	}
	if out.ProviderTxnNo == "" {
		out.ProviderTxnNo = ref.ProviderTxnNo
	}
	return out, nil
}

// QueryRefund queries a refund by mercRefundOrderNo (preferred) or sysRefundOrderNo.
func (c *Client) QueryRefund(ctx context.Context, ref payrecon.RefundRef) (payrecon.Refund, error) {
	var path string
	switch {
	case ref.MerchantRefundNo != "":
		path = c.path(pathRefundByMerc, pathRefundByMercP) + url.PathEscape(ref.MerchantRefundNo)
	case ref.ProviderRefundNo != "":
		path = c.path(pathRefundBySys, pathRefundBySysP) + url.PathEscape(ref.ProviderRefundNo)
	default:
		return payrecon.Refund{}, errors.New("huawei query refund: no refund number")
	}
	var r refundResponse
	if err := c.call(ctx, "GET", path, nil, nil, &r); err != nil {
		return payrecon.Refund{}, err
	}
	out, err := r.refund(ref)
	if err != nil {
		return payrecon.Refund{}, fmt.Errorf("huawei query refund %s: %w", r.MercRefundOrderNo, err)
	}
	return out, nil
}

type contractResponse struct {
	ContractID       string     `json:"contractId"`
	MercContractCode string     `json:"mercContractCode"`
	PlanID           flexString `json:"planId"`
	SignedTime       string     `json:"signedTime"`
	SignStatus       flexString `json:"signStatus"`
	ExpireDate       string     `json:"expireDate"`
}

// QueryAgreement queries a contract by contractId (preferred) or mercContractCode.
func (c *Client) QueryAgreement(ctx context.Context, ref payrecon.AgreementRef) (payrecon.Agreement, error) {
	var path string
	switch {
	case ref.AgreementNo != "":
		path = c.path(pathContractByID, pathContractByIDP) + url.PathEscape(ref.AgreementNo)
	case ref.MerchantAgreeNo != "":
		path = c.path(pathContractByCode, pathContractByCodeP) + url.PathEscape(ref.MerchantAgreeNo)
	default:
		return payrecon.Agreement{}, errors.New("huawei query contract: no contract number")
	}
	var r contractResponse
	if err := c.call(ctx, "GET", path, nil, nil, &r); err != nil {
		return payrecon.Agreement{}, err
	}
	st, err := SignStatus(string(r.SignStatus))
	if err != nil {
		return payrecon.Agreement{}, fmt.Errorf("huawei query contract %s: %w", r.ContractID, err)
	}
	signed, err := ParseTime(r.SignedTime)
	if err != nil {
		return payrecon.Agreement{}, fmt.Errorf("huawei query contract %s: signedTime: %w", r.ContractID, err)
	}
	return payrecon.Agreement{
		AgreementNo: r.ContractID, MerchantAgreeNo: r.MercContractCode, PlanID: string(r.PlanID),
		Status: st, RawStatus: string(r.SignStatus), SignedAt: signed,
	}, nil
}

// RefundBody is the apply-refund request.
type RefundBody struct {
	MercOrderNo       string `json:"mercOrderNo,omitempty"`
	SysTransOrderNo   string `json:"sysTransOrderNo,omitempty"`
	MercRefundOrderNo string `json:"mercRefundOrderNo"`
	Reason            string `json:"reason,omitempty"`
	CallbackURL       string `json:"callbackUrl"`
	RefundAmount      int64  `json:"refundAmount,omitempty"`
}

// ApplyRefund asks Huawei to refund; idempotent on MerchantRefundNo (Huawei
// refunds one mercRefundOrderNo once). The refund is asynchronous: the
// result is pending until the callback or a query says otherwise.
func (c *Client) ApplyRefund(ctx context.Context, req payrecon.RefundRequest) (payrecon.Refund, error) {
	if req.MerchantRefundNo == "" || len(req.MerchantRefundNo) > 64 {
		return payrecon.Refund{}, fmt.Errorf("huawei apply refund: mercRefundOrderNo %q must be 1-64 characters", req.MerchantRefundNo)
	}
	if req.ProviderTxnNo == "" && req.MerchantOrderNo == "" {
		return payrecon.Refund{}, errors.New("huawei apply refund: no order number")
	}
	if req.Amount <= 0 {
		return payrecon.Refund{}, fmt.Errorf("huawei apply refund %s: amount %d fen, want > 0", req.MerchantRefundNo, req.Amount)
	}
	if c.cfg.CallbackURL == "" {
		return payrecon.Refund{}, errors.New("huawei apply refund: callback_url is not configured")
	}
	body := RefundBody{
		MercOrderNo: req.MerchantOrderNo, SysTransOrderNo: req.ProviderTxnNo, MercRefundOrderNo: req.MerchantRefundNo,
		Reason: req.Reason, CallbackURL: c.cfg.CallbackURL, RefundAmount: req.Amount,
	}
	var r refundResponse
	if err := c.call(ctx, "POST", c.path(pathRefunds, pathRefundsP), nil, body, &r); err != nil {
		return payrecon.Refund{}, err
	}
	out, err := r.refund(payrecon.RefundRef{MerchantOrderNo: req.MerchantOrderNo, ProviderTxnNo: req.ProviderTxnNo})
	if err != nil {
		return payrecon.Refund{}, fmt.Errorf("huawei apply refund %s: %w", req.MerchantRefundNo, err)
	}
	if out.MerchantRefundNo == "" {
		out.MerchantRefundNo = req.MerchantRefundNo
	}
	if out.RawStatus == "" {
		out.Status = payrecon.StatusPending
	}
	return out, nil
}

// CloseOrder closes an unpaid order by mercOrderNo. Closing one that is
// already closed (or was never created) is not an error.
func (c *Client) CloseOrder(ctx context.Context, ref payrecon.OrderRef) error {
	if ref.MerchantOrderNo == "" {
		return errors.New("huawei close order: mercOrderNo required")
	}
	err := c.call(ctx, "POST", c.path(pathClose, pathCloseP), nil, map[string]string{"mercOrderNo": ref.MerchantOrderNo}, nil)
	if errors.Is(err, payrecon.ErrNotFound) {
		return nil
	}
	return err
}

// UnsignBody is the apply-unsign request.
type UnsignBody struct {
	ContractID       string `json:"contractId,omitempty"`
	MercContractCode string `json:"mercContractCode,omitempty"`
	MercNo           string `json:"mercNo,omitempty"`
	SpMercNo         string `json:"spMercNo,omitempty"`
	SubMercNo        string `json:"subMercNo,omitempty"`
	CallbackURL      string `json:"callbackUrl,omitempty"`
}

// Unsign terminates a contract. Huawei answers CHECK_CONTRACT_STATUS for a
// contract that is already terminated; that is confirmed by a query and
// then not an error.
func (c *Client) Unsign(ctx context.Context, ref payrecon.AgreementRef, reason string) error {
	if ref.AgreementNo == "" && ref.MerchantAgreeNo == "" {
		return errors.New("huawei unsign: no contract number")
	}
	body := UnsignBody{ContractID: ref.AgreementNo, MercContractCode: ref.MerchantAgreeNo, CallbackURL: c.cfg.CallbackURL}
	if body.ContractID != "" {
		body.MercContractCode = "" // contractId wins
	}
	if c.partner() {
		body.SpMercNo, body.SubMercNo = c.cfg.SpMercNo, c.cfg.SubMercNo
	} else {
		body.MercNo = c.cfg.MercNo
	}
	err := c.call(ctx, "POST", c.path(pathUnsign, pathUnsignP), nil, body, nil)
	var pe *payrecon.ProviderError
	if errors.As(err, &pe) && pe.SubCode == "CHECK_CONTRACT_STATUS" {
		a, qerr := c.QueryAgreement(ctx, ref)
		if qerr == nil && a.Status == payrecon.StatusUnsigned {
			c.log.Info("huawei unsign: already terminated", "contract", a.AgreementNo, "reason", reason)
			return nil
		}
	}
	return err
}
