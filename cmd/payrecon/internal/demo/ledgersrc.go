package demo

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/intake"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/ledgersrc"
	"github.com/payrecon/payrecon/providers/baas"
	baassandbox "github.com/payrecon/payrecon/providers/baas/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat"
	wxsandbox "github.com/payrecon/payrecon/providers/wechat/sandbox"
	"github.com/payrecon/payrecon/store"
)

// sources is the part of the demo whose ledgers are pulled, not called
// back: a MinCloud (知晓云) app paying through a WeChat Pay account
// ("wechat-mp", ledger source mincloud: MinCloud's trigger webhooks and
// order list, routed by gateway_type), and a WeChat Pay account whose
// ledger is the merchant's own order table exported as CSV ("wechat-shop").
type sources struct {
	intake  map[string]intake.Account // the MinCloud app's webhook receiver
	hooks   []scenario.Callback       // webhooks MinCloud's trigger fires
	targets map[string]jobs.Target
	notes   []string // one line per pulled account for the summary
	closers []func()
}

func (s *sources) Close() {
	for _, c := range s.closers {
		c()
	}
}

const (
	mcName   = "mincloud-app"
	mpName   = "wechat-mp"
	shopName = "wechat-shop"
)

func setUpSources(day payrecon.Day, dir string, db *store.DB, log *slog.Logger) (*sources, error) {
	s := &sources{intake: map[string]intake.Account{}, targets: map[string]jobs.Target{}}
	rate, _ := payrecon.ParseRate("0.60%")
	seq := 0
	pay := func(prefix string, amount int64) scenario.Payment {
		seq++
		at := day.Start().Add(time.Duration(9*3600+seq*613) * time.Second)
		return scenario.Payment{
			MerchantOrderNo: fmt.Sprintf("%s%08d", prefix, seq), ProviderTxnNo: fmt.Sprintf("42000011%010d", seq),
			Status: payrecon.StatusSuccess, Amount: amount, PayerAmount: amount, Fee: payrecon.FeeFor(amount, rate), FeeRatePPM: rate,
			CreatedAt: at.Add(-time.Minute), PaidAt: at, Product: fmt.Sprintf("会员 %d", seq),
		}
	}
	refund := func(p scenario.Payment, amount int64, after time.Duration) scenario.Refund {
		seq++
		at := p.PaidAt.Add(after)
		return scenario.Refund{MerchantRefundNo: fmt.Sprintf("RF%08d", seq), ProviderRefundNo: fmt.Sprintf("50000011%010d", seq),
			MerchantOrderNo: p.MerchantOrderNo, ProviderTxnNo: p.ProviderTxnNo, Status: payrecon.StatusSuccess,
			Amount: amount, PayerAmount: amount, Fee: payrecon.FeeFor(amount, rate), CreatedAt: at, FinishedAt: at}
	}
	mcView := func(p scenario.Payment) scenario.Payment {
		p.ProviderTxnNo = "MC" + p.MerchantOrderNo // MinCloud's own transaction_no
		p.Fee, p.FeeRatePPM = 0, 0
		return p
	}
	mcRefund := func(r scenario.Refund) scenario.Refund { r.ProviderTxnNo, r.ProviderRefundNo = "", ""; return r }

	// MinCloud app → WeChat Pay.
	wx, mc := &scenario.Scenario{}, &scenario.Scenario{}
	var hooked []scenario.Payment
	gateways := map[string]string{}
	for i := 0; i < 10; i++ {
		p := pay("1MP", int64(1990+i*300))
		wx.Payments = append(wx.Payments, p)
		mc.Payments = append(mc.Payments, mcView(p))
		if i%2 == 0 {
			hooked = append(hooked, mcView(p))
		}
		if i == 3 { // refunded twice: WeChat has two refund rows, MinCloud one cumulative amount
			r1, r2 := refund(p, 500, time.Hour), refund(p, 700, 2*time.Hour)
			wx.Refunds = append(wx.Refunds, r1, r2)
			mc.Refunds = append(mc.Refunds, mcRefund(r1), mcRefund(r2))
		}
		if i == 5 { // WeChat refunded 8.00, MinCloud recorded 6.00
			r := refund(p, 800, time.Hour)
			wx.Refunds = append(wx.Refunds, r)
			mr := mcRefund(r)
			mr.Amount = 600
			mc.Refunds = append(mc.Refunds, mr)
		}
	}
	p := pay("1MP", 3000) // success at MinCloud, never paid at WeChat
	mc.Payments = append(mc.Payments, mcView(p))
	hooked = append(hooked, mcView(p))
	p.Status, p.PaidAt = payrecon.StatusNotPaid, time.Time{}
	wx.Payments = append(wx.Payments, p)
	p = pay("1MP", 4500) // paid at WeChat, MinCloud still shows it pending
	wx.Payments = append(wx.Payments, p)
	m := mcView(p)
	m.Status, m.PaidAt = payrecon.StatusPending, time.Time{}
	mc.Payments = append(mc.Payments, m)
	p = pay("1MP", 5200) // MinCloud says 52.00, WeChat took 50.00
	m = mcView(p)
	p.Amount, p.PayerAmount, p.Fee = 5000, 5000, payrecon.FeeFor(5000, rate)
	wx.Payments = append(wx.Payments, p)
	mc.Payments = append(mc.Payments, m)
	p = pay("1MP", 2600) // paid through Alipay: routed away from the WeChat account
	mc.Payments = append(mc.Payments, mcView(p))
	gateways[p.MerchantOrderNo] = "alipay_wap"

	wsb := wxsandbox.New(wx, wxsandbox.Options{})
	s.closers = append(s.closers, wsb.Close)
	wcfg := wsb.MerchantConfig()
	wcfg.Account = mpName
	wc, err := wechat.New(wcfg, log)
	if err != nil {
		return s, err
	}
	bsb := baassandbox.New(mc, baassandbox.Options{FlatEnvelope: true, Gateways: gateways})
	s.closers = append(s.closers, bsb.Close)
	bcfg := bsb.MerchantConfig()
	bcfg.Account = mcName
	bc, err := baas.New(bcfg, log)
	if err != nil {
		return s, err
	}
	mcAcct := payrecon.Account{Name: mcName, Provider: baas.Name}
	s.intake[mcName] = intake.Account{Provider: baas.Name, Verifier: bc, Policy: payrecon.PolicyFor(mcAcct, bc)}
	for _, p := range hooked {
		cb, err := bsb.PaymentCallback(p)
		if err != nil {
			return s, err
		}
		s.hooks = append(s.hooks, cb)
	}
	s.targets[mpName] = jobs.Target{
		Account:  payrecon.Account{Name: mpName, Provider: wechat.Name, FeeRatePPM: rate},
		Provider: wc, RefundsByOrder: true,
		Ledger: &ledgersrc.MinCloud{Account: mpName, Channel: wechat.Name, MinCloudAccount: mcName, Client: bc, Callbacks: db, Log: log},
	}
	s.notes = append(s.notes, fmt.Sprintf("%s ← %s: MinCloud trigger webhooks + order list, gateway_type weixin_tenpay_* only", mpName, mcName))

	// The merchant's own order table, exported as CSV, against WeChat Pay.
	shop := &scenario.Scenario{}
	var csv strings.Builder
	csv.WriteString("订单号,金额(元),状态,支付时间,类型,退款单号\n")
	row := func(order, yuan, state string, at time.Time, kind, refundNo string) {
		fmt.Fprintf(&csv, "%s,%s,%s,%s,%s,%s\n", order, yuan, state, at.In(payrecon.Shanghai).Format("2006-01-02 15:04:05"), kind, refundNo)
	}
	for i := 0; i < 8; i++ {
		p := pay("SHOP", int64(990+i*1000))
		shop.Payments = append(shop.Payments, p)
		yuan := payrecon.FormatYuan(p.Amount)
		if i == 6 {
			yuan = payrecon.FormatYuan(p.Amount + 100) // the table says 1.00 more
		}
		row(p.MerchantOrderNo, yuan, "已支付", p.PaidAt, "支付", "")
		if i == 2 {
			r := refund(p, 300, time.Hour)
			shop.Refunds = append(shop.Refunds, r)
			row(p.MerchantOrderNo, payrecon.FormatYuan(r.Amount), "退款成功", r.FinishedAt, "退款", r.MerchantRefundNo)
		}
	}
	shop.Payments = append(shop.Payments, pay("SHOP", 1500)) // paid, not in the table
	name := filepath.Join(dir, "shop-orders-"+string(day)+".csv")
	if err := os.WriteFile(name, []byte(csv.String()), 0o600); err != nil {
		return s, err
	}
	// The day before: an export with no orders.
	header, _, _ := strings.Cut(csv.String(), "\n")
	if err := os.WriteFile(filepath.Join(dir, "shop-orders-"+string(day.Add(-1))+".csv"), []byte(header+"\n"), 0o600); err != nil {
		return s, err
	}
	ssb := wxsandbox.New(shop, wxsandbox.Options{})
	s.closers = append(s.closers, ssb.Close)
	scfg := ssb.MerchantConfig()
	scfg.Account = shopName
	sc, err := wechat.New(scfg, log)
	if err != nil {
		return s, err
	}
	shopAcct := payrecon.Account{Name: shopName, Provider: wechat.Name, FeeRatePPM: rate}
	s.targets[shopName] = jobs.Target{Account: shopAcct, Provider: sc, Ledger: &ledgersrc.CSV{
		Account: shopName, Provider: wechat.Name, Path: filepath.Join(dir, "shop-orders-{date}.csv"),
		Check: payrecon.PolicyFor(shopAcct, sc).CheckEntry,
		Mapping: payrecon.TableMapping{
			AmountUnit: payrecon.UnitYuan,
			Columns: map[string]string{payrecon.FieldMerchantOrderNo: "订单号", payrecon.FieldAmount: "金额(元)", payrecon.FieldStatus: "状态",
				payrecon.FieldOccurredAt: "支付时间", payrecon.FieldKind: "类型", payrecon.FieldMerchantRefundNo: "退款单号"},
			StatusMap: map[string]payrecon.Status{"已支付": payrecon.StatusSuccess, "退款成功": payrecon.StatusSuccess, "待支付": payrecon.StatusPending},
			KindMap:   map[string]payrecon.Kind{"支付": payrecon.KindPayment, "退款": payrecon.KindRefund},
		},
	}}
	s.notes = append(s.notes, fmt.Sprintf("%s ← %s: the merchant's order table (CSV export)", shopName, filepath.Base(name)))
	return s, nil
}
