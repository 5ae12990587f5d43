package douyin

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// unsignedParams are the ecpay v1 body parameters the request signature
// leaves out.
var unsignedParams = map[string]bool{"app_id": true, "thirdparty_id": true, "sign": true, "other_settle_params": true}

// SignValue is how the ecpay v1 request signature reads one
// parameter value: its text form (%v, so a json.Number keeps its literal
// digits), trimmed, with one pair of surrounding double quotes removed and
// trimmed again. ok is false for values the signature skips ("" and "null").
func SignValue(v any) (s string, ok bool) {
	if v == nil {
		return "", false
	}
	s = strings.TrimSpace(fmt.Sprintf("%v", v))
	if len(s) > 1 && strings.HasPrefix(s, `"`) && strings.HasSuffix(s, `"`) {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	if s == "" || s == "null" {
		return "", false
	}
	return s, true
}

// SignString is the ByteDance mini-program 担保交易 (ecpay v1) request
// string to hash: the VALUES of every parameter except app_id,
// thirdparty_id, sign and other_settle_params (read by SignValue),
// plus the SALT (支付系统秘钥), sorted lexicographically (byte order) and
// joined with "&". Keys take no part.
func SignString(params map[string]any, salt string) string {
	vals := make([]string, 0, len(params)+1)
	for k, v := range params {
		if unsignedParams[k] {
			continue
		}
		if s, ok := SignValue(v); ok {
			vals = append(vals, s)
		}
	}
	vals = append(vals, salt)
	sort.Strings(vals)
	return strings.Join(vals, "&")
}

// Sign is the ecpay v1 request sign: MD5 of SignString, lower hex.
func Sign(params map[string]any, salt string) string {
	sum := md5.Sum([]byte(SignString(params, salt)))
	return hex.EncodeToString(sum[:])
}

// VerifySign checks a request's sign field in constant time
// (case-insensitive hex).
func VerifySign(params map[string]any, salt, got string) bool {
	want := Sign(params, salt)
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(got))) == 1
}

// CallbackSignature is the ecpay v1 callback msg_signature:
// sha1 of the four strings token, timestamp, nonce and msg sorted
// lexicographically and concatenated without separator, lower hex.
func CallbackSignature(token, timestamp, nonce, msg string) string {
	parts := []string{token, timestamp, nonce, msg}
	sort.Strings(parts)
	h := sha1.New()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}
