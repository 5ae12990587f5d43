package reports

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// Notification formats.
const (
	FormatGeneric  = "generic"  // payrecon's own JSON (NotifyPayload)
	FormatDingTalk = "dingtalk" // DingTalk custom robot, msgtype markdown; optional 加签
	FormatFeishu   = "feishu"   // Feishu / Lark custom bot, msg_type text; optional 签名校验
	FormatWeCom    = "wecom"    // WeCom (企业微信) group robot, msgtype markdown
)

// NotifyConfig configures the webhook sent after a scheduled run.
type NotifyConfig struct {
	// URL is the webhook. Bot webhooks carry their token in the URL
	// (access_token=, key=, /hook/<token>), so it is a Secret: it never
	// appears in logs or errors.
	URL payrecon.Secret
	// Format is one of FormatGeneric (default), FormatDingTalk,
	// FormatFeishu, FormatWeCom.
	Format string
	// Secret, optional, signs the message: DingTalk timestamp+sign query
	// parameters, Feishu timestamp+sign body fields, and for the generic
	// format the X-Payrecon-Timestamp and X-Payrecon-Signature headers
	// (hex HMAC-SHA256 over "timestamp\nbody"). WeCom robots have no signing.
	Secret payrecon.Secret
	// Lang of the message text: "zh" (default) or "en".
	Lang string
	// Attempts is how many times a message is tried (default 4); network
	// errors, 429 and 5xx answers are retried.
	Attempts int
	// Backoff is the wait before the first retry (default 2s); it doubles
	// on every retry.
	Backoff time.Duration
	// Timeout bounds each attempt (default 10s).
	Timeout time.Duration
}

// Notifier posts a short summary of finished runs to a webhook.
type Notifier struct {
	cfg    NotifyConfig
	client *http.Client
	log    *slog.Logger
	now    func() time.Time
}

// NewNotifier checks cfg and returns a Notifier. client nil means
// http.DefaultClient; logger nil discards; now is the clock for signatures.
func NewNotifier(cfg NotifyConfig, client *http.Client, logger *slog.Logger, now func() time.Time) (*Notifier, error) {
	if cfg.Format == "" {
		cfg.Format = FormatGeneric
	}
	switch cfg.Format {
	case FormatGeneric, FormatDingTalk, FormatFeishu:
	case FormatWeCom:
		if !cfg.Secret.IsZero() {
			return nil, errors.New("notify: wecom robots have no signing secret")
		}
	default:
		return nil, fmt.Errorf("notify format %q: want generic, dingtalk, feishu or wecom", cfg.Format)
	}
	u, err := url.Parse(cfg.URL.Reveal())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("notify url: want an http or https URL") // the URL itself is secret
	}
	if _, err := (Options{Lang: cfg.Lang}).lang(); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	if now == nil {
		return nil, errors.New("notify: no clock")
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 4
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 2 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if client == nil {
		client = http.DefaultClient
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Notifier{cfg: cfg, client: client, log: logger, now: now}, nil
}

// NotifyPayload is the generic format's body.
type NotifyPayload struct {
	Event    string      `json:"event"` // "payrecon.runs"
	Text     string      `json:"text"`  // the same summary the bots get, plain text
	Workbook string      `json:"workbook,omitempty"`
	Balanced bool        `json:"balanced"` // every run balances
	Runs     []NotifyRun `json:"runs"`
}

// NotifyRun is one account and day in the generic payload; amounts as
// fen and as yuan strings, like the JSON report.
type NotifyRun struct {
	Account        string      `json:"account"`
	Day            string      `json:"day"`
	State          string      `json:"state"`
	Balanced       bool        `json:"balanced"`
	BillTotalFen   int64       `json:"bill_total_fen"`
	BillTotal      string      `json:"bill_total"`
	LedgerTotalFen int64       `json:"ledger_total_fen"`
	LedgerTotal    string      `json:"ledger_total"`
	DifferenceFen  int64       `json:"difference_fen"`
	Difference     string      `json:"difference"`
	Matched        int64       `json:"matched"`
	Classes        []jsonClass `json:"classes"`
}

// Notify sends the summary of runs (with the workbook's path or link, if
// any). It retries network errors, 429 and 5xx with doubling backoff, logs
// each failed attempt, and returns the last error; callers must not fail
// the run for it. A bot's own error code in a 200 answer is not retried.
// Errors never contain the webhook URL or the secret.
func (n *Notifier) Notify(ctx context.Context, runs []payrecon.Run, workbookPath string) error {
	lang, _ := (Options{Lang: n.cfg.Lang}).lang()
	var err error
	wait := n.cfg.Backoff
	for attempt := 1; ; attempt++ {
		var retry bool
		retry, err = n.send(ctx, runs, workbookPath, lang)
		if err == nil {
			return nil
		}
		n.log.Warn("notify failed", "format", n.cfg.Format, "attempt", attempt, "retry", retry && attempt < n.cfg.Attempts, "err", err)
		if !retry || attempt >= n.cfg.Attempts {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("notify %s: %w (after %v)", n.cfg.Format, ctx.Err(), err)
		case <-t.C:
		}
		wait *= 2
	}
	return fmt.Errorf("notify %s: %w", n.cfg.Format, err)
}

// send makes one attempt; retry says whether another may succeed.
func (n *Notifier) send(ctx context.Context, runs []payrecon.Run, workbook, lang string) (retry bool, err error) {
	body, target, header, err := n.build(runs, workbook, lang)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("build request") // its error would quote the URL
	}
	req.Header = header
	resp, err := n.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the URL, which holds the token
		}
		return true, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return true, fmt.Errorf("http status %d", resp.StatusCode)
	}
	if resp.StatusCode/100 != 2 {
		return false, fmt.Errorf("http status %d: %.200s", resp.StatusCode, answer)
	}
	// Bots answer 200 with their own code: DingTalk and WeCom errcode,
	// Feishu code (older: StatusCode).
	var res struct {
		ErrCode    *int   `json:"errcode"`
		ErrMsg     string `json:"errmsg"`
		Code       *int   `json:"code"`
		Msg        string `json:"msg"`
		StatusCode *int   `json:"StatusCode"`
	}
	if json.Unmarshal(answer, &res) == nil {
		for _, c := range []struct {
			code *int
			msg  string
		}{{res.ErrCode, res.ErrMsg}, {res.Code, res.Msg}, {res.StatusCode, res.Msg}} {
			if c.code != nil && *c.code != 0 {
				return false, fmt.Errorf("bot error %d: %.200s", *c.code, c.msg)
			}
		}
	}
	return false, nil
}

