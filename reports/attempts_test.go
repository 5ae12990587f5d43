package reports_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reports"
)

// TestAttemptsWithoutARun: a run followed by a refused attempt, and a day
// that has only an attempt, show in the workbook's summary (a block of
// their own, with the lease holder) and in the JSON (last_attempt); a
// report without attempts has no such block.
func TestAttemptsWithoutARun(t *testing.T) {
	fx := newFixture()
	if strings.Contains(dump(t, mustBook(t, fx.source())), "Attempts without a run") {
		t.Error("attempts block without attempts")
	}
	at := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	fx.runs[0].LastAttempt = payrecon.RunAttempt{Account: fx.runs[0].Account, Day: fx.runs[0].Day, At: at, Outcome: payrecon.AttemptRefused,
		Owner: "host-b:42:cafe", Holder: "host-a:7:dead", HolderExpires: at.Add(40 * time.Second), Reason: "held by host-a:7:dead"}
	fx.runs = append(fx.runs, payrecon.Run{Account: "ghost_day", Day: fx.runs[0].Day, State: payrecon.RunNotReady,
		LastAttempt: payrecon.RunAttempt{At: at, Outcome: payrecon.AttemptNotReady, Owner: "host-b:42:beef"}})
	text := dump(t, mustBook(t, fx.source()))
	for _, want := range []string{`"Attempts without a run"`, `"Refused (lease held)" | "host-b:42:cafe" | "host-a:7:dead" | "2026-11-21 11:00:40"`,
		`"ghost_day"`, `"Bill not ready" | "host-b:42:beef"`} {
		if !strings.Contains(text, want) {
			t.Errorf("workbook lacks %s:\n%s", want, text)
		}
	}
	var js bytes.Buffer
	if err := reports.WriteJSON(&js, fx.source(), reports.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"last_attempt":{"at":"2026-11-21T11:00:00+08:00","outcome":"refused","owner":"host-b:42:cafe","holder":"host-a:7:dead","holder_expires_at":"2026-11-21T11:00:40+08:00"}`,
		`"state":"not_ready"`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
	if strings.Contains(js.String(), "held by") {
		t.Error("the attempt's free-text reason reached the JSON")
	}
}

func mustBook(t *testing.T, src reports.Source) []byte {
	t.Helper()
	return writeXLSX(t, src, reports.Options{Lang: "en"})
}
