package main

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// parseFunc parses one CSV of a trade bill, streaming its lines to fn.
type parseFunc func(r io.Reader, name string, fn func(payrecon.BillLine) error) error

// benchProvider serves the generated bill files through the real parser and
// answers queries from the plan, like a provider that agrees with the plan.
type benchProvider struct {
	account string
	plan    plan
	bills   map[payrecon.Day]string // day → trade bill zip path
	settles map[payrecon.Day]string // day → settlement bill zip path; nil: no settlement bills
	parse   parseFunc
	// parseSettle parses settlement bills.
	parseSettle parseFunc
}

var (
	_ payrecon.BillSource       = (*benchProvider)(nil)
	_ payrecon.OrderQuerier     = (*benchProvider)(nil)
	_ payrecon.RefundQuerier    = (*benchProvider)(nil)
	_ payrecon.AgreementQuerier = (*benchProvider)(nil)
)

func (b *benchProvider) ProviderName() string { return "huawei" }

// Bill reads the day's zip: SHA-256 of the file, then every .csv entry
// through the parser.
func (b *benchProvider) Bill(ctx context.Context, day payrecon.Day, kind payrecon.BillKind, fn func(payrecon.BillLine) error) (payrecon.BillFile, error) {
	files, parse := b.bills, b.parse
	switch {
	case kind == payrecon.BillSettlement && b.settles != nil:
		files, parse = b.settles, b.parseSettle
	case kind != payrecon.BillTrade:
		return payrecon.BillFile{}, fmt.Errorf("bench bills: %s: %w", kind, payrecon.ErrNotSupported)
	}
	path, ok := files[day]
	if !ok {
		return payrecon.BillFile{}, fmt.Errorf("bench bill %s: %w", day, payrecon.ErrBillNotReady)
	}
	bf := payrecon.BillFile{Account: b.account, Day: day, Kind: kind, Name: filepath.Base(path)}
	sum, err := fileSHA256(path)
	if err != nil {
		return bf, err
	}
	bf.SHA256 = sum
	n, err := readBill(ctx, path, parse, func(l payrecon.BillLine) error {
		l.Account, l.Day, l.Bill = b.account, day, kind
		return fn(l)
	})
	bf.Lines = n
	return bf, err
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readBill unzips path and parses every .csv in it; parse nil only
// decompresses (the floor without parsing).
func readBill(ctx context.Context, path string, parse parseFunc, fn func(payrecon.BillLine) error) (int64, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return 0, fmt.Errorf("open bill zip %s: %w", path, err)
	}
	defer zr.Close()
	var n int64
	for _, zf := range zr.File {
		if !strings.HasSuffix(strings.ToLower(zf.Name), ".csv") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		rc, err := zf.Open()
		if err != nil {
			return n, fmt.Errorf("open %s in %s: %w", zf.Name, path, err)
		}
		if parse == nil {
			_, err = io.Copy(io.Discard, rc)
		} else {
			err = parse(rc, zf.Name, func(l payrecon.BillLine) error {
				n++
				return fn(l)
			})
		}
		rc.Close()
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (b *benchProvider) notFound(what, no string) error {
	return &payrecon.ProviderError{Provider: "huawei", Code: "400000", SubCode: what, Message: no, NotFound: true}
}

// QueryOrder answers from the plan: planted not-paid orders are NOTPAY,
// everything else the plan knows is paid.
func (b *benchProvider) QueryOrder(_ context.Context, ref payrecon.OrderRef) (payrecon.Order, error) {
	key := ref.ProviderTxnNo
	if key == "" {
		key = ref.MerchantOrderNo
	}
	i, ok := index(key)
	if !ok || i >= b.plan.n || b.plan.isRefund(i) || b.plan.isAgreement(i) {
		return payrecon.Order{}, b.notFound("PAY_ORDER_NOT_EXIST", key)
	}
	txn := txnNo(i)
	if strings.HasPrefix(ref.ProviderTxnNo, "43") {
		txn = ref.ProviderTxnNo
	}
	o := payrecon.Order{MerchantOrderNo: orderNo(i), ProviderTxnNo: txn, Status: payrecon.StatusSuccess, RawStatus: "TRX_SUCCESS",
		Amount: amount(i), PromotionAmount: promotion(i), Currency: "CNY", PaidAt: b.plan.at(i)}
	o.PayerAmount = o.Amount - o.PromotionAmount
	if b.plan.slot(i) == slotMissingInBill {
		o.Status, o.RawStatus, o.PaidAt = payrecon.StatusNotPaid, "TRX_APPLY", time.Time{}
	}
	return o, nil
}

// QueryRefund: planted refunds missing from the bill are unknown to the provider.
func (b *benchProvider) QueryRefund(_ context.Context, ref payrecon.RefundRef) (payrecon.Refund, error) {
	key := ref.ProviderRefundNo
	if key == "" {
		key = ref.MerchantRefundNo
	}
	i, ok := index(key)
	if !ok || i >= b.plan.n || !b.plan.isRefund(i) || b.plan.slot(i) == slotRefundMissingInBill {
		return payrecon.Refund{}, b.notFound("REFUND_ORDER_NOT_EXIST", key)
	}
	a := refundAmount(i)
	return payrecon.Refund{MerchantRefundNo: refundNo(i), ProviderRefundNo: provRefundNo(i), MerchantOrderNo: orderNo(i), ProviderTxnNo: txnNo(i),
		Status: payrecon.StatusSuccess, RawStatus: "REFUND_SUCCESS", Amount: a, PayerAmount: a, FinishedAt: b.plan.at(i)}, nil
}

// QueryAgreement: planted mismatches were unsigned by the user.
func (b *benchProvider) QueryAgreement(_ context.Context, ref payrecon.AgreementRef) (payrecon.Agreement, error) {
	i, ok := index(ref.AgreementNo)
	if !ok || i >= b.plan.n || !b.plan.isAgreement(i) {
		return payrecon.Agreement{}, b.notFound("CONTRACT_NOT_EXIST", ref.AgreementNo)
	}
	ag := payrecon.Agreement{AgreementNo: agreementNo(i), MerchantAgreeNo: "MC" + agreementNo(i), PlanID: "plan1",
		Status: payrecon.StatusSigned, RawStatus: "1", SignedAt: b.plan.at(i)}
	if b.plan.slot(i) == slotAgreementMismatch {
		ag.Status, ag.RawStatus, ag.TerminatedAt = payrecon.StatusUnsigned, "9", b.plan.at(i).Add(time.Minute)
	}
	return ag, nil
}
