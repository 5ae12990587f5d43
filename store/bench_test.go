package store_test

import (
	"fmt"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store/storetest"
)

// BenchmarkStoreCallback measures one accepted callback with two ledger
// entries, one transaction each (the intake's unit of work), serially and
// with parallel writers.
func BenchmarkStoreCallback(b *testing.B) {
	for _, d := range storetest.Dialects {
		for _, parallel := range []bool{false, true} {
			name := d
			if parallel {
				name += "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				db := storetest.Open(b, d)
				var n int64
				store := func(i int64) {
					id := fmt.Sprintf("bench-%d", i)
					entries := []payrecon.LedgerEntry{fullEntry("acct", id+":0"), fullEntry("acct", id+":1")}
					if dup, err := db.StoreCallback(ctx, callback("acct", id, true), entries); err != nil || dup {
						b.Errorf("store %s: dup=%v err=%v", id, dup, err)
					}
				}
				b.ResetTimer()
				if !parallel {
					for i := 0; i < b.N; i++ {
						store(int64(i))
					}
					return
				}
				var mu = make(chan struct{}, 1)
				b.SetParallelism(4)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						mu <- struct{}{}
						n++
						i := n
						<-mu
						store(i)
					}
				})
			})
		}
	}
}
