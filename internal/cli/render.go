package cli

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/outdir"
	"github.com/paved-dev/paved/render"
)

type renderOptions struct {
	platformFlag
	sourceFlag
	out string
}

func newRenderCmd(e *env) *cobra.Command {
	o := &renderOptions{}
	c := &cobra.Command{
		Use:   "render [PATH...] --out DIR",
		Short: "Render app specs into the fleet repository layout",
		Long: `render validates the apps below each PATH (default .), renders them for every
cluster of the platform with the golden-path defaults, builds every
kustomization directory as Flux's kustomize-controller does, and writes the
fleet layout into DIR atomically (a temporary directory renamed into place).
DIR must be new, empty or an earlier render --out, which leaves its mark in
DIR/.paved-render-out; any other directory (a clone of the fleet, say) is
refused (exit 2) and left untouched. Nothing is written on error.

Exit codes: 0 rendered, 2 invalid input, 3 render error.`,
		RunE: func(c *cobra.Command, args []string) error {
			if o.out == "" {
				return invalid("render: --out DIR is required")
			}
			if err := o.check(); err != nil {
				return err
			}
			l, err := loadApps(e, args, o.path(e), loadOptions{})
			if err != nil {
				return err
			}
			l.printWarnings(e)
			_, tree, err := renderLoaded(e, l, render.WriteOnly, o.source)
			if err != nil {
				return err
			}
			out := o.out
			if !filepath.IsAbs(out) {
				out = filepath.Join(e.cwd, out)
			}
			stop := e.stage("write")
			err = outdir.Write(out, tree.Files)
			stop()
			if err != nil {
				if errors.Is(err, outdir.ErrForeign) {
					return &exitError{code: ExitInvalid, err: fmt.Errorf("render: %s: %w", o.out, err)}
				}
				return &exitError{code: ExitRender, err: fmt.Errorf("render: writing %s: %w", o.out, err)}
			}
			if !e.quiet {
				printSummary(e, tree, l, diag.Rel(e.cwd, out))
			}
			return nil
		},
	}
	o.register(c)
	o.registerSource(c)
	c.Flags().StringVar(&o.out, "out", "", "directory to write the fleet layout into (required)")
	return c
}

// printSummary prints what was rendered: objects per cluster.
func printSummary(e *env, tree *render.Tree, l *loaded, out string) {
	perCluster := map[string]int{}
	for _, p := range tree.Paths() {
		parts := strings.Split(p, "/")
		if len(parts) >= 3 && (parts[0] == "apps" || parts[0] == "tenants") && path.Base(p) != "kustomization.yaml" {
			perCluster[parts[1]]++
		}
	}
	fmt.Fprintf(e.stdout, "rendered %d %s into %s: %d files\n", len(l.apps), plural(len(l.apps), "app", "apps"), out, len(tree.Files))
	for _, ct := range render.Clusters(l.platform) {
		fmt.Fprintf(e.stdout, "  %-14s %-8s %3d objects\n", ct.Name, ct.Environment, perCluster[ct.Name])
	}
}
