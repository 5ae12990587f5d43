package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/reports"
)

// Exit statuses of `payrecon review` beyond 0, 1 and 2.
const (
	exitReviewRefused  = 4 // import: some rows were refused or had changed since the export (the others were applied)
	exitReviewNotFound = 5 // no discrepancy with that key
)

const reviewExitHelp = `
Exit status:
  0  done (also when nothing needed changing)
  1  error (database, unreadable workbook)
  2  usage (missing --operator, --reason or a filter, bad flag value, unknown reason code)
  4  import: some rows were refused (identity or checksum does not verify) or
     changed in payrecon since the export; the other rows were applied
  5  no discrepancy with that key`

func newReviewCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "review",
		Short: "Review discrepancies: list, assign, comment, resolve, write off, import a reviewed workbook",
		Long: `Every discrepancy has a review state kept across re-runs: open, investigating,
resolved, written_off (with a reason code from review.reason_codes) or
tolerated (set by a run when a review.tolerances rule covers it); an
assignee, comments and a due day from the SLA (review.sla). Every change is
audited with the operator, the time, the source (cli or workbook) and the
fields before and after.

Changes take discrepancy keys as arguments, or a filter (--account, --date/--to,
--class, --state, --assignee, --min-amount/--max-amount, --min-age/--max-age)
to change every discrepancy it selects in one transaction; --dry-run prints
how many (and how much) it would change.` + reviewExitHelp,
	}
	cmd.AddCommand(newReviewListCmd(a), newReviewShowCmd(a),
		newReviewChangeCmd(a, "assign", "Assign discrepancies to a person"),
		newReviewChangeCmd(a, "comment", "Comment on discrepancies (the comment becomes their 处理意见)"),
		newReviewChangeCmd(a, "investigate", "Mark discrepancies as being investigated"),
		newReviewChangeCmd(a, "resolve", "Mark discrepancies resolved"),
		newReviewChangeCmd(a, "write-off", "Write discrepancies off with a reason code (dismisses their pending repair actions)"),
		newReviewChangeCmd(a, "reopen", "Reopen discrepancies"),
		newReviewImportCmd(a))
	return cmd
}

// reviewFilterFlags are the filter flags every review command shares.
type reviewFilterFlags struct {
	account, date, to, assignee string
	minAmount, maxAmount        string
	minAge, maxAge              int
	classes, states             []string
	all                         bool
}

func (r *reviewFilterFlags) add(fl *pflag.FlagSet, bulk bool) {
	fl.StringVar(&r.account, "account", "", "only this account")
	fl.StringVar(&r.date, "date", "", "only discrepancies last seen on this bill day (YYYY-MM-DD)")
	fl.StringVar(&r.to, "to", "", "with --date: up to this bill day, inclusive")
	fl.StringSliceVar(&r.classes, "class", nil, "only these classes (amount_mismatch, …); repeat or comma-separate")
	fl.StringSliceVar(&r.states, "state", nil, "only these review states (open, investigating, resolved, written_off, tolerated)")
	fl.StringVar(&r.assignee, "assignee", "", `only this assignee ("-": unassigned)`)
	fl.StringVar(&r.minAmount, "min-amount", "", "only amounts at stake of at least this many yuan")
	fl.StringVar(&r.maxAmount, "max-amount", "", "only amounts at stake of at most this many yuan")
	fl.IntVar(&r.minAge, "min-age", 0, "only discrepancies first seen at least this many days ago")
	fl.IntVar(&r.maxAge, "max-age", 0, "only discrepancies first seen at most this many days ago")
	if bulk {
		fl.BoolVar(&r.all, "all", false, "select every discrepancy (when no key and no filter is given)")
	}
}

