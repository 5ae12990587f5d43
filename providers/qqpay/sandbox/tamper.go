package sandbox

import (
	"net/http"
	"strconv"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/scenario"
)

var _ scenario.BillTamperer = (*Sandbox)(nil)

// serveTampered writes a statement after the test's tamper function (if
// any) had it. A rewrite that shortens the body is served as a transfer cut
// short: the Content-Length of the whole body, fewer bytes.
func (s *Sandbox) serveTampered(w http.ResponseWriter, day payrecon.Day, body []byte) {
	enc := "utf-8"
	if s.opts.GBK {
		enc = "gbk"
	}
	plain, archive := s.Tamper(&scenario.BillTamper{Day: day, Kind: payrecon.BillTrade, Name: "qpay_statement_" + day.Compact() + "_ALL.csv", Plain: body,
		Format: scenario.BillFormat{Encoding: enc, Quoting: true, Summary: true}})
	out := plain
	if archive != nil {
		out = archive(plain)
		if len(out) < len(plain) {
			w.Header().Set("Content-Length", strconv.Itoa(len(plain)))
		}
	}
	_, _ = w.Write(out)
}
