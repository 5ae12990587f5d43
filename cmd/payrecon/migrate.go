package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newMigrateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the schema to the configured database",
		Long: `Apply every embedded schema migration the configured database (database.driver,
database.dsn) does not have yet, in order, recording each in schema_migrations.
Running it again changes nothing. (serve and the other commands that use the
database apply pending migrations too.)` + exitStatusHelp,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			_, err = fmt.Fprintf(a.stdout, "schema up to date (%s)\n", db.Dialect())
			return err
		},
	}
}
