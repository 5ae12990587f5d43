package alipay_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/alipay"
)

// Missing columns are named in header order, the same on every call.
func TestMissingColumnsInHeaderOrder(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("testdata", "trade_documented.csv"))
	if err != nil {
		t.Fatal(err)
	}
	gbk := func(s string) string {
		b, _ := simplifiedchinese.GBK.NewEncoder().String(s)
		return b
	}
	doc = bytes.Replace(doc, []byte(gbk("商家实收（元）")), []byte(gbk("实收")), 1)
	doc = bytes.Replace(doc, []byte(gbk("商户订单号")), []byte(gbk("订单号")), 1)
	for i := 0; i < 20; i++ {
		_, err := alipay.ParseTradeBill(bytes.NewReader(doc), "20881234_20261120_业务明细.csv", func(payrecon.BillLine) error { return nil })
		if err == nil || !errors.Is(err, alipay.ErrBillFormat) || !strings.Contains(err.Error(), "20881234_20261120_业务明细.csv") ||
			!strings.Contains(err.Error(), "header lacks 商户订单号, 商家实收（元）") {
			t.Fatalf("err = %v", err)
		}
	}
}
