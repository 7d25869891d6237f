package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/diff"
	"github.com/paved-dev/paved/internal/discover"
	"github.com/paved-dev/paved/internal/fleet"
	"github.com/paved-dev/paved/internal/gitsource"
	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
)

type diffOptions struct {
	platformFlag
	fleet   string
	ref     string
	output  string
	outFile string
	today   string
	base    string
}

var diffFormats = []string{"terminal", "markdown", "json"}

func newDiffCmd(e *env) *cobra.Command {
	o := &diffOptions{}
	c := &cobra.Command{
		Use:   "diff [PATH...] --fleet URL|DIR [--ref main] [-o terminal|markdown|json]",
		Short: "Show what a render would change in the fleet repository, object by object",
		Long: `diff renders the apps below each PATH (default .) in memory and compares every
object, as Flux would build it, with what the fleet holds at --ref for the
paths paved owns: the fleet's ownership manifests say which files belong to
the apps in scope (the apps rendered now and the fleet's apps whose source
lies below a PATH, so a removed app shows as deleted).

Objects are identified by cluster, group, kind, namespace and name; an
apiVersion change is a change. Deletions of Namespaces, PersistentVolumeClaims,
StatefulSets and CRDs and changes of immutable fields are flagged as danger.
Secret values are masked. Differences only in provenance annotations are
counted, not shown.

--fleet is a directory (a git work tree or bare repository, read at --ref;
or a plain directory such as render --out output) or a URL: https (token
from PAVED_GIT_TOKEN or GITHUB_TOKEN), ssh (agent, or PAVED_SSH_KEY), file://.

Exit codes: 0 no changes, 1 changes, 2 invalid input, 3 render error (on
either side), 4 git error.`,
		RunE: func(c *cobra.Command, args []string) error {
			if o.fleet == "" {
				return invalid("diff: --fleet URL|DIR is required")
			}
			if !slices.Contains(diffFormats, o.output) {
				return invalid("diff: unknown output format %q (one of %v)", o.output, diffFormats)
			}
			l, err := loadApps(e, args, o.path(e), loadOptions{policies: o.output == "markdown"})
			if err != nil {
				return err
			}
			in, tree, err := renderLoaded(e, l, render.ReadOnly)
			if err != nil {
				return err
			}
			ctx := context.Background()
			stop := e.stage("read fleet")
			snap, err := fleet.Read(ctx, fleetLocation(e, o.fleet), o.ref)
			if err != nil {
				stop()
				return &exitError{code: ExitGit, err: err}
			}
			before, err := fleetUnits(snap, in, e, args)
			stop()
			if err != nil {
				return err
			}
			envOf := map[string]string{}
			for _, ct := range render.Clusters(l.platform) {
				envOf[ct.Name] = ct.Environment
			}
			for i := range before {
				before[i].Environment = envOf[before[i].Cluster]
			}
			stop = e.stage("diff")
			rep, err := diff.Compute(before, tree.Units)
			stop()
			if err != nil {
				return &exitError{code: ExitRender, err: fmt.Errorf("diff: %w", err)}
			}
			meta := diff.Meta{Fleet: snap.Source, FleetRevision: snap.Revision, Ref: o.ref, Version: Version()}
			w := bufio.NewWriter(e.stdout)
			switch o.output {
			case "terminal":
				useColor := false
				if f, ok := e.stdout.(*os.File); ok && os.Getenv("NO_COLOR") == "" {
					useColor = isatty.IsTerminal(f.Fd())
				}
				err = diff.Terminal(w, rep, useColor)
			case "json":
				err = diff.JSON(w, rep, meta)
			case "markdown":
				var mi diff.MarkdownInput
				mi, err = o.markdownInput(e, l, in, tree, before, meta)
				if err == nil {
					if o.outFile != "" {
						err = writeFull(e, o.outFile, rep, mi)
					}
					if err == nil {
						mi.Budget = diff.DefaultBudget
						err = diff.Markdown(w, rep, mi)
					}
				}
			}
			if err == nil && o.outFile != "" && o.output != "markdown" {
				err = invalid("diff: --out-file goes with -o markdown")
			}
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			if err != nil {
				return err
			}
			if len(rep.Changes) > 0 {
				return &exitError{code: ExitChanges, err: errors.New("")}
			}
			return nil
		},
	}
	o.register(c)
	c.Flags().StringVar(&o.fleet, "fleet", "", "fleet repository: a directory or a URL (required)")
	c.Flags().StringVar(&o.ref, "ref", "main", "fleet branch or revision to compare with")
	c.Flags().StringVarP(&o.output, "output", "o", "terminal", "output format: terminal, markdown or json")
	c.Flags().StringVar(&o.outFile, "out-file", "", "also write the full, unbounded report to this file")
	c.Flags().StringVar(&o.today, "today", "", "date exceptions are checked against, YYYY-MM-DD (default: today, UTC)")
	c.Flags().StringVar(&o.base, "base", "", "the pull request's base revision, shown in the comment header")
	return c
}

