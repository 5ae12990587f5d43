package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

var ctx = context.Background()

// fullEntry has every field set, with values chosen to catch lossy storage:
// a Shanghai time with nanoseconds, an amount past float64's exact range,
// Chinese text.
func fullEntry(account, key string) payrecon.LedgerEntry {
	return payrecon.LedgerEntry{
		Account: account, Provider: "huawei", EventKey: key,
		Kind: payrecon.KindRefund, Status: payrecon.StatusSuccess,
		MerchantOrderNo: "M-订单-1", ProviderTxnNo: "T1", MerchantRefundNo: "MR1", ProviderRefundNo: "PR1",
		AgreementNo: "A1", MerchantAgreeNo: "MA1", PlanID: "P1",
		Amount: 9_007_199_254_740_993, PayerAmount: 123, PromotionAmount: -7, Currency: "CNY",
		OccurredAt: time.Date(2026, 11, 20, 23, 59, 59, 123456789, payrecon.Shanghai),
		ReceivedAt: time.Date(2026, 11, 21, 0, 0, 1, 999, time.UTC),
		Source:     "callback",
	}
}

func callback(account, eventID string, accepted bool) *payrecon.RawCallback {
	cb := &payrecon.RawCallback{
		Account: account, Provider: "huawei", EventID: eventID,
		ReceivedAt: time.Date(2026, 11, 21, 8, 0, 0, 5000, payrecon.Shanghai),
		Header:     http.Header{"Content-Type": {"application/json"}, "X-Sign": {"a", "b"}},
		Body:       []byte(`{"id":"` + eventID + `","bin":"\u0000"}` + "\x00\xff"),
		Accepted:   accepted, Source: "http",
	}
	if !accepted {
		cb.Reason = "signature invalid: bad sign"
	}
	return cb
}

func allEntries(t *testing.T, db *store.DB, account string) []payrecon.LedgerEntry {
	t.Helper()
	var out []payrecon.LedgerEntry
	err := db.LedgerEntries(ctx, account, time.Unix(0, 0), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), func(e payrecon.LedgerEntry) error {
		out = append(out, e)
		return nil
	})
	storetest.Must(t, err)
	return out
}

func allCallbacks(t *testing.T, db *store.DB, account string) []payrecon.RawCallback {
	t.Helper()
	var out []payrecon.RawCallback
	storetest.Must(t, db.Callbacks(ctx, account, func(cb payrecon.RawCallback) error {
		out = append(out, cb)
		return nil
	}))
	return out
}

// wantStored is what a round trip must give back: UTC, microseconds.
func wantStored(e payrecon.LedgerEntry) payrecon.LedgerEntry {
	e.OccurredAt = e.OccurredAt.UTC().Truncate(time.Microsecond)
	e.ReceivedAt = e.ReceivedAt.UTC().Truncate(time.Microsecond)
	return e
}

func TestMigrate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		cb := callback("acct", "e1", true)
		dup, err := db.StoreCallback(ctx, cb, []payrecon.LedgerEntry{fullEntry("acct", "k1")})
		storetest.Must(t, err)
		if dup {
			t.Fatal("first callback reported duplicate")
		}
		for i := 0; i < 2; i++ {
			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("migrate again (%d): %v", i, err)
			}
		}
		if got := allEntries(t, db, "acct"); len(got) != 1 {
			t.Fatalf("entries after re-migrate: %d, want 1", len(got))
		}
		if db.Dialect() != t.Name()[strings.LastIndex(t.Name(), "/")+1:] {
			t.Fatalf("dialect %q in subtest %s", db.Dialect(), t.Name())
		}
	})
}

func TestCallbackRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		in := fullEntry("acct", "payment:T1:success")
		empty := payrecon.LedgerEntry{Account: "acct", Provider: "huawei", EventKey: "empty", Kind: payrecon.KindPayment, Status: payrecon.StatusFailed}
		entries := []payrecon.LedgerEntry{in, empty}
		cb := callback("acct", "evt-1", true)
		dup, err := db.StoreCallback(ctx, cb, entries)
		storetest.Must(t, err)
		if dup || cb.ID == 0 || entries[0].ID == 0 || entries[1].ID == 0 {
			t.Fatalf("dup=%v cb.ID=%d entry ids %d %d", dup, cb.ID, entries[0].ID, entries[1].ID)
		}

		got, err := db.LedgerEntry(ctx, entries[0].ID)
		storetest.Must(t, err)
		want := wantStored(in)
		want.ID, want.CallbackID = entries[0].ID, cb.ID
		if !reflect.DeepEqual(got, want) {
			t.Errorf("entry round trip:\n got %+v\nwant %+v", got, want)
		}
		if got.OccurredAt.Location() != time.UTC {
			t.Errorf("occurred_at location %v, want UTC", got.OccurredAt.Location())
		}

		// Zero times and empty strings come back as such; ReceivedAt and
		// Source default from the callback.
		got, err = db.LedgerEntry(ctx, entries[1].ID)
		storetest.Must(t, err)
		want = empty
		want.ID, want.CallbackID, want.Source = entries[1].ID, cb.ID, "callback"
		want.ReceivedAt = cb.ReceivedAt.UTC().Truncate(time.Microsecond)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("empty entry round trip:\n got %+v\nwant %+v", got, want)
		}

		raw, err := db.Callback(ctx, cb.ID)
		storetest.Must(t, err)
		wantCB := *cb
		wantCB.ReceivedAt = cb.ReceivedAt.UTC().Truncate(time.Microsecond)
		if !reflect.DeepEqual(raw, wantCB) {
			t.Errorf("callback round trip:\n got %+v\nwant %+v", raw, wantCB)
		}
		if len(raw.BodySHA256) != 64 {
			t.Errorf("body sha256 %q", raw.BodySHA256)
		}

		if _, err := db.LedgerEntry(ctx, 1<<40); !errors.Is(err, payrecon.ErrNotFound) {
			t.Errorf("missing entry: err %v, want ErrNotFound", err)
		}
		if _, err := db.Callback(ctx, 1<<40); !errors.Is(err, payrecon.ErrNotFound) {
			t.Errorf("missing callback: err %v, want ErrNotFound", err)
		}
	})
}

func TestCallbackDedupe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		first := callback("acct", "evt-1", true)
		_, err := db.StoreCallback(ctx, first, []payrecon.LedgerEntry{fullEntry("acct", "k1")})
		storetest.Must(t, err)

		t.Run("same event id", func(t *testing.T) {
			again := callback("acct", "evt-1", true)
			dup, err := db.StoreCallback(ctx, again, []payrecon.LedgerEntry{fullEntry("acct", "k-new")})
			storetest.Must(t, err)
			if !dup {
				t.Fatal("same event id: not reported duplicate")
			}
			if again.ID != first.ID {
				t.Errorf("duplicate's ID %d, want stored %d", again.ID, first.ID)
			}
			if _, err := db.LedgerEntryByKey(ctx, "acct", "k-new"); !errors.Is(err, payrecon.ErrNotFound) {
				t.Errorf("duplicate callback's entry was stored: %v", err)
			}
		})
		t.Run("same event key, new event id", func(t *testing.T) {
			dup, err := db.StoreCallback(ctx, callback("acct", "evt-2", true), []payrecon.LedgerEntry{fullEntry("acct", "k1")})
			storetest.Must(t, err)
			if !dup {
				t.Fatal("same event key: not reported duplicate")
			}
		})
		t.Run("same event id on another account", func(t *testing.T) {
			dup, err := db.StoreCallback(ctx, callback("other", "evt-1", true), []payrecon.LedgerEntry{fullEntry("other", "k1")})
			storetest.Must(t, err)
			if dup {
				t.Fatal("another account's event reported duplicate")
			}
		})
		t.Run("partly new", func(t *testing.T) {
			entries := []payrecon.LedgerEntry{fullEntry("acct", "k1"), fullEntry("acct", "k2")}
			dup, err := db.StoreCallback(ctx, callback("acct", "evt-3", true), entries)
			storetest.Must(t, err)
			if dup || entries[0].ID != 0 || entries[1].ID == 0 {
				t.Fatalf("dup=%v ids %d %d: want the new entry only", dup, entries[0].ID, entries[1].ID)
			}
		})
		t.Run("accepted without entries or event id", func(t *testing.T) {
			for i := 0; i < 2; i++ {
				cb := callback("acct", "", true)
				dup, err := db.StoreCallback(ctx, cb, nil)
				storetest.Must(t, err)
				if dup || cb.ID == 0 {
					t.Fatalf("dup=%v id=%d", dup, cb.ID)
				}
			}
		})

		keys := map[string]int{}
		for _, e := range allEntries(t, db, "acct") {
			keys[e.EventKey]++
		}
		if !reflect.DeepEqual(keys, map[string]int{"k1": 1, "k2": 1}) {
			t.Errorf("ledger keys %v, want k1 and k2 once", keys)
		}
		var ids []string
		for _, cb := range allCallbacks(t, db, "acct") {
			ids = append(ids, cb.EventID)
		}
		if got, want := strings.Join(ids, ","), "evt-1,evt-3,,"; got != want {
			t.Errorf("stored callbacks %q, want %q", got, want)
		}
	})
}

