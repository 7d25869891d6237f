package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/fleet"
	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

type verifyOptions struct {
	ref, base string
	changed   bool
	shard     shard
	today     string
}

func newVerifyCmd(e *env) *cobra.Command {
	o := &verifyOptions{}
	c := &cobra.Command{
		Use:   "verify [FLEET] [--ref HEAD]",
		Short: "Check a fleet against itself: re-render every app from its recorded inputs, require byte equality, lint",
		Long: `verify is the fleet repository's own required check. Whatever a token
holder pushes, a fleet that does not pass it is not what paved renders.

For the fleet at FLEET (a directory, default ., or a URL) and --ref, verify
re-renders every app from the inputs its ownership manifest records (its
spec files, source and revision) with the fleet's platform (platform/, the
embedded default without one), and requires every file under paved's
directories (apps/, tenants/, catalog/, clusters/<cluster>/paved/, .paved/)
to be byte for byte what that render writes: a hand edit of a rendered
object, a file nobody owns, an app without its manifest, a hand-edited
entry kustomization or an app rendered with an older platform are each
reported with the file and the app. Then it lints the render with the
fleet's policies.

--shard I/N verifies part I of N of the apps (an app's part is a hash of
team/app, so adding apps moves none), for a CI matrix of N jobs: together
they report the problems and findings of the whole run, each once. Shard 1
also checks what belongs to no app (tenants, files nobody owns, entry
kustomizations, the catalog) and the policies across apps, and renders
every app for them.

Exit codes: 0 the fleet is what paved renders and lint finds no denial, 1
problems or denials (each listed), 2 invalid input (flags, a platform or a
recorded spec that does not load), 3 render error, 4 git error.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			today, err := parseToday(o.today)
			if err != nil {
				return err
			}
			src := "."
			if len(args) > 0 {
				src = args[0]
			}
			if o.changed && o.base == "" {
				return invalid("verify: --changed needs --base REV (the revision before the push)")
			}
			if o.changed && o.shard.on() {
				return invalid("verify: --shard and --changed do not combine")
			}
			loc := fleetLocation(e, src)
			snap, err := fleet.Read(context.Background(), loc, o.ref)
			if err != nil {
				return &exitError{code: ExitGit, err: fmt.Errorf("verify: %w", err)}
			}
			defer snap.Close()
			ms, err := fleet.ReadManifests(snap.Paths, snap.ReadFile)
			if err != nil {
				return fleetFailure(nil, "verify", err)
			}
			var scope *verifyScope
			if o.changed {
				changed, err := fleet.Changed(loc, o.base, o.ref)
				if err != nil {
					return &exitError{code: ExitGit, err: fmt.Errorf("verify --changed: %w", err)}
				}
				scope = changedScope(ms, changed)
			}
			renderScope := scope
			if o.shard.on() {
				scope = shardScope(ms, &o.shard)
				if !o.shard.fleet() {
					renderScope = scope
				} // shard 1 renders every app: the checks over the whole fleet need them
			}
			rec, err := renderRecorded(e, snap, ms, renderScope)
			if err != nil {
				return err
			}
			defer rec.close()
			problems := append(rec.problems, unboundApps(ms, rec.l.platform)...)
			if o.shard.on() {
				problems = slices.DeleteFunc(problems, func(p verifyProblem) bool {
					team, app, _ := strings.Cut(p.App, "/")
					return !o.shard.has(team, app)
				})
				rec.l.part = o.shard.part()
			}
			stop := e.stage("compare")
			problems = append(problems, compareFleet(snap, rec, scope)...)
			if scope != nil && scope.exclude == nil && !o.shard.on() {
				// What the render of a part cannot judge: files nobody
				// owns anywhere, entry kustomizations.
				found, err := fleet.Integrity(snap.Paths, ms, snap.ReadFile, render.EntryKustomization)
				if err != nil {
					return &exitError{code: ExitGit, err: fmt.Errorf("verify: %w", err)}
				}
				for _, p := range found {
					if !slices.ContainsFunc(problems, func(q verifyProblem) bool { return q.File == p.File }) {
						problems = append(problems, verifyProblem{File: p.File, App: p.App, Message: p.Message})
					}
				}
				if p := catalogLocation(snap, rec.l); p != nil {
					problems = append(problems, *p)
				}
				slices.SortFunc(problems, func(a, b verifyProblem) int { return strings.Compare(a.File, b.File) })
			}
			stop()
			rep, err := rec.lint(e, today)
			if err != nil {
				return err
			}
			for _, p := range problems {
				fmt.Fprintln(e.stdout, p)
			}
			deny, _, _ := rep.Count()
			if deny > 0 || len(rep.Findings) > 0 {
				_ = policy.FormatText(e.stdout, rep, policy.FormatOptions{Cwd: e.cwd, Apps: len(rec.l.apps), Clusters: len(render.Clusters(rec.l.platform))})
			}
			at := snap.Source
			if snap.Revision != "" {
				at += "@" + snap.Revision[:12]
			}
			if len(problems) > 0 || deny > 0 {
				return &exitError{code: ExitChanges, err: fmt.Errorf("verify: %s is not what paved renders from its recorded inputs: %d %s, %d policy %s",
					at, len(problems), plural(len(problems), "problem", "problems"), deny, plural(deny, "denial", "denials"))}
			}
			what := ""
			n := len(rec.l.apps)
			switch {
			case o.shard.on():
				n = len(shardScope(ms, &o.shard).shardApps)
				what = fmt.Sprintf(" (shard %s, of %d)", o.shard.String(), len(ms.Apps))
			case scope != nil:
				what = fmt.Sprintf(" (--changed since %s, of %d)", o.base, len(ms.Apps))
			}
			fmt.Fprintf(e.stdout, "verified %s: %d %s%s re-rendered from their recorded inputs with the fleet's platform, every file as rendered, no policy denial\n",
				at, n, plural(n, "app", "apps"), what)
			return nil
		},
	}
	c.Flags().StringVar(&o.ref, "ref", "HEAD", "fleet branch or revision to verify")
	c.Flags().BoolVar(&o.changed, "changed", false, "verify only what the commits since --base touch: their apps, the teams whose tenants they touch, every file they add or change (a platform change is every app's); files nobody owns are looked for everywhere")
	c.Flags().StringVar(&o.base, "base", "", "with --changed: the revision before the push (a local fleet repository)")
	o.shard.register(c)
	c.Flags().StringVar(&o.today, "today", "", "date exceptions are checked against, YYYY-MM-DD (default: today, UTC)")
	return c
}

// verifyProblem is one file of the fleet that is not what paved renders.
type verifyProblem struct {
	File, App, Message string
}

func (p verifyProblem) String() string {
	s := p.File + ": " + p.Message
	if p.App != "" {
		s += " (app " + p.App + ")"
	}
	return s
}

// recorded is a render of a fleet's apps from their recorded inputs.
type recorded struct {
	l        *loaded
	in       render.Input
	tree     *render.Tree
	ms       *fleet.Manifests
	fp       *fleetPlatform
	tmp      string
	problems []verifyProblem
	// held are the renders of the releases some environments run or wait
	// for other than the manifests' own (restageRecorded), with, per app
	// (team/app), the environments whose files they gave: lint judges
	// those environments on them.
	held []heldRender
}

type heldRender struct {
	r    *recorded
	envs map[string][]string
}

func (r *recorded) close() {
	for _, h := range r.held {
		h.r.fp = nil // r's
		h.r.close()
	}
	r.fp.close()
	if r.tmp != "" {
		os.RemoveAll(r.tmp)
	}
}

// lint lints the recorded render with the fleet's policies, through the
// same waiver checks as lint, diff and commit. Invalid exceptions are
// placed where their app's source holds them (source identity, the app's
// path in it, the file), not in the directory the inputs were written
// out to.
func (r *recorded) lint(e *env, today time.Time) (*policy.Report, error) {
	rep, err := lintTree(e, r.l, r.tree, today)
	var dl diag.List
	if errors.As(err, &dl) {
		return nil, r.sourcePositions(dl)
	}
	if err != nil {
		return nil, err
	}
	// An environment that runs (or waits for) another release than the
	// app's newest is judged on that release's render, with today's
	// policies: a rollback cannot bring back what they now deny.
	for _, h := range r.held {
		hr, err := lintTree(e, r.l, h.r.tree, today)
		if errors.As(err, &dl) {
			return nil, r.sourcePositions(dl)
		}
		if err != nil {
			return nil, err
		}
		for _, f := range hr.Findings {
			if slices.Contains(h.envs[f.Team+"/"+f.App], f.Environment) {
				rep.Findings = append(rep.Findings, f)
			}
		}
	}
	if len(r.held) > 0 {
		policy.SortFindings(rep.Findings)
	}
	return rep, nil
}

// sourcePositions rewrites the positions of l inside the written-out
// inputs (<tmp>/<team>/<app>/<file>) as <source>/<path>/<file>.
func (r *recorded) sourcePositions(l diag.List) diag.List {
	byDir := map[string]*fleet.Manifest{}
	for _, m := range r.ms.Apps {
		byDir[m.Team+"/"+m.App] = m
	}
	out := slices.Clone(l)
	for i := range out {
		ps := slices.Clone(out[i].Positions)
		for j, p := range ps {
			rel, err := filepath.Rel(r.tmp, p.Filename)
			if err != nil || !filepath.IsLocal(rel) {
				continue
			}
			parts := strings.SplitN(filepath.ToSlash(rel), "/", 3)
			if len(parts) < 3 {
				continue
			}
			if m := byDir[parts[0]+"/"+parts[1]]; m != nil {
				ps[j].Filename = path.Join(m.SourceID(), m.SourcePath(), parts[2])
			}
		}
		out[i].Positions = ps
	}
	return out
}

// renderRecorded renders every app of the fleet snapshot from the inputs
// its manifest records, with the fleet's platform: what verify compares
// the fleet with and what rerender commits. An app whose manifest records
// no inputs is a problem, not rendered.
func renderRecorded(e *env, snap *fleet.Snapshot, ms *fleet.Manifests, scope *verifyScope) (*recorded, error) {
	fp, err := readFleetPlatform(snap)
	if err != nil {
		return nil, &exitError{code: ExitGit, err: fmt.Errorf("fleet %s: %w", snap.Source, err)}
	}
	rec, err := renderRecordedWith(e, ms, fp, scope, true)
	if err != nil {
		fp.close()
		return nil, err
	}
	return rec, nil
}

// renderRecordedWith renders the apps of the manifests from their
// recorded inputs with the platform fp; rec.close removes fp too.
//
// policies: the caller lints the render with its loaded policies
// (rec.lint); a render that is only compared or written out (a release
// restaged, a pending release checked) needs none compiled.
func renderRecordedWith(e *env, ms *fleet.Manifests, fp *fleetPlatform, scope *verifyScope, policies bool) (_ *recorded, err error) {
	rec := &recorded{ms: ms, fp: fp}
	// The recorded specs are written out as <tmp>/<team>/<app>/, where
	// discovery and validation read them as from a source.
	if rec.tmp, err = os.MkdirTemp("", "paved-recorded-"); err != nil {
		rec.close()
		return nil, err
	}
	byDir := map[string]*fleet.Manifest{}
	for _, id := range slices.Sorted(maps.Keys(ms.Apps)) {
		m := ms.Apps[id]
		if scope != nil && !scope.apps[id] {
			continue
		}
		if m.Inputs == nil {
			rec.problems = append(rec.problems, verifyProblem{File: ".paved/apps/" + id + ".json", App: id,
				Message: "records no inputs (committed by a paved before they were recorded): commit it again from its source"})
			continue
		}
		dir := filepath.Join(rec.tmp, m.Team, m.App)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			rec.close()
			return nil, err
		}
		for name, data := range m.Inputs.Files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				rec.close()
				return nil, err
			}
		}
		byDir[dir] = m
	}
	rec.l = &loaded{}
	if len(byDir) == 0 {
		p, err := loadPlatformNow(e, fp.dir, policies)
		if err != nil {
			rec.close()
			return nil, err
		}
		rec.l = p
	} else {
		l, err := loadApps(e, []string{rec.tmp}, fp.dir, loadOptions{policies: policies, fixedPlatform: true})
		if err != nil {
			rec.close()
			var dl diag.List
			if errors.As(err, &dl) {
				return nil, &exitError{code: ExitInvalid, err: fmt.Errorf("verify: the recorded inputs (written out below %s) do not load with the fleet's platform:\n%s", rec.tmp, strings.TrimSpace(dl.Error()))}
			}
			return nil, err
		}
		rec.l = l
	}
	rec.in = render.Input{
		Platform: rec.l.platform, Version: Version(),
		Workers: rec.l.platforms.size(), Fork: rec.l.platforms.get,
		Cache: e.cacheDir(), Stage: e.stage, Use: render.WriteAndRead,
	}
	for _, a := range rec.l.apps {
		m := byDir[a.Dir]
		if m == nil {
			continue
		}
		src := render.Source{ID: m.SourceID(), Path: m.SourcePath()}
		if m.Source != nil {
			src.Repo, src.Revision = m.Source.Repo, m.Source.Revision
		}
		rec.in.Apps = append(rec.in.Apps, render.App{App: a, Source: src, Docs: m.Inputs.Docs})
	}
	// The tenants of the teams rendered count the apps of those teams
	// that cannot be (no recorded inputs), as the commit that wrote them did.
	rendered := map[string]string{}
	for _, a := range rec.in.Apps {
		rendered[a.Base.Team+"/"+a.Base.Name] = a.Base.Team
	}
	rec.in.Fleet = tenantFleet(ms, rendered, nil, nil)
	rec.tree, err = render.Render(rec.in)
	if err != nil {
		rec.close()
		return nil, &exitError{code: ExitRender, err: fmt.Errorf("verify: %w", err)}
	}
	// Each environment as the fleet runs it: the release it records.
	if err := restageRecorded(e, rec, ms); err != nil {
		rec.close()
		return nil, err
	}
	return rec, nil
}

// loadPlatformNow loads a platform alone (a fleet without apps).
// policies: compile the platform's policies (in the background) for a
// caller that lints.
func loadPlatformNow(e *env, dir string, policies bool) (*loaded, error) {
	lp := <-loadPlatform(e, dir, policies)
	if lp.err != nil {
		return nil, &exitError{code: ExitInvalid, err: fmt.Errorf("platform: %w", lp.err)}
	}
	return &loaded{platform: lp.p, platforms: newPlatformPool(lp.p, e.workers()), pol: lp.pol}, nil
}

// compareFleet lists every file under paved's directories that is not
// byte for byte what the recorded render writes, and every rendered file
// the fleet lacks. Source records are the fleet's own; tenant manifests
// are compared by the files they list (a commit that keeps another
// source's tenant clusters rewrites them with sorted keys).
func compareFleet(snap *fleet.Snapshot, rec *recorded, scope *verifyScope) []verifyProblem {
	owner := fileOwners(rec.ms)
	unrendered := map[string]bool{} // apps verify could not render
	for _, p := range rec.problems {
		unrendered[p.App] = true
	}
	var out []verifyProblem
	add := func(f, msg string) {
		o := owner[f]
		if unrendered[o] {
			return
		}
		p := verifyProblem{File: f, Message: msg}
		if o != "" && !strings.HasPrefix(o, "tenant ") {
			p.App = o
		} else if o != "" {
			p.Message += " (" + o + ")"
		}
		out = append(out, p)
	}
	have := map[string]bool{}
	for _, f := range snap.Paths {
		if !fleet.Owned(f) || fleet.IsSourceRecord(f) || !scope.covers(f, owner[f]) {
			continue
		}
		have[f] = true
		want, ok := rec.tree.File(f)
		if !ok {
			switch {
			case owner[f] == "":
				add(f, "no ownership manifest lists it: paved would not render it, and Flux must not apply it (remove it)")
			default:
				add(f, "its manifest lists it, but its recorded inputs do not render it")
			}
			continue
		}
		got, err := snap.ReadFile(f)
		if err != nil {
			add(f, "cannot be read: "+err.Error())
			continue
		}
		if strings.HasPrefix(f, ".paved/tenants/") {
			if !sameTenantFiles(f, got, want) {
				add(f, "lists other files than the render of its team's apps")
			}
			continue
		}
		if strings.HasPrefix(f, ".paved/apps/") {
			if !sameAppManifest(f, got, want) {
				add(f, "records other files, digests, inputs or source than the render of its inputs")
			}
			continue
		}
		if !bytes.Equal(got, want) {
			add(f, "differs from what its recorded inputs render with the fleet's platform (edited by hand, or rendered with another platform or paved: run paved rerender)")
		}
	}
	for _, f := range rec.tree.Paths() {
		if have[f] || !fleet.Owned(f) || !scope.expects(f, owner[f]) {
			continue
		}
		o := ""
		if strings.HasPrefix(f, ".paved/apps/") {
			o = strings.TrimSuffix(strings.TrimPrefix(f, ".paved/apps/"), ".json")
		} else if parts := strings.Split(f, "/"); parts[0] == "apps" && len(parts) > 4 {
			o = parts[2] + "/" + parts[3]
		}
		if unrendered[o] {
			continue
		}
		out = append(out, verifyProblem{File: f, App: o, Message: "rendered, but missing from the fleet (deleted by hand)"})
	}
	slices.SortFunc(out, func(a, b verifyProblem) int { return strings.Compare(a.File, b.File) })
	return out
}

// sameAppManifest reports whether two versions of the app manifest at f
// record the same source, inputs, dependencies, clusters, files and
// digests. The inputs digest and paved's version are left out: a commit
// that renders an app to the very files the fleet holds keeps its
// manifest as it was, and the files are compared on their own.
func sameAppManifest(f string, a, b []byte) bool {
	ma, err1 := fleet.ReadManifest(f, a)
	mb, err2 := fleet.ReadManifest(f, b)
	if err1 != nil || err2 != nil {
		return bytes.Equal(a, b)
	}
	ma.InputsDigest, mb.InputsDigest = "", ""
	return reflect.DeepEqual(ma, mb)
}

// sameTenantFiles reports whether two versions of the tenant manifest at
// f list the same files with the same digests.
func sameTenantFiles(f string, a, b []byte) bool {
	ma, err1 := fleet.ReadManifest(f, a)
	mb, err2 := fleet.ReadManifest(f, b)
	if err1 != nil || err2 != nil {
		return bytes.Equal(a, b)
	}
	return slices.Equal(slices.Sorted(slices.Values(ma.Files)), slices.Sorted(slices.Values(mb.Files))) && maps.Equal(ma.Digests, mb.Digests)
}

// verifyScope is what verify --changed judges: the apps it renders, the
// teams all of whose apps it renders (so their tenants too), and the paths
// the push changed.
type verifyScope struct {
	apps, teams, paths map[string]bool
	// exclude, when not nil, makes the scope everything but the apps it
	// holds (verify --shard 1/N: every other shard's apps); shardApps are
	// the apps of the shard.
	exclude, shardApps map[string]bool
}

// shardScope is the scope of verify --shard: shard 1 judges everything
// but the other shards' apps (their files, their rendered files), the
// others their apps alone.
func shardScope(ms *fleet.Manifests, s *shard) *verifyScope {
	sc := &verifyScope{apps: map[string]bool{}, teams: map[string]bool{}, paths: map[string]bool{}, shardApps: map[string]bool{}}
	others := map[string]bool{}
	for id, m := range ms.Apps {
		if s.has(m.Team, m.App) {
			sc.apps[id], sc.shardApps[id] = true, true
		} else {
			others[id] = true
		}
	}
	if s.fleet() {
		sc.exclude = others
	}
	return sc
}

// expects reports whether verify expects the rendered file f, which the
// fleet's manifests give to owner, in the fleet (a file the render wrote
// that the fleet lacks is a problem).
func (s *verifyScope) expects(f, owner string) bool {
	switch {
	case s == nil:
		return true
	case s.exclude != nil:
		return !s.exclude[appOfFile(f)] && !s.exclude[owner]
	}
	return s.covers(f, "") || s.rendered(f) || s.shardApps[owner]
}

// appOfFile is the app (team/app) whose rendered file or manifest f is,
// or "".
func appOfFile(f string) string {
	parts := strings.Split(f, "/")
	switch {
	case len(parts) > 4 && parts[0] == "apps":
		return parts[2] + "/" + parts[3]
	case len(parts) == 4 && parts[0] == ".paved" && parts[1] == "apps":
		return parts[2] + "/" + strings.TrimSuffix(parts[3], ".json")
	}
	return ""
}

// changedScope is the scope of a push that changed the given paths, nil
// for the whole fleet (a platform change).
func changedScope(ms *fleet.Manifests, changed []string) *verifyScope {
	s := &verifyScope{apps: map[string]bool{}, teams: map[string]bool{}, paths: map[string]bool{}}
	owner := fileOwners(ms)
	for _, p := range changed {
		if fleet.IsPlatformFile(p) {
			return nil
		}
		s.paths[p] = true
		parts := strings.Split(p, "/")
		switch o := owner[p]; {
		case strings.HasPrefix(o, "tenant "):
			s.teams[strings.TrimPrefix(o, "tenant ")] = true
		case o != "":
			s.apps[o] = true
		case len(parts) > 3 && parts[0] == "apps" && ms.Apps[parts[2]+"/"+parts[3]] != nil:
			s.apps[parts[2]+"/"+parts[3]] = true
		case len(parts) > 2 && parts[0] == "tenants":
			s.teams[parts[2]] = true
		}
	}
	for id, m := range ms.Apps {
		if s.teams[m.Team] {
			s.apps[id] = true
		}
	}
	return s
}

// covers reports whether verify compares fleet file f, owned by owner
// (team/app, "tenant <team>" or ""): everything without a scope; else a
// changed path, a file of an app rendered, a file of a tenant whose team
// is rendered whole. Entry kustomizations are left to fleet.Integrity.
func (s *verifyScope) covers(f, owner string) bool {
	switch {
	case s == nil:
		return true
	case s.exclude != nil:
		return !s.exclude[owner]
	case isEntryKustomization(f), f == fleet.CatalogLocation:
		return false // checked on their own (fleet.Integrity, catalogLocation)
	case s.paths[f]:
		return true
	case strings.HasPrefix(owner, "tenant "):
		return s.teams[strings.TrimPrefix(owner, "tenant ")]
	}
	return s.apps[owner]
}

// rendered reports whether a file the scoped render wrote is one verify
// expects in the fleet: a file of an app in scope, or of a tenant whose
// team is rendered whole.
func (s *verifyScope) rendered(f string) bool {
	if s == nil {
		return true
	}
	if isEntryKustomization(f) || f == fleet.CatalogLocation {
		return false
	}
	parts := strings.Split(f, "/")
	switch {
	case len(parts) > 3 && parts[0] == "apps":
		return s.apps[parts[2]+"/"+parts[3]]
	case len(parts) == 4 && parts[0] == ".paved" && parts[1] == "apps":
		return s.apps[parts[2]+"/"+strings.TrimSuffix(parts[3], ".json")]
	case len(parts) == 5 && parts[0] == ".paved" && parts[1] == "pending":
		return s.apps[parts[2]+"/"+parts[3]]
	case len(parts) > 2 && parts[0] == "tenants":
		return s.teams[parts[2]]
	case len(parts) == 3 && parts[0] == ".paved" && parts[1] == "tenants":
		return s.teams[strings.TrimSuffix(parts[2], ".json")]
	}
	return false
}

func isEntryKustomization(f string) bool {
	parts := strings.Split(f, "/")
	return len(parts) == 4 && parts[0] == "clusters" && parts[2] == "paved" && parts[3] == "kustomization.yaml"
}

// catalogLocation checks the catalog's Location against the catalog
// entity files the fleet holds, as commit writes it: a problem, or nil.
func catalogLocation(snap *fleet.Snapshot, l *loaded) *verifyProblem {
	var entities []string
	for _, p := range snap.Paths {
		if strings.HasPrefix(p, "catalog/") && p != fleet.CatalogLocation {
			entities = append(entities, p)
		}
	}
	have, err := snap.ReadFile(fleet.CatalogLocation)
	switch {
	case len(entities) == 0 && err != nil:
		return nil
	case len(entities) == 0:
		return &verifyProblem{File: fleet.CatalogLocation, Message: "the fleet holds no catalog entity for it to list (remove it)"}
	case err != nil:
		return &verifyProblem{File: fleet.CatalogLocation, Message: "missing: it lists the catalog's entities"}
	}
	want, err := render.CatalogLocationFile(l.platform, entities)
	if err != nil || !bytes.Equal(have, want) {
		return &verifyProblem{File: fleet.CatalogLocation, Message: "is not the Location of the catalog entities the fleet holds (edited by hand)"}
	}
	return nil
}

// unboundApps are the fleet's apps whose recorded source the platform does
// not let write their team (teams.<team>.sources): a commit would refuse
// them, so a fleet that holds one was written around paved.
func unboundApps(ms *fleet.Manifests, p *schema.Platform) []verifyProblem {
	var out []verifyProblem
	for _, id := range slices.Sorted(maps.Keys(ms.Apps)) {
		m := ms.Apps[id]
		if !fleet.MatchSource(p.Data.Teams[m.Team].Sources, m.SourceID()) {
			out = append(out, verifyProblem{File: ".paved/apps/" + id + ".json", App: id,
				Message: fmt.Sprintf("records source %s, which the fleet's platform does not let write team %s (teams.%s.sources)", m.SourceID(), m.Team, m.Team)})
		}
	}
	return out
}

// fileOwners maps each file the manifests list, and each manifest, to its
// owner: team/app, or "tenant <team>".
func fileOwners(ms *fleet.Manifests) map[string]string {
	owner := map[string]string{}
	for id, m := range ms.Apps {
		for _, f := range m.Files {
			owner[f] = id
		}
		owner[".paved/apps/"+id+".json"] = id
	}
	for team, m := range ms.Tenants {
		for _, f := range m.Files {
			owner[f] = "tenant " + team
		}
		owner[".paved/tenants/"+team+".json"] = "tenant " + team
	}
	return owner
}
