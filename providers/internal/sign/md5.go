package sign

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"sort"
	"strings"
)

// V2String is WeChat Pay v2's string to sign: the parameters without
// "sign" and without empty values, sorted by key (ASCII), joined as
// k=v&k=v, then "&key=" + apiKey.
func V2String(params map[string]string, apiKey string) string {
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if k == "sign" || v == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	b.WriteString("&key=")
	b.WriteString(apiKey)
	return b.String()
}

// V2SignMD5 is the v2 MD5 signature: upper-case hex MD5 of V2String.
func V2SignMD5(params map[string]string, apiKey string) string {
	sum := md5.Sum([]byte(V2String(params, apiKey)))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// V2SignHMACSHA256 is the v2 HMAC-SHA256 signature: upper-case hex of
// HMAC-SHA256 keyed with apiKey over V2String.
func V2SignHMACSHA256(params map[string]string, apiKey string) string {
	m := hmac.New(sha256.New, []byte(apiKey))
	m.Write([]byte(V2String(params, apiKey)))
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}

// V2Verify checks params["sign"] with signType "MD5" (default) or
// "HMAC-SHA256", in constant time.
func V2Verify(params map[string]string, apiKey, signType string) bool {
	var want string
	switch strings.ToUpper(signType) {
	case "", "MD5":
		want = V2SignMD5(params, apiKey)
	case "HMAC-SHA256":
		want = V2SignHMACSHA256(params, apiKey)
	default:
		return false
	}
	got := strings.ToUpper(params["sign"])
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}
