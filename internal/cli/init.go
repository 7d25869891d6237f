package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"cuelang.org/go/cue"
	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/blueprints"
	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/discover"
	"github.com/paved-dev/paved/internal/gitsource"
	"github.com/paved-dev/paved/schema"
)

type initOptions struct {
	platformFlag
	kind, name, team, image string
}

func newInitCmd(e *env) *cobra.Command {
	o := &initOptions{}
	c := &cobra.Command{
		Use:   "init --team TEAM [--kind web|worker|cron] DIR",
		Short: "Scaffold an app.cue from a blueprint, with a pre-commit hook and a CI workflow",
		Long: `init writes DIR/app.cue for a new app of the given kind, owned by --team
(one of the platform's teams) and named after DIR unless --name is given.
Its comments say what the container must do on the paved path: the health
endpoints, the metrics endpoint, the user and the read-only file system it
runs with, its logs and traces.

A pre-commit configuration (.pre-commit-config.yaml) and an example CI
workflow (.github/workflows/paved.yaml) are read at the root of a
repository, so init writes them at the root of the git repository that
holds DIR; one that exists is kept, and init prints what to add to it.
Outside git, DIR is taken as the root of the repository to be: they are
written in DIR, and init says so.

The spec is vetted before anything is written; an existing app.cue is never
overwritten.

Exit codes: 0 written, 2 invalid input (no --team, an unknown team, a spec
that would not vet) or an existing app.cue.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return o.run(e, args[0]) },
	}
	o.register(c)
	c.Flags().StringVar(&o.kind, "kind", "web", "app kind: web, worker or cron")
	c.Flags().StringVar(&o.name, "name", "", "app name (default: the base name of DIR)")
	c.Flags().StringVar(&o.team, "team", "", "owning team: one of the platform's teams (required)")
	c.Flags().StringVar(&o.image, "image", "", "container image with a tag (default: <first allowed registry><team>/<name>:0.1.0)")
	return c
}

// starterData is what the starters are executed with.
type starterData struct {
	Name, Team, Image string
	// Path is what the CI workflow vets and lints, from the root of the
	// repository: every app in it.
	Path string
	// PavedVersion is the release the workflow's paved Action installs.
	PavedVersion string
	// The app contract, as the schema and the platform in force default
	// it.
	Liveness, Readiness      string
	MetricsPort, MetricsPath string
	UID, GID                 int
	ReadOnlyRoot             bool
	TmpPath, TmpSize         string
}

// repoFile is a repository-level file init scaffolds: where it goes, its
// template, and how to tell an existing one already runs paved.
type repoFile struct {
	name, tmpl string
	// has says the file already runs paved's checks.
	has string
	// add is what to add to an existing file that does not: the part
	// of the scaffold from this line on, and where it goes.
	add, addWhere string
}

// repoFiles are in the order init writes and reports them.
var repoFiles = []repoFile{
	{name: ".github/workflows/paved.yaml", tmpl: "github-workflow.yaml.tmpl", has: "paved vet", add: "      - name: Install paved", addWhere: "add these steps to a job that checks the repository out:"},
	{name: ".pre-commit-config.yaml", tmpl: "pre-commit-config.yaml.tmpl", has: "paved vet", add: "  - repo: local", addWhere: "add paved's hooks to its repos:"},
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
	p, err := loadCheckedPlatform(e, o.path(e))
	if err != nil {
		return err
	}
	teams := schema.SortedKeys(p.Data.Teams)
	if o.team == "" {
		return invalid("init: --team is required: the team that owns the app, one of the platform's teams (%s)", strings.Join(teams, ", "))
	}
	data := starterData{Name: o.name, Team: o.team, Image: o.image, Path: ".", PavedVersion: ReleaseTag()}
	if data.Name == "" {
		data.Name = filepath.Base(dir)
	}
	if data.Image == "" && len(p.Data.Registries) > 0 {
		data.Image = fmt.Sprintf("%s%s/%s:0.1.0", p.Data.Registries[0], data.Team, data.Name)
	}
	data.Liveness = schemaDefault(p, o.kind, "health.liveness", "/livez")
	data.Readiness = schemaDefault(p, o.kind, "health.readiness", "/readyz")
	data.MetricsPort = schemaDefault(p, o.kind, "observability.metrics.port", "9090")
	data.MetricsPath = schemaDefault(p, o.kind, "observability.metrics.path", "/metrics")
	w := p.Data.Workload
	data.UID, data.GID = w.SecurityContext.RunAsUser, w.SecurityContext.RunAsGroup
	data.ReadOnlyRoot = w.SecurityContext.ReadOnlyRootFilesystem
	data.TmpPath, data.TmpSize = w.Tmp.MountPath, w.Tmp.SizeLimit
	execute := func(tmpl string) ([]byte, error) {
		t, err := template.ParseFS(blueprints.Starters, "starters/"+tmpl)
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	spec, err := execute(o.kind + "/app.cue.tmpl")
	if err != nil {
		return err
	}
	// Vet the spec before writing anything.
	appPath := filepath.Join(dir, discover.AppFile)
	if _, ds := p.LoadApp(discover.App{Dir: dir, Files: []discover.File{{Path: appPath, Data: spec}}}); len(ds) > 0 {
		return append(diag.List{{Message: "init: the scaffolded spec would not be valid; pass --name, --team or --image"}}, ds...)
	}
	if _, err := os.Lstat(appPath); err == nil {
		return diag.List{{Message: "init: file exists; not overwriting it", Positions: []diag.Position{{Filename: appPath}}}}
	}

	// The repository-level files go to the root of the repository that
	// holds DIR: pre-commit and GitHub read them nowhere else.
	root := gitsource.Root(dir)
	inRepo := root != ""
	if !inRepo {
		root = dir
	}
	type plan struct {
		repoFile
		path string
		data []byte
		keep []byte // the existing file's content, when there is one
	}
	var plans []plan
	for _, f := range repoFiles {
		b, err := execute(f.tmpl)
		if err != nil {
			return err
		}
		pl := plan{repoFile: f, path: filepath.Join(root, filepath.FromSlash(f.name)), data: b}
		if fi, err := os.Lstat(pl.path); err == nil {
			pl.keep = []byte{}
			if fi.Mode().IsRegular() {
				pl.keep, _ = os.ReadFile(pl.path)
			}
		}
		plans = append(plans, pl)
	}

	write := func(p string, data []byte) error {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return &exitError{code: ExitInvalid, err: err}
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return &exitError{code: ExitInvalid, err: err}
		}
		fmt.Fprintf(e.stdout, "wrote %s\n", diag.Rel(e.cwd, p))
		return nil
	}
	if err := write(appPath, spec); err != nil {
		return err
	}
	var kept []plan
	for _, pl := range plans {
		if pl.keep != nil {
			kept = append(kept, pl)
			continue
		}
		if err := write(pl.path, pl.data); err != nil {
			return err
		}
	}
	for _, pl := range kept {
		shown := diag.Rel(e.cwd, pl.path)
		if bytes.Contains(pl.keep, []byte(pl.has)) {
			fmt.Fprintf(e.stdout, "kept %s: it exists and runs %s already\n", shown, pl.has)
			continue
		}
		fmt.Fprintf(e.stdout, "kept %s: it exists; %s\n", shown, pl.addWhere)
		if i := bytes.Index(pl.data, []byte(pl.add)); i >= 0 {
			e.stdout.Write(pl.data[i:])
		} else {
			e.stdout.Write(pl.data)
		}
	}
	if !inRepo {
		shown := diag.Rel(e.cwd, dir)
		fmt.Fprintf(e.stdout, "note: %s is in no git repository, so its %s and %s are for a repository rooted there (git init %s): pre-commit and GitHub read them only at the root of a repository; if %s goes into another repository, move them to that root\n",
			shown, repoFiles[1].name, repoFiles[0].name, shown, shown)
	}
	return nil
}

// schemaDefault is the default of the #App field at path for kind, as the
// platform in force sets it, unquoted; else fallback.
func schemaDefault(p *schema.Platform, kind, path, fallback string) string {
	var sels []cue.Selector
	for _, s := range strings.Split(path, ".") {
		sels = append(sels, cue.Str(s))
	}
	f, resolved := p.Explain(kind, sels)
	if resolved < len(sels) || f.Default == "" {
		return fallback
	}
	if s, err := strconv.Unquote(f.Default); err == nil {
		return s
	}
	return f.Default
}
