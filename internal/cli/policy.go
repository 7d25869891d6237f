package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/schema"
)

func newPolicyCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "policy",
		Short: "List, document and test the policies (built-in and the platform's)",
	}
	c.AddCommand(newPolicyListCmd(e), newPolicyDocCmd(e), newPolicyTestCmd(e))
	return c
}

// loadEngine loads the platform (--platform, else the embedded default)
// and compiles its policies.
func loadEngine(dir string) (*policy.Engine, error) {
	p, err := schema.LoadPlatform(dir)
	if err != nil {
		return nil, err
	}
	return policy.Load(context.Background(), policy.Options{Platform: p})
}

func newPolicyListCmd(e *env) *cobra.Command {
	o := &platformFlag{}
	c := &cobra.Command{
		Use:   "list",
		Short: "List every policy: ID, severity, whether it can be waived, and what it checks",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			eng, err := loadEngine(o.path(e))
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSEVERITY\tWAIVABLE\tSOURCE\tCHECKS")
			for _, ch := range eng.Checks() {
				src := "platform"
				if ch.Builtin {
					src = "built-in"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ch.ID, ch.Severity, ch.Waivability(), src, ch.Title)
			}
			return tw.Flush()
		},
	}
	o.register(c)
	return c
}

func newPolicyDocCmd(e *env) *cobra.Command {
	o := &platformFlag{}
	c := &cobra.Command{
		Use:   "doc",
		Short: "Write the Markdown catalogue of every policy (ID, severity, rationale, fix)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			eng, err := loadEngine(o.path(e))
			if err != nil {
				return err
			}
			return policy.WriteCatalog(e.stdout, eng.Checks())
		},
	}
	o.register(c)
	return c
}

type policyTestOptions struct {
	platformFlag
	run     string
	verbose bool
}

func newPolicyTestCmd(e *env) *cobra.Command {
	o := &policyTestOptions{}
	c := &cobra.Command{
		Use:   "test",
		Short: "Run the platform's Rego policy tests (test_* rules in policies/*_test.rego)",
		Long: `test runs the test_* rules of the platform directory's policies/ (as opa test
does) against the same bundle, data and hermetic capabilities lint uses, so a
test sees data.paved.platform and may import the built-in helpers.

Exit codes: 0 all tests pass, 1 a test fails, 2 invalid policies.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			eng, err := loadEngine(o.path(e))
			if err != nil {
				return err
			}
			results, err := eng.Test(context.Background(), o.run)
			if err != nil {
				return &exitError{code: ExitInvalid, err: err}
			}
			failed := 0
			for _, r := range results {
				status := "PASS"
				switch {
				case r.Skip:
					status = "SKIP"
				case !r.Pass:
					status = "FAIL"
					failed++
				}
				if status != "PASS" || o.verbose {
					fmt.Fprintf(e.stdout, "%s %s.%s (%s:%d)\n", status, r.Package, r.Name, diag.Rel(e.cwd, r.File), r.Line)
					if r.Error != "" {
						fmt.Fprintf(e.stdout, "  %s\n", r.Error)
					}
					if r.Output != "" && status == "FAIL" {
						fmt.Fprintf(e.stdout, "  %s", r.Output)
					}
				}
			}
			if len(results) == 0 {
				fmt.Fprintln(e.stdout, "no policy tests found (test_* rules in the platform's policies/*_test.rego)")
				return nil
			}
			fmt.Fprintf(e.stdout, "%d passed, %d failed\n", len(results)-failed, failed)
			if failed > 0 {
				return &exitError{code: ExitChanges, err: fmt.Errorf("")}
			}
			return nil
		},
	}
	o.register(c)
	c.Flags().StringVar(&o.run, "run", "", "only tests whose name matches this regular expression")
	c.Flags().BoolVarP(&o.verbose, "verbose", "v", false, "also list passing tests")
	return c
}
