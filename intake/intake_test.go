package intake_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/intake"
	"github.com/payrecon/payrecon/intake/internal/testverifier"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

var (
	ctx = context.Background()
	key = []byte("test-hmac-key")
	now = time.Date(2026, 11, 21, 9, 0, 0, 0, payrecon.Shanghai)
)

func newHandler(t testing.TB, st payrecon.CallbackStore, maxBody int64) *intake.Handler {
	return intake.New(intake.Config{
		Accounts: map[string]intake.Account{
			"shop": {Provider: "wechat", Verifier: testverifier.Verifier{Key: key, Provider: "wechat"}},
			"app":  {Provider: "huawei", Verifier: testverifier.Verifier{Key: key, Provider: "huawei"}},
		},
		Providers:    []string{"huawei", "wechat", "alipay"},
		Store:        st,
		Logger:       storetest.Logger(t),
		Now:          func() time.Time { return now },
		MaxBodyBytes: maxBody,
	})
}

type response struct {
	status int
	ctype  string
	body   string
}

func post(t testing.TB, url string, body []byte, sig string) response {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(testverifier.Header, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("post %s: %v", url, err)
		return response{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

func callbacks(t testing.TB, db *store.DB) []payrecon.RawCallback {
	var out []payrecon.RawCallback
	storetest.Must(t, db.Callbacks(ctx, "", func(cb payrecon.RawCallback) error {
		out = append(out, cb)
		return nil
	}))
	return out
}

func entries(t testing.TB, db *store.DB, account string) []payrecon.LedgerEntry {
	var out []payrecon.LedgerEntry
	storetest.Must(t, db.LedgerEntries(ctx, account, time.Unix(0, 0), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), func(e payrecon.LedgerEntry) error {
		out = append(out, e)
		return nil
	}))
	return out
}

func TestCallbacks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv := httptest.NewServer(newHandler(t, db, 2048))
		defer srv.Close()
		base := srv.URL + "/callbacks/"

		good, goodSig := testverifier.Callback(key, "evt-1", 2, "12.30")
		malformed := []byte(`{"event_id":"evt-x","entries":[`)
		badYuan, _ := testverifier.Callback(key, "evt-2", 1, "1e3")
		huge, hugeSig := testverifier.Callback(key, "evt-3", 40, "1.00")
		if len(huge) <= 2048 {
			t.Fatalf("test setup: huge body is %d bytes", len(huge))
		}

		for _, tc := range []struct {
			name, path string
			body       []byte
			sig        string
			status     int
			reply      string // substring of the reply body
			reason     string // substring of the stored reason; "" = accepted or not stored
		}{
			{"accepted", "wechat/shop", good, goodSig, 200, `"SUCCESS"`, ""},
			{"duplicate", "wechat/shop", good, goodSig, 200, `"SUCCESS"`, ""},
			{"forged", "wechat/shop", good, testverifier.Sign([]byte("wrong"), good), 400, `"FAIL"`, "signature invalid: hmac mismatch"},
			{"unsigned", "wechat/shop", good, "", 400, `"FAIL"`, "signature invalid"},
			{"malformed json", "wechat/shop", malformed, testverifier.Sign(key, malformed), 400, "malformed callback body", "malformed callback body"},
			{"unparsable yuan", "wechat/shop", badYuan, testverifier.Sign(key, badYuan), 400, "entries[0].amount", `invalid amount "1e3"`},
			{"oversized", "wechat/shop", huge, hugeSig, 413, "body exceeds 2048 bytes", "body exceeds 2048 bytes"},
			{"unknown account", "wechat/ghost", good, goodSig, 404, `unknown account \"ghost\"`, `unknown account "ghost"`},
			{"wrong provider", "huawei/shop", good, goodSig, 404, `belongs to provider`, `account "shop" belongs to provider "wechat", not "huawei"`},
			{"unknown provider", "paypal/shop", good, goodSig, 404, `unknown provider \"paypal\"`, ""},
		} {
			before := len(callbacks(t, db))
			got := post(t, base+tc.path, tc.body, tc.sig)
			if got.status != tc.status || !strings.Contains(got.body, tc.reply) {
				t.Errorf("%s: got %d %q, want %d containing %q", tc.name, got.status, got.body, tc.status, tc.reply)
			}
			if !strings.HasPrefix(got.ctype, "application/json") {
				t.Errorf("%s: content type %q", tc.name, got.ctype)
			}
			all := callbacks(t, db)
			added := all[before:]
			switch {
			case tc.name == "duplicate" || tc.name == "unknown provider":
				if len(added) != 0 {
					t.Errorf("%s: stored %d callbacks, want none", tc.name, len(added))
				}
			case tc.reason == "":
				if len(added) != 1 || !added[0].Accepted || added[0].EventID != "evt-1" {
					t.Errorf("%s: stored %+v, want one accepted evt-1", tc.name, added)
				}
			default:
				if len(added) != 1 || added[0].Accepted || !strings.Contains(added[0].Reason, tc.reason) {
					t.Errorf("%s: stored %+v, want one rejected with reason containing %q", tc.name, added, tc.reason)
					continue
				}
				if !added[0].ReceivedAt.Equal(now) || added[0].Source != "http" {
					t.Errorf("%s: received %v source %q", tc.name, added[0].ReceivedAt, added[0].Source)
				}
			}
		}

		all := callbacks(t, db)
		if last := all[len(all)-1]; last.Account != "shop" || last.Provider != "huawei" {
			t.Errorf("misaddressed callback stored as %s/%s, want the URL's huawei/shop", last.Provider, last.Account)
		}
		for _, cb := range all {
			if strings.Contains(cb.Reason, "exceeds") && len(cb.Body) != 2048 {
				t.Errorf("oversized body stored with %d bytes, want the first 2048", len(cb.Body))
			}
			if cb.Accepted && cb.Header.Get(testverifier.Header) != goodSig {
				t.Errorf("accepted callback headers %v", cb.Header)
			}
		}
		// Only the accepted callback reached the ledger, once.
		es := entries(t, db, "shop")
		if len(es) != 2 || es[0].EventKey != "evt-1:0" || es[0].Amount != 1230 || es[0].Source != "callback" {
			t.Errorf("ledger: %+v", es)
		}
		if es := entries(t, db, "ghost"); len(es) != 0 {
			t.Errorf("unknown account got entries: %+v", es)
		}

		if got := post(t, srv.URL+"/callbacks/wechat", good, goodSig); got.status != 404 {
			t.Errorf("short path: %d", got.status)
		}
		resp, err := http.Get(base + "wechat/shop")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET callback: %d, want 405", resp.StatusCode)
		}
	})
}

