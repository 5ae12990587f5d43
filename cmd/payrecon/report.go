package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reports"
)

// Exit status of `payrecon report` beyond 0 (written), 1 (error) and 2 (usage).
const exitReportNoRuns = 3

const reportExitHelp = `
Exit status:
  0  the report was written
  1  error (configuration, database, writing the file)
  2  usage (bad day, format or language, missing flag)
  3  no reconciled run for those days and accounts (nothing written)`

// reportWriter writes one format to a stream or, atomically, to a file.
type reportWriter struct {
	stream func(w io.Writer, src reports.Source, opts reports.Options) error
	file   func(path string, src reports.Source, opts reports.Options) error
}

var reportWriters = map[string]reportWriter{
	"xlsx": {reports.WriteXLSX, reports.WriteXLSXFile},
	"csv":  {reports.WriteCSV, reports.WriteCSVFile},
	"json": {reports.WriteJSON, reports.WriteJSONFile},
}

func newReportCmd(a *app) *cobra.Command {
	var (
		from, to, format, out, lang string
		accounts                    []string
	)
	cmd := &cobra.Command{
		Use:   "report --date DAY [--to DAY] [--account NAME] --format xlsx|csv|json --out FILE",
		Short: "Write the workbook, CSV or JSON of reconciled days",
		Long: `Writes the report of the latest run of each account and bill day in
[--date, --to]:
  xlsx  the workbook for finance staff: summary with chart, discrepancies,
        carried-over items, actions with their audit trail, settlement
  csv   every item, machine column names, amounts as NAME_fen and NAME (yuan)
  json  one document {"format","runs":[…],"items":[…],"actions":[…]}, streamed
The format defaults to the extension of --out; "--out -" writes to stdout.
Files are written under a temporary name and renamed when complete. The
workbook's language is --lang, else reports.language from the configuration.` + reportExitHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fromDay, err := payrecon.ParseDay(from)
			if err != nil {
				return usageError{fmt.Errorf("--date: %w", err)}
			}
			toDay := fromDay
			if to != "" {
				if toDay, err = payrecon.ParseDay(to); err != nil {
					return usageError{fmt.Errorf("--to: %w", err)}
				}
			}
			if toDay < fromDay {
				return usageError{fmt.Errorf("--to %s is before --date %s", toDay, fromDay)}
			}
			if format == "" {
				format = strings.TrimPrefix(strings.ToLower(filepath.Ext(out)), ".")
			}
			write, ok := reportWriters[format]
			if !ok {
				return usageError{fmt.Errorf("--format %q: want xlsx, csv or json", format)}
			}
			if lang == "" {
				c, err := a.config()
				if err != nil {
					return err
				}
				lang = c.Reports.Language
			}
			opts := reports.Options{Lang: lang, Now: time.Now}
			if lang != "" && lang != "zh" && lang != "en" {
				return usageError{fmt.Errorf("--lang %q: want zh or en", lang)}
			}
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			src, err := reports.StoreSource(ctx, db, db, accounts, fromDay, toDay)
			if err != nil {
				return err
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			if src, err = reports.WithReviews(ctx, src, db, accounts, cfg.Review.ReasonCodes); err != nil {
				return err
			}
			if len(src.Runs) == 0 {
				return statusError{code: exitReportNoRuns, err: fmt.Errorf("no reconciled run for %s..%s", fromDay, toDay)}
			}
			if out == "-" {
				return write.stream(cmd.OutOrStdout(), src, opts)
			}
			if err := write.file(out, src, opts); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (%d account-days)\n", out, len(src.Runs))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "date", "", "first bill day, YYYY-MM-DD (required)")
	f.StringVar(&to, "to", "", "last bill day (default: --date)")
	f.StringSliceVar(&accounts, "account", nil, "account name; repeat for several (default: all)")
	f.StringVar(&format, "format", "", "xlsx, csv or json (default: the extension of --out)")
	f.StringVar(&out, "out", "", "output file, or - for stdout (required)")
	f.StringVar(&lang, "lang", "", "workbook language, zh or en (default: reports.language)")
	_ = cmd.MarkFlagRequired("date")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
