package providertest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/intake"
	"github.com/payrecon/payrecon/providers/scenario"
)

// Intake is the real callback receiver (package intake) serving one
// provider account over HTTP on loopback, as `payrecon serve` does: the
// harness every provider's callback tests fire at.
type Intake struct {
	srv      *httptest.Server
	provider string
}

// ServeIntake starts the receiver for account (provider's verifier v) in
// front of st; now may be nil (time.Now). It stops when the test ends.
func ServeIntake(t testing.TB, st payrecon.CallbackStore, logger *slog.Logger, provider, account string, v payrecon.CallbackVerifier, now func() time.Time) *Intake {
	t.Helper()
	srv := httptest.NewServer(intake.New(intake.Config{
		Accounts: map[string]intake.Account{account: {Provider: provider, Verifier: v}},
		Store:    st,
		Logger:   logger,
		Now:      now,
	}))
	t.Cleanup(srv.Close)
	return &Intake{srv: srv, provider: provider}
}

// Fire posts cb to /callbacks/{provider}/{account} (any account name, so
// unknown accounts can be tried) and returns the answer's status and body.
func (in *Intake) Fire(t testing.TB, account string, cb scenario.Callback) (int, []byte) {
	t.Helper()
	status, body, err := scenario.Fire(context.Background(), in.Client(), in.URL(account), cb)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

// URL is the callback URL of account.
func (in *Intake) URL(account string) string {
	return in.srv.URL + "/callbacks/" + in.provider + "/" + account
}

// Client is an HTTP client for the receiver.
func (in *Intake) Client() *http.Client { return in.srv.Client() }
