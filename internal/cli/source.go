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
		root, source, rev := e.cwd, gitsource.DefaultSource, ""
		if info, err := gitsource.Describe(abs); err == nil && info.Root != "" {
			root, source, rev = info.Root, info.Source, info.Revision
		}
		if override != "" {
			source = override
		}
		if !discover.Within(root, abs) {
			continue
		}
		out = append(out, fleet.Root{Source: source, Path: gitsource.Rel(root, abs), Revision: rev})
	}
	return out
}

// sourceAncestry is fleet.PlanInput.Ancestry for the run's PATHs: a
// source's revisions are placed in the repository of the first PATH that
// has that source.
func sourceAncestry(e *env, args []string, override string) func(source, a, b string) (bool, error) {
	if len(args) == 0 {
		args = []string{"."}
	}
	dirs := map[string]string{}
	for _, a := range args {
		abs := absPath(e, a)
		source := gitsource.DefaultSource
		if info, err := gitsource.Describe(abs); err == nil && info.Root != "" {
			source = info.Source
		}
		if override != "" {
			source = override
		}
		if _, ok := dirs[source]; !ok {
			dirs[source] = abs
		}
	}
	return func(source, a, b string) (bool, error) {
		dir, ok := dirs[source]
		if !ok {
			return false, gitsource.ErrUnknownAncestry
		}
		return gitsource.Ancestor(dir, a, b)
	}
}

// checkIdentity refuses a run whose source identity the fleet's platform
// would not recognise: a commit from a source without an identity (no
// origin remote) and without --source, or a --source other than the
// origin's own identity that the platform's sourceAliases do not let the
// origin use. An identity is what binds a team to the sources that may
// write it, so it is never taken from a flag alone.
func checkIdentity(e *env, verb string, args []string, override string, p *schema.Platform) error {
	if len(args) == 0 {
		args = []string{"."}
	}
	for _, a := range args {
		origin := gitsource.DefaultSource
		if info, err := gitsource.Describe(absPath(e, a)); err == nil && info.Root != "" {
			origin = info.Source
		}
		switch {
		case override == "" && origin == gitsource.DefaultSource && verb == "commit":
			return invalid("commit: %s has no origin remote, so no source identity: the fleet's platform binds teams to sources, and a source without an identity cannot commit; add the repository's origin remote, or pass --source", a)
		case override == "" || override == origin || origin == gitsource.DefaultSource:
		case !aliasAllowed(p.Data.SourceAliases, origin, override):
			return invalid("%s: --source %s: this repository's origin is %s, and the fleet's platform does not let it act as %s (platform.sourceAliases)", verb, override, origin, override)
		}
	}
	return nil
}

// aliasAllowed reports whether the platform's sourceAliases let origin
// act as id.
func aliasAllowed(aliases map[string][]string, origin, id string) bool {
	for pat, as := range aliases {
		if fleet.MatchSource([]string{pat}, origin) && fleet.MatchSource(as, id) {
			return true
		}
	}
	return false
}

// teamSources are the platform's team bindings, for fleet.PlanInput.
func teamSources(p *schema.Platform) map[string][]string {
	out := make(map[string][]string, len(p.Data.Teams))
	for name, t := range p.Data.Teams {
		out[name] = t.Sources
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
// a mass delete is stopped (exit 2), a tampered manifest, a hand edit,
// an unowned file, a path clash or a missing branch is a fleet problem
// (exit 4). ok is false for any other error.
func fleetError(l *loaded, verb string, err error) (_ error, ok bool) {
	var pe *fleet.PlanError
	var md *fleet.MassDeleteError
	var dd *fleet.DatabaseDeleteError
	var me *fleet.ManifestError
	var fe *fleet.ForeignEditError
	var ie *fleet.IntegrityError
	var ce *fleet.ClashError
	var nb *fleet.NoBranchError
	switch {
	case errors.As(err, &pe):
		byID := map[string]*schema.App{}
		if l != nil {
			for _, a := range l.apps {
				byID[a.Base.Team+"/"+a.Base.Name] = a
			}
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
	case errors.As(err, &me), errors.As(err, &fe), errors.As(err, &ie), errors.As(err, &ce), errors.As(err, &nb):
		return &exitError{code: ExitGit, err: fmt.Errorf("%s: %w", verb, err)}, true
	}
	return err, false
}

// fleetFailure is fleetError's exit error for any error: what the fleet
// refuses keeps its code, anything else is a git error (exit 4).
func fleetFailure(l *loaded, verb string, err error) error {
	if ferr, ok := fleetError(l, verb, err); ok {
		return ferr
	}
	return &exitError{code: ExitGit, err: fmt.Errorf("%s: %w", verb, err)}
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

// keepUnchanged splits the discovered apps for diff and commit --changed
// (validation deferred): an app that unchanged accepts and whose source
// and path the fleet records is kept as the fleet holds it, described by
// its manifest; every other app is validated, to be rendered. So a one-app
// change loads one app, not the repository.
func keepUnchanged(e *env, l *loaded, ms *fleet.Manifests, source string, unchanged func(a discover.App, m *fleet.Manifest) bool) (*loaded, []fleet.App, error) {
	type at struct{ source, path string }
	byPath := map[at]*fleet.Manifest{}
	for _, m := range ms.Apps {
		byPath[at{m.SourceID(), m.SourcePath()}] = m
	}
	ds := &dirSources{e: e, override: source}
	var keep []fleet.App
	need := map[string]bool{}
	for _, a := range l.found {
		src, err := ds.of(a.Dir)
		if err != nil {
			return nil, nil, err
		}
		if m := byPath[at{src.ID, src.Path}]; m != nil && unchanged(a, m) {
			keep = append(keep, fleet.App{
				Team: m.Team, Name: m.App, Source: src.ID, Path: src.Path,
				DependsOn: m.DependsOn, Clusters: m.Clusters,
			})
			continue
		}
		need[a.Dir] = true
	}
	sel, err := l.validateOnly(e, func(a discover.App) bool { return need[a.Dir] })
	return sel, keep, err
}

// unchangedAgainstFleet is commit --changed's test: an app is unchanged
// when the fleet records the inputs digest its files give now (paved's
// version, the platform, the app's files and TechDocs): a platform or
// paved change is every app's.
func unchangedAgainstFleet(l *loaded) func(discover.App, *fleet.Manifest) bool {
	return func(a discover.App, m *fleet.Manifest) bool {
		files := make(map[string][]byte, len(a.Files))
		for _, f := range a.Files {
			files[f.Path] = f.Data
		}
		return m.InputsDigest == render.InputsDigestOf(Version(), l.platform, files, hasDocs(a.Dir))
	}
}
