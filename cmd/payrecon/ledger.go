package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/payrecon/payrecon"
)

func newLedgerCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Work with the ledger",
		Long:  "Work with the ledger." + exitStatusHelp,
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError{fmt.Errorf("ledger needs a subcommand: import or pull")}
		},
	}
	cmd.AddCommand(newLedgerImportCmd(a), newLedgerPullCmd(a))
	return cmd
}

func newLedgerImportCmd(a *app) *cobra.Command {
	var account string
	cmd := &cobra.Command{
		Use:   "import --account NAME FILE",
		Short: "Import raw captured callbacks, verified like live ones",
		Long: `Import callbacks captured elsewhere (FILE, or - for standard input). Each line is
one JSON object:

  {"headers":{"Content-Type":["application/json"]},"body":"<raw body>"}

with "body_base64" instead of "body" for binary bodies and an optional
"received_at" (RFC 3339). A line without a Content-Type header gets the media
type the provider sends its callbacks with (a body captured from a log
imports as is; WeChat Pay and Douyin also need their signature headers).
Every line goes through the same verification and
store path as a live callback: duplicates are stored once, forged ones are
stored as rejected with the reason. Prints the counts.

Exit status 1 also when a line is malformed or a callback was rejected
(the others are still imported).` + exitStatusHelp,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if account == "" {
				return usageError{fmt.Errorf("--account is required")}
			}
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			ps, _, err := a.buildProviders(ctx, []string{account})
			if err != nil {
				return err
			}
			if _, ok := ps[account].(payrecon.CallbackVerifier); !ok {
				return fmt.Errorf("account %q: provider %s does not verify callbacks", account, ps[account].ProviderName())
			}
			h, err := a.intakeHandler(ctx, db, []string{account}, intakeOps{})
			if err != nil {
				return err
			}
			var r io.Reader = os.Stdin
			name := args[0]
			if name != "-" {
				f, err := os.Open(name)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			} else {
				name = "stdin"
			}
			res, err := h.Import(ctx, account, r)
			fmt.Fprintf(a.stdout, "%s: %d accepted, %d duplicate, %d rejected, %d invalid\n",
				name, res.Accepted, res.Duplicate, res.Rejected, res.Invalid)
			for _, rej := range res.Rejection {
				fmt.Fprintf(a.stdout, "rejected %s:%s\n", name, strings.TrimPrefix(rej, "line "))
			}
			if err != nil {
				return fmt.Errorf("import %s: %w", name, err)
			}
			if res.Rejected > 0 {
				return fmt.Errorf("import %s: %d callback(s) rejected", name, res.Rejected)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&account, "account", "", "account the callbacks belong to (required)")
	return cmd
}
