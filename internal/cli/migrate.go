package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/discover"
	"github.com/paved-dev/paved/internal/migrate"
)

type migrateOptions struct {
	check bool
}

func newMigrateCmd(e *env) *cobra.Command {
	o := &migrateOptions{}
	c := &cobra.Command{
		Use:   "migrate [PATH...]",
		Short: "Rewrite app specs to the newest apiVersion this paved knows",
		Long: `migrate discovers the app directories below each PATH (default .) and
rewrites each app's CUE files from its apiVersion to the newest one, one
step at a time, on CUE's syntax tree: comments and what a step does not
touch are kept (the files changed are formatted as cue fmt does).
COMPATIBILITY.md says when an apiVersion changes. paved.dev/v1alpha1 is
the only apiVersion so far: there is nothing to migrate yet.

--check writes nothing and exits 1 when a migration would change files.
Nothing is written when any app has a problem.

Exit codes: 0 nothing to migrate, or migrated; 1 --check and a migration
would change files; 2 invalid input (CUE that does not parse, with its
file:line:col).`,
		RunE: func(c *cobra.Command, args []string) error {
			return o.run(e, args)
		},
	}
	c.Flags().BoolVar(&o.check, "check", false, "write nothing; exit 1 when a migration would change files")
	return c
}

func (o *migrateOptions) run(e *env, args []string) error {
	roots := args
	if len(roots) == 0 {
		roots = []string{"."}
	}
	for i, r := range roots {
		if !filepath.IsAbs(r) {
			roots[i] = filepath.Join(e.cwd, r)
		}
	}
	apps, diags := discover.Apps(roots)
	steps := e.migrations
	if steps == nil {
		steps = migrate.Steps
	}
	type change struct {
		dir      string
		from, to string
		files    []migrate.File
	}
	var changes []change
	for _, a := range apps {
		files := make([]migrate.File, len(a.Files))
		for i, f := range a.Files {
			files[i] = migrate.File{Path: f.Path, Data: f.Data}
		}
		res, err := steps.App(files)
		if err != nil {
			var l diag.List
			if errors.As(err, &l) {
				diags = append(diags, l...)
				continue
			}
			return err
		}
		if len(res.Changed) > 0 {
			changes = append(changes, change{a.Dir, res.From, res.To, res.Changed})
		}
	}
	if len(diags) > 0 {
		return diags.Sanitize()
	}
	verb := "migrated"
	if o.check {
		verb = "would migrate"
	}
	for _, c := range changes {
		for _, f := range c.files {
			fmt.Fprintf(e.stdout, "%s %s: %s → %s\n", verb, rel(e.cwd, f.Path), c.from, c.to)
		}
	}
	if len(changes) == 0 {
		if !e.quiet {
			fmt.Fprintf(e.stdout, "nothing to migrate: %d %s at the newest apiVersion\n", len(apps), plural(len(apps), "app", "apps"))
		}
		return nil
	}
	if o.check {
		return &exitError{code: ExitChanges, err: errors.New("")}
	}
	// Every app migrated in memory; now write, each file through a
	// temporary file renamed over it.
	for _, c := range changes {
		for _, f := range c.files {
			if err := writeFileAtomic(f.Path, f.Data); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
		}
	}
	return nil
}

// writeFileAtomic replaces path with data, keeping its mode.
func writeFileAtomic(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// rel is p relative to dir when below it, for messages.
func rel(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil && discover.Within(dir, p) {
		return r
	}
	return p
}
