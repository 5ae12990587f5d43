package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
)

// Exit statuses of `payrecon actions` beyond 0 (done), 1 (error) and 2 (usage).
const (
	exitActionState    = 4 // the action's state does not allow the step (e.g. apply before approve)
	exitActionNotFound = 5 // no action with that id
)

const actionsExitHelp = `
Exit status:
  0  done (also: apply of an action that was already applied, which changes nothing)
  1  error (database, provider, or an apply that failed and was recorded as failed)
  2  usage (missing --operator or --reason, bad id or flag)
  4  the action's state does not allow this step (apply before approval of a
     money-moving action, approve or dismiss of an applied action, …)
  5  no action with that id`

func newActionsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "actions",
		Short: "List, approve, apply and dismiss repair actions",
		Long: `Repair actions are proposed by runs for their discrepancies (backfill_ledger,
reverse_ledger, correct_status, correct_agreement, refund_duplicate,
close_order, unsign, manual_review). Money-moving actions (refund_duplicate,
close_order, unsign) are applied only after an operator approved them; the
others may be applied directly. Applying is idempotent, and every step and
every attempt is recorded in the audit trail with the operator and the
reason. A money-moving action the provider answered pending stays applied
until "actions sync" (or the next run) records succeeded or failed.` + actionsExitHelp,
	}
	cmd.AddCommand(newActionsListCmd(a), newActionsShowCmd(a), newActionsApproveCmd(a), newActionsApplyCmd(a), newActionsDismissCmd(a), newActionsSyncCmd(a))
	return cmd
}

// actionsService builds the Actions service from the configuration.
func actionsService(ctx context.Context, a *app) (*jobs.Actions, func(), error) {
	db, err := a.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	provs, err := a.providers(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	svc, err := jobs.NewActions(jobs.ActionsDeps{
		Store: db, Ledger: db, LedgerReader: db, Providers: provs,
		Logger: a.logger(), Now: time.Now,
		Config: jobs.ActionsConfig{AutoApply: a.cfg.Jobs.AutoApply, ProviderActions: a.cfg.Jobs.ProviderActions},
	})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return svc, func() { db.Close() }, nil
}

// actionExit maps an actions error to the command's exit status.
func actionExit(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, payrecon.ErrInvalidState):
		return withExit(exitActionState, err)
	case errors.Is(err, payrecon.ErrNotFound) && strings.Contains(err.Error(), "action"):
		return withExit(exitActionNotFound, err)
	}
	return err
}

// actionError carries the exit status of an actions subcommand.
type actionError struct {
	code int
	err  error
}

func (e actionError) Error() string { return e.err.Error() }
func (e actionError) Unwrap() error { return e.err }
func (e actionError) ExitCode() int { return e.code }

func withExit(code int, err error) error {
	if code == 2 {
		return usageError{err}
	}
	return actionError{code: code, err: err}
}

func parseActionID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, withExit(2, fmt.Errorf("action id %q: want a positive number", s))
	}
	return id, nil
}

func requireFlag(name, v string) error {
	if strings.TrimSpace(v) == "" {
		return withExit(2, fmt.Errorf("--%s is required", name))
	}
	return nil
}