// build renders one attempt's body, URL and headers (signatures are
// fresh on every attempt: DingTalk allows an hour of clock skew, Feishu less).
func (n *Notifier) build(runs []payrecon.Run, workbook, lang string) ([]byte, string, http.Header, error) {
	target := n.cfg.URL.Reveal()
	header := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	now := n.now()
	secret := n.cfg.Secret.Reveal()
	var msg any
	switch n.cfg.Format {
	case FormatDingTalk:
		title, text := summaryText(runs, workbook, lang, true, 18000)
		msg = map[string]any{"msgtype": "markdown", "markdown": map[string]string{"title": title, "text": text}}
		if secret != "" {
			ts := strconv.FormatInt(now.UnixMilli(), 10)
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write([]byte(ts + "\n" + secret))
			sign := base64.StdEncoding.EncodeToString(mac.Sum(nil))
			sep := "?"
			if strings.Contains(target, "?") {
				sep = "&"
			}
			target += sep + "timestamp=" + ts + "&sign=" + url.QueryEscape(sign)
		}
	case FormatFeishu:
		_, text := summaryText(runs, workbook, lang, false, 18000)
		m := map[string]any{"msg_type": "text", "content": map[string]string{"text": text}}
		if secret != "" {
			ts := strconv.FormatInt(now.Unix(), 10)
			mac := hmac.New(sha256.New, []byte(ts+"\n"+secret)) // Feishu keys the HMAC with the string and signs nothing
			m["timestamp"], m["sign"] = ts, base64.StdEncoding.EncodeToString(mac.Sum(nil))
		}
		msg = m
	case FormatWeCom:
		_, text := summaryText(runs, workbook, lang, true, 4000) // WeCom's limit is 4096 bytes
		msg = map[string]any{"msgtype": "markdown", "markdown": map[string]string{"content": text}}
	default:
		_, text := summaryText(runs, workbook, lang, false, 18000)
		p := NotifyPayload{Event: "payrecon.runs", Text: text, Workbook: workbook, Balanced: true, Runs: []NotifyRun{}}
		for _, r := range runs {
			t := r.Totals
			nr := NotifyRun{Account: r.Account, Day: string(r.Day), State: string(r.State), Balanced: t.Balanced(),
				BillTotalFen: t.BillTotal, BillTotal: payrecon.FormatYuan(t.BillTotal),
				LedgerTotalFen: t.LedgerTotal, LedgerTotal: payrecon.FormatYuan(t.LedgerTotal),
				DifferenceFen: t.Difference, Difference: payrecon.FormatYuan(t.Difference),
				Matched: t.Matched, Classes: runJSON(r).Classes}
			p.Balanced = p.Balanced && nr.Balanced
			p.Runs = append(p.Runs, nr)
		}
		msg = p
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, "", nil, fmt.Errorf("encode message: %w", err)
	}
	if n.cfg.Format == FormatGeneric && secret != "" {
		ts := strconv.FormatInt(now.Unix(), 10)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts + "\n"))
		mac.Write(body)
		header.Set("X-Payrecon-Timestamp", ts)
		header.Set("X-Payrecon-Signature", hex.EncodeToString(mac.Sum(nil)))
	}
	return body, target, header, nil
}

