package intake_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/intake"
	"github.com/payrecon/payrecon/intake/internal/testverifier"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestRejectFloodIsBounded: 1,000 forged callbacks with 64 KiB bodies from
// one remote, interleaved with authentic ones. Every forged one is answered
// with the provider's failure; at most the remote's burst of them is
// stored (the test clock stands still, so the bucket never refills), each
// with a 4 KiB body prefix, the SHA-256 and the length of the whole body;
// every authentic one is accepted and stored whole.
func TestRejectFloodIsBounded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const burst = 20
		h := intake.New(intake.Config{
			Accounts:    map[string]intake.Account{"shop": {Provider: "wechat", Verifier: testverifier.Verifier{Key: key, Provider: "wechat"}}},
			Store:       db,
			Logger:      storetest.Logger(t),
			Now:         func() time.Time { return now },
			RejectRate:  1,
			RejectBurst: burst,
		})
		srv := httptest.NewServer(h)
		defer srv.Close()
		url := srv.URL + "/callbacks/wechat/shop"

		forged := bytes.Repeat([]byte("x"), 64<<10)
		forgedSum := sha256.Sum256(forged)
		var accepted [][]byte
		for i := 0; i < 1000; i++ {
			if got := post(t, url, forged, "00"+strings.Repeat("ab", 31)); got.status != 400 || !strings.Contains(got.body, `"FAIL"`) {
				t.Fatalf("forged %d: %d %s", i, got.status, got.body)
			}
			if i%20 == 0 {
				body, sig := testverifier.Callback(key, fmt.Sprintf("evt-%d", i), 40, "1.00") // > 4 KiB
				if got := post(t, url, body, sig); got.status != 200 {
					t.Fatalf("authentic %d: %d %s", i, got.status, got.body)
				}
				accepted = append(accepted, body)
			}
		}
		var rejected, acc []payrecon.RawCallback
		for _, cb := range callbacks(t, db) {
			if cb.Accepted {
				acc = append(acc, cb)
			} else {
				rejected = append(rejected, cb)
			}
		}
		if len(rejected) != burst {
			t.Errorf("%d rejected callbacks stored, want the burst of %d", len(rejected), burst)
		}
		for _, cb := range rejected {
			hdr, _ := json.Marshal(cb.Header)
			if len(cb.Body) != intake.DefaultRejectBodyBytes || cb.BodyLength != int64(len(forged)) ||
				cb.BodySHA256 != hex.EncodeToString(forgedSum[:]) || !bytes.Equal(cb.Body, forged[:len(cb.Body)]) {
				t.Errorf("rejected %d: body %d bytes, length %d, sha %s", cb.ID, len(cb.Body), cb.BodyLength, cb.BodySHA256)
			}
			if n := len(cb.Body) + len(hdr) + len(cb.Reason); n > 5<<10 {
				t.Errorf("rejected %d stores %d bytes", cb.ID, n)
			}
		}
		if st := h.Stats(); st.RejectsNotStored != 1000-burst {
			t.Errorf("stats %+v: want %d rejects not stored", st, 1000-burst)
		}
		if len(acc) != len(accepted) {
			t.Fatalf("%d accepted stored, want %d", len(acc), len(accepted))
		}
		for i, cb := range acc {
			if !bytes.Equal(cb.Body, accepted[i]) || (cb.BodyLength != 0 && cb.BodyLength != int64(len(accepted[i]))) {
				t.Errorf("accepted %d: body %d bytes (length %d), want the whole %d", i, len(cb.Body), cb.BodyLength, len(accepted[i]))
			}
		}
		if es := entries(t, db, "shop"); len(es) != 40*len(accepted) {
			t.Errorf("ledger has %d entries, want %d", len(es), 40*len(accepted))
		}
	})
}