// failingStore fails every write, like a database that went away.
type failingStore struct{ calls int }

func (f *failingStore) StoreCallback(context.Context, *payrecon.RawCallback, []payrecon.LedgerEntry) (bool, error) {
	f.calls++
	return false, errors.New("database is down")
}

func TestStoreFailureAsksForRetry(t *testing.T) {
	st := &failingStore{}
	srv := httptest.NewServer(newHandler(t, st, 0))
	defer srv.Close()
	body, sig := testverifier.Callback(key, "evt-1", 1, "0.01")
	got := post(t, srv.URL+"/callbacks/wechat/shop", body, sig)
	if got.status != 500 || !strings.Contains(got.body, `"code":"FAIL"`) || strings.Contains(got.body, "database is down") {
		t.Errorf("store failure: %d %q, want 500 in the provider's failure format without internals", got.status, got.body)
	}
	if st.calls != 1 {
		t.Errorf("store called %d times", st.calls)
	}
}

// TestConcurrentCallbacks posts the same and different callbacks from 64
// goroutines at once: each distinct event is stored exactly once, and every
// acknowledged callback is in the store.
func TestConcurrentCallbacks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv := httptest.NewServer(newHandler(t, db, 0))
		defer srv.Close()
		const (
			workers = 64
			shared  = 8 // events every worker posts
			own     = 3 // events only one worker posts
			perCB   = 2 // entries per callback
		)
		type msg struct {
			event string
			body  []byte
			sig   string
		}
		var sharedMsgs []msg
		for i := 0; i < shared; i++ {
			e := fmt.Sprintf("shared-%d", i)
			b, s := testverifier.Callback(key, e, perCB, "5.01")
			sharedMsgs = append(sharedMsgs, msg{e, b, s})
		}
		var (
			start sync.WaitGroup
			done  sync.WaitGroup
			mu    sync.Mutex
			acked = map[string]int{}
		)
		start.Add(1)
		for w := 0; w < workers; w++ {
			done.Add(1)
			go func(w int) {
				defer done.Done()
				msgs := append([]msg(nil), sharedMsgs...)
				for i := 0; i < own; i++ {
					e := fmt.Sprintf("own-%d-%d", w, i)
					b, s := testverifier.Callback(key, e, perCB, "0.99")
					msgs = append(msgs, msg{e, b, s})
				}
				// Different workers walk the shared events in different orders.
				for i := range msgs {
					j := (i + w) % len(msgs)
					msgs[i], msgs[j] = msgs[j], msgs[i]
				}
				start.Wait()
				for _, m := range msgs {
					got := post(t, srv.URL+"/callbacks/wechat/shop", m.body, m.sig)
					if got.status != 200 {
						t.Errorf("%s: %d %s", m.event, got.status, got.body)
						continue
					}
					mu.Lock()
					acked[m.event]++
					mu.Unlock()
				}
			}(w)
		}
		start.Done()
		done.Wait()

		stored := map[string]int{}
		for _, cb := range callbacks(t, db) {
			if !cb.Accepted {
				t.Errorf("rejected under load: %s", cb.Reason)
			}
			stored[cb.EventID]++
		}
		keys := map[string]int{}
		for _, e := range entries(t, db, "shop") {
			keys[e.EventKey]++
		}
		wantEvents := shared + workers*own
		if len(acked) != wantEvents || len(stored) != wantEvents {
			t.Errorf("%d events acknowledged, %d stored, want %d", len(acked), len(stored), wantEvents)
		}
		for e := range acked {
			if stored[e] != 1 {
				t.Errorf("acknowledged event %s stored %d times", e, stored[e])
			}
			for i := 0; i < perCB; i++ {
				if k := fmt.Sprintf("%s:%d", e, i); keys[k] != 1 {
					t.Errorf("entry %s stored %d times", k, keys[k])
				}
			}
		}
		if len(keys) != wantEvents*perCB {
			t.Errorf("%d ledger entries, want %d", len(keys), wantEvents*perCB)
		}
	})
}

