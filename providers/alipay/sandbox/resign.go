package sandbox

import (
	"bytes"
	"fmt"
	"net/url"

	"github.com/payrecon/payrecon/providers/alipay"
	"github.com/payrecon/payrecon/providers/internal/sign"
	"github.com/payrecon/payrecon/providers/scenario"
)

var _ scenario.Resigner = (*Sandbox)(nil)

// Resign implements scenario.Resigner: the payload is the form body
// itself (e.Payload then e.Body edit it), signed again (RSA2) over the
// parameters a lenient reader keeps (the last of repeated ones; pairs that
// do not decode are left out), the new sign put in place of the old one.
func (s *Sandbox) Resign(cb scenario.Callback, e scenario.Edit) (scenario.Callback, error) {
	body, err := e.EditBody(cb.Body)
	if err != nil {
		return scenario.Callback{}, fmt.Errorf("alipay sandbox resign: %w", err)
	}
	v := url.Values{}
	for _, pair := range bytes.Split(body, []byte("&")) {
		k, val, _ := bytes.Cut(pair, []byte("="))
		dk, err1 := url.QueryUnescape(string(k))
		dv, err2 := url.QueryUnescape(string(val))
		if err1 == nil && err2 == nil && dk != "" {
			v.Set(dk, dv)
		}
	}
	old := v.Get("sign")
	sig, err := sign.SignSHA256RSA(keys.alipay, []byte(alipay.SignContent(v, "sign_type")))
	if err != nil {
		return scenario.Callback{}, fmt.Errorf("alipay sandbox resign: %w", err)
	}
	oldParam := []byte("sign=" + url.QueryEscape(old))
	if old == "" || !bytes.Contains(body, oldParam) {
		return scenario.Callback{}, fmt.Errorf("alipay sandbox resign: edited body has no sign parameter to replace")
	}
	body = bytes.Replace(body, oldParam, []byte("sign="+url.QueryEscape(sig)), 1)
	return scenario.Callback{Header: e.FinishHeader(cb.Header), Body: body, EventID: cb.EventID}, nil
}
