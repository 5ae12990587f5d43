package sandbox

import (
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/payrecon/payrecon"
)

// Header is the ALL statement's header (30 columns, shared/providers/qqpay.md).
var Header = []string{"交易时间", "商户号", "商户APPID", "子商户号", "子商户APPID", "用户标识", "设备号", "支付场景",
	"商户订单号", "QQ钱包订单号", "付款银行", "货币种类", "订单金额(元)", "商户优惠金额(元)", "商户应收金额(元)",
	"QQ钱包优惠金额(元)", "用户支付金额(元)", "交易状态", "退款提交时间", "商户退款订单号", "QQ钱包退款订单号",
	"退款金额(元)", "退还QQ钱包优惠金额(元)", "退款状态", "退款成功时间", "退款方式", "商品名称", "商户数据包",
	"手续费金额(元)", "费率"}

// SummaryHeader is the statement's summary header.
var SummaryHeader = []string{"交易总笔数", "订单总金额(元)", "商户优惠总金额(元)", "商户应收总金额(元)",
	"QQ钱包优惠总金额(元)", "用户支付总金额(元)", "退款总金额(元)", "退还QQ钱包优惠总金额(元)", "手续费总金额(元)"}

const na = "暂无数据"

func (s *Sandbox) billTime(t time.Time) string {
	if t.IsZero() {
		return na
	}
	t = t.In(payrecon.Shanghai)
	if s.opts.LongTimes {
		return t.Format("2006-01-02 15:04:05")
	}
	return fmt.Sprintf("%d/%d/%d %d:%02d", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute())
}

func yuan(f int64) string { return payrecon.FormatYuan(f) }

func rate(ppm int64) string {
	if ppm == 0 {
		return na
	}
	return fmt.Sprintf("%d.%02d%%", ppm/10000, ppm%10000/100)
}

func text(s string) string {
	if s == "" {
		return na
	}
	// the statement is not quoted: a comma in a product name would shift columns
	return strings.ReplaceAll(s, ",", "，")
}

// RenderStatement writes day's ALL statement: header, one row per billed
// payment, refund and other line, then the summary header and values
// computed from the rows.
func (s *Sandbox) RenderStatement(w io.Writer, day payrecon.Day) {
	var rows [][]string
	var total, payer, qqPromo, refund, fee int64
	for _, p := range s.sc.BillPayments(day) {
		rows = append(rows, []string{s.billTime(p.PaidAt), MchID, AppID, na, na, text(p.OpenID), na, "NATIVE",
			"`" + p.MerchantOrderNo, "`" + p.ProviderTxnNo, "财付通余额", "RMB", yuan(p.Amount), "0", yuan(p.Amount),
			yuan(p.PromotionAmount), yuan(p.PayerAmount), "支付成功", na, na, na, "0", "0", na, na, na,
			text(p.Product), text(p.Payload), yuan(p.Fee), rate(p.FeeRatePPM)})
		total += p.Amount
		payer += p.PayerAmount
		qqPromo += p.PromotionAmount
		fee += p.Fee
	}
	for _, r := range s.sc.BillRefunds(day) {
		// as in the published sample row: 订单金额 0, 用户支付金额 empty
		rows = append(rows, []string{s.billTime(r.FinishedAt), MchID, AppID, na, na, na, na, na,
			"`" + r.MerchantOrderNo, "`" + r.ProviderTxnNo, "财付通余额", "RMB", "0", na, na, "0", "",
			"转入退款", s.billTime(r.CreatedAt), "`" + r.MerchantRefundNo, "`" + r.ProviderRefundNo,
			yuan(r.Amount), yuan(r.Amount - r.PayerAmount), "退款成功", s.billTime(r.FinishedAt), "原路退回", na, na, yuan(r.Fee), na})
		refund += r.Amount
		fee += r.Fee
	}
	for _, o := range s.sc.BillOthers(day) {
		rows = append(rows, []string{s.billTime(o.At), MchID, AppID, na, na, na, na, na,
			"`" + o.ProviderTxnNo, "`" + o.ProviderTxnNo, "财付通余额", "RMB", yuan(o.Amount), "0", yuan(o.Amount),
			"0", yuan(o.Amount), text(o.Type), na, na, na, "0", "0", na, na, na, na, na, "0", na})
		total += o.Amount
		payer += o.Amount
	}
	var b strings.Builder
	if s.opts.BOM {
		b.WriteString("\ufeff")
	}
	b.WriteString(strings.Join(Header, ",") + "\r\n")
	for _, r := range rows {
		b.WriteString(strings.Join(r, ",") + "\r\n")
	}
	b.WriteString(strings.Join(SummaryHeader, ",") + "\r\n")
	fmt.Fprintf(&b, "%d,%s,0,%s,%s,%s,%s,%s,%s\r\n", len(rows), yuan(total), yuan(total), yuan(qqPromo), yuan(payer), yuan(refund), yuan(0), yuan(fee))
	out := b.String()
	if s.opts.GBK {
		enc, err := simplifiedchinese.GB18030.NewEncoder().String(out)
		if err == nil {
			out = enc
		}
	}
	_, _ = io.WriteString(w, out)
}
