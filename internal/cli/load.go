package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/discover"
	"github.com/paved-dev/paved/internal/gitsource"
	"github.com/paved-dev/paved/internal/workpool"
	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

// loaded is the result of discovering, loading and validating apps.
type loaded struct {
	platform *schema.Platform
	apps     []*schema.App
	// selected are the apps to act on: all of them, or with --changed
	// those whose inputs changed.
	selected []*schema.App
	// warnings are dependsOn entries naming no app of this run (offline,
	// an app of another repository): printed by vet, render and lint.
	warnings diag.List
	changed  bool
	// changedDirs are the app directories --changed selected, and found
	// the apps discovered, when validation was deferred (validateOnly).
	changedDirs map[string]bool
	found       []discover.App
	// platforms are the platform and its forks, one per worker.
	platforms *platformPool

	// part, when not nil, is the part of the fleet lint judges (--shard).
	part *policy.Part

	// pol is the policy engine, compiled in the background
	// (compilePolicies); shared by copies of loaded.
	pol *lazyPolicies
}

type lazyPolicies struct {
	once   sync.Once
	done   chan struct{}
	engine *policy.Engine
	err    error
}

// platformPool lends each job of a parallel stage a platform whose CUE
// context only that job uses: a CUE context must not be shared between
// goroutines. A job gets the platform itself when no other job holds it
// (its CUE context is not used by anything else while workers run), else
// its worker's own fork, made by the worker on first need. A run that
// evaluates a few apps, on whichever workers, forks nothing; a large one
// forks once per worker.
type platformPool struct {
	root     *schema.Platform
	mu       sync.Mutex
	rootBusy bool // a job holds root
	// forks and errs are worker w's, touched by worker w only.
	forks []*schema.Platform
	errs  []error
}

// forkBuilds is how many app instances a platform's CUE context may
// register before the platform is replaced by a fresh fork: a context keeps
// every instance it builds (schema.Platform.Builds), and a fork costs
// 10-20 ms. Most apps register none: their specs and every blueprint input
// are built as expressions, which a context does not keep.
const forkBuilds = 64

func newPlatformPool(p *schema.Platform, workers int) *platformPool {
	n := max(1, workers)
	return &platformPool{root: p, forks: make([]*schema.Platform, n), errs: make([]error, n)}
}

func (pp *platformPool) size() int { return len(pp.forks) }

// get lends worker w a platform for one job; release returns it. Only
// worker w may call get(w), and only between its jobs.
func (pp *platformPool) get(w int) (_ *schema.Platform, release func(), _ error) {
	noop := func() {}
	if pp.errs[w] != nil {
		return nil, noop, pp.errs[w]
	}
	if f := pp.forks[w]; f != nil && f.Builds() < forkBuilds {
		return f, noop, nil
	}
	pp.mu.Lock()
	if !pp.rootBusy && pp.root.Builds() < forkBuilds {
		pp.rootBusy = true
		pp.mu.Unlock()
		return pp.root, func() {
			pp.mu.Lock()
			pp.rootBusy = false
			pp.mu.Unlock()
		}, nil
	}
	pp.mu.Unlock()
	pp.forks[w], pp.errs[w] = pp.root.Fork()
	return pp.forks[w], noop, pp.errs[w]
}

