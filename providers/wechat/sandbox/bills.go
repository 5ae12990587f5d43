package sandbox

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// The ALL trade bill's header (shared/providers/wechat.md A5).
const tradeHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"

const tradeSummaryHeader = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"

// The fund-flow bill's header (A6, the documented full-width brackets).
const fundHeader = "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,资金变更提交申请人,备注,业务凭证号"

const fundSummaryHeader = "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额"

// row writes backtick-prefixed values joined by commas.
func row(b *bytes.Buffer, vals ...string) {
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('`')
		b.WriteString(v)
	}
	b.WriteByte('\n')
}

// sub is the 特约商户号 column: the sub-merchant in partner mode, else "0".
func (s *Sandbox) sub() string {
	if s.subMchID != "" {
		return s.subMchID
	}
	return "0"
}

// clean keeps provider text from breaking the layout.
func clean(s string) string {
	return strings.NewReplacer("`", "'", "\n", " ", "\r", " ").Replace(s)
}

func billTime(t time.Time) string { return t.In(payrecon.Shanghai).Format("2006-01-02 15:04:05") }

// fee5 prints fen with the five decimals WeChat uses for fees.
func fee5(fen int64) string { return payrecon.FormatYuan(fen) + "000" }

// rate prints parts per million as a per-cent value, "0.60%".
func rate(ppm int64) string { return fmt.Sprintf("%d.%02d%%", ppm/10000, (ppm%10000)/100) }

func (s *Sandbox) tradeBill(day payrecon.Day) []byte {
	var b bytes.Buffer
	b.WriteString(tradeHeader + "\n")
	var n, settle, refund, couponRefund, fee, order, applied int64
	y := payrecon.FormatYuan
	for _, p := range s.sc.BillPayments(day) {
		row(&b, billTime(p.PaidAt), AppID, MchID, s.sub(), "", p.ProviderTxnNo, p.MerchantOrderNo, p.OpenID,
			"JSAPI", "SUCCESS", "OTHERS", "CNY", y(p.Amount), y(p.PromotionAmount), "0", "0", "0.00", "0.00", "", "",
			clean(p.Product), clean(p.Payload), fee5(p.Fee), rate(p.FeeRatePPM), y(p.Amount), "0.00", "")
		n++
		settle += p.Amount
		order += p.Amount
		fee += p.Fee
	}
	for _, r := range s.sc.BillRefunds(day) {
		p, _ := s.sc.FindPayment(r.MerchantOrderNo, r.ProviderTxnNo)
		r, _ = s.fillOrder(r)
		coupon := int64(0)
		if r.PayerAmount != 0 {
			coupon = r.Amount - r.PayerAmount
		}
		f := r.Fee
		if f > 0 {
			f = -f // the fee a refund returns is printed negative
		}
		state, refundNo, outRefundNo, refundType, refundStatus := "REFUND", r.ProviderRefundNo, r.MerchantRefundNo, "ORIGINAL", "SUCCESS"
		if s.revoked {
			state, refundNo, outRefundNo, refundType, refundStatus = "REVOKED", "0", "0", "", ""
		}
		row(&b, billTime(r.FinishedAt), AppID, MchID, s.sub(), "", r.ProviderTxnNo, r.MerchantOrderNo, p.OpenID,
			"JSAPI", state, "OTHERS", "CNY", "0.00", "0.00", refundNo, outRefundNo,
			y(r.Amount), y(coupon), refundType, refundStatus, clean(p.Product), clean(p.Payload), fee5(f),
			rate(p.FeeRatePPM), "0.00", y(r.Amount), "")
		n++
		refund += r.Amount
		couponRefund += coupon
		fee += f
		applied += r.Amount
	}
	b.WriteString(tradeSummaryHeader + "\n")
	row(&b, strconv.FormatInt(n, 10), y(settle), y(refund), y(couponRefund), y(fee), y(order), y(applied))
	return b.Bytes()
}

func (s *Sandbox) fundFlowBill(day payrecon.Day) []byte {
	var b bytes.Buffer
	b.WriteString(fundHeader + "\n")
	var balance, nIn, nOut, in, out int64
	seq := 0
	line := func(at time.Time, bizNo, name, typ string, amount int64, note, voucher string) {
		seq++
		dir := "收入"
		if amount < 0 {
			dir = "支出"
			nOut++
			out -= amount
		} else {
			nIn++
			in += amount
		}
		balance += amount
		abs := amount
		if abs < 0 {
			abs = -abs
		}
		row(&b, billTime(at), bizNo, fmt.Sprintf("%s%s%06d", MchID, day.Compact(), seq), name, typ, dir,
			payrecon.FormatYuan(abs), payrecon.FormatYuan(balance), "system", clean(note), voucher)
	}
	for _, p := range s.sc.BillPayments(day) {
		line(p.PaidAt, p.ProviderTxnNo, "交易", "交易", p.Amount, "", p.MerchantOrderNo)
		if p.Fee != 0 {
			line(p.PaidAt, p.ProviderTxnNo, "扣除交易手续费", "扣除交易手续费", -p.Fee, "", p.MerchantOrderNo)
		}
	}
	for _, r := range s.sc.BillRefunds(day) {
		f := r.Fee
		if f < 0 {
			f = -f
		}
		line(r.FinishedAt, r.ProviderRefundNo, "退款", "退款", -r.Amount,
			fmt.Sprintf("退款总金额%s元;含手续费%s元", payrecon.FormatYuan(r.Amount), payrecon.FormatYuan(f)), r.MerchantRefundNo)
		if f != 0 {
			line(r.FinishedAt, r.ProviderRefundNo, "退还交易手续费", "退还交易手续费", f, "", r.MerchantRefundNo)
		}
	}
	for _, o := range s.sc.BillOthers(day) {
		line(o.At, o.ProviderTxnNo, o.Type, o.Type, o.Amount, "", "")
	}
	s.sc.RLock()
	delta := s.sc.SettlementDelta[day]
	s.sc.RUnlock()
	if delta != 0 {
		line(day.Start().Add(23*time.Hour), "ADJ"+day.Compact(), "调账", "调账", delta, "sandbox settlement delta", "")
	}
	b.WriteString(fundSummaryHeader + "\n")
	row(&b, strconv.FormatInt(nIn+nOut, 10), strconv.FormatInt(nIn, 10), payrecon.FormatYuan(in),
		strconv.FormatInt(nOut, 10), payrecon.FormatYuan(out))
	return b.Bytes()
}

// bumpSummary adds one fen to the second summary value (the amount total).
func bumpSummary(text []byte) []byte {
	body := strings.TrimRight(string(text), "\n")
	i := strings.LastIndexByte(body, '\n')
	vals := strings.Split(body[i+1:], ",`")
	if len(vals) < 2 {
		return text
	}
	v, err := payrecon.ParseYuan(vals[1])
	if err != nil {
		return text
	}
	vals[1] = payrecon.FormatYuan(v + 1)
	return []byte(body[:i+1] + strings.Join(vals, ",`") + "\n")
}
