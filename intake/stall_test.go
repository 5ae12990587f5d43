package intake_test

import (
	"database/sql"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite"

	"github.com/payrecon/payrecon/intake"
	"github.com/payrecon/payrecon/intake/internal/testverifier"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestStalledDatabaseAnswers5xx: while another connection holds what the
// callback's transaction needs (on MySQL an uncommitted row with the same
// event key, so the insert waits on its lock; on SQLite the write lock),
// the callback is answered 500 in the provider's failure format once the
// store timeout passes, before the server's write timeout would cut the
// connection without any answer; /readyz says whether the database answers.
// When the other transaction ends, the provider's retry is accepted.
func TestStalledDatabaseAnswers5xx(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db, driver, dsn := storetest.OpenDSN(t, dialect)

			const storeTimeout, writeTimeout = 500 * time.Millisecond, 5 * time.Second
			h := intake.New(intake.Config{
				Accounts:     map[string]intake.Account{"shop": {Provider: "wechat", Verifier: testverifier.Verifier{Key: key, Provider: "wechat"}}},
				Store:        db,
				Logger:       storetest.Logger(t),
				Now:          func() time.Time { return now },
				StoreTimeout: storeTimeout,
				Ready:        db.Ping,
			})
			srv := httptest.NewUnstartedServer(h)
			srv.Config.WriteTimeout = writeTimeout
			srv.Start()
			defer srv.Close()

			// The staller: another client of the same database.
			rawDriver, rawDSN := driver, dsn
			if driver == store.SQLite {
				rawDSN = "file:" + dsn + "?_pragma=busy_timeout(10000)&_txlock=immediate"
			}
			other, err := sql.Open(rawDriver, rawDSN)
			storetest.Must(t, err)
			defer other.Close()
			tx, err := other.BeginTx(ctx, nil)
			storetest.Must(t, err)
			defer tx.Rollback() //nolint:errcheck
			if driver == store.MySQL {
				_, err = tx.Exec(`INSERT INTO raw_callbacks (account, provider, event_id, accepted_event_key, headers, body, body_sha256, accepted, reason, source)
					VALUES ('shop', 'wechat', 'evt-stall', 'evt-stall', '{}', '', '', 1, '', 'test')`)
			} else {
				_, err = tx.Exec(`INSERT INTO run_locks (account, day, owner, expires_at) VALUES ('x', '2026-11-20', 'staller', 0)`)
			}
			storetest.Must(t, err)

			body, sig := testverifier.Callback(key, "evt-stall", 1, "1.00")
			client := &http.Client{Timeout: 2 * writeTimeout}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/callbacks/wechat/shop", strings.NewReader(string(body)))
			req.Header.Set(testverifier.Header, sig)
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("no answer while the database stalls: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("stalled database answered %d %s, want 500 in the provider's format", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			t.Logf("answered %d after %s (store timeout %s)", resp.StatusCode, time.Since(start).Round(time.Millisecond), storeTimeout)

			if r, err := http.Get(srv.URL + "/readyz"); err != nil || r.StatusCode != 200 {
				t.Errorf("readyz with a reachable database: %v %v", r, err)
			} else {
				r.Body.Close()
			}

			// The lock goes away; the provider retries and is accepted, once.
			storetest.Must(t, tx.Rollback())
			got := post(t, srv.URL+"/callbacks/wechat/shop", body, sig)
			if got.status != 200 {
				t.Fatalf("retry after the stall: %d %s", got.status, got.body)
			}
			if es := entries(t, db, "shop"); len(es) != 1 {
				t.Errorf("ledger after the retry: %d entries", len(es))
			}

			storetest.Must(t, db.Close())
			r, err := http.Get(srv.URL + "/readyz")
			storetest.Must(t, err)
			r.Body.Close()
			if r.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("readyz with the database closed: %d", r.StatusCode)
			}
			if r, err := http.Get(srv.URL + "/healthz"); err != nil || r.StatusCode != 200 {
				t.Errorf("healthz: %v %v", r, err)
			} else {
				r.Body.Close()
			}
		})
	}
}
