package jobs

import (
	"context"
	"fmt"

	"github.com/payrecon/payrecon"
)

// PullResult counts one pull.
type PullResult struct {
	Pulled int // entries the source yielded for the day
	Added  int // entries written (the rest were already in the ledger)
}

// PullLedger pulls the entries of day from src for account, checks every
// one with check (the account's payrecon.Policy.CheckEntry, the same as a
// verified callback's; nil checks nothing), and
// stores them with w in ONE transaction deduplicated by event key, so a
// second pull of the same facts adds nothing. Any bad entry fails the pull
// with its position and nothing is written.
func PullLedger(ctx context.Context, src payrecon.LedgerSource, w payrecon.LedgerBatchWriter, account string, day payrecon.Day, check func(payrecon.LedgerEntry) error) (PullResult, error) {
	var res PullResult
	var entries []payrecon.LedgerEntry
	err := src.Pull(ctx, day, func(e payrecon.LedgerEntry) error {
		res.Pulled++
		if e.Account == "" {
			e.Account = account
		}
		if e.Account != account {
			return fmt.Errorf("entry %d (%s) names account %q", res.Pulled, e.EventKey, e.Account)
		}
		if e.EventKey == "" {
			return fmt.Errorf("entry %d has no event key", res.Pulled)
		}
		if check != nil {
			if err := check(e); err != nil {
				return fmt.Errorf("entry %d (%s): %w", res.Pulled, e.EventKey, err)
			}
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("pull ledger %s %s: %w", account, day, err)
	}
	if res.Added, err = w.AddLedgerBatch(ctx, account, entries); err != nil {
		return res, fmt.Errorf("pull ledger %s %s: %w", account, day, err)
	}
	return res, nil
}

// pullLedger runs the target's ledger source (under the run's lock)
// before the ledger is read.
func (r *Runner) pullLedger(ctx context.Context, t Target, run *payrecon.Run) error {
	w, ok := r.store.(payrecon.LedgerBatchWriter)
	if !ok {
		return fmt.Errorf("pull ledger: the store cannot write a ledger batch")
	}
	r.progress(Progress{Account: run.Account, Day: run.Day, Phase: "pull"})
	res, err := PullLedger(ctx, t.Ledger, w, run.Account, run.Day, payrecon.PolicyFor(t.Account, t.Provider).CheckEntry)
	if err != nil {
		return err
	}
	r.log.Info("ledger pulled", "account", run.Account, "day", string(run.Day), "pulled", res.Pulled, "added", res.Added)
	return nil
}
