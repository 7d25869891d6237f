package cli

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
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
	fleetFlags
	changed bool
	fleet   string
	ref     string
	output  string
	outFile string
	today   string
	base    string
	full    bool
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
the apps in scope. The scope is the apps rendered now and the fleet's apps of
this run's source (--source, else the origin remote as host/owner/name)
whose path lies below a PATH, so a removed app shows as deleted; another
source's apps are never shown, and a team's tenant shows as deleted only
when no app of the team, from any source, remains. An app the fleet records
for another source is refused (exit 2) unless --adopt team/name, which the
header then shows; so is a dependsOn entry naming an app neither rendered
nor in the fleet.

Objects are identified by cluster, group, kind, namespace and name; an
apiVersion change is a change. Deletions of Namespaces, PersistentVolumeClaims,
StatefulSets, CRDs, databases (CloudNativePG Clusters) and Flagger Canaries
(an app back to rolling) and changes of immutable fields are flagged as
danger.
Secret values are masked. Objects of a changed app that differ only in
provenance annotations are counted, not shown; an app that differs only in
provenance (a new source revision alone) is no change.

The fleet's integrity is checked as commit checks it: a file under paved's
directories (clusters/<cluster>/paved, apps, tenants, catalog, .paved) that
no ownership manifest lists, a file of an app without its manifest, and an
entry kustomization edited by hand are reported in every format (json:
meta.integrity) and make the exit code 1; commit refuses such a fleet.

The report starts with a summary in words per app, read from the objects
of both sides: image, replicas or HPA bounds, size, env and secret keys
(never values), ingress, schedule, rollout, databases, dependencies,
dashboard, catalog entry, objects added or removed, and (-o markdown) policy
findings; and the monthly cost. Then the danger zone, then the diffs: an
edit made identically on several objects (the version label on every
object of an app in every cluster) is shown once with where it applies,
objects changed only by such edits are counted, not listed, and an object
that changes alike in several clusters is shown once. --full shows every
object's whole diff instead; --out-file always writes the whole report.

--fleet is a directory (a git work tree or bare repository, read at --ref;
or a plain directory such as render --out output) or a URL: https (token
from PAVED_GIT_TOKEN or GITHUB_TOKEN), ssh (agent, or PAVED_SSH_KEY), file://.

A fleet without any commit yet (a new, empty repository) holds nothing:
everything shows as added. A --ref the fleet does not have, when it has
others, is a git error: a mistyped ref does not read as an empty fleet.