func TestRejectedCallback(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for i := 0; i < 2; i++ { // rejected callbacks are kept every time
			cb := callback("acct", "evt-1", false)
			dup, err := db.StoreCallback(ctx, cb, []payrecon.LedgerEntry{fullEntry("acct", "k1")})
			storetest.Must(t, err)
			if dup || cb.ID == 0 {
				t.Fatalf("rejected: dup=%v id=%d", dup, cb.ID)
			}
		}
		if got := allEntries(t, db, "acct"); len(got) != 0 {
			t.Fatalf("rejected callbacks produced %d entries", len(got))
		}
		cbs := allCallbacks(t, db, "acct")
		if len(cbs) != 2 || cbs[0].Accepted || cbs[0].Reason != "signature invalid: bad sign" {
			t.Fatalf("stored rejected callbacks: %+v", cbs)
		}
		// A rejected copy does not block the genuine one.
		cb := callback("acct", "evt-1", true)
		dup, err := db.StoreCallback(ctx, cb, []payrecon.LedgerEntry{fullEntry("acct", "k1")})
		storetest.Must(t, err)
		if dup {
			t.Fatal("accepted callback after rejected copies reported duplicate")
		}
	})
}

func TestLedgerEntriesStream(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		day := payrecon.MustDay("2026-11-20")
		// Inserted out of time order: the stream is ordered by id.
		offsets := []time.Duration{5 * time.Hour, -time.Microsecond, 0, 24*time.Hour - time.Microsecond, 24 * time.Hour, time.Hour}
		var inDay []string
		for i, off := range offsets {
			e := fullEntry("acct", fmt.Sprintf("k%d", i))
			e.OccurredAt = day.Start().Add(off)
			_, err := db.StoreCallback(ctx, callback("acct", fmt.Sprintf("e%d", i), true), []payrecon.LedgerEntry{e})
			storetest.Must(t, err)
			if off >= 0 && off < 24*time.Hour {
				inDay = append(inDay, e.EventKey)
			}
		}
		other := fullEntry("other", "k0")
		other.OccurredAt = day.Start()
		_, err := db.AddLedgerEntry(ctx, other)
		storetest.Must(t, err)

		var got []string
		var lastID int64
		storetest.Must(t, db.LedgerEntries(ctx, "acct", day.Start(), day.End(), func(e payrecon.LedgerEntry) error {
			if e.ID <= lastID {
				t.Errorf("id %d after %d: not ordered by id", e.ID, lastID)
			}
			lastID = e.ID
			got = append(got, e.EventKey)
			return nil
		}))
		if !reflect.DeepEqual(got, inDay) {
			t.Errorf("day entries %v, want %v", got, inDay)
		}

		stop := errors.New("stop")
		n := 0
		err = db.LedgerEntries(ctx, "acct", day.Start(), day.End(), func(payrecon.LedgerEntry) error {
			n++
			return stop
		})
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("stop: err=%v after %d entries, want stop after 1", err, n)
		}
	})
}

func TestLedgerWriter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 11, 22, 3, 4, 5, 6000, time.UTC)
		db.Now = func() time.Time { return now }
		e := fullEntry("acct", "backfill:T9")
		e.Source, e.ReceivedAt = "", time.Time{}
		dup, err := db.AddLedgerEntry(ctx, e)
		storetest.Must(t, err)
		if dup {
			t.Fatal("first add reported duplicate")
		}
		dup, err = db.AddLedgerEntry(ctx, e)
		storetest.Must(t, err)
		if !dup {
			t.Fatal("second add not reported duplicate")
		}
		got, err := db.LedgerEntryByKey(ctx, "acct", "backfill:T9")
		storetest.Must(t, err)
		if got.Source != "repair" || !got.ReceivedAt.Equal(now) || got.CallbackID != 0 {
			t.Errorf("repair entry: source %q received %v callback %d", got.Source, got.ReceivedAt, got.CallbackID)
		}

		storetest.Must(t, db.SetLedgerStatus(ctx, got.ID, payrecon.StatusClosed, "alice", "provider says closed"))
		storetest.Must(t, db.SetLedgerStatus(ctx, got.ID, payrecon.StatusClosed, "bob", "again")) // no-op
		after, err := db.LedgerEntry(ctx, got.ID)
		storetest.Must(t, err)
		if after.Status != payrecon.StatusClosed {
			t.Errorf("status %q, want closed", after.Status)
		}
		hist, err := db.LedgerHistory(ctx, got.ID)
		storetest.Must(t, err)
		if len(hist) != 2 {
			t.Fatalf("history %+v, want add + one change", hist)
		}
		if h := hist[1]; h.OldStatus != payrecon.StatusSuccess || h.NewStatus != payrecon.StatusClosed ||
			h.Actor != "alice" || h.Reason != "provider says closed" || !h.ChangedAt.Equal(now) {
			t.Errorf("history row %+v", h)
		}
		if hist[0].OldStatus != "" || hist[0].Actor != "repair" {
			t.Errorf("add history row %+v", hist[0])
		}
		if err := db.SetLedgerStatus(ctx, 1<<40, payrecon.StatusClosed, "x", ""); !errors.Is(err, payrecon.ErrNotFound) {
			t.Errorf("missing entry: %v, want ErrNotFound", err)
		}
	})
}

