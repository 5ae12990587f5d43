package huawei

import (
	"encoding/json"
	"testing"

	"github.com/payrecon/payrecon/providers/internal/strict"
)

// A numeric appId (the 签约结果回调通知 sample prints it unquoted) passes the
// schema and is kept as its literal digits: 19 digits, beyond a float's.
func TestCallbackNumericAppIDKeptLiteral(t *testing.T) {
	for body, want := range map[string]string{
		`{"appId":5765880207853123457}`:   "5765880207853123457",
		`{"appId":"5765880207853123457"}`: "5765880207853123457",
	} {
		if err := strict.CheckJSON([]byte(body), callbackSchema); err != nil {
			t.Errorf("%s: %v", body, err)
			continue
		}
		var cb callbackBody
		if err := json.Unmarshal([]byte(body), &cb); err != nil {
			t.Errorf("%s: %v", body, err)
			continue
		}
		if string(cb.AppID) != want {
			t.Errorf("%s: appId %q, want %q", body, cb.AppID, want)
		}
	}
	for _, body := range []string{`{"appId":1.5}`, `{"appId":1e18}`, `{"appId":true}`, `{"appId":{}}`} {
		if err := strict.CheckJSON([]byte(body), callbackSchema); err == nil {
			t.Errorf("%s: accepted", body)
		}
	}
}
