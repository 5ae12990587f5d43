package store_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

func TestAddLedgerBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		at := time.Date(2026, 11, 20, 10, 0, 0, 0, payrecon.Shanghai)
		pay := payrecon.LedgerEntry{Account: "wx", Provider: "wechat", Source: payrecon.SourceMinCloud, EventKey: "mincloud:payment:O1:success",
			Kind: payrecon.KindPayment, Status: payrecon.StatusSuccess, MerchantOrderNo: "O1", Amount: 5000, Currency: "CNY", OccurredAt: at}
		cum := func(amount int64, at time.Time) payrecon.LedgerEntry {
			return payrecon.LedgerEntry{Account: "wx", Provider: "wechat", Source: payrecon.SourceMinCloud,
				EventKey: "mincloud:refund:O1:" + payrecon.FormatYuan(amount), Kind: payrecon.KindRefund, Status: payrecon.StatusSuccess,
				MerchantOrderNo: "O1", MerchantRefundNo: "O1", Amount: amount, Currency: "CNY", OccurredAt: at}
		}
		// Cumulative 10.00 then 25.00: increments 10.00 and 15.00.
		n, err := db.AddLedgerBatch(ctx, "wx", []payrecon.LedgerEntry{pay, cum(1000, at.Add(time.Hour)), cum(2500, at.Add(2*time.Hour))})
		storetest.Must(t, err)
		if n != 3 {
			t.Fatalf("added %d, want 3", n)
		}
		// The same pull again, and an older state seen late: nothing.
		n, err = db.AddLedgerBatch(ctx, "wx", []payrecon.LedgerEntry{pay, cum(2500, at.Add(2*time.Hour)), cum(1000, at.Add(time.Hour)), cum(1800, at.Add(90*time.Minute))})
		storetest.Must(t, err)
		if n != 0 {
			t.Fatalf("second pull added %d", n)
		}
		var refunds []int64
		storetest.Must(t, db.LedgerEntries(ctx, "wx", at.Add(-time.Hour), at.Add(24*time.Hour), func(e payrecon.LedgerEntry) error {
			if e.Kind == payrecon.KindRefund {
				refunds = append(refunds, e.Amount)
			}
			if e.Source != payrecon.SourceMinCloud || e.ReceivedAt.IsZero() {
				t.Errorf("entry %s: source %q received %v", e.EventKey, e.Source, e.ReceivedAt)
			}
			return nil
		}))
		if len(refunds) != 2 || refunds[0] != 1000 || refunds[1] != 1500 {
			t.Errorf("refund increments %v, want [1000 1500]", refunds)
		}
		// A batch with a bad entry writes nothing.
		bad := pay
		bad.EventKey, bad.MerchantOrderNo = "mincloud:payment:O2:success", "O2"
		worse := bad
		worse.EventKey, worse.Account = "mincloud:payment:O3:success", "other"
		if _, err := db.AddLedgerBatch(ctx, "wx", []payrecon.LedgerEntry{bad, worse}); err == nil || !strings.Contains(err.Error(), `names account "other"`) {
			t.Fatalf("mixed accounts: %v", err)
		}
		if _, err := db.LedgerEntryByKey(ctx, "wx", bad.EventKey); err == nil {
			t.Errorf("half a failed batch was written")
		}
	})
}

func TestAcceptedCallbacks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		at := time.Date(2026, 11, 20, 10, 0, 0, 0, payrecon.Shanghai)
		for i, c := range []struct {
			account  string
			accepted bool
			at       time.Time
		}{{"mc", true, at}, {"mc", false, at}, {"other", true, at}, {"mc", true, at.Add(48 * time.Hour)}, {"mc", true, at.Add(time.Minute)}} {
			cb := &payrecon.RawCallback{Account: c.account, Provider: "baas", EventID: "e" + string(rune('a'+i)), ReceivedAt: c.at,
				Header: http.Header{}, Body: []byte(`{}`), Accepted: c.accepted, Source: "http"}
			if !c.accepted {
				cb.Reason = "forged"
			}
			_, err := db.StoreCallback(ctx, cb, nil)
			storetest.Must(t, err)
		}
		var got []string
		storetest.Must(t, db.AcceptedCallbacks(ctx, "mc", at.Add(-time.Hour), at.Add(24*time.Hour), func(cb payrecon.RawCallback) error {
			got = append(got, cb.EventID)
			return nil
		}))
		if strings.Join(got, ",") != "ea,ee" {
			t.Errorf("accepted callbacks %v, want [ea ee]", got)
		}
	})
}
