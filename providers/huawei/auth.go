package huawei

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/payrecon/payrecon/providers/internal/sign"
)

// HeaderAuth is the name of Huawei's request-signing header.
const HeaderAuth = "PayMercAuth"

// PayMercAuth is the value of the PayMercAuth header (a JSON string).
type PayMercAuth struct {
	CallerID   string `json:"callerId"`
	TraceID    string `json:"traceId"`
	Time       int64  `json:"time"`
	AuthID     string `json:"authId"`
	HeaderSign string `json:"headerSign"`
	BodySign   string `json:"bodySign"`
	SessionKey string `json:"sessionKey,omitempty"`
}

// HeaderSignString is the string headerSign signs: every PayMercAuth field
// except headerSign, sorted and joined (bodySign included).
func (a PayMercAuth) HeaderSignString() string {
	f := map[string]string{
		"authId":   a.AuthID,
		"bodySign": a.BodySign,
		"callerId": a.CallerID,
		"time":     strconv.FormatInt(a.Time, 10),
		"traceId":  a.TraceID,
	}
	if a.SessionKey != "" {
		f["sessionKey"] = a.SessionKey
	}
	return sign.SortJoinFields(f)
}

// BodySignString is the string bodySign signs: for GET the request URI
// (path and query exactly as sent, no host), otherwise the sort-join of the
// JSON body.
func BodySignString(method, requestURI string, body []byte) (string, error) {
	if method == http.MethodGet {
		return requestURI, nil
	}
	s, err := sign.SortJoin(body)
	if err != nil {
		return "", fmt.Errorf("body sign string: %w", err)
	}
	return s, nil
}

// ParsePayMercAuth reads the header value.
func ParsePayMercAuth(v string) (PayMercAuth, error) {
	var a PayMercAuth
	if v == "" {
		return a, errors.New("missing PayMercAuth header")
	}
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		return a, fmt.Errorf("PayMercAuth is not JSON: %w", err)
	}
	return a, nil
}

// merchantSigner signs with the merchant key (SM2 or RSA-PSS).
type merchantSigner interface {
	sign(msg []byte) (string, error)
}

type sm2Signer struct{ k sign.SM2PrivateKey }

func (s sm2Signer) sign(msg []byte) (string, error) { return s.k.SignBase64(msg) }

type rsaSigner struct{ k *rsa.PrivateKey }

func (s rsaSigner) sign(msg []byte) (string, error) { return sign.SignPSS(s.k, msg) }

func newMerchantSigner(keyType, text string) (merchantSigner, error) {
	switch keyType {
	case KeySM2:
		k, err := sign.ParseSM2PrivateKey(text)
		if err != nil {
			return nil, err
		}
		return sm2Signer{k: k}, nil
	case KeyRSA:
		k, err := sign.ParseRSAPrivateKey([]byte(text))
		if err != nil {
			return nil, err
		}
		return rsaSigner{k: k}, nil
	}
	return nil, fmt.Errorf("unknown key type %q", keyType)
}