Exit codes: 0 no changes, 1 changes or integrity problems, 2 invalid input (including a claim on
another source's app and a missing dependency), 3 render error (on either
side), 4 git error (including an ownership manifest paved refuses).`,
		RunE: func(c *cobra.Command, args []string) error {
			if o.fleet == "" {
				return invalid("diff: --fleet URL|DIR is required")
			}
			if !slices.Contains(diffFormats, o.output) {
				return invalid("diff: unknown output format %q (one of %v)", o.output, diffFormats)
			}
			if err := o.checkFleet(); err != nil {
				return err
			}
			lo := loadOptions{policies: o.output == "markdown"}
			if o.changed {
				lo.changed = changedFlag{on: true, ref: cmp.Or(o.base, "HEAD")}
				lo.deferValidation = true
			}
			// The fleet is read first: diff renders with the platform it
			// holds at --ref, as commit will. A full diff reads the whole
			// scope while it holds the render: the clone stays compressed
			// on disk.
			stop := e.stage("read fleet")
			// A new fleet (a repository without a commit) holds nothing:
			// everything shows as added, as commit --create-branch would
			// write it.
			snap, err := fleet.ReadWith(context.Background(), fleetLocation(e, o.fleet), o.ref, fleet.ReadOptions{OnDisk: !o.changed, EmptyOK: true})
			stop()
			if err != nil {
				return &exitError{code: ExitGit, err: err}
			}
			defer func() { snap.Close() }()
			if snap.Empty {
				fmt.Fprintf(e.stderr, "note: fleet %s has no commit yet: everything shows as added (paved commit --create-branch makes its first commit)\n", snap.Source)
			}
			fp, err := readFleetPlatform(snap)
			if err != nil {
				return &exitError{code: ExitGit, err: fmt.Errorf("diff: fleet %s: %w", snap.Source, err)}
			}
			fp.revision = snap.Revision
			defer fp.close()
			fp.note(e, "diff", localPlatform(e, o.path(e), args), gitsource.SanitizeOrigin(o.fleet), fp.revision)
			lo.fixedPlatform = true
			l, err := loadApps(e, args, fp.dir, lo)
			if err != nil {
				return err
			}
			if err := checkIdentity(e, "diff", args, o.source, l.platform); err != nil {
				return err
			}
			// The manifests are read before the render: --changed renders
			// what differs from them, and the tenants count the fleet's
			// other apps of the teams rendered (tenantFleet).
			var ms *fleet.Manifests
			var integrity []diff.IntegrityProblem
			readFleet := func() error {
				stop := e.stage("read manifests")
				defer stop()
				var err error
				if ms, err = fleet.ReadManifests(snap.Paths, snap.ReadFile); err != nil {
					return fleetFailure(l, "diff", err)
				}
				problems, err := fleet.Integrity(snap.Paths, ms, snap.ReadFile, render.EntryKustomization)
				if err != nil {
					return &exitError{code: ExitGit, err: fmt.Errorf("diff: fleet %s: %w", revisionOr(snap), err)}
				}
				for _, p := range problems {
					integrity = append(integrity, diff.IntegrityProblem{Kind: string(p.Kind), File: p.File, App: p.App, Message: p.Message})
				}
				return nil
			}
			// --changed renders the apps whose inputs changed against
			// --base; the others are kept as the fleet holds them.
			var keep []fleet.App
			if err := readFleet(); err != nil {
				return err
			}
			if o.changed {
				changed := l.changedDirs
				if l, keep, err = keepUnchanged(e, l, ms, o.source, func(a discover.App, _ *fleet.Manifest) bool { return !changed[a.Dir] }); err != nil {
					return err
				}
			}
			roots := sourceRoots(e, args, o.source)
			in, tree, err := renderLoaded(e, l, render.ReadOnly, o.source, tenantFleet(ms, renderedIDs(l), keep, roots)...)
			if err != nil {
				return err
			}
			plan, err := fleet.NewPlan(fleet.PlanInput{
				Fleet: ms, Apps: planApps(in), Keep: keep, Roots: roots, Adopt: o.adopt,
				TeamSources: teamSources(l.platform), Ancestry: sourceAncestry(e, args, o.source),
			})
			if err != nil {
				return fleetFailure(l, "diff", err)
			}
			for _, s := range plan.Stale {
				fmt.Fprintf(e.stderr, "note: %s: commit would write nothing for this run\n", s)
			}
			stop = e.stage("build fleet")
			before, err := fleetUnits(snap, ms, plan, in, tree)
			// Nothing more is read from the fleet: let go of the clone
			// before the diff and lint, and of the manifests and plan
			// (they are not read below).
			meta := diff.Meta{Fleet: snap.Source, FleetRevision: snap.Revision, Ref: o.ref, Version: Version(), Sources: sourcesOf(in), Integrity: integrity,
				Promotion: promotionLines(in, ms)}
			for _, a := range plan.Adopted {
				meta.Adopted = append(meta.Adopted, a.String())
			}
			if cerr := snap.Close(); err == nil && cerr != nil {
				err = &exitError{code: ExitGit, err: cerr}
			}
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
			rep, err := diff.ComputeWith(before, tree.Compared(), diff.Options{Sizes: l.platform.Data.Sizes})
			stop()
			if err != nil {
				return &exitError{code: ExitRender, err: fmt.Errorf("diff: %w", err)}
			}
			// The report holds the changed objects; the fleet's side is
			// not read after its costs, so lint, which lets go of the
			// render's objects as it converts them, does not find the
			// fleet held twice.
			beforeCosts := policy.Estimate(l.platform, &render.Tree{Units: before})
			w := bufio.NewWriter(e.stdout)
			switch o.output {
			case "terminal":
				useColor := false
				if f, ok := e.stdout.(*os.File); ok && os.Getenv("NO_COLOR") == "" {
					useColor = isatty.IsTerminal(f.Fd())
				}
				err = diff.Terminal(w, rep, diff.TerminalInput{
					Meta: meta, Color: useColor, Full: o.full,
					Before: beforeCosts,
					After:  policy.Estimate(l.platform, tree),
				})
			case "json":
				err = diff.JSON(w, rep, meta)
			case "markdown":
				var mi diff.MarkdownInput
				mi, err = o.markdownInput(e, l, in, tree, beforeCosts, meta)
				if err == nil {
					if o.outFile != "" {
						err = writeFull(e, o.outFile, rep, mi)
					}
					if err == nil {
						mi.Budget, mi.Full = diff.DefaultBudget, o.full
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
			if len(rep.Changes) > 0 || len(integrity) > 0 {
				return &exitError{code: ExitChanges, err: errors.New("")}
			}
			return nil
		},
	}
	o.register(c)
	o.registerFleet(c)
	c.Flags().StringVar(&o.fleet, "fleet", "", "fleet repository: a directory or a URL (required)")
	c.Flags().StringVar(&o.ref, "ref", "main", "fleet branch or revision to compare with")
	c.Flags().StringVarP(&o.output, "output", "o", "terminal", "output format: terminal, markdown or json")
	c.Flags().StringVar(&o.outFile, "out-file", "", "also write the full, unbounded report (as --full) to this file")
	c.Flags().BoolVar(&o.full, "full", false, "show every changed object's whole diff, instead of changes shared by several objects once")
	c.Flags().StringVar(&o.today, "today", "", "date exceptions are checked against, YYYY-MM-DD (default: today, UTC)")
	c.Flags().StringVar(&o.base, "base", "", "the pull request's base revision: shown in the comment header, and what --changed compares with")
	c.Flags().BoolVar(&o.changed, "changed", false, "render only the apps whose inputs changed against --base (default HEAD; a platform change is every app's); the others are taken as the fleet holds them")
	return c
}

// fleetUnits builds what the fleet holds of the run's scope, as Flux
// would: the fleet's apps in scope (the plan's: this run's apps and its
// source's apps below a PATH, which were removed) and the tenants the
// change touches: a rendered team's, and a removed app's team's where no
// app of the team, from any source, remains. Everything else is neither
// rendered nor read, so it shows as unchanged.
func fleetUnits(snap *fleet.Snapshot, ms *fleet.Manifests, plan *fleet.Plan, in render.Input, rendered *render.Tree) ([]render.Unit, error) {
	// The files to build, an app's or a team's tenant's at a time, so
	// that a full diff holds one app's bytes at once, not the fleet's.
	var groups [][]string
	// The teams whose tenants the render holds: those of its apps, and
	// those whose tenants it renders for the fleet's apps (tenantFleet).
	renderedTeams := map[string]bool{}
	for _, a := range in.Apps {
		renderedTeams[a.Base.Team] = true
	}
	for _, fa := range in.Fleet {
		if _, ok := in.Platform.Data.Teams[fa.Team]; ok { // as render.Render does
			renderedTeams[fa.Team] = true
		}
	}
	teams := maps.Clone(renderedTeams)
	for _, id := range slices.Sorted(maps.Keys(ms.Apps)) {
		if m := ms.Apps[id]; plan.Owns(id) {
			teams[m.Team] = true
			groups = append(groups, m.Files)
		}
	}
	for _, team := range slices.Sorted(maps.Keys(teams)) {
		t := ms.Tenants[team]
		if t == nil {
			continue
		}
		var g []string
		for _, f := range t.Files {
			if renderedTeams[team] || !plan.TenantKeeps(team, f) {
				g = append(g, f)
			}
		}
		groups = append(groups, g)
	}
	// The Flux Kustomizations under clusters/<cluster>/paved are single
	// objects the entry kustomization lists; build only the app and tenant
	// directories and read those files as they are.
	// A file a manifest lists that the fleet lacks is left out (the fleet
	// is what Flux applies); a file that cannot be read is a git error,
	// never a deletion.
	var entries []string
	read := func(g []string) (*render.Tree, error) {
		tree := &render.Tree{Files: map[string][]byte{}}
		for _, f := range g {
			data, err := snap.ReadFile(f)
			switch {
			case errors.Is(err, fs.ErrNotExist):
			case err != nil:
				return nil, &exitError{code: ExitGit, err: fmt.Errorf("diff: fleet %s: %w", revisionOr(snap), err)}
			case strings.HasPrefix(f, "clusters/"):
				if path.Base(f) != "kustomization.yaml" {
					entries = append(entries, f)
				}
			default:
				tree.Files[f] = data
			}
		}
		return tree, nil
	}
	// Units in directory order, then the catalog, as one build of the
	// whole tree has them (render.Tree.Compared).
	var units []render.Unit
	var catalog *render.Unit
	chunked := true
	same := sameAsRendered(rendered)
	for _, g := range groups {
		tree, err := read(g)
		if err != nil {
			return nil, err
		}
		if err := render.BuildAll(tree); err != nil {
			chunked = false
			break
		}
		for _, u := range tree.Units {
			same(u)
		}
		units = append(units, tree.Units...)
		if c := tree.Catalog; c != nil {
			if catalog == nil {
				catalog = &render.Unit{Dir: c.Dir, Kind: c.Kind, Cluster: c.Cluster}
			}
			catalog.Objects = append(catalog.Objects, c.Objects...)
		}
	}
	if chunked {
		slices.SortStableFunc(units, func(a, b render.Unit) int { return strings.Compare(a.Dir, b.Dir) })
		if catalog != nil {
			slices.SortStableFunc(catalog.Objects, func(a, b render.Built) int { return strings.Compare(a.File, b.File) })
			units = append(units, *catalog)
		}
	} else {
		// A group that does not build alone (a kustomization the fleet
		// holds reaches outside its app): build them all at once, as
		// Flux would, for the fleet's answer.
		entries = nil
		tree, err := read(slices.Concat(groups...))
		if err != nil {
			return nil, err
		}
		if err := render.BuildAll(tree); err != nil {
			return nil, &exitError{code: ExitRender, err: fmt.Errorf("diff: what the fleet holds (%s) does not build: %v", revisionOr(snap), err)}
		}
		units = tree.Compared()
	}
	slices.Sort(entries)
	entries = slices.Compact(entries)
	byCluster := map[string]*render.Unit{}
	var order []string
	for _, f := range entries {
		parts := strings.Split(f, "/")
		data, err := snap.ReadFile(f)
		if err != nil {
			return nil, &exitError{code: ExitGit, err: fmt.Errorf("diff: fleet %s: %w", revisionOr(snap), err)}
		}
		o, err := render.DecodeObject(data)
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

// sameAsRendered returns a func that replaces each object of a unit the
// fleet holds by the rendered object of the same directory and identity
// when the two are equal: in a full diff nearly every object the fleet
// holds is as rendered, and is then held once, not twice (and compared by
// identity). Objects are never modified, so sharing them is safe.
func sameAsRendered(t *render.Tree) func(render.Unit) {
	type key struct{ dir, id string }
	objs := map[key]render.Object{}
	for _, u := range t.Units {
		for _, b := range u.Objects {
			objs[key{u.Dir, b.Object.ID()}] = b.Object
		}
	}
	return func(u render.Unit) {
		for i, b := range u.Objects {
			if r, ok := objs[key{u.Dir, b.Object.ID()}]; ok && reflect.DeepEqual(b.Object, r) {
				u.Objects[i].Object = r
			}
		}
	}
}

func revisionOr(s *fleet.Snapshot) string {
	if s.Revision != "" {
		return s.Source + "@" + s.Revision[:min(12, len(s.Revision))]
	}
	return s.Source
}

// markdownInput lints the render and estimates costs on both sides for
// the PR comment.
func (o *diffOptions) markdownInput(e *env, l *loaded, in render.Input, tree *render.Tree, before policy.Costs, meta diff.Meta) (diff.MarkdownInput, error) {
	mi := diff.MarkdownInput{Meta: meta, Base: o.base}
	today, err := parseToday(o.today)
	if err != nil {
		return mi, err
	}
	if mi.Lint, err = lintTree(e, l, tree, today); err != nil {
		return mi, err
	}
	mi.After = mi.Lint.Costs
	mi.Before = before
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
	mi.Budget, mi.Full = 0, true
	if err := diff.Markdown(&b, rep, mi); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(b.String()), 0o644)
}