// summaryText is the message: per account and day the totals, whether the
// books balance and the count and amount of every class found, then the
// workbook. Cut to limit bytes with a note of what was left out.
func summaryText(runs []payrecon.Run, workbook, lang string, markdown bool, limit int) (title, text string) {
	tr := func(zh, en string) string { return label{zh, en}.in(lang) }
	title = "payrecon " + tr("对账结果", "reconciliation") + " " + period(runs)
	var b strings.Builder
	if markdown {
		b.WriteString("### ")
	}
	b.WriteString(title)
	b.WriteString("\n")
	bold := func(s string) string {
		if markdown {
			return "**" + s + "**"
		}
		return s
	}
	yuan := tr(" 元", " CNY")
	for i, r := range runs {
		t := r.Totals
		var s strings.Builder
		s.WriteString("\n")
		fmt.Fprintf(&s, "%s %s %s, %s %s\n", bold(r.Account), r.Day, enumLabel(runStateLabels, r.State, lang),
			tr("平账", "balanced"), bold(yesNo(t.Balanced(), lang)))
		fmt.Fprintf(&s, "%s%s %s%s (%d), %s %s%s (%d), %s %s%s\n",
			bullet(markdown), tr("账单", "bill"), payrecon.FormatYuan(t.BillTotal), yuan, t.BillLines,
			tr("账本", "ledger"), payrecon.FormatYuan(t.LedgerTotal), yuan, t.LedgerLines,
			tr("差额", "difference"), payrecon.FormatYuan(t.Difference), yuan)
		fmt.Fprintf(&s, "%s%s %d\n", bullet(markdown), tr("匹配", "matched"), t.Matched)
		for _, cl := range payrecon.Classes {
			ct, ok := t.ByClass[cl]
			if cl == payrecon.ClassMatched || !ok || ct.Count == 0 {
				continue
			}
			fmt.Fprintf(&s, "%s%s (%s): %d, %s%s\n", bullet(markdown), ClassLabel(cl, lang), cl, ct.Count, payrecon.FormatYuan(ct.Amount), yuan)
		}
		if c := countsOf(t); c.tolCount > 0 {
			fmt.Fprintf(&s, "%s%s: %d, %s%s; %s: %d, %s%s\n", bullet(markdown), tr("其中容差", "of which tolerated"), c.tolCount,
				payrecon.FormatYuan(c.tolAmount), yuan, tr("待处理", "open"), c.openCount, payrecon.FormatYuan(c.openAmount), yuan)
		}
		if b.Len()+s.Len()+200 > limit {
			fmt.Fprintf(&b, "\n… %d %s\n", len(runs)-i, tr("个账户/日未列出，见报表", "more account-days, see the workbook"))
			break
		}
		b.WriteString(s.String())
	}
	if workbook != "" {
		fmt.Fprintf(&b, "\n%s: %s\n", tr("报表", "Workbook"), workbook)
	}
	return title, b.String()
}

func bullet(markdown bool) string {
	if markdown {
		return "- "
	}
	return "  "
}
