package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/discover"
	"github.com/paved-dev/paved/internal/gitsource"
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
	changed  bool
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
func loadApps(e *env, paths []string, platformDir string, changed ...changedFlag) (*loaded, error) {
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
	found, diags := discover.Apps(abs)
	if len(found) == 0 && len(diags) == 0 {
		return nil, &exitError{code: ExitInvalid, err: fmt.Errorf("no app found below %v (an app directory holds an %s)", paths, discover.AppFile)}
	}
	if platformDir == "" && len(found) > 0 {
		platformDir = discover.FindPlatform(found[0].Dir)
		for _, a := range found[1:] {
			if d := discover.FindPlatform(a.Dir); d != platformDir {
				diags.Add("", fmt.Sprintf("apps use different platform directories (%s and %s): pass --platform", diag.Rel(e.cwd, platformDir), diag.Rel(e.cwd, d)), diag.Position{Filename: a.Dir})
				break
			}
		}
	}
	p, err := schema.LoadPlatform(platformDir)
	if err != nil {
		var l diag.List
		if errors.As(err, &l) {
			return nil, append(diags, l...).Sanitize()
		}
		return nil, err
	}
	out := &loaded{platform: p}
	// With --changed, only the selected apps' problems are reported: a
	// pre-commit hook judges what the commit touches.
	selected := func(string) bool { return true }
	if len(changed) > 0 && changed[0].on {
		out.changed = true
		sel, err := changedApps(e, paths, platformDir, found, changed[0].ref)
		if err != nil {
			return nil, err
		}
		selected = func(dir string) bool { return sel[dir] }
	}
	for _, a := range found {
		app, ds := p.LoadApp(a)
		if selected(a.Dir) {
			diags = append(diags, ds...)
		}
		if app != nil {
			out.apps = append(out.apps, app)
			if selected(a.Dir) {
				out.selected = append(out.selected, app)
			}
		}
	}
	if len(diags) == 0 {
		diags = append(diags, schema.CheckFleet(p, out.apps)...)
	}
	if len(diags) > 0 {
		return nil, diags.Sanitize()
	}
	return out, nil
}

// changedApps maps the files changed against ref to the app directories
// they affect: an app's own files, or anything in the platform directory
// (every app). App specs import only CUE's standard library, so no other
// file affects an app.
func changedApps(e *env, paths []string, platformDir string, found []discover.App, ref string) (map[string]bool, error) {
	start := e.cwd
	if len(found) > 0 {
		start = found[0].Dir
	}
	files, err := gitsource.Changed(start, ref)
	if err != nil {
		return nil, &exitError{code: ExitGit, err: err}
	}
	sel := map[string]bool{}
	for _, f := range files {
		if platformDir != "" && discover.Within(platformDir, f) {
			for _, a := range found {
				sel[a.Dir] = true
			}
			return sel, nil
		}
		for _, a := range found {
			if filepath.Dir(f) == a.Dir && strings.HasSuffix(f, ".cue") {
				sel[a.Dir] = true
			}
		}
	}
	return sel, nil
}

// renderInput pairs each app with its source (git repository, revision and
// path) for provenance.
func renderInput(e *env, l *loaded) (render.Input, error) {
	in := render.Input{Platform: l.platform, Version: Version()}
	var repos []gitsource.Info // opened once each, not once per app
	for _, a := range l.apps {
		i := slices.IndexFunc(repos, func(r gitsource.Info) bool { return discover.Within(r.Root, a.Dir) })
		if i < 0 {
			info, err := gitsource.Describe(a.Dir)
			if err != nil {
				return in, &exitError{code: ExitGit, err: fmt.Errorf("reading the git repository of %s: %w", diag.Rel(e.cwd, a.Dir), err)}
			}
			repos = append(repos, info)
			i = len(repos) - 1
		}
		info := repos[i]
		src := render.Source{Repo: info.Repo, Revision: info.Revision}
		if info.Root != "" {
			src.Path = gitsource.Rel(info.Root, a.Dir)
		} else {
			src.Path = gitsource.Rel(e.cwd, a.Dir)
		}
		in.Apps = append(in.Apps, render.App{App: a, Source: src})
	}
	return in, nil
}

// renderLoaded renders the loaded apps with their sources.
func renderLoaded(e *env, l *loaded) (render.Input, *render.Tree, error) {
	in, err := renderInput(e, l)
	if err != nil {
		return in, nil, err
	}
	tree, err := render.Render(in)
	return in, tree, err
}

// fleetLocation makes a relative fleet directory absolute; URLs (scheme or
// scp-like user@host:path) are returned as they are.
func fleetLocation(e *env, s string) string {
	if strings.Contains(s, "://") || strings.Contains(s, "@") || filepath.IsAbs(s) {
		return s
	}
	return filepath.Join(e.cwd, s)
}
