package main

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/payrecon/payrecon"
)

// Huawei trade bill columns in the documented order (huawei.md §4.2).
var tradeHeader = []string{
	"商户名称", "商户号", "交易创建时间", "交易完成时间", "系统交易订单号", "商户订单号", "交易状态", "交易类型",
	"产品实例编号", "产品名称", "银行名称", "卡类型", "交易币种", "交易金额(元)", "订单金额(元)", "优惠金额(元)",
	"手续费金额(元)", "合作方商户号", "合作方商户名称", "原系统交易订单号", "原商户订单号", "商户预留信息", "AppID", "用户标识",
}

const merchantNo = "101540000089"

// billWriter writes CSV rows without allocating per field.
type billWriter struct {
	w   *bufio.Writer
	buf []byte
}

func (b *billWriter) row(fields ...string) error {
	b.buf = b.buf[:0]
	for i, f := range fields {
		if i > 0 {
			b.buf = append(b.buf, ',')
		}
		b.buf = append(b.buf, f...)
	}
	b.buf = append(b.buf, '\n')
	_, err := b.w.Write(b.buf)
	return err
}

func yuan(fen int64) string { return payrecon.FormatYuan(fen) }

func stamp(t time.Time) string { return t.In(payrecon.Shanghai).Format("2006-01-02 15:04:05") }

// writeTradeBill writes day's Huawei trade bill as a zip holding one CSV
// (UTF-8, header row, yuan amounts) and returns the number of data lines.
// For the plan's day it lists every position the bill has; for the day
// before it lists nothing (the resolved-late positions are billed on the
// plan's day).
func writeTradeBill(path string, p plan, day payrecon.Day) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("create bill: %w", err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	name := fmt.Sprintf("%s_%s_trade.csv", merchantNo, day.Compact())
	cw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: day.End().Add(9 * time.Hour)})
	if err != nil {
		return 0, fmt.Errorf("create bill entry: %w", err)
	}
	bw := &billWriter{w: bufio.NewWriterSize(cw, 1<<20)}
	if err := bw.row(tradeHeader...); err != nil {
		return 0, err
	}
	var lines int64
	if day == p.day {
		for i := 0; i < p.n; i++ {
			k, err := writePosition(bw, p, i)
			if err != nil {
				return lines, fmt.Errorf("write bill line %d: %w", i, err)
			}
			lines += k
		}
	}
	if err := bw.w.Flush(); err != nil {
		return lines, err
	}
	if err := zw.Close(); err != nil {
		return lines, fmt.Errorf("close bill zip: %w", err)
	}
	return lines, f.Close()
}

func writePosition(bw *billWriter, p plan, i int) (int64, error) {
	s := p.slot(i)
	switch {
	case s == slotMissingInBill || s == slotCarriedOver || s == slotRefundMissingInBill || p.isAgreement(i):
		return 0, nil
	case s == slotOther:
		t := stamp(p.at(i))
		a := yuan(amount(i))
		return 1, bw.row("测试商户", merchantNo, t, t, otherTxnNo(i), "", "成功", "分账", "", "", "", "", "CNY",
			a, a, "0.00", "0.00", "101540000090", "合作方", txnNo(i), orderNo(i), "", "", "")
	case p.isRefund(i):
		t := stamp(p.at(i))
		a := yuan(refundAmount(i))
		return 1, bw.row("测试商户", merchantNo, t, t, provRefundNo(i), refundNo(i), "成功", "退款", "", "借记卡快捷支付", "", "", "CNY",
			a, a, "0.00", "0.00", "", "", txnNo(i), orderNo(i), "", "5765880207854", "")
	}
	at := p.at(i)
	if s == slotResolvedLate {
		at = p.day.Start().Add(-30 * time.Second) // paid just before midnight, billed on the plan's day
	}
	t := stamp(at)
	total, promo := amount(i), promotion(i)
	fee := payrecon.FeeFor(total, p.ratePPM)
	if s == slotFeeMismatch {
		fee++
	}
	err := bw.row("测试商户", merchantNo, t, t, txnNo(i), orderNo(i), "成功", "收单", "", "借记卡快捷支付", "", "借记卡", "CNY",
		yuan(total-promo), yuan(total), yuan(promo), yuan(fee), "", "", "", "", "p"+strconv.Itoa(i), "5765880207854", "")
	if err != nil || s != slotDuplicate {
		return 1, err
	}
	// The same merchant order paid a second time.
	return 2, bw.row("测试商户", merchantNo, t, t, dupTxnNo(i), orderNo(i), "成功", "收单", "", "借记卡快捷支付", "", "借记卡", "CNY",
		yuan(total-promo), yuan(total), yuan(promo), yuan(fee), "", "", "", "", "p"+strconv.Itoa(i), "5765880207854", "")
}
