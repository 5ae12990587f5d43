package sandbox

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/payrecon/payrecon"
)

// Separators and headers of the real files (fact file B3-B5).
var (
	tradeStart = "#" + strings.Repeat("-", 41) + "业务明细列表" + strings.Repeat("-", 40)
	tradeEnd   = "#" + strings.Repeat("-", 41) + "业务明细列表结束" + strings.Repeat("-", 36)
	sumStart   = "#" + strings.Repeat("-", 41) + "业务汇总列表" + strings.Repeat("-", 40)
	sumEnd     = "#" + strings.Repeat("-", 40) + "业务汇总列表结束" + strings.Repeat("-", 37)
	fundStart  = "#" + strings.Repeat("-", 41) + "账务明细列表" + strings.Repeat("-", 40)
	fundEnd    = "#" + strings.Repeat("-", 41) + "账务明细列表结束" + strings.Repeat("-", 36)

	TradeHeader   = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
	SummaryHeader = "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）"
	FundHeader    = "账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注"
)

func yuan(f int64) string { return payrecon.FormatYuan(f) }

// text cells get the anti-Excel TAB before the comma.
func tab(s string) string { return clean(s) + "\t" }

func clean(s string) string { return strings.NewReplacer(",", "，", "\r", " ", "\n", " ").Replace(s) }

func billTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(payrecon.Shanghai).Format("2006-01-02 15:04:05")
}

func cnDate(t time.Time) string { return t.In(payrecon.Shanghai).Format("2006年01月02日 15:04:05") }

// tradeRow is one 业务明细 row (25 columns); disc is the promotion, Alipay's
// (支付宝优惠) when alipayFunded, else the merchant's (商家优惠).
func tradeRow(txn, order, typ, product string, created, finished time.Time, total, received, disc, fee int64, refundNo, remark string, alipayFunded bool) string {
	alipayDisc, merDisc := "0.00", yuan(disc)
	if alipayFunded {
		alipayDisc, merDisc = yuan(disc), "0.00"
	}
	return strings.Join([]string{
		tab(txn), tab(order), tab(typ), clean(product), billTime(created), billTime(finished),
		tab(""), tab(""), tab(""), tab(""), tab("*测(159***20)"),
		yuan(total), yuan(received), "0.00", "0.00", alipayDisc, merDisc, "0.00", "", tab("0.00"), "0.00",
		tab(refundNo), yuan(fee), "0.00", clean(remark),
	}, ",")
}

// received is what the merchant receives of amount with promotion promo:
// all of it when Alipay funds the promotion.
func (s *Sandbox) received(amount, promo int64) int64 {
	if s.opts.AlipayFunded {
		return amount
	}
	return amount - promo
}

