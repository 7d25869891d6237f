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
	"github.com/paved-dev/paved/internal/fleet"
	"github.com/paved-dev/paved/internal/gitsource"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

// sourceFlag is --source, which every command that renders takes: the
// source identity recorded for the apps it renders.
type sourceFlag struct{ source string }

func (s *sourceFlag) registerSource(c *cobra.Command) {
	c.Flags().StringVar(&s.source, "source", "", "source identity of the apps rendered (default: the origin remote's host/owner/name, \""+gitsource.DefaultSource+"\" without one)")
}

// check refuses a --source that cannot be recorded.
func (s *sourceFlag) check() error {
	if s.source == "" {
		return nil
	}
	if err := gitsource.CheckSourceID(s.source); err != nil {
		return invalid("--source: %v", err)
	}
	return nil
}

// fleetFlags are what diff and commit share beyond the render: the
// apps to take over from another source.
type fleetFlags struct {
	sourceFlag
	adopt []string
}

func (f *fleetFlags) registerFleet(c *cobra.Command) {
	f.registerSource(c)
	c.Flags().StringSliceVar(&f.adopt, "adopt", nil, "take over app team/name from the source that owns it in the fleet (repeatable)")
}

// checkFleet refuses a malformed --source or --adopt.
func (f *fleetFlags) checkFleet() error {
	if err := f.check(); err != nil {
		return err
	}
	for _, id := range f.adopt {
		team, app, ok := strings.Cut(id, "/")
		if !ok || !isLabel(team) || !isLabel(app) {
			return invalid("--adopt %q: want team/name", id)
		}
	}
	return nil
}

func isLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// sourceRoots are the PATH arguments as the ownership manifests record
// them: the source identity of the repository holding each (or --source)
// and the path relative to that repository's root, else to the working
// directory (as render records them).
func sourceRoots(e *env, args []string, override string) []fleet.Root {
	if len(args) == 0 {
		args = []string{"."}
	}
	var out []fleet.Root
	for _, a := range args {
		abs := a
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(e.cwd, a)
		}
		root, source := e.cwd, gitsource.DefaultSource
		if info, err := gitsource.Describe(abs); err == nil && info.Root != "" {
			root, source = info.Root, info.Source
		}
		if override != "" {
			source = override
		}
		if !discover.Within(root, abs) {
			continue
		}
		out = append(out, fleet.Root{Source: source, Path: gitsource.Rel(root, abs)})
	}
	return out
}

// planApps describes the rendered apps for fleet.NewPlan: each renders
// into every cluster of the platform.
func planApps(in render.Input) []fleet.App {
	var clusters []string
	for _, ct := range render.Clusters(in.Platform) {
		clusters = append(clusters, ct.Name)
	}
	out := make([]fleet.App, 0, len(in.Apps))
	for _, a := range in.Apps {
		out = append(out, fleet.App{
			Team: a.Base.Team, Name: a.Base.Name,
			Source: a.Source.ID, Path: a.Source.Path,
			DependsOn: a.Base.Dependencies(), Clusters: clusters,
		})
	}
	return out
}

// fleetError maps what the fleet refuses to an exit code: a plan's
// problems are invalid input (exit 2) and are placed in the apps' files,
// a mass delete is stopped (exit 2), a tampered manifest or a hand edit
// is a fleet problem (exit 4). ok is false for any other error.
func fleetError(l *loaded, verb string, err error) (_ error, ok bool) {
	var pe *fleet.PlanError
	var md *fleet.MassDeleteError
	var dd *fleet.DatabaseDeleteError
	var me *fleet.ManifestError
	var fe *fleet.ForeignEditError
	switch {
	case errors.As(err, &pe):
		byID := map[string]*schema.App{}
		for _, a := range l.apps {
			byID[a.Base.Team+"/"+a.Base.Name] = a
		}
		var ds diag.List
		for _, p := range pe.Problems {
			a := byID[p.App]
			switch {
			case a != nil && p.Field != "":
				ds.Add(p.Field, p.Message, a.Pos(p.Field))
			case a != nil:
				ds.Add("", p.App+": "+p.Message, a.Pos("name"))
			default:
				ds.Add("", p.Message)
			}
		}
		return ds.Sanitize(), true
	case errors.As(err, &md):
		return &exitError{code: ExitInvalid, err: fmt.Errorf("%s: %w", verb, md)}, true
	case errors.As(err, &dd):
		return &exitError{code: ExitInvalid, err: fmt.Errorf("%s: %w", verb, dd)}, true
	case errors.As(err, &me), errors.As(err, &fe):
		return &exitError{code: ExitGit, err: fmt.Errorf("%s: %w", verb, err)}, true
	}
	return err, false
}

// sourcesOf lists the source identities of the rendered apps, sorted.
func sourcesOf(in render.Input) []string {
	var out []string
	for _, a := range in.Apps {
		if !slices.Contains(out, a.Source.ID) {
			out = append(out, a.Source.ID)
		}
	}
	slices.Sort(out)
	return out
}

// appIDs is the sorted team/name list of apps, as one string.
func appIDs(apps []*schema.App) string {
	ids := make([]string, len(apps))
	for i, a := range apps {
		ids[i] = a.Base.Team + "/" + a.Base.Name
	}
	slices.Sort(ids)
	return strings.Join(ids, " ")
}

// splitChanged splits the loaded apps into those to render (changed) and
// those the run keeps as they are, described for fleet.NewPlan.
func splitChanged(e *env, l *loaded, source string, changed func(a render.App) bool) (*loaded, []fleet.App, error) {
	in, err := renderInput(e, l, source)
	if err != nil {
		return nil, nil, err
	}
	sel := *l
	sel.apps, sel.selected = nil, nil
	var keep render.Input
	keep.Platform = in.Platform
	for _, a := range in.Apps {
		if changed(a) {
			sel.apps = append(sel.apps, a.App)
		} else {
			keep.Apps = append(keep.Apps, a)
		}
	}
	sel.selected = sel.apps
	return &sel, planApps(keep), nil
}

// changedAgainstFleet selects, for commit --changed, the apps whose inputs
// differ from what the fleet records for them: an app the fleet lacks or
// records for another source or path, or whose inputs digest (paved's
// version, the platform, the app's files) differs. A platform change is
// every app's; a change of paved too.
func changedAgainstFleet(e *env, l *loaded, ms *fleet.Manifests, source string) (*loaded, []fleet.App, error) {
	return splitChanged(e, l, source, func(a render.App) bool {
		m := ms.Apps[a.Base.Team+"/"+a.Base.Name]
		return m == nil || m.SourceID() != a.Source.ID || m.SourcePath() != a.Source.Path ||
			m.InputsDigest != render.InputsDigest(Version(), l.platform, a)
	})
}