// validateApps loads and validates every found app on the pool's workers,
// through the cache: an app whose files, platform and paved binary are
// unchanged is restored from its record instead of evaluated. Results are
// in the order of found.
func validateApps(e *env, pool *platformPool, found []discover.App) ([]*schema.App, []diag.List, error) {
	apps := make([]*schema.App, len(found))
	diags := make([]diag.List, len(found))
	errs := make([]error, pool.size())
	c := e.cacheDir()
	bar := e.progress("validating", len(found))
	defer bar.Done()
	keys := make([]string, len(found))
	miss := make([]bool, len(found))
	// Restoring reads only the platform's decoded data: no CUE, so no
	// fork is needed.
	workpool.Run(len(found), pool.size(), func(_, i int) {
		a := found[i]
		keys[i] = pool.root.CacheKey(c, a)
		if rec, ok := c.Get(keys[i]); ok {
			if app, err := pool.root.RestoreApp(a, rec); err == nil {
				apps[i] = app
				bar.Add(1)
				return
			}
		}
		miss[i] = true
	})
	var load []int
	for i, m := range miss {
		if m {
			load = append(load, i)
		}
	}
	// The apps the cache did not have are evaluated apart from the restored
	// ones, on at most as many workers as there are such apps: a
	// pre-commit run with one changed app evaluates it in the platform
	// itself and forks nothing.
	workpool.Run(len(load), pool.size(), func(w, k int) {
		defer bar.Add(1)
		i := load[k]
		p, release, err := pool.get(w)
		defer release()
		if err != nil {
			errs[w] = err
			return
		}
		apps[i], diags[i] = p.LoadApp(found[i])
		if apps[i] != nil && len(diags[i]) == 0 {
			if rec, err := apps[i].Record(); err == nil {
				c.Put(keys[i], rec)
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, nil, &exitError{code: ExitInvalid, err: fmt.Errorf("platform: %w", err)}
		}
	}
	return apps, diags, nil
}

// loadOptions say what a command needs besides the apps.
type loadOptions struct {
	changed changedFlag // --changed: select the changed apps
	// policies: the command lints, so compile the policies in the
	// background as soon as the platform is loaded.
	policies bool
	// allowEmpty: PATHs without any app are not an error (commit
	// --allow-mass-delete removing its source's last apps).
	allowEmpty bool
	// fixedPlatform: platformDir is the platform, "" the embedded default;
	// no paved.platform is looked for (diff and commit render with the
	// fleet's platform).
	fixedPlatform bool
	// deferValidation: discover the apps and load the platform, but
	// validate no app yet (loaded.found); the caller validates the ones
	// it renders with validateOnly (diff and commit --changed).
	deferValidation bool
}

// changedFlag is --changed [--ref REF], shared by vet and lint.
type changedFlag struct {
	on  bool
	ref string
}

func (c *changedFlag) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&c.on, "changed", false, "only the apps whose inputs changed against --ref (a change to the platform directory affects every app)")
	cmd.Flags().StringVar(&c.ref, "ref", "HEAD", "git revision --changed compares the working tree with")
}

// loadApps discovers the apps below paths, loads the platform and validates
// every app and the fleet as a whole. Every problem of every app is
// returned in one diag.List.
func loadApps(e *env, paths []string, platformDir string, opts loadOptions) (*loaded, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	abs := make([]string, len(paths))
	for i, p := range paths {
		abs[i] = p
		if !filepath.IsAbs(p) {
			abs[i] = filepath.Join(e.cwd, p)
		}
	}
	// The platform loads while the apps are discovered: from --platform,
	// else from the paved.platform directory above the first path, which
	// is where the apps' own search ends in all but odd layouts (checked
	// below: a wrong guess loads the right one after discovery).
	guess := platformDir
	if guess == "" && !opts.fixedPlatform {
		guess = discover.FindPlatform(abs[0])
	}
	early := loadPlatform(e, guess, opts.policies)
	stop := e.stage("discover")
	found, diags := discover.Apps(abs)
	stop()
	if len(found) == 0 && len(diags) == 0 && !opts.allowEmpty {
		<-early
		return nil, &exitError{code: ExitInvalid, err: fmt.Errorf("no app found below %v (an app directory holds an %s)", paths, discover.AppFile)}
	}
	if platformDir == "" && len(found) > 0 && !opts.fixedPlatform {
		platformDir = discover.FindPlatform(found[0].Dir)
		for _, a := range found[1:] {
			if d := discover.FindPlatform(a.Dir); d != platformDir {
				diags.Add("", fmt.Sprintf("apps use different platform directories (%s and %s): pass --platform", diag.Rel(e.cwd, platformDir), diag.Rel(e.cwd, d)), diag.Position{Filename: a.Dir})
				break
			}
		}
	}
	// --changed reads git while the platform and the apps load: it only
	// decides which apps' problems are reported.
	type selection struct {
		sel map[string]bool
		err error
	}
	var changedCh chan selection
	if opts.changed.on {
		changedCh = make(chan selection, 1)
		go func() {
			stop := e.stage("changed")
			sel, err := changedApps(e, paths, platformDir, found, opts.changed.ref)
			stop()
			changedCh <- selection{sel, err}
		}()
	}
	lp := <-early
	if platformDir != guess {
		lp = <-loadPlatform(e, platformDir, opts.policies)
	}
	p, err := lp.p, lp.err
	if err != nil {
		if changedCh != nil {
			<-changedCh
		}
		var l diag.List
		if errors.As(err, &l) {
			return nil, append(diags, l...).Sanitize()
		}
		return nil, err
	}
	out := &loaded{platform: p, platforms: newPlatformPool(p, e.workers()), pol: lp.pol, warnings: lp.warn}
	if out.pol == nil {
		out.pol = &lazyPolicies{}
	}
	if opts.deferValidation {
		if changedCh != nil {
			c := <-changedCh
			if c.err != nil {
				return nil, c.err
			}
			out.changed, out.changedDirs = true, c.sel
		}
		if len(diags) > 0 {
			return nil, diags.Sanitize()
		}
		out.found = found
		return out, nil
	}
	stop = e.stage("validate")
	apps, appDiags, err := validateApps(e, out.platforms, found)
	stop()
	// With --changed, only the selected apps' problems are reported: a
	// pre-commit hook judges what the commit touches.
	selected := func(string) bool { return true }
	if changedCh != nil {
		out.changed = true
		c := <-changedCh
		if c.err != nil {
			return nil, c.err
		}
		selected = func(dir string) bool { return c.sel[dir] }
	}
	if err != nil {
		return nil, err
	}
	for i, a := range found {
		if selected(a.Dir) {
			diags = append(diags, appDiags[i]...)
		}
		if app := apps[i]; app != nil {
			out.apps = append(out.apps, app)
			if selected(a.Dir) {
				out.selected = append(out.selected, app)
			}
		}
	}
	if len(diags) == 0 {
		stop := e.stage("fleet checks")
		diags = append(diags, schema.CheckFleet(p, out.apps)...)
		stop()
	}
	if len(diags) > 0 {
		return nil, diags.Sanitize()
	}
	out.warnings = append(out.warnings, slices.DeleteFunc(schema.MissingDependencies(out.apps), func(d diag.Diagnostic) bool {
		return !selectedAt(out.selected, d)
	})...)
	return out, nil
}