// TestUnknownAccountsAreCountedAndRationed: callbacks for accounts nobody
// configured are all answered 404 and counted; only the unknown-account
// burst of them is stored.
func TestUnknownAccountsAreCountedAndRationed(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	h := intake.New(intake.Config{
		Accounts:            map[string]intake.Account{"shop": {Provider: "wechat", Verifier: testverifier.Verifier{Key: key, Provider: "wechat"}}},
		Store:               db,
		Logger:              storetest.Logger(t),
		Now:                 func() time.Time { return now },
		UnknownAccountRate:  1,
		UnknownAccountBurst: 3,
		RejectRate:          -1, // only the unknown-account limit here
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	for i := 0; i < 100; i++ {
		if got := post(t, fmt.Sprintf("%s/callbacks/wechat/ghost%d", srv.URL, i), []byte("{}"), ""); got.status != 404 {
			t.Fatalf("unknown account: %d", got.status)
		}
	}
	if n := len(callbacks(t, db)); n != 3 {
		t.Errorf("%d unknown-account callbacks stored, want 3", n)
	}
	if st := h.Stats(); st.UnknownAccount != 100 || st.RejectsNotStored != 97 {
		t.Errorf("stats %+v", st)
	}
	// A known account's forged callback is still stored (its own limit).
	if got := post(t, srv.URL+"/callbacks/wechat/shop", []byte("{}"), ""); got.status != 400 {
		t.Errorf("forged: %d", got.status)
	}
	if n := len(callbacks(t, db)); n != 4 {
		t.Errorf("%d callbacks stored, want 4", n)
	}
}

// idVerifier rejects every callback after reading its event id, saying so
// either way a verifier may.
type idVerifier struct{ alongside bool }

func (v idVerifier) VerifyCallback(req payrecon.CallbackRequest) (payrecon.VerifiedCallback, error) {
	var b struct {
		ID string `json:"event_id"`
	}
	_ = json.Unmarshal(req.Body, &b)
	err := fmt.Errorf("%w: tampered", payrecon.ErrSignatureInvalid)
	if v.alongside {
		return payrecon.VerifiedCallback{EventID: b.ID}, err
	}
	return payrecon.VerifiedCallback{}, payrecon.WithEventID(b.ID, err)
}

func (idVerifier) Reply(err error) payrecon.CallbackReply {
	return testverifier.Verifier{}.Reply(err)
}

// TestRejectedKeepsEventID: the event id a verifier read from a callback
// it rejected is stored with the rejected row, however the verifier says
// it, and so is the id of an authentic callback intake itself refuses.
func TestRejectedKeepsEventID(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	h := intake.New(intake.Config{
		Accounts: map[string]intake.Account{
			"shop": {Provider: "wechat", Verifier: testverifier.Verifier{Key: key, Provider: "wechat"}},
			"a":    {Provider: "alipay", Verifier: idVerifier{alongside: true}},
			"b":    {Provider: "alipay", Verifier: idVerifier{}},
		},
		Store: db, Logger: storetest.Logger(t), Now: func() time.Time { return now },
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	post(t, srv.URL+"/callbacks/alipay/a", []byte(`{"event_id":"real-1"}`), "")
	post(t, srv.URL+"/callbacks/alipay/b", []byte(`{"event_id":"real-2"}`), "")
	// Authentic, but its entry has no event key: refused by intake.
	noKey := []byte(`{"event_id":"real-3","entries":[{"key":"","kind":"payment","status":"success","amount":"1.00","occurred_at":"2026-11-20T10:00:00+08:00"}]}`)
	post(t, srv.URL+"/callbacks/wechat/shop", noKey, testverifier.Sign(key, noKey))
	var ids []string
	for _, cb := range callbacks(t, db) {
		if cb.Accepted {
			t.Errorf("accepted %+v", cb)
		}
		ids = append(ids, cb.EventID)
	}
	if strings.Join(ids, ",") != "real-1,real-2,real-3" {
		t.Errorf("rejected rows' event ids: %q", ids)
	}
	if !errors.Is(payrecon.WithEventID("x", payrecon.ErrSignatureInvalid), payrecon.ErrSignatureInvalid) || payrecon.WithEventID("x", nil) != nil {
		t.Error("WithEventID does not wrap transparently")
	}
}

// TestTimedOutBodyIsStored: a client that stops sending its body half way
// hits the read timeout; the part that arrived is stored as rejected
// although the request is over.
func TestTimedOutBodyIsStored(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	srv := httptest.NewUnstartedServer(newHandler(t, db, 0))
	srv.Config.ReadTimeout = 300 * time.Millisecond
	srv.Start()
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	storetest.Must(t, err)
	defer conn.Close()
	part := `{"event_id":"slow-1","entries":[`
	fmt.Fprintf(conn, "POST /callbacks/wechat/shop HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n%s", part)
	// Wait for the server to give up (it answers or closes).
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err == nil {
		resp.Body.Close()
	}
	var got []payrecon.RawCallback
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = callbacks(t, db); len(got) > 0 {
			break
		}
	}
	if len(got) != 1 || got[0].Accepted || !strings.Contains(got[0].Reason, "read body") || string(got[0].Body) != part {
		t.Fatalf("stored %+v, want the timed-out part as rejected", got)
	}
}

// TestBodiesInFlightAreBudgeted: while slow clients hold the budget of
// body bytes in flight, a further callback is answered 503 unread (the
// provider retries); once they finish, callbacks go through again.
func TestBodiesInFlightAreBudgeted(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	h := intake.New(intake.Config{
		Accounts: map[string]intake.Account{"shop": {Provider: "wechat", Verifier: testverifier.Verifier{Key: key, Provider: "wechat"}}},
		Store:    db, Logger: storetest.Logger(t), Now: func() time.Time { return now },
		MaxBodyBytesInFlight: 64 << 10,
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	slow, err := net.Dial("tcp", srv.Listener.Addr().String())
	storetest.Must(t, err)
	defer slow.Close()
	fmt.Fprintf(slow, "POST /callbacks/wechat/shop HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n%s", strings.Repeat("x", 50000))
	// Wait until the server is reading it: its body holds the budget.
	for deadline := time.Now().Add(10 * time.Second); h.Stats().BodyBytesInFlight < 50000 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
	}
	if n := h.Stats().BodyBytesInFlight; n < 50000 {
		t.Fatalf("the slow body holds %d bytes of the budget", n)
	}

	// Probes of ~8 KiB do not fit beside the slow one once its body is in
	// flight; each has its own event id, so one that got in before the slow
	// request was read is not a duplicate that answers 200 for ever after.
	probe := 0
	postProbe := func() response {
		probe++
		body, sig := testverifier.Callback(key, fmt.Sprintf("evt-busy-%d", probe), 40, "1.00")
		return post(t, srv.URL+"/callbacks/wechat/shop", body, sig)
	}
	var got response
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = postProbe(); got.status == http.StatusServiceUnavailable {
			break
		}
	}
	if got.status != http.StatusServiceUnavailable {
		t.Fatalf("with the budget held: %d %s, want 503", got.status, got.body)
	}
	stored := len(callbacks(t, db)) // probes answered before the budget was held
	if got := postProbe(); got.status != http.StatusServiceUnavailable {
		t.Errorf("still busy: %d %s, want 503", got.status, got.body)
	}
	if n := len(callbacks(t, db)); n != stored {
		t.Errorf("%d callbacks stored while busy", n-stored)
	}
	// The slow client finishes; its (forged) body is rejected, the budget freed.
	fmt.Fprint(slow, strings.Repeat("x", 10000))
	resp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	storetest.Must(t, err)
	resp.Body.Close()
	if got := postProbe(); got.status != 200 {
		t.Errorf("after the slow client: %d %s", got.status, got.body)
	}
	if st := h.Stats(); st.RejectsNotStored < 1 {
		t.Errorf("stats %+v", st)
	}
}