func TestImport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHandler(t, db, 4096)
		good, goodSig := testverifier.Callback(key, "evt-1", 1, "12.30")
		other, otherSig := testverifier.Callback(key, "evt-2", 1, "0.01")
		badYuan, _ := testverifier.Callback(key, "evt-3", 1, "12.345")
		line := func(v any) string {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		hdr := func(sig string) map[string][]string { return map[string][]string{"x-test-signature": {sig}} }
		file := strings.Join([]string{
			line(map[string]any{"headers": hdr(goodSig), "body": string(good), "received_at": "2026-11-20T10:00:01+08:00"}), // 1 accepted
			line(map[string]any{"headers": hdr(goodSig), "body": string(good)}),                                             // 2 duplicate
			"", // 3 blank
			line(map[string]any{"headers": hdr(otherSig), "body_base64": base64.StdEncoding.EncodeToString(other)}), // 4 accepted
			line(map[string]any{"headers": hdr("00"), "body": string(good)}),                                        // 5 rejected: forged
			`{"headers": {"x":["y"]}, "body": "unterminated`,                                                        // 6 malformed JSON
			line(map[string]any{"headers": hdr(goodSig)}),                                                           // 7 no body
			line(map[string]any{"headers": hdr(testverifier.Sign(key, badYuan)), "body": string(badYuan)}),          // 8 rejected: bad yuan
			line(map[string]any{"headers": hdr(goodSig), "body": "x", "bogus": 1}),                                  // 9 unknown field
		}, "\n")
		res, err := h.Import(ctx, "shop", strings.NewReader(file))
		if err == nil {
			t.Fatal("no error for malformed lines")
		}
		for _, want := range []string{"line 6: malformed JSON", "line 7: body (or body_base64) is required", "line 9: malformed JSON"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("import error lacks %q: %v", want, err)
			}
		}
		if res.Accepted != 2 || res.Duplicate != 1 || res.Rejected != 2 || res.Invalid != 3 {
			t.Errorf("counts %+v, want 2 accepted, 1 duplicate, 2 rejected, 3 invalid", res)
		}
		if len(res.Rejection) != 2 || !strings.HasPrefix(res.Rejection[0], "line 5: signature invalid") ||
			!strings.Contains(res.Rejection[1], `line 8: callback body entries[0].amount: invalid amount "12.345"`) {
			t.Errorf("rejections %q", res.Rejection)
		}

		cbs := callbacks(t, db)
		if len(cbs) != 4 {
			t.Fatalf("stored %d callbacks, want 2 accepted + 2 rejected", len(cbs))
		}
		for _, cb := range cbs {
			if cb.Source != "import" || cb.Provider != "wechat" {
				t.Errorf("imported callback source %q provider %q", cb.Source, cb.Provider)
			}
		}
		if want := time.Date(2026, 11, 20, 2, 0, 1, 0, time.UTC); !cbs[0].ReceivedAt.Equal(want) {
			t.Errorf("received_at %v, want %v", cbs[0].ReceivedAt, want)
		}
		es := entries(t, db, "shop")
		if len(es) != 2 || es[0].Source != "import" || es[1].Amount != 1 {
			t.Errorf("imported entries %+v", es)
		}

		// An import of the same file again stores no new accepted callback.
		res, _ = h.Import(ctx, "shop", strings.NewReader(file))
		if res.Accepted != 0 || res.Duplicate != 3 {
			t.Errorf("re-import counts %+v", res)
		}
		if _, err := h.Import(ctx, "ghost", strings.NewReader(file)); !errors.Is(err, intake.ErrUnknownAccount) {
			t.Errorf("unknown account import: %v", err)
		}
	})
}
