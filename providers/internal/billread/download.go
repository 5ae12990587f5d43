package billread

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// DownloadURL checks a bill download URL a provider handed over before it
// is fetched, one rule for every provider:
//   - https: any host, unless signed (the request carries the merchant's
//     own credentials, WeChat Pay's Authorization): then only the API's
//     host (base) or one of trusted (the provider's documented domains);
//   - http: only a loopback host (a sandbox or a simulation on this
//     machine; a bill fetched in the clear elsewhere could be altered on
//     the way), and, when signed, only the API's own host name;
//   - nothing else.
func DownloadURL(raw, base string, signed bool, trusted ...string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("download url %q is not a URL", clip(raw))
	}
	b, _ := url.Parse(base)
	host := strings.ToLower(u.Hostname())
	ours := b != nil && strings.EqualFold(host, b.Hostname())
	for _, h := range trusted {
		ours = ours || strings.EqualFold(host, h)
	}
	switch u.Scheme {
	case "https":
		if signed && !ours {
			return nil, fmt.Errorf("download url host %s is not the provider's API host: the signed request is not sent there", host)
		}
	case "http":
		if !loopback(host) {
			return nil, fmt.Errorf("download url %q: plain http is fetched from a loopback host only", clip(raw))
		}
		if signed && !ours {
			return nil, fmt.Errorf("download url host %s is not the provider's API host: the signed request is not sent there", host)
		}
	default:
		return nil, fmt.Errorf("download url scheme %q: only https (or http on loopback) is fetched", u.Scheme)
	}
	return u, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// clip shortens a URL for an error message.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
