package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/payrecon/payrecon"
)

// Exit status of `payrecon locks release` when there is no such lease.
const exitLockNotFound = 4

const locksExitHelp = `

Exit status:
  0  success
  1  error (configuration, database)
  2  usage error (missing flag, bad date)
  4  release: no lease for that account and day`

func newLocksCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "locks",
		Short: "List or release run leases",
		Long: `A run holds a lease on its account and bill day in the database (jobs.lock_ttl,
renewed every quarter of it while the run works), so two processes never
run the same day at once. A killed run's lease lapses by itself within
jobs.lock_ttl; "locks release" frees it at once, and is audited.` + locksExitHelp,
	}
	cmd.AddCommand(newLocksListCmd(a), newLocksReleaseCmd(a))
	return cmd
}

func newLocksListCmd(a *app) *cobra.Command {
	var audit bool
	var account string
	cmd := &cobra.Command{
		Use:   "list [--audit [--account NAME]]",
		Short: "List run leases (live and expired), or with --audit the lease audit trail",
		Long: `List every stored run lease: account, bill day, owner (host:pid:nonce) and
expiry, and whether it is still live. With --audit, list instead who
released which lease when (and runs that took over an expired lease).` + locksExitHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			if audit {
				entries, err := db.LockAudit(ctx, account)
				if err != nil {
					return err
				}
				fmt.Fprintln(tw, "AT\tACCOUNT\tDAY\tSTEP\tACTOR\tLEASE OWNER\tLEASE EXPIRES\tDETAIL")
				for _, e := range entries {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", shanghai(e.At), e.Account, e.Day, e.Step, e.Actor,
						e.Owner, shanghai(e.ExpiresAt), oneLine(e.Detail, 100))
				}
				return tw.Flush()
			}
			locks, err := db.ListLocks(ctx)
			if err != nil {
				return err
			}
			now := time.Now()
			fmt.Fprintln(tw, "ACCOUNT\tDAY\tOWNER\tEXPIRES\tSTATE")
			for _, l := range locks {
				state := "expired"
				if l.Live(now) {
					state = "live"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Account, l.Day, l.Owner, shanghai(l.ExpiresAt), state)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&audit, "audit", false, "list the lease audit trail instead")
	cmd.Flags().StringVar(&account, "account", "", "with --audit: only this account")
	return cmd
}

func newLocksReleaseCmd(a *app) *cobra.Command {
	var account, date, operator, reason string
	cmd := &cobra.Command{
		Use:   "release --account NAME --date DAY --operator NAME --reason TEXT",
		Short: "Release the run lease of an account and bill day (audited)",
		Long: `Delete the run lease of --account for bill day --date, whoever holds it, and
record who released it, when, which lease (owner and expiry) and why. Meant
for a holder that is gone; a run that is still alive takes the lease again
at its next renewal unless another run took it first, in which case it
stops without saving.` + locksExitHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := errors.Join(requireFlag("account", account), requireFlag("date", date),
				requireFlag("operator", operator), requireFlag("reason", reason)); err != nil {
				return usageError{err}
			}
			day, err := payrecon.ParseDay(date)
			if err != nil {
				return usageError{fmt.Errorf("--date: %w", err)}
			}
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			l, err := db.ReleaseLock(ctx, account, day, operator, reason)
			if errors.Is(err, payrecon.ErrNotFound) {
				return statusError{code: exitLockNotFound, err: fmt.Errorf("no run lease for %s %s", account, day)}
			}
			if err != nil {
				return err
			}
			state := "expired"
			if l.Live(time.Now()) {
				state = "live"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "released the lease of %s %s held by %s (%s, expires %s) by %s\n",
				l.Account, l.Day, l.Owner, state, shanghai(l.ExpiresAt), operator)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&account, "account", "", "account name (required)")
	f.StringVar(&date, "date", "", "bill day, YYYY-MM-DD (required)")
	f.StringVar(&operator, "operator", "", "who releases it (required, audited)")
	f.StringVar(&reason, "reason", "", "why (required, audited)")
	return cmd
}

// shanghai formats t in Asia/Shanghai, "" for the zero time.
func shanghai(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(payrecon.Shanghai).Format("2006-01-02 15:04:05")
}