func newActionsListCmd(a *app) *cobra.Command {
	var (
		account, date, to string
		states, kinds     []string
		asJSON            bool
	)
	cmd := &cobra.Command{
		Use:   "list [--account NAME] [--date D [--to D2]] [--state S] [--kind K] [--json]",
		Short: "List repair actions",
		Long:  "List repair actions, oldest first, optionally filtered." + actionsExitHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := payrecon.ActionFilter{Account: account}
			var err error
			if f.From, f.To, err = dayFilter(date, to); err != nil {
				return withExit(2, err)
			}
			for _, s := range states {
				f.States = append(f.States, payrecon.ActionState(s))
			}
			for _, k := range kinds {
				f.Kinds = append(f.Kinds, payrecon.ActionKind(k))
			}
			ctx := cmd.Context()
			svc, done, err := actionsService(ctx, a)
			if err != nil {
				return err
			}
			defer done()
			list, err := svc.List(ctx, f)
			if err != nil {
				return err
			}
			if asJSON {
				return writeActionsJSON(cmd.OutOrStdout(), list)
			}
			return writeActionsTable(cmd.OutOrStdout(), list)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&account, "account", "", "only this account")
	fl.StringVar(&date, "date", "", "only actions of this bill day (YYYY-MM-DD)")
	fl.StringVar(&to, "to", "", "with --date: up to this bill day, inclusive")
	fl.StringSliceVar(&states, "state", nil, "only these states (proposed, approved, applied, failed, dismissed); repeat or comma-separate")
	fl.StringSliceVar(&kinds, "kind", nil, "only these kinds (backfill_ledger, refund_duplicate, …)")
	fl.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

// actionView is the JSON shape of an action (snake_case, amounts in fen
// and in yuan text).
type actionView struct {
	ID             int64             `json:"id"`
	Account        string            `json:"account"`
	Day            payrecon.Day      `json:"day"`
	Kind           string            `json:"kind"`
	State          string            `json:"state"`
	Class          string            `json:"class"`
	DiscrepancyKey string            `json:"discrepancy_key"`
	Keys           map[string]string `json:"keys"`
	DeltaFen       int64             `json:"delta_fen"`
	Delta          string            `json:"delta"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
	ApprovedBy     string            `json:"approved_by,omitempty"`
	Reason         string            `json:"reason,omitempty"`
	Result         string            `json:"result,omitempty"`
	Note           string            `json:"note,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	Audit          []auditView       `json:"audit,omitempty"`
	// InFlight warns that a money-moving attempt may have reached the
	// provider without a recorded outcome (show only).
	InFlight string        `json:"in_flight,omitempty"`
	Attempts []attemptView `json:"attempts,omitempty"`
}

type attemptView struct {
	N         int       `json:"n"`
	StartedAt time.Time `json:"started_at"`
	Actor     string    `json:"actor"`
	Outcome   string    `json:"outcome"`
}

type auditView struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Step   string    `json:"step"`
	Detail string    `json:"detail,omitempty"`
}

func viewOf(x payrecon.Action) actionView {
	keys := map[string]string{}
	for k, v := range map[string]string{
		"merchant_order_no": x.Item.MerchantOrderNo, "provider_txn_no": x.Item.ProviderTxnNo,
		"merchant_refund_no": x.Item.MerchantRefundNo, "provider_refund_no": x.Item.ProviderRefundNo,
		"agreement_no": x.Item.AgreementNo,
	} {
		if v != "" {
			keys[k] = v
		}
	}
	return actionView{
		ID: x.ID, Account: x.Account, Day: x.Day, Kind: string(x.Kind), State: string(x.State), Class: string(x.Item.Class),
		DiscrepancyKey: x.DiscrepancyKey, Keys: keys, DeltaFen: x.Item.Delta, Delta: payrecon.FormatYuan(x.Item.Delta),
		IdempotencyKey: x.IdempotencyKey, ApprovedBy: x.ApprovedBy, Reason: x.Reason, Result: x.Result, Note: x.Item.Note,
		CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt,
	}
}