// filter builds the store filter; empty reports that no filter flag was set.
func (r *reviewFilterFlags) filter(now time.Time) (f payrecon.ReviewFilter, empty bool, err error) {
	f = payrecon.ReviewFilter{Account: r.account, Assignee: r.assignee, MinAgeDays: r.minAge, MaxAgeDays: r.maxAge}
	empty = r.account == "" && r.date == "" && r.to == "" && r.assignee == "" && r.minAmount == "" && r.maxAmount == "" &&
		r.minAge == 0 && r.maxAge == 0 && len(r.classes) == 0 && len(r.states) == 0
	if f.From, f.To, err = dayFilter(r.date, r.to); err != nil {
		return f, empty, usageError{err}
	}
	for name, dst := range map[string]*int64{"min-amount": &f.MinAmount, "max-amount": &f.MaxAmount} {
		v := r.minAmount
		if name == "max-amount" {
			v = r.maxAmount
		}
		if v == "" {
			continue
		}
		fen, err := payrecon.ParseYuan(v)
		if err != nil || fen < 0 {
			return f, empty, usageError{fmt.Errorf("--%s %q: want yuan, e.g. 100.00", name, v)}
		}
		*dst = fen
	}
	if r.minAge < 0 || r.maxAge < 0 {
		return f, empty, usageError{errors.New("--min-age and --max-age must not be negative")}
	}
	if r.minAge > 0 || r.maxAge > 0 {
		f.AsOf = payrecon.DayOf(now)
	}
	for _, c := range r.classes {
		f.Classes = append(f.Classes, payrecon.Class(c))
	}
	for _, s := range r.states {
		st := payrecon.ReviewState(s)
		if !st.Valid() {
			return f, empty, usageError{fmt.Errorf("--state %q: want open, investigating, resolved, written_off or tolerated", s)}
		}
		f.States = append(f.States, st)
	}
	return f, empty, nil
}

func newReviewListCmd(a *app) *cobra.Command {
	var (
		ff     reviewFilterFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list [filters] [--json]",
		Short: "List discrepancies with their review state",
		Long:  "List discrepancies, oldest first, with state, assignee, age, amount at stake and due day." + reviewExitHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			f, _, err := ff.filter(now)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			list, err := db.ListReviews(ctx, f)
			if err != nil {
				return err
			}
			if asJSON {
				return writeReviewsJSON(cmd.OutOrStdout(), list, payrecon.DayOf(now))
			}
			return writeReviewsTable(cmd.OutOrStdout(), list, payrecon.DayOf(now))
		},
	}
	ff.add(cmd.Flags(), false)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

type reviewView struct {
	Key          string       `json:"key"`
	Account      string       `json:"account"`
	Class        string       `json:"class"`
	Kind         string       `json:"kind"`
	Ref          string       `json:"ref"`
	FirstSeenDay payrecon.Day `json:"first_seen_day"`
	LastDay      payrecon.Day `json:"last_day"`
	AgeDays      int          `json:"age_days"`
	DeltaFen     int64        `json:"delta_fen"`
	AmountFen    int64        `json:"amount_fen"`
	Amount       string       `json:"amount"`
	State        string       `json:"state"`
	ReasonCode   string       `json:"reason_code,omitempty"`
	Rule         string       `json:"rule,omitempty"`
	Assignee     string       `json:"assignee,omitempty"`
	Note         string       `json:"note,omitempty"`
	DueDay       payrecon.Day `json:"due_day,omitempty"`
	Overdue      bool         `json:"overdue"`
	Version      int64        `json:"version"`
	UpdatedBy    string       `json:"updated_by,omitempty"`
}

func viewOfReview(r payrecon.Review, today payrecon.Day) reviewView {
	return reviewView{Key: r.Key, Account: r.Account, Class: string(r.Class), Kind: string(r.Kind), Ref: r.Ref,
		FirstSeenDay: r.FirstSeenDay, LastDay: r.LastDay, AgeDays: r.AgeDays(today), DeltaFen: r.Delta,
		AmountFen: r.Amount, Amount: payrecon.FormatYuan(r.Amount), State: string(r.State), ReasonCode: r.ReasonCode,
		Rule: r.Rule, Assignee: r.Assignee, Note: r.Note, DueDay: r.DueDay,
		Overdue: r.State.Pending() && r.DueDay != "" && r.DueDay < today, Version: r.Version, UpdatedBy: r.UpdatedBy}
}

