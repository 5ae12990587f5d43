package config_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
)

const ledgerAccounts = `
accounts:
  - name: mc
    provider: baas
    baas: {client_id: c}
  - name: wx
    provider: wechat
    wechat: {mch_id: "1"}
    ledger: {source: mincloud, account: mc}
  - name: shop
    provider: alipay
    alipay: {app_id: "1"}
    ledger:
      source: sql
      dsn: env:TEST_SHOP_DSN
      query: SELECT no, amt, st, paid FROM orders WHERE paid >= ? AND paid < ?
      amount_unit: yuan
      columns: {merchant_order_no: no, amount: amt, status: st, occurred_at: paid}
      status_map: {PAID: success, CLOSED: closed}
  - name: export
    provider: qqpay
    qqpay: {mch_id: "1"}
    ledger:
      source: csv
      path: exports/orders-{date}.csv
      amount_unit: fen
      columns: {merchant_order_no: order, amount: fen, status: status, occurred_at: time, kind: type, merchant_refund_no: refund}
      kind_map: {pay: payment, ref: refund}
`

func TestLedgerSources(t *testing.T) {
	t.Setenv("TEST_SHOP_DSN", "shop:secret-pw@tcp(127.0.0.1:3306)/shop")
	c, err := config.Parse(strings.NewReader(ledgerAccounts))
	if err != nil {
		t.Fatal(err)
	}
	wx, _ := c.Account("wx")
	shop, _ := c.Account("shop")
	export, _ := c.Account("export")
	mc, _ := c.Account("mc")
	if wx.Ledger.Source != payrecon.SourceMinCloud || wx.Ledger.Account != "mc" || !wx.Ledger.IsPull() || mc.Ledger.IsPull() {
		t.Errorf("wx ledger %+v, mc %+v", wx.Ledger, mc.Ledger)
	}
	if shop.Ledger.DSN.Reveal() != "shop:secret-pw@tcp(127.0.0.1:3306)/shop" || shop.Ledger.StatusMap["PAID"] != payrecon.StatusSuccess || shop.Ledger.Columns["amount"] != "amt" {
		t.Errorf("shop ledger %+v", shop.Ledger)
	}
	if export.Ledger.KindMap["ref"] != payrecon.KindRefund || export.Ledger.Path != "exports/orders-{date}.csv" {
		t.Errorf("export ledger %+v", export.Ledger)
	}
	var buf bytes.Buffer
	if err := c.Print(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "secret-pw") || !strings.Contains(buf.String(), "source: sql") {
		t.Errorf("printed config leaks the DSN or lacks the ledger:\n%s", buf.String())
	}
}

func TestLedgerValidationNamesTheField(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"    ledger: {source: ftp}", "accounts[1].ledger.source: must be callbacks, mincloud, sql or csv"},
		{"    ledger: {source: mincloud}", "accounts[1].ledger.account: required"},
		{"    ledger: {source: mincloud, account: nope}", `accounts[1].ledger.account: no account named "nope"`},
		{"    ledger: {source: mincloud, account: wx}", `accounts[1].ledger.account: "wx" is a wechat account, not baas`},
		{"    ledger: {source: sql, query: select 1, columns: {amount: a}}", "accounts[1].ledger.dsn: required"},
		{"    ledger: {source: sql, dsn: x, query: select 1, amount_unit: fen, columns: {merchant_order_no: o, amount: a, status: s, occurred_at: t}}", "accounts[1].ledger.query: needs exactly two ?"},
		{"    ledger: {source: csv, path: x.csv, amount_unit: cents, columns: {amount: a}}", `accounts[1].ledger.amount_unit: must be fen or yuan, got "cents"`},
		{"    ledger: {source: csv, path: x.csv, amount_unit: fen, columns: {amount: a}}", "accounts[1].ledger.columns.merchant_order_no: required"},
		{"    ledger: {source: csv, path: x.csv, amount_unit: fen, columns: {merchant_order_no: o, amount: a, status: s, occurred_at: t, colour: c}}", "accounts[1].ledger.columns.colour: unknown ledger field"},
		{"    ledger: {source: csv, path: x.csv, amount_unit: fen, status_map: {OK: paid}, columns: {merchant_order_no: o, amount: a, status: s, occurred_at: t}}", `accounts[1].ledger.status_map.OK: "paid" is not success`},
		{"    ledger: {source: csv, path: x.csv, dsn: y, amount_unit: fen, columns: {merchant_order_no: o, amount: a, status: s, occurred_at: t}}", "accounts[1].ledger.dsn: only for source sql"},
		{"    ledger: {source: csv, pth: x.csv}", "accounts[1].ledger: line 8: field pth not found"},
		{"    ledger: {source: mincloud, account: mc}\njobs: {accounts: [mc]}", `jobs.accounts[0]: "mc" feeds accounts[1] (wx) through MinCloud`},
	} {
		src := "accounts:\n  - name: mc\n    provider: baas\n    baas: {client_id: c}\n  - name: wx\n    provider: wechat\n    wechat: {mch_id: \"1\"}\n" + c.yaml + "\n"
		_, err := config.Parse(strings.NewReader(src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %s", c.yaml, err, c.want)
		}
	}
}
