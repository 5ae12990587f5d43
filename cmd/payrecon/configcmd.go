package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/payrecon/payrecon/jobs"
)

func newConfigCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the configuration",
		Long:  "Inspect the configuration." + exitStatusHelp,
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError{fmt.Errorf("config needs a subcommand: check")}
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and print it with secrets redacted",
		Long: `Load the configuration, validate every field, build every account's provider
(decoding its provider section, reading its keys), then print the resulting
configuration with every secret shown as **redacted**. Every problem is
reported, each naming its field (accounts[2].fee_rate: …).` + exitStatusHelp,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			provs, typed, err := a.buildProviders(cmd.Context(), nil)
			if err != nil {
				return err
			}
			// What the enabled repair actions need (Huawei refunds: callback_url).
			if err := jobs.CheckProviderActions(provs, c.Jobs.ProviderActions); err != nil {
				return err
			}
			if err := c.Print(a.stdout, typed); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stderr, "config ok: %d account(s), database %s\n", len(c.Accounts), c.Database.Driver)
			return err
		},
	})
	return cmd
}
