package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/blueprints"
	"github.com/paved-dev/paved/internal/diag"
)

func newPlatformCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "platform",
		Short: "Start and manage a platform directory",
	}
	c.AddCommand(newPlatformInitCmd(e), newPlatformExplainCmd(e))
	return c
}

func newPlatformExplainCmd(e *env) *cobra.Command {
	o := &explainOptions{}
	c := &cobra.Command{
		Use:   "explain [FIELD]",
		Short: "Document the platform's settings: fields, values, defaults and constraints",
		Long: `platform explain documents #Platform, what a platform directory's
platform.cue sets, as the platform in force resolves it. Without FIELD it
lists the top-level fields; with a dotted path such as
workload.imagePullPolicy, environments.prod.alerts or teams.payments it
shows that field's documentation, the value the platform in force gives it
(VALUE), paved's default for any platform (DEFAULT; an environment's
settings show the default of any environment, a new one that names only its
clusters) and its constraint. A name that only a map admits (an environment
the platform does not have, environments.qa) is documented by the map's
entries. Policies read the same values in data.paved.platform.

Exit codes: 0 ok, 2 unknown field.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			p, err := loadCheckedPlatform(e, o.path(e))
			if err != nil {
				return err
			}
			x := explainer{command: "paved platform explain", root: "platform", explain: p.ExplainPlatform}
			return x.print(e, strings.Join(args, ""))
		},
	}
	o.register(c)
	return c
}

func newPlatformInitCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "init DIR",
		Short: "Scaffold a complete, commented platform directory to start from",
		Long: `platform init writes a platform directory to start from: platform.cue
(a whole platform, commented: the example's environments and clusters,
sizes, prices and teams, the teams bound to the sources that may write
them, reserved names, policy settings), schema/ and blueprints/ (what goes
there), a platform policy with its test and data, and a README. A platform
directory replaces the example platform, so edit platform.cue into your
own. Commit it into the fleet repository as platform/: paved diff, commit,
verify and rerender render with the platform the fleet holds.

The directory is loaded and its policies compiled before anything is
written, and DIR must not exist or be empty. Exit codes: 0 written, 2 DIR
is not empty, 4 it cannot be written.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir := absPath(e, args[0])
			if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
				return invalid("platform init: %s is not empty: paved never overwrites a platform", diag.Rel(e.cwd, dir))
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return &exitError{code: ExitGit, err: fmt.Errorf("platform init: %w", err)}
			}
			// Written next to DIR, checked, then renamed into place.
			if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
				return &exitError{code: ExitGit, err: fmt.Errorf("platform init: %w", err)}
			}
			tmp, err := os.MkdirTemp(filepath.Dir(dir), ".paved-platform-")
			if err != nil {
				return &exitError{code: ExitGit, err: fmt.Errorf("platform init: %w", err)}
			}
			defer os.RemoveAll(tmp)
			starter, err := fs.Sub(blueprints.Starters, "starters/platform")
			if err != nil {
				return err
			}
			if err := os.CopyFS(tmp, starter); err != nil {
				return &exitError{code: ExitGit, err: fmt.Errorf("platform init: %w", err)}
			}
			if _, err := loadEngine(tmp); err != nil {
				return fmt.Errorf("platform init: the starter platform does not load: %w", err)
			}
			if err := os.Chmod(tmp, 0o755); err != nil {
				return &exitError{code: ExitGit, err: fmt.Errorf("platform init: %w", err)}
			}
			_ = os.Remove(dir) // an empty DIR
			if err := os.Rename(tmp, dir); err != nil {
				return &exitError{code: ExitGit, err: fmt.Errorf("platform init: %w", err)}
			}
			var n int
			_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					n++
				}
				return nil
			})
			fmt.Fprintf(e.stdout, "wrote a platform into %s: %d files; commit it into the fleet repository as platform/ (README.md there says what goes where)\n", diag.Rel(e.cwd, dir), n)
			return nil
		},
	}
}