func writeReviewsJSON(w io.Writer, list []payrecon.Review, today payrecon.Day) error {
	out := make([]reviewView, len(list))
	for i, r := range list {
		out[i] = viewOfReview(r, today)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeReviewsTable(w io.Writer, list []payrecon.Review, today payrecon.Day) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tSTATE\tACCOUNT\tCLASS\tREF\tFIRST SEEN\tAGE\tAMOUNT\tDUE\tASSIGNEE\tNOTE")
	var total int64
	for _, r := range list {
		v := viewOfReview(r, today)
		state := v.State
		switch {
		case r.ReasonCode != "":
			state += ":" + r.ReasonCode
		case r.Rule != "":
			state += ":" + r.Rule
		}
		due := string(r.DueDay)
		if v.Overdue {
			due += " (overdue)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.Key, state, r.Account, r.Class, firstOf(r.Ref, "-"),
			r.FirstSeenDay, v.AgeDays, v.Amount, firstOf(due, "-"), firstOf(r.Assignee, "-"), oneLine(firstOf(r.Note, "-"), 50))
		total += r.Amount
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d discrepancies, %s yuan at stake\n", len(list), payrecon.FormatYuan(total))
	return err
}

func newReviewShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show KEY",
		Short: "Show one discrepancy's review, its audit trail and comments",
		Long:  "Show one discrepancy's review, every change of it (who, when, source, before and after) and its comments." + reviewExitHelp,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			r, err := db.GetReview(ctx, args[0])
			if err != nil {
				return reviewExit(err)
			}
			audit, err := db.ReviewAudit(ctx, r.Key)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			v := viewOfReview(r, payrecon.DayOf(time.Now()))
			fmt.Fprintf(out, "discrepancy %s: %s %s, %s, account %s\n", r.Key, r.Class, r.Kind, firstOf(r.Ref, "-"), r.Account)
			fmt.Fprintf(out, "first seen %s, last seen %s, amount at stake %s (delta %s)\n", r.FirstSeenDay, r.LastDay, v.Amount, payrecon.FormatYuan(r.Delta))
			fmt.Fprintf(out, "state %s%s, assignee %s, due %s, version %d\n", r.State, firstOf(prefixed(":", r.ReasonCode), prefixed(":", r.Rule)),
				firstOf(r.Assignee, "-"), firstOf(string(r.DueDay), "-"), r.Version)
			if r.Note != "" {
				fmt.Fprintf(out, "处理意见: %s\n", oneLine(r.Note, 200))
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tAT\tACTOR\tSOURCE\tBEFORE\tAFTER\tCOMMENT")
			for _, e := range audit {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Version, e.At.In(payrecon.Shanghai).Format("2006-01-02 15:04:05"),
					e.Actor, e.Source, fieldsText(e.Before), fieldsText(e.After), oneLine(firstOf(e.Comment, "-"), 60))
			}
			return tw.Flush()
		},
	}
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func fieldsText(f payrecon.ReviewFields) string {
	s := string(f.State) + firstOf(prefixed(":", f.ReasonCode), prefixed(":", f.Rule))
	if f.Assignee != "" {
		s += " @" + f.Assignee
	}
	return s
}

// newReviewChangeCmd builds assign, comment, investigate, resolve,
// write-off and reopen: one change to the discrepancies named by key or
// selected by the filter.
func newReviewChangeCmd(a *app, verb, short string) *cobra.Command {
	var (
		ff                 reviewFilterFlags
		operator, to, text string
		reason, note       string
		dryRun             bool
	)
	use := verb + " [KEY...] [filters] --operator NAME"
	switch verb {
	case "assign":
		use += " --assign-to NAME"
	case "comment":
		use += " --text TEXT"
	case "write-off":
		use += " --reason CODE"
	}
	cmd := &cobra.Command{
		Use:   use + " [--dry-run]",
		Short: short,
		Long:  short + ". Name discrepancies by key, or select them with a filter (all in one transaction); --dry-run prints how many and how much." + reviewExitHelp,
		RunE: func(cmd *cobra.Command, keys []string) error {
			now := time.Now()
			f, empty, err := ff.filter(now)
			if err != nil {
				return err
			}
			if len(keys) > 0 {
				f.Keys = keys
			} else if empty && !ff.all {
				return usageError{errors.New("name discrepancy keys, or give a filter (--all for every discrepancy)")}
			}
			if !dryRun {
				if err := requireFlag("operator", operator); err != nil {
					return err
				}
			}
			c := payrecon.ReviewChange{Actor: operator, Source: payrecon.SourceCLI, IfVersion: -1}
			st := func(s payrecon.ReviewState) { c.State = &s }
			switch verb {
			case "assign":
				if err := requireFlag("assign-to", to); err != nil {
					return err
				}
				c.Assignee = &to
			case "comment":
				if err := requireFlag("text", text); err != nil {
					return err
				}
				c.Note, c.Comment = &text, text
			case "investigate":
				st(payrecon.ReviewInvestigating)
			case "resolve":
				st(payrecon.ReviewResolved)
			case "reopen":
				st(payrecon.ReviewOpen)
			case "write-off":
				cfg, err := a.config()
				if err != nil {
					return err
				}
				if err := requireFlag("reason", reason); err != nil {
					return err
				}
				if !cfg.Review.ReasonCode(reason) {
					return usageError{fmt.Errorf("--reason %q: not in review.reason_codes (%s)", reason, strings.Join(cfg.Review.ReasonCodes, ", "))}
				}
				st(payrecon.ReviewWrittenOff)
				c.ReasonCode = &reason
			}
			if note != "" && c.Note == nil {
				c.Note, c.Comment = &note, note
			}
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			out := cmd.OutOrStdout()
			if len(keys) > 0 {
				found, err := db.ListReviews(ctx, payrecon.ReviewFilter{Keys: keys})
				if err != nil {
					return err
				}
				have := map[string]bool{}
				for _, r := range found {
					have[r.Key] = true
				}
				var missing []string
				for _, k := range keys {
					if !have[k] {
						missing = append(missing, k)
					}
				}
				if len(missing) > 0 {
					return withExit(exitReviewNotFound, fmt.Errorf("no discrepancy with key %s (nothing changed)", strings.Join(missing, ", ")))
				}
			}
			if dryRun {
				list, err := db.ListReviews(ctx, f)
				if err != nil {
					return err
				}
				var total int64
				for _, r := range list {
					total += r.Amount
				}
				fmt.Fprintf(out, "dry run: %s would apply to %d discrepancies, %s yuan at stake\n", verb, len(list), payrecon.FormatYuan(total))
				return nil
			}
			res, err := db.ChangeReviews(ctx, f, c)
			if err != nil {
				return reviewExit(err)
			}
			fmt.Fprintf(out, "%s: %d discrepancies matched (%s yuan at stake), %d changed by %s\n", verb, res.Matched, payrecon.FormatYuan(res.Amount), res.Changed, operator)
			return nil
		},
	}
	ff.add(cmd.Flags(), true)
	fl := cmd.Flags()
	fl.StringVar(&operator, "operator", "", "who makes the change (required, recorded in the audit trail)")
	fl.BoolVar(&dryRun, "dry-run", false, "print how many discrepancies (and how much) the change would apply to, change nothing")
	switch verb {
	case "assign":
		fl.StringVar(&to, "assign-to", "", "the assignee (required)")
	case "comment":
		fl.StringVar(&text, "text", "", "the comment (required)")
	case "write-off":
		fl.StringVar(&reason, "reason", "", "reason code from review.reason_codes (required)")
	}
	if verb != "comment" {
		fl.StringVar(&note, "note", "", "a comment to record with the change")
	}
	return cmd
}