func TestBillFiles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		day := payrecon.MustDay("2026-11-20")
		f := payrecon.BillFile{Account: "acct", Day: day, Kind: payrecon.BillTrade, Name: "trade.csv",
			SHA256: strings.Repeat("ab", 32), Lines: 42, SummaryCount: 42, SummaryAmount: 1234567, SummaryRefund: 100, SummaryFee: -3, HasSummary: true}
		at := time.Date(2026, 11, 21, 2, 30, 0, 0, time.UTC)
		seen, err := db.RecordBillFile(ctx, f, at)
		storetest.Must(t, err)
		if seen {
			t.Fatal("first record reported seen")
		}
		seen, err = db.RecordBillFile(ctx, f, at.Add(time.Hour))
		storetest.Must(t, err)
		if !seen {
			t.Fatal("same content not reported seen")
		}
		g := f
		g.SHA256, g.HasSummary, g.Lines = strings.Repeat("cd", 32), false, 0
		_, err = db.RecordBillFile(ctx, g, at.Add(2*time.Hour))
		storetest.Must(t, err)

		files, err := db.BillFiles(ctx, "acct", day)
		storetest.Must(t, err)
		if len(files) != 2 {
			t.Fatalf("%d files, want 2", len(files))
		}
		if !reflect.DeepEqual(files[0].BillFile, f) || !files[0].FetchedAt.Equal(at) {
			t.Errorf("bill file round trip:\n got %+v\nwant %+v at %v", files[0], f, at)
		}
		if !reflect.DeepEqual(files[1].BillFile, g) {
			t.Errorf("second file %+v", files[1])
		}
		if other, err := db.BillFiles(ctx, "acct", day.Add(1)); err != nil || len(other) != 0 {
			t.Errorf("next day: %v %v", other, err)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct{ driver, dsn, want string }{
		{"postgres", "x", "must be sqlite or mysql"},
		{"sqlite", "", "empty"},
		{"mysql", "root@tcp(127.0.0.1:1)/x", "parseTime=true is required"},
		{"mysql", "root@tcp(127.0.0.1:1)/x?parseTime=true&loc=Asia%2FShanghai", "loc must be UTC"},
	} {
		_, err := store.Open(ctx, tc.driver, tc.dsn, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q, %q) = %v, want error containing %q", tc.driver, tc.dsn, err, tc.want)
		}
	}
}

// On MySQL every DDL statement commits at once: a migration interrupted
// after its ALTERs but before its version was recorded must apply cleanly
// when the next process starts (the changes found already made are
// skipped), and leave the schema whole.
func TestMigrateAfterInterruptedDDL(t *testing.T) {
	db, driver, dsn := storetest.OpenDSN(t, store.MySQL)
	raw, err := sql.Open(driver, dsn)
	storetest.Must(t, err)
	defer raw.Close()
	// As if 0003–0005 ran their DDL and the process died before recording them.
	if _, err := raw.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version >= '0003'`); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate after an interrupted one: %v", err)
	}
	var n int
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version >= '0003'`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("recorded versions from 0003: %d (%v), want 3", n, err)
	}
	// The schema works: a callback with its body length, a run item with bill files.
	cb := callback("acct", "e1", true)
	if _, err := db.StoreCallback(ctx, cb, []payrecon.LedgerEntry{fullEntry("acct", "k1")}); err != nil {
		t.Fatal(err)
	}
}
