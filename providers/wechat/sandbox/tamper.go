package sandbox

import (
	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/scenario"
)

var _ scenario.BillTamperer = (*Sandbox)(nil)

// tamper hands a bill's text to the test's tamper function (if any), before
// the sandbox hashes and gzips it.
func (s *Sandbox) tamper(day payrecon.Day, trade bool, text []byte) ([]byte, func([]byte) []byte) {
	kind, name := payrecon.BillTrade, "wechat_"+MchID+"_"+day.Compact()+"_trade_ALL.csv"
	if !trade {
		kind, name = payrecon.BillSettlement, "wechat_"+MchID+"_"+day.Compact()+"_fundflow_BASIC.csv"
	}
	return s.Tamper(&scenario.BillTamper{Day: day, Kind: kind, Name: name, Plain: text,
		Format: scenario.BillFormat{Archive: "gzip", Encoding: "utf-8", Quoting: false, Summary: true}})
}
