package sandbox

import (
	"net/http"
	"strconv"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/scenario"
)

var _ scenario.BillTamperer = (*Sandbox)(nil)

// serveTampered writes a bill after the test's tamper function (if any) had
// it. A rewrite that shortens the body is served as a transfer cut short:
// the Content-Length of the whole body, fewer bytes.
func (s *Sandbox) serveTampered(w http.ResponseWriter, day payrecon.Day, billType string, body []byte) {
	enc, kind := "utf-8", payrecon.BillTrade
	if s.opts.Encoding == EncodingGBK {
		enc = "gbk"
	}
	if billType == "settle" {
		kind = payrecon.BillSettlement
	}
	plain, archive := s.Tamper(&scenario.BillTamper{Day: day, Kind: kind, Name: "douyin_" + MerchantUID + "_" + day.Compact() + "_" + billType + ".csv", Plain: body,
		Format: scenario.BillFormat{Encoding: enc, Quoting: true, Summary: true}}) // 序号 numbers the rows
	out := plain
	if archive != nil {
		out = archive(plain)
		if len(out) < len(plain) {
			w.Header().Set("Content-Length", strconv.Itoa(len(plain)))
		}
	}
	_, _ = w.Write(out)
}
