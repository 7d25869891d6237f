package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/blueprints"
	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/discover"
	"github.com/paved-dev/paved/schema"
)

type initOptions struct {
	platformFlag
	kind, name, team, image string
}

func newInitCmd(e *env) *cobra.Command {
	o := &initOptions{}
	c := &cobra.Command{
		Use:   "init [--kind web|worker|cron] DIR",
		Short: "Scaffold an app.cue from a blueprint, with a pre-commit hook and a CI workflow",
		Long: `init writes DIR/app.cue for a new app of the given kind (named after DIR
unless --name is given), DIR/.pre-commit-config.yaml and an example CI
workflow in DIR/.github/workflows/paved.yaml. The spec is vetted before
anything is written; existing files are never overwritten.

Exit codes: 0 written, 2 invalid input or existing files.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return o.run(e, args[0]) },
	}
	o.register(c)
	c.Flags().StringVar(&o.kind, "kind", "web", "app kind: web, worker or cron")
	c.Flags().StringVar(&o.name, "name", "", "app name (default: the base name of DIR)")
	c.Flags().StringVar(&o.team, "team", "", "owning team (default: the first team of the platform)")
	c.Flags().StringVar(&o.image, "image", "", "container image with a tag (default: <first allowed registry><team>/<name>:0.1.0)")
	return c
}

func (o *initOptions) run(e *env, dir string) error {
	switch o.kind {
	case "web", "worker", "cron":
	default:
		return invalid("init: --kind must be web, worker or cron, not %q", o.kind)
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(e.cwd, dir)
	}
	p, err := schema.LoadPlatform(o.path(e))
	if err != nil {
		return err
	}
	data := struct{ Name, Team, Image, Path string }{o.name, o.team, o.image, "."}
	if data.Name == "" {
		data.Name = filepath.Base(dir)
	}
	if data.Team == "" {
		data.Team = schema.SortedKeys(p.Data.Teams)[0]
	}
	if data.Image == "" {
		data.Image = fmt.Sprintf("%s%s/%s:0.1.0", p.Data.Registries[0], data.Team, data.Name)
	}
	files := map[string]string{
		discover.AppFile:               o.kind + "/app.cue.tmpl",
		".pre-commit-config.yaml":      "pre-commit-config.yaml.tmpl",
		".github/workflows/paved.yaml": "github-workflow.yaml.tmpl",
	}
	out := map[string][]byte{}
	for name, tmpl := range files {
		t, err := template.ParseFS(blueprints.Starters, "starters/"+tmpl)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return err
		}
		out[name] = b.Bytes()
	}
	// Vet the spec before writing anything.
	appPath := filepath.Join(dir, discover.AppFile)
	if _, ds := p.LoadApp(discover.App{Dir: dir, Files: []discover.File{{Path: appPath, Data: out[discover.AppFile]}}}); len(ds) > 0 {
		return append(diag.List{{Message: "init: the scaffolded spec would not be valid; pass --name, --team or --image"}}, ds...)
	}
	var exists diag.List
	for _, name := range schema.SortedKeys(out) {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			exists.Add("", "init: file exists; not overwriting it", diag.Position{Filename: filepath.Join(dir, name)})
		}
	}
	if len(exists) > 0 {
		return exists
	}
	for _, name := range schema.SortedKeys(out) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return &exitError{code: ExitInvalid, err: err}
		}
		if err := os.WriteFile(p, out[name], 0o644); err != nil {
			return &exitError{code: ExitInvalid, err: err}
		}
		fmt.Fprintf(e.stdout, "wrote %s\n", diag.Rel(e.cwd, p))
	}
	return nil
}
