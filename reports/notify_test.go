package reports_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reports"
)

// bot is a fake webhook on loopback that records what it receives and
// answers with the queued statuses and bodies (then 200 with ok).
type bot struct {
	mu       sync.Mutex
	srv      *httptest.Server
	requests []*http.Request
	bodies   [][]byte
	answers  []answer
}

type answer struct {
	status int
	body   string
}

func newBot(t *testing.T, answers ...answer) *bot {
	b := &bot{answers: answers}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.requests = append(b.requests, r)
		b.bodies = append(b.bodies, body)
		a := answer{200, `{"errcode":0,"errmsg":"ok"}`}
		if len(b.answers) > 0 {
			a, b.answers = b.answers[0], b.answers[1:]
		}
		b.mu.Unlock()
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

var notifyNow = time.Date(2026, 11, 21, 2, 10, 0, 0, payrecon.Shanghai)

func notifier(t *testing.T, cfg reports.NotifyConfig, log *bytes.Buffer) *reports.Notifier {
	t.Helper()
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Millisecond
	}
	var logger *slog.Logger
	if log != nil {
		logger = slog.New(slog.NewTextHandler(log, nil))
	}
	n, err := reports.NewNotifier(cfg, nil, logger, func() time.Time { return notifyNow })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNotifyDingTalkSigned(t *testing.T) {
	b := newBot(t)
	fx := newFixture()
	n := notifier(t, reports.NotifyConfig{URL: payrecon.NewSecret(b.srv.URL + "/robot/send?access_token=TOKEN123"),
		Format: reports.FormatDingTalk, Secret: payrecon.NewSecret("SECabc")}, nil)
	if err := n.Notify(context.Background(), fx.runs, "/srv/reports/2026-11-20.xlsx"); err != nil {
		t.Fatal(err)
	}
	q := b.requests[0].URL.Query()
	ts := strconv.FormatInt(notifyNow.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte("SECabc"))
	mac.Write([]byte(ts + "\n" + "SECabc"))
	if q.Get("access_token") != "TOKEN123" || q.Get("timestamp") != ts || q.Get("sign") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		t.Errorf("dingtalk signature query %v", q)
	}
	var msg struct {
		MsgType  string `json:"msgtype"`
		Markdown struct{ Title, Text string }
	}
	if err := json.Unmarshal(b.bodies[0], &msg); err != nil {
		t.Fatal(err)
	}
	if msg.MsgType != "markdown" || !strings.Contains(msg.Markdown.Title, "2026-11-20") {
		t.Fatalf("dingtalk message %s", b.bodies[0])
	}
	txt := msg.Markdown.Text
	for _, want := range []string{"**wx_main**", payrecon.FormatYuan(fx.runs[0].Totals.BillTotal), "账本缺失 (missing_in_ledger): 1, 128.00 元",
		"平账 **否**", "/srv/reports/2026-11-20.xlsx"} {
		if !strings.Contains(txt, want) {
			t.Errorf("dingtalk text lacks %q:\n%s", want, txt)
		}
	}
	if strings.Contains(string(b.bodies[0]), "SECabc") {
		t.Error("secret in the message body")
	}
}

func TestNotifyFeishuSigned(t *testing.T) {
	b := newBot(t, answer{200, `{"code":0,"msg":"success","data":{}}`})
	n := notifier(t, reports.NotifyConfig{URL: payrecon.NewSecret(b.srv.URL + "/open-apis/bot/v2/hook/abc-uuid"),
		Format: reports.FormatFeishu, Secret: payrecon.NewSecret("fs-secret"), Lang: "en"}, nil)
	if err := n.Notify(context.Background(), newFixture().runs, ""); err != nil {
		t.Fatal(err)
	}
	var msg struct {
		MsgType   string `json:"msg_type"`
		Timestamp string `json:"timestamp"`
		Sign      string `json:"sign"`
		Content   struct{ Text string }
	}
	if err := json.Unmarshal(b.bodies[0], &msg); err != nil {
		t.Fatal(err)
	}
	// Feishu: HMAC-SHA256 keyed with "timestamp\nsecret" over an empty message.
	mac := hmac.New(sha256.New, []byte(msg.Timestamp+"\nfs-secret"))
	if msg.MsgType != "text" || msg.Timestamp != strconv.FormatInt(notifyNow.Unix(), 10) || msg.Sign != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		t.Errorf("feishu message %s", b.bodies[0])
	}
	if !strings.Contains(msg.Content.Text, "of which tolerated: 1, -0.50 CNY; open: 7, 161.60 CNY") {
		t.Errorf("feishu text lacks tolerated and open apart:\n%s", msg.Content.Text)
	}
	if !strings.Contains(msg.Content.Text, "Missing in ledger (missing_in_ledger): 1, 128.00 CNY") || strings.Contains(msg.Content.Text, "**") {
		t.Errorf("feishu text:\n%s", msg.Content.Text)
	}
}