// fleetUnits builds what the fleet holds for the apps in scope, as Flux
// would: the apps rendered now, and the fleet's apps whose source lies
// below one of the PATHs (removed apps), with their teams' tenants.
func fleetUnits(snap *fleet.Snapshot, in render.Input, e *env, args []string) ([]render.Unit, error) {
	rendered := map[string]bool{}
	for _, a := range in.Apps {
		rendered[a.Base.Team+"/"+a.Base.Name] = true
	}
	roots := sourceRoots(e, args)
	files := map[string][]byte{}
	teams := map[string]bool{}
	var manifests []string
	for p := range snap.Files {
		if strings.HasPrefix(p, ".paved/apps/") && strings.HasSuffix(p, ".json") {
			manifests = append(manifests, p)
		}
	}
	slices.Sort(manifests)
	take := func(own fleet.Manifest) {
		for _, f := range own.Files {
			if data, ok := snap.Files[f]; ok {
				files[f] = data
			}
		}
	}
	for _, p := range manifests {
		var own fleet.Manifest
		if err := json.Unmarshal(snap.Files[p], &own); err != nil {
			return nil, &exitError{code: ExitRender, err: fmt.Errorf("diff: fleet %s: %w", p, err)}
		}
		inScope := rendered[own.Team+"/"+own.App]
		if !inScope && own.Source != nil {
			for _, r := range roots {
				if r == "." || own.Source.Path == r || strings.HasPrefix(own.Source.Path, r+"/") {
					inScope = true
				}
			}
		}
		if inScope {
			teams[own.Team] = true
			take(own)
		}
	}
	for _, a := range in.Apps {
		teams[a.Base.Team] = true
	}
	for team := range teams {
		p := ".paved/tenants/" + team + ".json"
		if data, ok := snap.Files[p]; ok {
			var own fleet.Manifest
			if err := json.Unmarshal(data, &own); err != nil {
				return nil, &exitError{code: ExitRender, err: fmt.Errorf("diff: fleet %s: %w", p, err)}
			}
			take(own)
		}
	}
	// The Flux Kustomizations under clusters/<cluster>/paved are single
	// objects the entry kustomization lists; build only the app and tenant
	// directories and read those files as they are.
	tree := &render.Tree{Files: map[string][]byte{}}
	var entries []string
	for f, data := range files {
		if strings.HasPrefix(f, "clusters/") {
			if path.Base(f) != "kustomization.yaml" {
				entries = append(entries, f)
			}
			continue
		}
		tree.Files[f] = data
	}
	if err := render.BuildAll(tree); err != nil {
		return nil, &exitError{code: ExitRender, err: fmt.Errorf("diff: what the fleet holds (%s) does not build: %v", revisionOr(snap), err)}
	}
	units := tree.Units
	slices.Sort(entries)
	byCluster := map[string]*render.Unit{}
	var order []string
	for _, f := range entries {
		parts := strings.Split(f, "/")
		o, err := render.DecodeObject(files[f])
		if err != nil {
			return nil, &exitError{code: ExitRender, err: fmt.Errorf("diff: fleet %s: %w", f, err)}
		}
		u := byCluster[parts[1]]
		if u == nil {
			u = &render.Unit{Dir: path.Join("clusters", parts[1], "paved"), Kind: render.UnitEntry, Cluster: parts[1]}
			byCluster[parts[1]] = u
			order = append(order, parts[1])
		}
		u.Objects = append(u.Objects, render.Built{Object: o, File: f})
	}
	for _, c := range order {
		units = append(units, *byCluster[c])
	}
	return units, nil
}

func revisionOr(s *fleet.Snapshot) string {
	if s.Revision != "" {
		return s.Source + "@" + s.Revision[:min(12, len(s.Revision))]
	}
	return s.Source
}

// sourceRoots are the PATH arguments as the source paths ownership
// manifests record: relative to their git repository, else to the working
// directory (as render records them).
func sourceRoots(e *env, args []string) []string {
	if len(args) == 0 {
		args = []string{"."}
	}
	var out []string
	for _, a := range args {
		abs := a
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(e.cwd, a)
		}
		root := e.cwd
		if info, err := gitsource.Describe(abs); err == nil && info.Root != "" {
			root = info.Root
		}
		if !discover.Within(root, abs) {
			continue
		}
		out = append(out, gitsource.Rel(root, abs))
	}
	return out
}

// markdownInput lints the render and estimates costs on both sides for
// the PR comment.
func (o *diffOptions) markdownInput(e *env, l *loaded, in render.Input, tree *render.Tree, before []render.Unit, meta diff.Meta) (diff.MarkdownInput, error) {
	mi := diff.MarkdownInput{Meta: meta, Base: o.base}
	today, err := parseToday(o.today)
	if err != nil {
		return mi, err
	}
	if mi.Lint, err = lintTree(e, l, tree, today); err != nil {
		return mi, err
	}
	mi.After = mi.Lint.Costs
	mi.Before = policy.Estimate(l.platform, &render.Tree{Units: before})
	if len(in.Apps) > 0 {
		src := in.Apps[0].Source
		mi.Source, mi.Head = src.Repo, src.Revision
		if src.Revision != "" {
			mi.Source += "@" + src.Revision[:min(7, len(src.Revision))]
		}
	}
	if mi.Source == "" {
		mi.Source = "(working tree)"
	}
	mi.Versions = "paved " + Version() + versionsLine()
	return mi, nil
}

// writeFull writes the unbounded Markdown report to path.
func writeFull(e *env, p string, rep *diff.Report, mi diff.MarkdownInput) error {
	if !filepath.IsAbs(p) {
		p = filepath.Join(e.cwd, p)
	}
	var b strings.Builder
	mi.Budget = 0
	if err := diff.Markdown(&b, rep, mi); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(b.String()), 0o644)
}
