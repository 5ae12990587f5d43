package store_test

import (
	"testing"

	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

func TestCountLedgerEntries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		count := func(account string) int64 {
			n, err := db.CountLedgerEntries(ctx, account)
			storetest.Must(t, err)
			return n
		}
		if n := count("a"); n != 0 {
			t.Fatalf("empty store counts %d", n)
		}
		for _, e := range []struct{ account, key string }{{"a", "k1"}, {"a", "k2"}, {"b", "k1"}} {
			if _, err := db.AddLedgerEntry(ctx, fullEntry(e.account, e.key)); err != nil {
				t.Fatal(err)
			}
		}
		if a, b, c := count("a"), count("b"), count("c"); a != 2 || b != 1 || c != 0 {
			t.Errorf("counts a=%d b=%d c=%d, want 2 1 0", a, b, c)
		}
	})
}
