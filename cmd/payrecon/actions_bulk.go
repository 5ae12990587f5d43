package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
)

func newActionsApproveCmd(a *app) *cobra.Command {
	return newActionsStepCmd(a, jobs.VerbApprove, "approved",
		"Approve proposed actions (money-moving actions need it before apply)",
		"Approve a proposed (or failed) action, or every one a filter selects; the operator and reason go to the audit trail of each.")
}

func newActionsDismissCmd(a *app) *cobra.Command {
	return newActionsStepCmd(a, jobs.VerbDismiss, "dismissed",
		"Dismiss actions that should not be applied",
		"Dismiss a proposed, approved or failed action, or every one a filter selects; the operator and reason go to the audit trail of each.")
}

func newActionsApplyCmd(a *app) *cobra.Command {
	return newActionsStepCmd(a, jobs.VerbApply, "applied",
		"Apply actions (re-checking the fact with the provider first)",
		`Apply an action, or every applicable one a filter selects. Safe actions
re-query the provider first and change only payrecon's ledger;
refund_duplicate, close_order and unsign need approval and call the provider
with a deterministic key (refund number), so applying again never acts twice.
A refund or close the provider answers pending stays applied until
"payrecon actions sync" (or the next run) records the final answer.
Applying an applied action does nothing and says so.`)
}