// validateOnly validates the discovered apps that need accepts (validation
// deferred by loadOptions.deferValidation) and runs the fleet checks over
// them: the apps of the result are those, every one selected.
func (l *loaded) validateOnly(e *env, need func(discover.App) bool) (*loaded, error) {
	var found []discover.App
	for _, a := range l.found {
		if need(a) {
			found = append(found, a)
		}
	}
	stop := e.stage("validate")
	apps, appDiags, err := validateApps(e, l.platforms, found)
	stop()
	if err != nil {
		return nil, err
	}
	out := *l
	out.apps, out.selected, out.found = nil, nil, nil
	var diags diag.List
	for i := range found {
		diags = append(diags, appDiags[i]...)
		if apps[i] != nil {
			out.apps = append(out.apps, apps[i])
		}
	}
	if len(diags) == 0 {
		diags = schema.CheckFleet(l.platform, out.apps)
	}
	if len(diags) > 0 {
		return nil, diags.Sanitize()
	}
	out.selected = out.apps
	return &out, nil
}

type loadedPlatform struct {
	p   *schema.Platform
	err error
	pol *lazyPolicies // compiling, with policies
	// warn is the platform's version warning (a devel paved and a
	// platform with a paved range).
	warn diag.List
}

// loadPlatform loads the platform of dir ("" for the embedded default) in
// the background and, with policies, starts compiling its policies as
// soon as it is loaded, while the apps are discovered and validated.
func loadPlatform(e *env, dir string, policies bool) <-chan loadedPlatform {
	ch := make(chan loadedPlatform, 1)
	go func() {
		stop := e.stage("platform")
		p, err := schema.LoadPlatform(dir)
		stop()
		var warn diag.List
		if err == nil {
			if warn, err = checkPlatformVersion(p); err != nil {
				p = nil
			}
		}
		lp := loadedPlatform{p: p, err: err, warn: warn}
		if err == nil && policies {
			lp.pol = &lazyPolicies{}
			lp.pol.start(e, p)
		}
		ch <- lp
	}()
	return ch
}

// changedApps maps the files changed against ref to the app directories
// they affect: an app's own CUE files, or anything in the platform
// directory (every app). App specs import only CUE's standard library
// (vet enforces it), so no other file affects an app.
func changedApps(e *env, paths []string, platformDir string, found []discover.App, ref string) (map[string]bool, error) {
	start := e.cwd
	if len(found) > 0 {
		start = found[0].Dir
	}
	var dirs []gitsource.Dir
	for _, a := range found {
		files := map[string][]byte{}
		for _, f := range a.Files {
			files[filepath.Base(f.Path)] = f.Data
		}
		dirs = append(dirs, gitsource.Dir{Path: a.Dir, Files: files, Match: func(rel string) bool {
			return !strings.Contains(rel, "/") && strings.HasSuffix(rel, ".cue")
		}})
	}
	if platformDir != "" {
		dirs = append(dirs, gitsource.Dir{Path: platformDir})
	}
	changed, err := gitsource.ChangedDirs(start, ref, dirs)
	if err != nil {
		return nil, &exitError{code: ExitGit, err: err}
	}
	sel := map[string]bool{}
	if platformDir != "" && changed[len(changed)-1] {
		for _, a := range found {
			sel[a.Dir] = true
		}
		return sel, nil
	}
	for i, a := range found {
		if changed[i] {
			sel[a.Dir] = true
		}
	}
	return sel, nil
}

