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

// Huawei settlement bill columns in the documented order (huawei.md §4.3).
var settleHeader = []string{
	"结算单号", "结算日", "商户名称", "商户号", "交易创建时间", "交易完成时间", "系统交易订单号", "商户订单号", "交易类型",
	"产品实例编号", "产品名称", "银行名称", "卡类型", "交易币种", "结算金额(元)", "订单金额(元)", "优惠金额(元)", "手续费金额(元)",
	"手续费收取方式", "分账类型", "合作方商户名称", "合作方商户号", "原系统交易订单号", "原商户订单号", "商户预留信息", "AppID", "用户标识",
}

// billRow is one line of the day's bills, rendered as a trade or a
// settlement row.
type billRow struct {
	at                       time.Time
	sysNo, orderNo, typ      string
	origSys, origOrder       string
	paid, total, promo, fee  int64
	partnerNo, partnerName   string
	payload, product, cardTy string
}

// writeBill writes day's Huawei bill of kind as a zip holding one CSV
// (UTF-8, header row, yuan amounts) and returns the number of data lines.
// For the plan's day it lists every position the bill has; for the day
// before it lists nothing (the resolved-late positions are billed on the
// plan's day). The settlement bill carries one row per trade row; its
// first row settles one fen more than the trade bill says, planting a
// settlement_mismatch.
func writeBill(path string, p plan, day payrecon.Day, kind payrecon.BillKind) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("create bill: %w", err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	name := fmt.Sprintf("%s_%s_%s.csv", merchantNo, day.Compact(), kind)
	cw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: day.End().Add(9 * time.Hour)})
	if err != nil {
		return 0, fmt.Errorf("create bill entry: %w", err)
	}
	bw := &billWriter{w: bufio.NewWriterSize(cw, 1<<20)}
	header := tradeHeader
	if kind == payrecon.BillSettlement {
		header = settleHeader
	}
	if err := bw.row(header...); err != nil {
		return 0, err
	}
	var lines int64
	var rows [2]billRow
	if day == p.day {
		for i := 0; i < p.n; i++ {
			for _, r := range positionRows(p, i, rows[:0]) {
				if kind == payrecon.BillSettlement {
					err = writeSettleRow(bw, day, r, lines == 0)
				} else {
					err = writeTradeRow(bw, r)
				}
				if err != nil {
					return lines, fmt.Errorf("write bill line %d: %w", i, err)
				}
				lines++
			}
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

// positionRows appends the bill rows of position i to dst.
func positionRows(p plan, i int, dst []billRow) []billRow {
	s := p.slot(i)
	switch {
	case s == slotMissingInBill || s == slotCarriedOver || s == slotRefundMissingInBill || p.isAgreement(i):
		return dst
	case s == slotOther:
		a := amount(i)
		return append(dst, billRow{at: p.at(i), sysNo: otherTxnNo(i), typ: "分账", paid: a, total: a,
			partnerNo: "101540000090", partnerName: "合作方", origSys: txnNo(i), origOrder: orderNo(i)})
	case p.isRefund(i):
		a := refundAmount(i)
		return append(dst, billRow{at: p.at(i), sysNo: provRefundNo(i), orderNo: refundNo(i), typ: "退款", paid: a, total: a,
			origSys: txnNo(i), origOrder: orderNo(i), product: "借记卡快捷支付"})
	}
	at := p.at(i)
	if s == slotResolvedLate {
		at = p.day.Start().Add(-30 * time.Second) // paid just before midnight, billed on the plan's day
	}
	total, promo := amount(i), promotion(i)
	fee := payrecon.FeeFor(total, p.ratePPM)
	if s == slotFeeMismatch {
		fee++
	}
	r := billRow{at: at, sysNo: txnNo(i), orderNo: orderNo(i), typ: "收单", paid: total - promo, total: total, promo: promo, fee: fee,
		payload: "p" + strconv.Itoa(i), product: "借记卡快捷支付", cardTy: "借记卡"}
	dst = append(dst, r)
	if s == slotDuplicate { // the same merchant order paid a second time
		r.sysNo = dupTxnNo(i)
		dst = append(dst, r)
	}
	return dst
}

func writeTradeRow(bw *billWriter, r billRow) error {
	t := stamp(r.at)
	return bw.row("测试商户", merchantNo, t, t, r.sysNo, r.orderNo, "成功", r.typ, "", r.product, "", r.cardTy, "CNY",
		yuan(r.paid), yuan(r.total), yuan(r.promo), yuan(r.fee), r.partnerNo, r.partnerName, r.origSys, r.origOrder, r.payload, "5765880207854", "")
}

func writeSettleRow(bw *billWriter, day payrecon.Day, r billRow, first bool) error {
	settle := r.paid - r.fee // what reaches the merchant
	if r.typ == "退款" {
		settle = -r.paid - r.fee
	}
	if first {
		settle++
	}
	return bw.row("S"+day.Compact(), day.Add(1).Compact(), "测试商户", merchantNo, r.at.In(payrecon.Shanghai).Format("20060102"), stamp(r.at),
		r.sysNo, r.orderNo, r.typ, "", r.product, "", r.cardTy, "CNY", yuan(settle), yuan(r.total), yuan(r.promo), yuan(r.fee),
		"手续费轧差收取", "不分账", r.partnerName, r.partnerNo, r.origSys, r.origOrder, r.payload, "5765880207854", "")
}
