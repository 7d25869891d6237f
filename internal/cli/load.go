package cli

import (
	"errors"
	"fmt"
	"slices"

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
}

// loadApps discovers the apps below paths, loads the platform and validates
// every app and the fleet as a whole. Every problem of every app is
// returned in one diag.List.
func loadApps(e *env, paths []string, platformDir string) (*loaded, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	found, diags := discover.Apps(paths)
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
	for _, a := range found {
		app, ds := p.LoadApp(a)
		diags = append(diags, ds...)
		if app != nil {
			out.apps = append(out.apps, app)
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
