package strict

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// ContentType checks the request's Content-Type against the media types a
// provider documents for its callbacks (e.g. "application/json"; the first
// is the one named in errors). Parameters are tolerated; a charset
// parameter is returned lower-cased ("" when absent) for the caller to
// validate the body with. A missing, unparsable, repeated or different
// Content-Type is refused.
func ContentType(h http.Header, want ...string) (charset string, err error) {
	vs := h.Values("Content-Type")
	documented := strings.Join(want, " or ")
	switch len(vs) {
	case 0:
		return "", &Error{Rule: RuleContentType, Field: "Content-Type", Detail: "is missing, documented as " + documented}
	case 1:
	default:
		return "", &Error{Rule: RuleContentType, Field: "Content-Type", Detail: "is given " + strconv.Itoa(len(vs)) + " times"}
	}
	mt, params, perr := mime.ParseMediaType(vs[0])
	if perr != nil {
		return "", &Error{Rule: RuleContentType, Field: "Content-Type", Detail: clip(vs[0]) + " is not a media type, documented as " + documented}
	}
	for _, w := range want {
		if mt == w {
			return strings.ToLower(params["charset"]), nil
		}
	}
	return "", &Error{Rule: RuleContentType, Field: "Content-Type", Detail: clip(vs[0]) + " is not " + documented}
}

// UTF8Charset refuses a declared charset other than UTF-8 ("" is taken as
// UTF-8): for JSON bodies, which are UTF-8 by definition.
func UTF8Charset(charset string) error {
	switch charset {
	case "", "utf-8", "utf8":
		return nil
	}
	return &Error{Rule: RuleUTF8, Field: "Content-Type", Detail: "declares charset " + clip(charset) + ", not utf-8"}
}

func clip(s string) string {
	if len(s) > 64 {
		s = s[:61] + "..."
	}
	return strconv.Quote(s)
}