// newActionsStepCmd builds approve, apply and dismiss: one action by ID, or
// every action a filter selects that the step can act on. --dry-run prints
// the selection with its count and total; money-moving kinds ask for
// confirmation on a terminal (or --yes).
func newActionsStepCmd(a *app, verb jobs.Verb, done, short, long string) *cobra.Command {
	var (
		operator, reason, account, date, to string
		states, kinds, classes              []string
		dryRun, yes                         bool
	)
	use := string(verb) + " ID|--account A --date D [--to D2] [--kind K] [--class C] [--state S] [--dry-run] [--yes] --operator NAME"
	if verb != jobs.VerbApply {
		use += " --reason TEXT"
	} else {
		use += " [--reason TEXT]"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: long + `

With a filter instead of an ID, the step acts on every selected action it can
act on (the state checks are those of the single-action step), in id order;
--dry-run prints them, their count and total difference and changes nothing.
Approving or applying a selection that contains money-moving kinds asks for
confirmation on the terminal; without a terminal it needs --yes.` + actionsExitHelp,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			needReason := verb != jobs.VerbApply
			if err := requireFlag("operator", operator); err != nil {
				return err
			}
			if needReason {
				if err := requireFlag("reason", reason); err != nil {
					return err
				}
			}
			filtered := account != "" || date != "" || to != "" || len(states) > 0 || len(kinds) > 0 || len(classes) > 0
			if len(args) == 1 && filtered {
				return withExit(2, errors.New("give an action ID or a filter, not both"))
			}
			if len(args) == 0 && !filtered {
				return withExit(2, errors.New("give an action ID or a filter (--account, --date, --kind, --class, --state)"))
			}
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			if len(args) == 1 {
				id, err := parseActionID(args[0])
				if err != nil {
					return err
				}
				svc, closeSvc, err := actionsService(ctx, a)
				if err != nil {
					return err
				}
				defer closeSvc()
				if dryRun {
					x, _, err := svc.Get(ctx, id)
					if err != nil {
						return actionExit(err)
					}
					list := []payrecon.Action{}
					if jobs.Eligible(verb, x) {
						list = append(list, x)
					}
					return printSelection(out, verb, list)
				}
				msg, err := runStep(ctx, svc, verb, id, operator, reason)
				if err != nil {
					return actionExit(err)
				}
				fmt.Fprintln(out, msg)
				return nil
			}

			sel := jobs.Selection{ActionFilter: payrecon.ActionFilter{Account: account}}
			if to != "" && date == "" {
				return withExit(2, errors.New("--to needs --date"))
			}
			var err error
			if sel.From, sel.To, err = dayFilter(date, to); err != nil {
				return withExit(2, err)
			}
			for _, st := range states {
				sel.States = append(sel.States, payrecon.ActionState(st))
			}
			for _, k := range kinds {
				sel.Kinds = append(sel.Kinds, payrecon.ActionKind(k))
			}
			for _, c := range classes {
				sel.Classes = append(sel.Classes, payrecon.Class(c))
			}
			svc, closeSvc, err := actionsService(ctx, a)
			if err != nil {
				return err
			}
			defer closeSvc()
			list, err := svc.Select(ctx, verb, sel)
			if err != nil {
				return err
			}
			if dryRun {
				return printSelection(out, verb, list)
			}
			tot := jobs.Totals(list)
			if tot.MoneyCount > 0 && verb != jobs.VerbDismiss && !yes {
				if err := confirm(cmd, verb, tot); err != nil {
					return err
				}
			}
			var failed int
			var errs []error
			for _, x := range list {
				msg, err := runStep(ctx, svc, verb, x.ID, operator, reason)
				if err != nil {
					failed++
					errs = append(errs, err)
					fmt.Fprintf(out, "action %d (%s) not %s: %v\n", x.ID, x.Kind, done, err)
					continue
				}
				fmt.Fprintln(out, msg)
			}
			fmt.Fprintf(out, "%s: %d of %d action(s) %s, %d failed\n", verb, len(list)-failed, len(list), done, failed)
			if failed > 0 {
				return fmt.Errorf("%d of %d action(s) not %s: %w", failed, len(list), done, errors.Join(errs...))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&operator, "operator", "", "who acts (required); recorded on every action")
	if verb == jobs.VerbApply {
		fl.StringVar(&reason, "reason", "", "why (optional for apply); recorded on every action")
	} else {
		fl.StringVar(&reason, "reason", "", "why (required); recorded on every action")
	}
	fl.StringVar(&account, "account", "", "filter: only this account")
	fl.StringVar(&date, "date", "", "filter: only actions of this bill day (YYYY-MM-DD)")
	fl.StringVar(&to, "to", "", "filter: with --date, up to this bill day, inclusive")
	fl.StringSliceVar(&states, "state", nil, "filter: only these states")
	fl.StringSliceVar(&kinds, "kind", nil, "filter: only these kinds (backfill_ledger, refund_duplicate, …)")
	fl.StringSliceVar(&classes, "class", nil, "filter: only actions for these discrepancy classes")
	fl.BoolVar(&dryRun, "dry-run", false, "print what would be done, its count and total, and change nothing")
	fl.BoolVar(&yes, "yes", false, "do not ask to confirm money-moving actions")
	return cmd
}

// runStep does verb on one action and says what happened.
func runStep(ctx context.Context, svc *jobs.Actions, verb jobs.Verb, id int64, operator, reason string) (string, error) {
	switch verb {
	case jobs.VerbApprove:
		x, err := svc.Approve(ctx, id, operator, reason)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("action %d (%s) approved by %s", x.ID, x.Kind, operator), nil
	case jobs.VerbDismiss:
		x, err := svc.Dismiss(ctx, id, operator, reason)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("action %d (%s) dismissed by %s", x.ID, x.Kind, operator), nil
	}
	res, err := svc.ApplyFor(ctx, id, operator, reason)
	if err != nil {
		return "", err
	}
	if res.AlreadyApplied {
		return fmt.Sprintf("action %d was already applied; nothing done (%s)", id, oneLine(firstOf(res.Message, res.Action.Result), 1<<20)), nil
	}
	return fmt.Sprintf("action %d (%s) %s: %s", id, res.Action.Kind, res.Action.State, res.Message), nil
}

// printSelection is the dry run: the actions, their count and totals.
func printSelection(w io.Writer, verb jobs.Verb, list []payrecon.Action) error {
	if err := writeActionsTable(w, list); err != nil {
		return err
	}
	t := jobs.Totals(list)
	_, err := fmt.Fprintf(w, "dry run: %s would act on %d action(s), total difference %s; money-moving: %d (%s); nothing changed\n",
		verb, t.Count, payrecon.FormatYuan(t.Amount), t.MoneyCount, payrecon.FormatYuan(t.MoneyAmount))
	return err
}

// confirm asks on the terminal before money-moving actions are approved or
// applied; without a terminal it refuses (use --yes).
func confirm(cmd *cobra.Command, verb jobs.Verb, t jobs.BulkTotals) error {
	in, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return withExit(2, fmt.Errorf("%s would act on %d money-moving action(s) (%s) and there is no terminal to confirm on: check with --dry-run, then pass --yes",
			verb, t.MoneyCount, payrecon.FormatYuan(t.MoneyAmount)))
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s %d action(s), %d of them money-moving (%s at the provider). Type yes to go on: ",
		verb, t.Count, t.MoneyCount, payrecon.FormatYuan(t.MoneyAmount))
	line, _ := bufio.NewReader(in).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return fmt.Errorf("%s: not confirmed; nothing changed", verb)
	}
	return nil
}