func TestNotifyWeComAndGeneric(t *testing.T) {
	b := newBot(t)
	n := notifier(t, reports.NotifyConfig{URL: payrecon.NewSecret(b.srv.URL + "/cgi-bin/webhook/send?key=K"), Format: reports.FormatWeCom}, nil)
	fx := newFixture()
	if err := n.Notify(context.Background(), fx.runs, "r.xlsx"); err != nil {
		t.Fatal(err)
	}
	var wc struct {
		MsgType  string `json:"msgtype"`
		Markdown struct{ Content string }
	}
	json.Unmarshal(b.bodies[0], &wc)
	if wc.MsgType != "markdown" || !strings.Contains(wc.Markdown.Content, "ali_shop") || len(wc.Markdown.Content) > 4096 {
		t.Errorf("wecom message %s", b.bodies[0])
	}
	if _, err := reports.NewNotifier(reports.NotifyConfig{URL: payrecon.NewSecret("https://x/"), Format: reports.FormatWeCom, Secret: payrecon.NewSecret("s")}, nil, nil, time.Now); err == nil {
		t.Error("wecom with a signing secret accepted")
	}

	g := newBot(t)
	n = notifier(t, reports.NotifyConfig{URL: payrecon.NewSecret(g.srv.URL + "/hook"), Secret: payrecon.NewSecret("gsecret")}, nil)
	if err := n.Notify(context.Background(), fx.runs, "r.xlsx"); err != nil {
		t.Fatal(err)
	}
	var p reports.NotifyPayload
	if err := json.Unmarshal(g.bodies[0], &p); err != nil {
		t.Fatal(err)
	}
	if p.Event != "payrecon.runs" || p.Balanced || len(p.Runs) != 2 || p.Runs[0].DifferenceFen != fx.runs[0].Totals.Difference || !p.Runs[0].Balanced || p.Runs[1].Balanced {
		t.Errorf("generic payload %+v", p)
	}
	ts := g.requests[0].Header.Get("X-Payrecon-Timestamp")
	mac := hmac.New(sha256.New, []byte("gsecret"))
	mac.Write([]byte(ts + "\n"))
	mac.Write(g.bodies[0])
	if g.requests[0].Header.Get("X-Payrecon-Signature") != hex.EncodeToString(mac.Sum(nil)) {
		t.Error("generic signature does not verify")
	}
}