// selectedAt reports whether a diagnostic lies in a selected app's files.
func selectedAt(selected []*schema.App, d diag.Diagnostic) bool {
	if len(d.Positions) == 0 {
		return true
	}
	for _, a := range selected {
		if filepath.Dir(d.Positions[0].Filename) == a.Dir {
			return true
		}
	}
	return false
}

// printWarnings prints the load's warnings to stderr, once.
func (l *loaded) printWarnings(e *env) {
	if len(l.warnings) > 0 {
		diag.PrintWarnings(e.stderr, l.warnings, e.cwd)
	}
}

// narrow returns l with only the selected apps (--changed): an app's
// render depends on its own spec and the platform alone, so the selection
// renders as in a full run.
func (l *loaded) narrow() *loaded {
	if !l.changed {
		return l
	}
	out := *l
	out.apps = l.selected
	return &out
}

// renderInput pairs each app with its source (identity, git repository,
// revision and path) for provenance and ownership. source, when not
// empty, is the identity of every app (--source).
func renderInput(e *env, l *loaded, source string) (render.Input, error) {
	in := render.Input{
		Platform: l.platform, Version: Version(),
		Workers: l.platforms.size(), Fork: l.platforms.get,
		Cache: e.cacheDir(), Stage: e.stage,
	}
	ds := &dirSources{e: e, override: source}
	for _, a := range l.apps {
		src, err := ds.of(a.Dir)
		if err != nil {
			return in, err
		}
		in.Apps = append(in.Apps, render.App{App: a, Source: src, Docs: hasDocs(a.Dir)})
	}
	return in, nil
}

// dirSources says where app directories come from: the source identity
// (override, else the repository's origin, else the default), the
// directory's path in its repository (else relative to the working
// directory), and the repository and revision. Each repository is opened
// once, not once per app.
type dirSources struct {
	e        *env
	override string
	repos    []gitsource.Info
}

func (ds *dirSources) of(dir string) (render.Source, error) {
	i := slices.IndexFunc(ds.repos, func(r gitsource.Info) bool { return discover.Within(r.Root, dir) })
	if i < 0 {
		info, err := gitsource.Describe(dir)
		if err != nil {
			return render.Source{}, &exitError{code: ExitGit, err: fmt.Errorf("reading the git repository of %s: %w", diag.Rel(ds.e.cwd, dir), err)}
		}
		ds.repos = append(ds.repos, info)
		i = len(ds.repos) - 1
	}
	info := ds.repos[i]
	src := render.Source{ID: info.Source, Repo: info.Repo, Revision: info.Revision}
	if ds.override != "" {
		src.ID = ds.override
	} else if src.ID == "" {
		src.ID = gitsource.DefaultSource // outside git
	}
	if info.Root != "" {
		src.Path = gitsource.Rel(info.Root, dir)
	} else {
		src.Path = gitsource.Rel(ds.e.cwd, dir)
	}
	return src, nil
}

// renderLoaded renders the loaded apps with their sources, for use: what
// the command does with the tree (commit writes and lints it, lint and
// diff read it, render --out writes it), which decides what it keeps.
//
// fleetApps are the fleet's apps that the tenants count beside the
// rendered ones (tenantFleet; commit and diff).
func renderLoaded(e *env, l *loaded, use render.Use, source string, fleetApps ...render.FleetApp) (render.Input, *render.Tree, error) {
	stop := e.stage("sources")
	in, err := renderInput(e, l, source)
	stop()
	if err != nil {
		return in, nil, err
	}
	in.Use = use
	in.Fleet = fleetApps
	bar := e.progress("rendering", len(in.Apps))
	in.OnApp = func() { bar.Add(1) }
	tree, err := render.Render(in)
	bar.Done()
	return in, tree, err
}

// hasDocs reports whether an app directory holds TechDocs (mkdocs.yml).
func hasDocs(dir string) bool {
	for _, f := range []string{"mkdocs.yml", "mkdocs.yaml"} {
		if fi, err := os.Lstat(filepath.Join(dir, f)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// absPath resolves p against the working directory.
func absPath(e *env, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(e.cwd, p)
}

// fleetLocation makes a relative fleet directory absolute; URLs (scheme or
// scp-like user@host:path) are returned as they are.
func fleetLocation(e *env, s string) string {
	if strings.Contains(s, "://") || strings.Contains(s, "@") || filepath.IsAbs(s) {
		return s
	}
	return filepath.Join(e.cwd, s)
}
