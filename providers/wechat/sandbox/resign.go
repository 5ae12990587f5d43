package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/payrecon/payrecon/providers/internal/sign"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat"
)

var _ scenario.Resigner = (*Sandbox)(nil)

// Resign implements scenario.Resigner: the payload is the decrypted
// resource plaintext; after e.Payload it is encrypted again (same nonce and
// associated data) in place of the old ciphertext, e.Body edits the
// notification envelope, and the headers are signed again over the edited
// body at the notification's own timestamp.
func (s *Sandbox) Resign(cb scenario.Callback, e scenario.Edit) (scenario.Callback, error) {
	var n wechat.Notification
	if err := json.Unmarshal(cb.Body, &n); err != nil {
		return scenario.Callback{}, fmt.Errorf("wechat sandbox resign: %w", err)
	}
	pt, err := sign.DecryptAESGCM(s.apiv3, n.Resource.Nonce, n.Resource.AssociatedData, n.Resource.Ciphertext)
	if err != nil {
		return scenario.Callback{}, fmt.Errorf("wechat sandbox resign: decrypt: %w", err)
	}
	body := append([]byte(nil), cb.Body...)
	if e.Payload != nil {
		if pt, err = e.Payload(pt); err != nil {
			return scenario.Callback{}, fmt.Errorf("wechat sandbox resign: %w", err)
		}
		ct, err := sign.EncryptAESGCM(s.apiv3, n.Resource.Nonce, n.Resource.AssociatedData, pt)
		if err != nil {
			return scenario.Callback{}, fmt.Errorf("wechat sandbox resign: encrypt: %w", err)
		}
		old := []byte(`"ciphertext":"` + n.Resource.Ciphertext + `"`)
		if !bytes.Contains(body, old) {
			return scenario.Callback{}, fmt.Errorf("wechat sandbox resign: no ciphertext field to replace")
		}
		body = bytes.Replace(body, old, []byte(`"ciphertext":"`+ct+`"`), 1)
	}
	if body, err = scenario.ApplyEdit(e.Body, body); err != nil {
		return scenario.Callback{}, fmt.Errorf("wechat sandbox resign: %w", err)
	}
	at := s.notifyNow()
	if ts, err := strconv.ParseInt(cb.Header.Get("Wechatpay-Timestamp"), 10, 64); err == nil {
		at = time.Unix(ts, 0)
	}
	h := s.SignHeaders(body, at)
	for k, vs := range cb.Header {
		if h.Get(k) == "" {
			h[k] = append([]string(nil), vs...)
		}
	}
	return scenario.Callback{Header: e.FinishHeader(h), Body: body, EventID: cb.EventID}, nil
}