// TestNotifyRetries: 5xx and 429 are retried with backoff until success; a
// 4xx or a bot error code is not; the final error and the log never show
// the URL's token.
func TestNotifyRetries(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		b := newBot(t, answer{502, "bad gateway"}, answer{429, ""}, answer{503, ""})
		var log bytes.Buffer
		n := notifier(t, reports.NotifyConfig{URL: payrecon.NewSecret(b.srv.URL + "/?access_token=TOPSECRET"), Format: reports.FormatDingTalk, Attempts: 4}, &log)
		if err := n.Notify(context.Background(), newFixture().runs, ""); err != nil {
			t.Fatal(err)
		}
		if len(b.bodies) != 4 || strings.Count(log.String(), "notify failed") != 3 {
			t.Errorf("%d attempts, log:\n%s", len(b.bodies), log.String())
		}
	})
	t.Run("ErrGivesUp", func(t *testing.T) {
		b := newBot(t, answer{500, ""}, answer{500, ""}, answer{500, ""})
		var log bytes.Buffer
		n := notifier(t, reports.NotifyConfig{URL: payrecon.NewSecret(b.srv.URL + "/?access_token=TOPSECRET"), Format: reports.FormatDingTalk, Attempts: 3}, &log)
		err := n.Notify(context.Background(), newFixture().runs, "")
		if err == nil || !strings.Contains(err.Error(), "500") || len(b.bodies) != 3 {
			t.Fatalf("err %v after %d attempts", err, len(b.bodies))
		}
		if strings.Contains(err.Error()+log.String(), "TOPSECRET") {
			t.Error("token leaked into the error or the log")
		}
	})
	t.Run("ErrBotCodeNotRetried", func(t *testing.T) {
		b := newBot(t, answer{200, `{"errcode":310000,"errmsg":"sign not match"}`})
		n := notifier(t, reports.NotifyConfig{URL: payrecon.NewSecret(b.srv.URL + "/"), Format: reports.FormatDingTalk}, nil)
		err := n.Notify(context.Background(), newFixture().runs, "")
		if err == nil || !strings.Contains(err.Error(), "310000") || len(b.bodies) != 1 {
			t.Fatalf("err %v after %d attempts", err, len(b.bodies))
		}
	})
	t.Run("ErrNetwork", func(t *testing.T) {
		b := newBot(t)
		u := b.srv.URL + "/cgi-bin/webhook/send?key=TOPSECRET"
		b.srv.Close()
		var log bytes.Buffer
		n := notifier(t, reports.NotifyConfig{URL: payrecon.NewSecret(u), Format: reports.FormatWeCom, Attempts: 2}, &log)
		err := n.Notify(context.Background(), newFixture().runs, "")
		if err == nil || strings.Contains(err.Error()+log.String(), "TOPSECRET") || strings.Count(log.String(), "notify failed") != 2 {
			t.Fatalf("err %v, log:\n%s", err, log.String())
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		b := newBot(t, answer{500, ""}, answer{500, ""})
		n := notifier(t, reports.NotifyConfig{URL: payrecon.NewSecret(b.srv.URL + "/"), Backoff: time.Hour, Attempts: 5}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := n.Notify(ctx, newFixture().runs, "")
		if err == nil || time.Since(start) > 5*time.Second || len(b.bodies) != 1 {
			t.Fatalf("err %v after %v, %d attempts", err, time.Since(start), len(b.bodies))
		}
	})
}

func TestNewNotifierValidates(t *testing.T) {
	for name, cfg := range map[string]reports.NotifyConfig{
		"format": {URL: payrecon.NewSecret("https://x/"), Format: "slack"},
		"url":    {URL: payrecon.NewSecret("ftp://secret-host/")},
		"empty":  {},
		"lang":   {URL: payrecon.NewSecret("https://x/"), Lang: "de"},
	} {
		_, err := reports.NewNotifier(cfg, nil, nil, time.Now)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "secret-host") {
			t.Errorf("%s: error shows the URL: %v", name, err)
		}
	}
}

// TestNotifyLimit: a WeCom message stays within 4096 bytes with many runs.
func TestNotifyLimit(t *testing.T) {
	b := newBot(t)
	fx := newFixture()
	var runs []payrecon.Run
	for i := range 200 {
		r := fx.runs[i%2]
		r.Account = r.Account + strconv.Itoa(i)
		runs = append(runs, r)
	}
	n := notifier(t, reports.NotifyConfig{URL: payrecon.NewSecret(b.srv.URL + "/"), Format: reports.FormatWeCom}, nil)
	if err := n.Notify(context.Background(), runs, "r.xlsx"); err != nil {
		t.Fatal(err)
	}
	var wc struct{ Markdown struct{ Content string } }
	json.Unmarshal(b.bodies[0], &wc)
	if len(wc.Markdown.Content) > 4096 || !strings.Contains(wc.Markdown.Content, "个账户/日未列出") || !strings.Contains(wc.Markdown.Content, "r.xlsx") {
		t.Errorf("%d bytes:\n%s", len(wc.Markdown.Content), wc.Markdown.Content)
	}
}
