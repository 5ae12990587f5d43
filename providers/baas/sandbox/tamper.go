package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/scenario"
)

var _ scenario.BillTamperer = (*Sandbox)(nil)

// writeList writes an order-list page after the test's tamper function (if
// any) had it (the page is the "bill": MinCloud has no bill file). A
// rewrite that shortens the body is served as a transfer cut short.
func (s *Sandbox) writeList(w http.ResponseWriter, paidFrom int64, offset int, v any) {
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(v)
	day := payrecon.Day("")
	if paidFrom >= 0 {
		day = payrecon.DayOf(time.Unix(paidFrom, 0))
	}
	plain, archive := s.Tamper(&scenario.BillTamper{Day: day, Kind: payrecon.BillTrade, Name: "orders offset " + strconv.Itoa(offset), Plain: buf.Bytes(),
		Format: scenario.BillFormat{Encoding: "utf-8", JSON: true, Summary: true}})
	out := plain
	w.Header().Set("Content-Type", "application/json")
	if archive != nil {
		out = archive(plain)
		if len(out) < len(plain) {
			w.Header().Set("Content-Length", strconv.Itoa(len(plain)))
		}
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}