// reviewExit maps a review error to the command's exit status.
func reviewExit(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, payrecon.ErrNotFound):
		return withExit(exitReviewNotFound, err)
	}
	return err
}

func newReviewImportCmd(a *app) *cobra.Command {
	var operator string
	cmd := &cobra.Command{
		Use:   "import FILE.xlsx --operator NAME",
		Short: "Apply the edits of a reviewed workbook (处理状态, 处理意见, 处理人)",
		Long: `Reads the Discrepancies sheet(s) of a workbook payrecon wrote and a reviewer
edited, and applies each edited row's 处理状态, 处理意见 and 处理人, audited as
source "workbook" with --operator as the actor.

A row is refused, and named by sheet and row number, when its hidden
identity or checksum does not verify: a row moved, copied or forged, or a
locked cell (account, class, numbers) edited. A row whose discrepancy
changed in payrecon since the export is reported and not applied (export a
fresh workbook for it). Importing the same file again changes nothing.` + reviewExitHelp,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlag("operator", operator); err != nil {
				return err
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("review import: %w", err)
			}
			edits, err := reports.ReadReviewEdits(bytes.NewReader(data))
			if err != nil {
				return fmt.Errorf("review import %s: %w", args[0], err)
			}
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			res, err := jobs.ImportReviewEdits(ctx, db, edits, operator, cfg.Review.ReasonCodes)
			if err != nil {
				return fmt.Errorf("review import %s: %w", args[0], err)
			}
			out := cmd.OutOrStdout()
			for _, r := range res.Applied {
				fmt.Fprintf(out, "applied   %s\n", r)
			}
			for _, r := range res.Conflicts {
				fmt.Fprintf(out, "conflict  %s\n", r)
			}
			for _, r := range res.Refused {
				fmt.Fprintf(out, "refused   %s\n", r)
			}
			fmt.Fprintf(out, "%d rows: %d applied, %d unchanged, %d changed in payrecon since the export (not applied), %d refused\n",
				len(edits), len(res.Applied), res.Unchanged, len(res.Conflicts), len(res.Refused))
			if n := len(res.Conflicts) + len(res.Refused); n > 0 {
				return withExit(exitReviewRefused, fmt.Errorf("%d of %d rows not applied (see above)", n, len(edits)))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&operator, "operator", "", "who imports (required, recorded in the audit trail)")
	return cmd
}
