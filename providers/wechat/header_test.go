package wechat_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/wechat"
)

// A bill whose header lacks required columns is refused with an error
// naming the real file and the first missing column in header order, the
// same on every call (no map iteration).
func TestMissingColumnNamesFileAndFirstColumn(t *testing.T) {
	drop := func(b []byte, cols ...string) []byte {
		lines := strings.SplitN(string(b), "\n", 2)
		for _, c := range cols {
			lines[0] = strings.Replace(lines[0], c, c+"_renamed", 1)
		}
		return []byte(lines[0] + "\n" + lines[1])
	}
	nop := func(payrecon.BillLine) error { return nil }
	fund := drop(mustRead(t, "fundflow.csv"), "收支金额(元)", "收支类型", "微信支付业务单号")
	trade := drop(mustRead(t, "success.csv"), "交易状态", "商户订单号", "微信订单号")
	for i := 0; i < 20; i++ {
		_, err := wechat.ParseFundFlowBill(bytes.NewReader(fund), "1601959334_20261120_fund.csv", nop)
		if err == nil || !errors.Is(err, wechat.ErrBillFormat) ||
			!strings.Contains(err.Error(), "fund-flow bill 1601959334_20261120_fund.csv line 1") || !strings.HasSuffix(err.Error(), "header lacks column 微信支付业务单号") {
			t.Fatalf("fund-flow bill without three columns: %v", err)
		}
		_, err = wechat.ParseTradeBill(bytes.NewReader(trade), "1601959334_20261120_ALL.csv", nop)
		if err == nil || !strings.Contains(err.Error(), "1601959334_20261120_ALL.csv") || !strings.HasSuffix(err.Error(), "header lacks column 微信订单号") {
			t.Fatalf("trade bill without three columns: %v", err)
		}
	}
}
