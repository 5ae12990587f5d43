package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/cmd/payrecon/internal/demo"
)

func newDemoCmd(a *app) *cobra.Command {
	var dir, date string
	cmd := &cobra.Command{
		Use:   "demo [--dir DIR] [--date D]",
		Short: "Run a planted day end to end against the Huawei and WeChat Pay sandboxes",
		Long: `Starts the Huawei Payment Kit and WeChat Pay sandboxes in-process on
loopback, starts the callback receiver, lets the sandboxes fire a day of
signed callbacks (some lost, some retried, one forged and one tampered per
provider, some that state what the provider's records do not), reconciles
the day before and the day on a fresh embedded SQLite database in DIR,
writes the workbook and the JSON report there and prints what it found;
the log goes to DIR/demo.log.
Needs no configuration file and no network beyond loopback.

Exit status:
  0  the demo ran, every run balanced and every class appeared
  1  error, or a class did not appear, or a run did not balance
  2  usage`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			day := payrecon.DayOf(time.Now()).Add(-1)
			if date != "" {
				d, err := payrecon.ParseDay(date)
				if err != nil {
					return usageError{fmt.Errorf("--date: %w", err)}
				}
				day = d
			}
			logFile := filepath.Join(dir, "demo.log")
			res, err := demo.Run(cmd.Context(), demo.Config{Dir: dir, Day: day, Out: cmd.OutOrStdout(), LogFile: logFile, Version: version})
			if err != nil {
				return fmt.Errorf("demo (log in %s): %w", logFile, err)
			}
			return demo.Check(res)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "var/demo", "directory for the demo database and reports (its demo database is replaced)")
	cmd.Flags().StringVar(&date, "date", "", "bill day to plant and reconcile (default: yesterday, Asia/Shanghai)")
	return cmd
}
