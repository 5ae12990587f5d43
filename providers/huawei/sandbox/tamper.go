package sandbox

import (
	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/scenario"
)

var _ scenario.BillTamperer = (*Sandbox)(nil)

// tamper hands a bill CSV to the test's tamper function (if any).
func (sb *Sandbox) tamper(day payrecon.Day, kind payrecon.BillKind, name string, plain []byte) ([]byte, func([]byte) []byte) {
	enc := "utf-8"
	if sb.opts.Encoding == EncodingGBK {
		enc = "gbk"
	}
	return sb.Tamper(&scenario.BillTamper{Day: day, Kind: kind, Name: name, Plain: plain,
		Format: scenario.BillFormat{Archive: "zip", Encoding: enc, Quoting: true, Summary: !sb.opts.NoSummary}})
}
