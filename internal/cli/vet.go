package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

type vetOptions struct {
	platformFlag
	changed changedFlag
}

func newVetCmd(e *env) *cobra.Command {
	o := &vetOptions{}
	c := &cobra.Command{
		Use:   "vet [PATH...]",
		Short: "Validate app specs and the platform, without rendering",
		Long: `vet discovers the app directories below each PATH (default .), loads each
app's CUE package with the platform schema and reports every problem of every
app in one run, with the file:line:col of each. It writes nothing.

Exit codes: 0 all specs valid, 2 invalid input, 4 --changed could not read
the git repository.`,
		RunE: func(c *cobra.Command, args []string) error {
			l, err := loadApps(e, args, o.path(e), loadOptions{changed: o.changed})
			if err != nil {
				return err
			}
			l.printWarnings(e)
			if !e.quiet {
				n := len(l.selected)
				fmt.Fprintf(e.stdout, "%d %s valid", n, plural(n, "app", "apps"))
				if l.changed {
					fmt.Fprintf(e.stdout, " (changed against %s)", o.changed.ref)
				}
				fmt.Fprintln(e.stdout)
			}
			return nil
		},
	}
	o.register(c)
	o.changed.register(c)
	return c
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