func writeActionsJSON(w io.Writer, list []payrecon.Action) error {
	out := make([]actionView, len(list))
	for i, x := range list {
		out[i] = viewOf(x)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// keyText names the discrepancy by its most telling number.
func keyText(it payrecon.Item) string {
	switch {
	case it.ProviderRefundNo != "" || it.MerchantRefundNo != "":
		return "refund " + firstOf(it.ProviderRefundNo, it.MerchantRefundNo)
	case it.AgreementNo != "":
		return "agreement " + it.AgreementNo
	case it.ProviderTxnNo != "":
		return "txn " + it.ProviderTxnNo
	case it.MerchantOrderNo != "":
		return "order " + it.MerchantOrderNo
	}
	return "-"
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// oneLine keeps provider and operator text on one table row.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func writeActionsTable(w io.Writer, list []payrecon.Action) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tKIND\tACCOUNT\tDAY\tCLASS\tKEY\tDELTA\tAPPROVED BY\tRESULT")
	for _, x := range list {
		// RESULT is last and never cut: what the provider answered is what an operator must read.
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.ID, x.State, x.Kind, x.Account, x.Day,
			x.Item.Class, keyText(x.Item), payrecon.FormatYuan(x.Item.Delta), firstOf(x.ApprovedBy, "-"), oneLine(firstOf(x.Result, "-"), 1<<20))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d action(s)\n", len(list))
	return err
}

func newActionsShowCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID [--json]",
		Short: "Show one action and its audit trail",
		Long:  "Show one action, the discrepancy it repairs and every step of its audit trail." + actionsExitHelp,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseActionID(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			svc, done, err := actionsService(ctx, a)
			if err != nil {
				return err
			}
			defer done()
			x, audit, err := svc.Get(ctx, id)
			if err != nil {
				return actionExit(err)
			}
			v := viewOf(x)
			for _, e := range audit {
				v.Audit = append(v.Audit, auditView{At: e.At, Actor: e.Actor, Step: e.Step, Detail: e.Detail})
			}
			v.InFlight = jobs.InFlight(x, audit)
			for _, at := range jobs.Attempts(audit) {
				v.Attempts = append(v.Attempts, attemptView{N: at.N, StartedAt: at.StartedAt, Actor: at.Actor, Outcome: at.Outcome})
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			fmt.Fprintf(out, "action %d: %s %s (%s)\n", x.ID, x.Kind, x.State, x.Item.Class)
			fmt.Fprintf(out, "account %s, day %s, %s, delta %s\n", x.Account, x.Day, keyText(x.Item), payrecon.FormatYuan(x.Item.Delta))
			if x.Item.Note != "" {
				fmt.Fprintf(out, "note: %s\n", oneLine(x.Item.Note, 200))
			}
			if x.IdempotencyKey != "" {
				fmt.Fprintf(out, "idempotency key: %s\n", x.IdempotencyKey)
			}
			if x.Result != "" {
				fmt.Fprintf(out, "result: %s\n", oneLine(x.Result, 1<<20))
			}
			if note := jobs.InFlight(x, audit); note != "" {
				fmt.Fprintf(out, "IN FLIGHT: %s\n", note)
			}
			for _, at := range jobs.Attempts(audit) {
				outcome := at.Outcome
				if outcome == "" {
					outcome = "no outcome recorded"
				}
				fmt.Fprintf(out, "attempt %d: started %s by %s, %s\n", at.N, at.StartedAt.In(payrecon.Shanghai).Format("2006-01-02 15:04:05"), at.Actor, outcome)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "AT\tSTEP\tACTOR\tDETAIL")
			for _, e := range audit {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.At.In(payrecon.Shanghai).Format("2006-01-02 15:04:05"), e.Step, e.Actor, oneLine(e.Detail, 1<<20))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newActionsSyncCmd(a *app) *cobra.Command {
	var account, operator string
	cmd := &cobra.Command{
		Use:   "sync [--account NAME] [--operator NAME]",
		Short: "Follow applied refunds and closes to the provider's final answer",
		Long: `Query the provider for every applied money-moving action whose answer was not
final (refund pending or processing, close pending) and record the final
one: succeeded, or failed with the provider's words (a failed refund
re-opens its discrepancy). Every run does the same for its account after
it is stored.` + actionsExitHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			svc, done, err := actionsService(ctx, a)
			if err != nil {
				return err
			}
			defer done()
			actor := firstOf(operator, jobs.ActorSync)
			res, err := svc.Sync(ctx, payrecon.ActionFilter{Account: account}, actor)
			fmt.Fprintf(cmd.OutOrStdout(), "checked %d applied action(s): %d succeeded, %d failed, %d still pending\n", res.Checked, res.Succeeded, res.Failed, res.Pending)
			return err
		},
	}
	cmd.Flags().StringVar(&account, "account", "", "only this account")
	cmd.Flags().StringVar(&operator, "operator", "", "actor recorded in the audit trail (default sync)")
	return cmd
}

// dayFilter reads the optional --date and --to of a filter: --date alone is
// that one day, --to bounds the days from above (from the start of time
// without --date). Errors name the flag.
func dayFilter(date, to string) (from, until payrecon.Day, err error) {
	if date != "" {
		if from, err = payrecon.ParseDay(date); err != nil {
			return "", "", fmt.Errorf("--date: %w", err)
		}
		until = from
	}
	if to != "" {
		if until, err = payrecon.ParseDay(to); err != nil {
			return "", "", fmt.Errorf("--to: %w", err)
		}
	}
	return from, until, nil
}
