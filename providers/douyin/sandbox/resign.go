package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/payrecon/payrecon/providers/douyin"
	"github.com/payrecon/payrecon/providers/scenario"
)

var _ scenario.Resigner = (*Sandbox)(nil)

// Resign implements scenario.Resigner: the payload is msg; after e.Payload
// it replaces the old msg in the body (written as a JSON string that keeps
// any invalid UTF-8 as raw bytes, as a sender that does not check would),
// e.Body edits the outer JSON, and msg_signature is computed again over the
// timestamp, nonce and msg a lenient reader keeps (the last of repeated
// keys).
func (s *Sandbox) Resign(cb scenario.Callback, e scenario.Edit) (scenario.Callback, error) {
	env, err := lenientEnvelope(cb.Body)
	if err != nil {
		return scenario.Callback{}, fmt.Errorf("douyin sandbox resign: %w", err)
	}
	body := append([]byte(nil), cb.Body...)
	if e.Payload != nil {
		msg, err := e.Payload([]byte(env.msg))
		if err != nil {
			return scenario.Callback{}, fmt.Errorf("douyin sandbox resign: %w", err)
		}
		oldLit, _ := json.Marshal(env.msg)
		old := append([]byte(`"msg":`), oldLit...)
		if !bytes.Contains(body, old) {
			return scenario.Callback{}, errors.New("douyin sandbox resign: no msg field to replace")
		}
		body = bytes.Replace(body, old, append([]byte(`"msg":`), rawJSONString(msg)...), 1)
	}
	if body, err = scenario.ApplyEdit(e.Body, body); err != nil {
		return scenario.Callback{}, fmt.Errorf("douyin sandbox resign: %w", err)
	}
	if env, err = lenientEnvelope(bytes.ToValidUTF8(body, []byte("\uFFFD"))); err != nil {
		return scenario.Callback{}, fmt.Errorf("douyin sandbox resign: edited body: %w", err)
	}
	oldSig := []byte(`"msg_signature":"` + env.sig + `"`)
	if env.sig == "" || !bytes.Contains(body, oldSig) {
		return scenario.Callback{}, errors.New("douyin sandbox resign: no msg_signature field to replace")
	}
	sig := douyin.CallbackSignature(s.token, env.ts, env.nonce, env.msg)
	body = bytes.Replace(body, oldSig, []byte(`"msg_signature":"`+sig+`"`), 1)
	return scenario.Callback{Header: e.FinishHeader(cb.Header), Body: body, EventID: cb.EventID}, nil
}

type lenientEnv struct{ ts, nonce, msg, sig string }

// lenientEnvelope reads the envelope as encoding/json does (last key
// wins); timestamp and nonce by their literal text.
func lenientEnvelope(body []byte) (lenientEnv, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return lenientEnv{}, err
	}
	text := func(k string) string {
		v := raw[k]
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
		return string(v)
	}
	return lenientEnv{ts: text("timestamp"), nonce: text("nonce"), msg: text("msg"), sig: text("msg_signature")}, nil
}

// rawJSONString writes b as a JSON string literal escaping only what JSON
// requires (quote, backslash, control characters): invalid UTF-8 stays raw.
func rawJSONString(b []byte) []byte {
	out := []byte{'"'}
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n == 1:
			out = append(out, b[0])
		case r == '"' || r == '\\':
			out = append(out, '\\', byte(r))
		case r < 0x20:
			out = append(out, `\u00`...)
			out = strconv.AppendInt(append(out, "0123456789abcdef"[r>>4]), int64(r&0xf), 16)
		default:
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return append(out, '"')
}