// TradeBill renders the 业务明细.csv and 业务明细(汇总).csv texts (UTF-8) of day.
func (s *Sandbox) TradeBill(day payrecon.Day) (detail, summary string) {
	var b strings.Builder
	line := func(l string) { b.WriteString(l + "\r\n") }
	line("#支付宝业务明细查询")
	line("#账号：[" + PID + "0156]")
	line("#起始日期：[" + cnDate(day.Start()) + "]   终止日期：[" + cnDate(day.End()) + "]")
	line(tradeStart)
	line(TradeHeader)
	var nT, nR, recT, recR, discT, discR, totT, totR, feeT int64
	for _, p := range s.sc.BillPayments(day) {
		rec := s.received(p.Amount, p.PromotionAmount)
		line(tradeRow(p.ProviderTxnNo, p.MerchantOrderNo, "交易", p.Product, p.CreatedAt, p.PaidAt, p.Amount, rec, p.PromotionAmount, p.Fee, "", p.Payload, s.opts.AlipayFunded))
		nT, recT, totT, feeT = nT+1, recT+rec, totT+p.Amount, feeT+p.Fee
		if !s.opts.AlipayFunded {
			discT += p.PromotionAmount
		}
	}
	for _, o := range s.sc.BillOthers(day) {
		line(tradeRow(o.ProviderTxnNo, "", o.Type, "", o.At, o.At, o.Amount, o.Amount, 0, 0, "", "", false))
		nT, recT, totT = nT+1, recT+o.Amount, totT+o.Amount
	}
	for _, r := range s.sc.BillRefunds(day) {
		p, _ := s.sc.FindPayment(r.MerchantOrderNo, r.ProviderTxnNo)
		disc := r.Amount - r.PayerAmount
		rec := -s.received(r.Amount, disc)
		line(tradeRow(p.ProviderTxnNo, p.MerchantOrderNo, "退款", p.Product, p.CreatedAt, r.FinishedAt, -r.Amount, rec, -disc, -abs(r.Fee), r.MerchantRefundNo, p.Payload, s.opts.AlipayFunded))
		nR, recR, totR = nR+1, recR+rec, totR-r.Amount
		if !s.opts.AlipayFunded {
			discR -= disc
		}
	}
	line(tradeEnd)
	s.mu.Lock()
	fault := s.fault
	s.mu.Unlock()
	if fault == FaultTotalMismatch {
		recT++
	}
	line(fmt.Sprintf("#交易合计：%d笔，商家实收共%s元，商家优惠共%s元", nT, yuan(recT), yuan(discT)))
	line(fmt.Sprintf("#退款合计：%d笔，商家实收退款共%s元，商家优惠退款共%s元", nR, yuan(recR), yuan(discR)))
	line("#导出时间：[" + cnDate(s.now()) + "]")
	detail = b.String()

	b.Reset()
	line("#支付宝业务汇总查询")
	line("#账号：[" + PID + "0156]")
	line("#起始日期：[" + cnDate(day.Start()) + "]   终止日期：[" + cnDate(day.End()) + "]")
	line(sumStart)
	line(SummaryHeader)
	if fault == FaultSummaryFile {
		nT++
	}
	row := strings.Join([]string{"", "", fmt.Sprint(nT), fmt.Sprint(nR), yuan(totT + totR), yuan(recT + recR), "0.00", yuan(discT + discR), "0.00", yuan(feeT), "0.00", yuan(recT + recR - feeT)}, ",")
	line(row)
	line("合计" + row)
	line(sumEnd)
	line("#导出时间：[" + cnDate(s.now()) + "]")
	return detail, b.String()
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// FundBill renders the 账务明细.csv text of day: income per payment
// (商家实收), expense per fee and per refund, fee returned on refunds, the
// day's other lines, the scenario's SettlementDelta as a 调账 row, running
// balance, footer totals.
func (s *Sandbox) FundBill(day payrecon.Day) string {
	var b strings.Builder
	line := func(l string) { b.WriteString(l + "\r\n") }
	line("#支付宝账务明细查询")
	line("#账号：[" + PID + "0156]")
	line("#起始日期：[" + cnDate(day.Start()) + "]   终止日期：[" + cnDate(day.End()) + "]")
	line(fundStart)
	line(FundHeader)
	var bal, nIn, nOut, in, out int64 = 1_000_000, 0, 0, 0, 0
	seq := 0
	row := func(txn, order, product string, at time.Time, amount int64, typ string) {
		seq++
		inc, exp := "", ""
		if amount >= 0 {
			inc, nIn, in = yuan(amount), nIn+1, in+amount
		} else {
			exp, nOut, out = yuan(amount), nOut+1, out+amount
		}
		bal += amount
		line(strings.Join([]string{tab(fmt.Sprintf("2026%s%012d", day.Compact(), seq)), tab(txn), tab(order), clean(product), billTime(at), tab("159***20"), inc, exp, yuan(bal), tab("支付宝"), tab(typ), ""}, ","))
	}
	for _, p := range s.sc.BillPayments(day) {
		row(p.ProviderTxnNo, p.MerchantOrderNo, p.Product, p.PaidAt, s.received(p.Amount, p.PromotionAmount), "在线支付")
		if p.Fee != 0 {
			row(p.ProviderTxnNo, p.MerchantOrderNo, "服务费", p.PaidAt, -abs(p.Fee), "收费")
		}
	}
	for _, r := range s.sc.BillRefunds(day) {
		row(r.ProviderTxnNo, r.MerchantOrderNo, "退款", r.FinishedAt, -s.received(r.Amount, r.Amount-r.PayerAmount), "交易退款")
		if r.Fee != 0 {
			row(r.ProviderTxnNo, r.MerchantOrderNo, "服务费退回", r.FinishedAt, abs(r.Fee), "收费退回")
		}
	}
	for _, o := range s.sc.BillOthers(day) {
		row(o.ProviderTxnNo, "", o.Type, o.At, o.Amount, o.Type)
	}
	s.sc.RLock()
	delta := s.sc.SettlementDelta[day]
	s.sc.RUnlock()
	if delta != 0 { // a planted settlement_mismatch: money moved that the trade bill does not explain
		row("ADJ"+day.Compact(), "", "调账", day.Start().Add(23*time.Hour), delta, "调账")
	}
	line(fundEnd)
	line(fmt.Sprintf("#支出合计：%d笔，共%s元", nOut, yuan(out)))
	line(fmt.Sprintf("#收入合计：%d笔，共%s元", nIn, yuan(in)))
	line("#导出时间：[" + cnDate(s.now()) + "]")
	return b.String()
}

func gbk(s string) []byte {
	b, err := simplifiedchinese.GBK.NewEncoder().String(s)
	if err != nil {
		panic(err) // the sandbox only writes GBK-encodable text
	}
	return []byte(b)
}

// Zip packs files (name → UTF-8 text) as Alipay does: GBK names without the
// UTF-8 flag, GBK content.
func Zip(files [][2]string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: string(gbk(f[0])), NonUTF8: true, Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(gbk(f[1])); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// billURL answers alipay.data.dataservice.bill.downloadurl.query.
func (s *Sandbox) billURL(billType, billDate string) map[string]any {
	day, err := payrecon.ParseDay(billDate)
	if err != nil || len(billDate) != 10 {
		return bizErr("isv.invalid-parameter", "bill_date 格式错误")
	}
	if !s.sc.Ready(day) || day >= payrecon.DayOf(s.now()) {
		return bizErr("isp.bill_not_ready", "账单生成中")
	}
	s.mu.Lock()
	noBill := s.fault == FaultNoBill
	s.mu.Unlock()
	if noBill {
		return bizErr("isp.bill_not_exist", "账单不存在")
	}
	prefix := fmt.Sprintf("%s0156_%s", PID, day.Compact())
	var files [][2]string
	biz := "trade"
	switch billType {
	case "trade":
		detail, summary := s.TradeBill(day)
		files = [][2]string{{prefix + "_业务明细.csv", detail}, {prefix + "_业务明细(汇总).csv", summary}}
	case "signcustomer":
		biz = "fnd"
		files = [][2]string{{prefix + "_账务明细.csv", s.FundBill(day)}}
	default:
		return bizErr("isv.invalid-parameter", "bill_type 不合法")
	}
	kind := payrecon.BillTrade
	if billType == "signcustomer" {
		kind = payrecon.BillSettlement
	}
	z, err := s.tamperedZip(day, kind, files)
	if err != nil {
		return map[string]any{"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error", "sub_msg": err.Error()}
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	fileID := hex.EncodeToString(id[:])
	s.mu.Lock()
	if s.fault == FaultNotZip {
		z = []byte("<html>下载超时</html>")
	}
	s.files[fileID] = z
	s.mu.Unlock()
	u := fmt.Sprintf("%s/dwbillcenter/downloadBillFile.resource?bizType=%s&userId=%s0156&fileType=csv.zip&bizDates=%s&downloadFileName=%s.csv.zip&fileId=%s",
		s.srv.URL, biz, PID, day.Compact(), prefix, fileID)
	return ok(map[string]any{"bill_download_url": u})
}

func (s *Sandbox) downloadBill(w http.ResponseWriter, r *http.Request) {
	s.record("GET /dwbillcenter/downloadBillFile.resource")
	s.mu.Lock()
	z, found := s.files[r.URL.Query().Get("fileId")]
	s.mu.Unlock()
	if !found {
		http.Error(w, "下载超时", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/oct-stream")
	w.Header().Set("Content-Disposition", "attachment; filename="+r.URL.Query().Get("downloadFileName"))
	w.Write(z)
}
