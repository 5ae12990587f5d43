package sign

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// douyinUnsigned are the ecpay v1 body parameters the request signature
// leaves out.
var douyinUnsigned = map[string]bool{"app_id": true, "thirdparty_id": true, "sign": true, "other_settle_params": true}

// DouyinSignValue is how the ecpay v1 request signature reads one
// parameter value: its text form (%v, so a json.Number keeps its literal
// digits), trimmed, with one pair of surrounding double quotes removed and
// trimmed again. ok is false for values the signature skips ("" and "null").
func DouyinSignValue(v any) (s string, ok bool) {
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

// DouyinSignString is the ByteDance mini-program 担保交易 (ecpay v1) request
// string to hash: the VALUES of every parameter except app_id,
// thirdparty_id, sign and other_settle_params (read by DouyinSignValue),
// plus the SALT (支付系统秘钥), sorted lexicographically (byte order) and
// joined with "&". Keys take no part.
func DouyinSignString(params map[string]any, salt string) string {
	vals := make([]string, 0, len(params)+1)
	for k, v := range params {
		if douyinUnsigned[k] {
			continue
		}
		if s, ok := DouyinSignValue(v); ok {
			vals = append(vals, s)
		}
	}
	vals = append(vals, salt)
	sort.Strings(vals)
	return strings.Join(vals, "&")
}

// DouyinSign is the ecpay v1 request sign: MD5 of DouyinSignString, lower hex.
func DouyinSign(params map[string]any, salt string) string {
	sum := md5.Sum([]byte(DouyinSignString(params, salt)))
	return hex.EncodeToString(sum[:])
}

// DouyinVerify checks a request's sign field in constant time
// (case-insensitive hex).
func DouyinVerify(params map[string]any, salt, got string) bool {
	want := DouyinSign(params, salt)
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(got))) == 1
}

// DouyinCallbackSignature is the ecpay v1 callback msg_signature:
// sha1 of the four strings token, timestamp, nonce and msg sorted
// lexicographically and concatenated without separator, lower hex.
func DouyinCallbackSignature(token, timestamp, nonce, msg string) string {
	parts := []string{token, timestamp, nonce, msg}
	sort.Strings(parts)
	h := sha1.New()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}
