// Command payrecon reconciles payment providers' bills with the merchant's
// own ledger. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// commands lists the subcommands, one constructor per line.
var commands = []func(a *app) *cobra.Command{
	newVersionCmd,
	newMigrateCmd,
	newConfigCmd,
	newServeCmd,
	newLedgerCmd,
	newRunCmd,
	newScheduleCmd,
	newReportCmd,
	newActionsCmd,
	newLocksCmd,
	newReviewCmd,
	newDemoCmd,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	code := exitCode(err)
	if err != nil && !errors.Is(err, errSilent) {
		fmt.Fprintln(os.Stderr, "payrecon:", err)
	}
	os.Exit(code)
}

// execute runs the command line args.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a := &app{stdout: stdout, stderr: stderr}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

const exitStatusHelp = `

Exit status:
  0  success
  1  error (bad configuration, database or provider failure, rejected input)
  2  usage error (unknown command or flag, wrong arguments)`

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "payrecon",
		Short: "Reconcile payment providers' bills with the merchant ledger",
		Long: `payrecon receives provider callbacks into a ledger, pulls the providers' daily
bills, matches both sides, classifies every difference and proposes repairs.

Configuration: --config FILE, else $PAYRECON_CONFIG, else configs/payrecon.yaml.` + exitStatusHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "configuration file (default $PAYRECON_CONFIG or configs/payrecon.yaml)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nsee '%s --help'", err, c.CommandPath())}
	})
	for _, newCmd := range commands {
		root.AddCommand(newCmd(a))
	}
	return root
}

// usageError marks a command-line mistake: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
func (e usageError) ExitCode() int { return 2 }

// errSilent is returned when the command already explained the failure.
var errSilent = errors.New("failed")

// exitCode maps an error to the process status: 0 for nil, the error's
// ExitCode() when it has one (commands may define their own, e.g. 3 for
// "discrepancies found"), 2 for cobra's own usage errors, else 1.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		return coded.ExitCode()
	}
	if isCobraUsage(err) {
		return 2
	}
	return 1
}

// isCobraUsage recognises the usage errors cobra builds as plain strings.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "required flag", "invalid argument"} {
		if len(msg) >= len(p) && msg[:len(p)] == p {
			return true
		}
	}
	return false
}

// exactArgs is cobra.ExactArgs with a usage error (exit status 2).
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
