package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

type vetOptions struct {
	platformFlag
	quiet bool
}

func newVetCmd(e *env) *cobra.Command {
	o := &vetOptions{}
	c := &cobra.Command{
		Use:   "vet [PATH...]",
		Short: "Validate app specs and the platform, without rendering",
		Long: `vet discovers the app directories below each PATH (default .), loads each
app's CUE package with the platform schema and reports every problem of every
app in one run, with the file:line:col of each. It writes nothing.

Exit codes: 0 all specs valid, 2 invalid input.`,
		RunE: func(c *cobra.Command, args []string) error {
			l, err := loadApps(e, args, o.dir)
			if err != nil {
				return err
			}
			if !o.quiet {
				fmt.Fprintf(e.stdout, "%d %s valid\n", len(l.apps), plural(len(l.apps), "app", "apps"))
			}
			return nil
		},
	}
	o.register(c)
	c.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "print nothing on success")
	return c
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
