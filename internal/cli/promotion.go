package cli

import (
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/paved-dev/paved/internal/fleet"
	"github.com/paved-dev/paved/internal/gitsource"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

// Releases and promotion (README "Environments: promotion and rollback").
// A render writes every environment of an app; staging decides, per
// environment, what the fleet holds after a commit: the new release (an
// environment a commit writes, or one that already runs it), or the
// release it runs now, with the new one recorded as pending for paved
// promote. The app's ownership manifest records each environment's
// release.

// envClusters are the clusters of each environment, sorted.
func envClusters(p *schema.Platform) map[string][]string {
	out := map[string][]string{}
	for env, e := range p.Data.Environments {
		out[env] = schema.SortedKeys(e.Clusters)
	}
	return out
}

// fileCluster is the cluster of an app's fleet file, "" for one every
// cluster shares (its catalog entry) or a pending release.
func fileCluster(f string) string {
	parts := strings.Split(f, "/")
	if len(parts) > 2 && (parts[0] == "apps" || parts[0] == "clusters") {
		return parts[1]
	}
	return ""
}

// staging is what stageReleases needs besides the render.
type staging struct {
	platform *schema.Platform
	// now is the commit's time: when what lands now landed.
	now time.Time
	// tip are the fleet's manifests, read reads the tip's files (nil
	// without a fleet).
	tip  *fleet.Manifests
	read func(string) ([]byte, bool)
	// sourceTime is when the source commit was made; fixes the releases
	// it says it fixes (Paved-Fixes).
	sourceTime time.Time
	fixes      []string
}

// staged is what staging did to one app: the environments that take the
// new release now, those where it waits, and those held.
type staged struct {
	Release                string
	Landed, Pending, Holds []string
}

// stageReleases rewrites the render's files of apps (tree files) for the
// fleet: per environment, the new release or the one the fleet runs,
// the pending releases, and each app's manifest. It returns what it did
// per app (team/app).
func stageReleases(files map[string][]byte, apps []render.App, s staging) (map[string]*staged, error) {
	out := map[string]*staged{}
	byEnv := envClusters(s.platform)
	order := s.platform.PromotionOrder()
	now := s.now.UTC().Format(time.RFC3339)
	srcTime := ""
	if !s.sourceTime.IsZero() {
		srcTime = s.sourceTime.UTC().Format(time.RFC3339)
	}
	for _, a := range apps {
		id := a.Base.Team + "/" + a.Base.Name
		mp := ".paved/apps/" + id + ".json"
		data, ok := files[mp]
		if !ok {
			continue
		}
		m, err := fleet.ReadManifest(mp, data)
		if err != nil {
			return nil, fmt.Errorf("rendered %w", err)
		}
		var tm *fleet.Manifest
		if s.tip != nil {
			tm = s.tip.Apps[id]
		}
		rel := fleet.ReleaseID(m.Team, m.App, m.Inputs)
		st := &staged{Release: rel}
		out[id] = st
		var owned []string
		envs := map[string]*fleet.EnvRelease{}
		for _, f := range m.Files {
			if fileCluster(f) == "" {
				owned = append(owned, f) // the catalog entry
			}
		}
		for _, env := range order {
			ecs := byEnv[env]
			var rendered []string
			for _, f := range m.Files {
				if c := fileCluster(f); c != "" && slices.Contains(ecs, c) {
					rendered = append(rendered, f)
				}
			}
			if len(rendered) == 0 {
				continue
			}
			spec, err := a.Env(env)
			if err != nil {
				return nil, err
			}
			pr := s.platform.EffectivePromotion(env, &spec)
			var tr *fleet.EnvRelease
			if tm != nil {
				tr = tm.EnvRelease(env, ecs)
			}
			held := tr != nil && tr.Hold != nil && !slices.Contains(s.fixes, tr.Hold.From)
			if tr != nil && tr.Release == rel || pr.Mode == schema.PromoteAtCommit && !held {
				rec := &fleet.EnvRelease{Release: rel, SourceTime: srcTime, Image: spec.Image, Landed: now, Via: "commit"}
				if m.Source != nil {
					rec.Revision = m.Source.Revision
				}
				if tr != nil && tr.Release == rel {
					rec.Landed, rec.Via, rec.SourceTime = tr.Landed, tr.Via, tr.SourceTime
					if !held {
						rec.Hold = nil
					} else {
						rec.Hold = tr.Hold
					}
				}
				envs[env] = rec
				st.Landed = append(st.Landed, env)
				owned = append(owned, rendered...)
				continue
			}
			// The environment keeps what it runs; the new release waits.
			pend := &fleet.Pending{
				Team: m.Team, App: m.App, Environment: env, Release: rel, Source: m.Source,
				SourceTime: srcTime, Image: spec.Image, Committed: now,
				Inputs: m.Inputs, Files: map[string]string{},
				Requests: map[string]fleet.Requests{},
				Manual:   spec.Promotion[env].Manual, Soak: spec.Promotion[env].Soak,
			}
			for _, f := range rendered {
				pend.Files[f] = string(files[f])
				delete(files, f)
				if c := fileCluster(f); !slices.Contains(pend.Clusters, c) {
					pend.Clusters = append(pend.Clusters, c)
					pend.Requests[c] = m.Requests[c]
				}
			}
			if tr != nil {
				for _, f := range tm.Files {
					if c := fileCluster(f); c != "" && slices.Contains(ecs, c) {
						b, ok := s.read(f)
						if !ok {
							return nil, fmt.Errorf("%s: the fleet lists %s but cannot read it", id, f)
						}
						files[f] = b
						owned = append(owned, f)
					}
				}
				kept := *tr
				if held != (tr.Hold != nil) {
					kept.Hold = nil // the team's fix releases it
				}
				if in := tm.EnvInputs(env); kept.Inputs == nil && !sameInputs(in, m.Inputs) {
					kept.Inputs = in
				} else if sameInputs(kept.Inputs, m.Inputs) {
					kept.Inputs = nil
				}
				envs[env] = &kept
			}
			if held {
				st.Holds = append(st.Holds, env)
			}
			st.Pending = append(st.Pending, env)
			pp := fleet.PendingPath(m.Team, m.App, env)
			files[pp] = fleet.EncodePending(pend)
			owned = append(owned, pp)
		}
		if len(st.Pending) == 0 && (tm == nil || tm.Environments == nil) {
			// Every environment takes the release at commit, as before
			// paved knew promotion: the manifest stays as render wrote it
			// (a fleet without promotion is what render --out writes).
			continue
		}
		b, err := fleet.Restage(data, files, owned, envs)
		if err != nil {
			return nil, err
		}
		files[mp] = b
	}
	return out, nil
}

// sameInputs reports whether two recorded inputs are the same spec.
func sameInputs(a, b *fleet.ManifestInputs) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Docs == b.Docs && maps.Equal(a.Files, b.Files)
}

// describeStaged is one line per app whose environments do not all take
// the new release: what lands, what waits and what is held.
func describeStaged(st map[string]*staged) []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(st)) {
		s := st[id]
		if len(s.Pending) == 0 {
			continue
		}
		line := fmt.Sprintf("%s release %s: ", id, s.Release)
		if len(s.Landed) > 0 {
			line += strings.Join(s.Landed, ", ") + " now; "
		}
		line += "pending promotion to " + strings.Join(s.Pending, ", ")
		if len(s.Holds) > 0 {
			line += " (held after a rollback: " + strings.Join(s.Holds, ", ") + ")"
		}
		out = append(out, line)
	}
	return out
}

// pendingOf lists the fleet's pending releases of team/app by
// environment.
func pendingOf(m *fleet.Manifest, read func(string) ([]byte, bool)) (map[string]*fleet.Pending, error) {
	out := map[string]*fleet.Pending{}
	for _, f := range m.Files {
		if _, _, env, ok := fleet.IsPending(f); ok {
			data, ok := read(f)
			if !ok {
				return nil, fmt.Errorf("%s: the fleet lists %s but cannot read it", m.ID(), f)
			}
			p, err := fleet.ReadPending(f, data)
			if err != nil {
				return nil, err
			}
			out[env] = p
		}
	}
	return out, nil
}

// recordedApp is the app team/app of a recorded render.
func recordedApp(r *recorded, id string) *render.App {
	for i := range r.in.Apps {
		if a := &r.in.Apps[i]; a.Base.Team+"/"+a.Base.Name == id {
			return a
		}
	}
	return nil
}

// restageRecorded makes a render of the fleet's apps from their recorded
// inputs (rec, the manifests' own inputs) what the fleet holds: each
// environment of an app that records releases gets the render of its
// release's inputs, each pending release the render of its own, each
// manifest its environments; the entry kustomizations list what stays.
// Verify compares the fleet with the result and rerender commits it: a
// platform change re-renders every release where it is, it moves none.
func restageRecorded(e *env, rec *recorded, ms *fleet.Manifests) error {
	p := rec.l.platform
	byEnv, order := envClusters(p), p.PromotionOrder()
	// A release as the fleet records it: its inputs, at the source
	// revision its files name.
	type release struct {
		in  *fleet.ManifestInputs
		rev string
	}
	type key struct{ id, release, rev string }
	keyOf := func(id string, r release) key { return key{id, fleet.ReleaseID("", "", r.in), r.rev} }
	extra := map[key]*recorded{}
	var layers []*fleet.Manifests
	pendings := map[string]map[string]*fleet.Pending{}
	for _, a := range rec.in.Apps {
		id := a.Base.Team + "/" + a.Base.Name
		fm := ms.Apps[id]
		if fm == nil || fm.Environments == nil {
			continue
		}
		pend, err := pendingOf(fm, ms.Read)
		if err != nil {
			return err
		}
		pendings[id] = pend
		top := release{fm.Inputs, fm.Source.Revision}
		var need []release
		add := func(r release) {
			same := func(o release) bool { return o.rev == r.rev && sameInputs(o.in, r.in) }
			if r.in == nil || same(top) || slices.ContainsFunc(need, same) {
				return
			}
			need = append(need, r)
		}
		for _, env := range order {
			if r := fm.Environments[env]; r != nil {
				add(release{fm.EnvInputs(env), r.Revision})
			}
			if pr := pend[env]; pr != nil && pr.Source != nil {
				add(release{pr.Inputs, pr.Source.Revision})
			}
		}
		for k, r := range need {
			if k == len(layers) {
				layers = append(layers, &fleet.Manifests{Apps: map[string]*fleet.Manifest{}, Tenants: map[string]*fleet.Manifest{}, Sources: map[string]*fleet.SourceRecord{}})
			}
			c := *fm
			src := *fm.Source
			src.Revision = r.rev
			c.Inputs, c.Environments, c.Source = r.in, nil, &src
			layers[k].Apps[id] = &c
		}
	}
	// The extra renders stay with rec (rec.held): its lint judges the
	// environments they give, and rec.close removes them.
	heldOf := map[*recorded]*heldRender{}
	defer func() {
		for _, r := range extra {
			if h := heldOf[r]; h != nil && len(h.envs) > 0 {
				rec.held = append(rec.held, *h)
				heldOf[r] = nil
				continue
			}
			if heldOf[r] != nil {
				r.fp = nil // rec's
				r.close()
				heldOf[r] = nil
			}
		}
	}()
	for _, lm := range layers {
		r, err := renderRecordedWith(e, lm, rec.fp, nil, false)
		if err != nil {
			return err
		}
		heldOf[r] = &heldRender{r: r, envs: map[string][]string{}}
		rec.problems = append(rec.problems, r.problems...)
		for id, m := range lm.Apps {
			extra[keyOf(id, release{m.Inputs, m.Source.Revision})] = r
		}
	}
	base := maps.Clone(rec.tree.Files)
	files := rec.tree.Files
	for _, id := range slices.Sorted(maps.Keys(pendings)) {
		fm := ms.Apps[id]
		mp := ".paved/apps/" + id + ".json"
		m0, err := fleet.ReadManifest(mp, base[mp])
		if err != nil {
			return fmt.Errorf("rendered %w", err)
		}
		curEnv := "" // the environment being composed
		// of is the render of release r: its files and app manifest.
		of := func(r release) (map[string][]byte, *fleet.Manifest, *render.App) {
			if r.in == nil || r.rev == fm.Source.Revision && sameInputs(r.in, fm.Inputs) {
				return base, m0, recordedApp(rec, id)
			}
			x := extra[keyOf(id, r)]
			if x == nil {
				return nil, nil, nil
			}
			if h := heldOf[x]; h != nil && !slices.Contains(h.envs[id], curEnv) {
				h.envs[id] = append(h.envs[id], curEnv)
			}
			m, err := fleet.ReadManifest(mp, x.tree.Files[mp])
			if err != nil {
				return nil, nil, nil
			}
			return x.tree.Files, m, recordedApp(x, id)
		}
		var owned []string
		envs := map[string]*fleet.EnvRelease{}
		for _, f := range m0.Files {
			if fileCluster(f) == "" {
				owned = append(owned, f)
			} else {
				delete(files, f)
			}
		}
		for _, env := range order {
			ecs := byEnv[env]
			curEnv = env
			var narrowed schema.AppPromotion
			take := func(rel release, into func(f string, data []byte)) (image string, ok bool) {
				tf, tm, ta := of(rel)
				if tm == nil || ta == nil {
					return "", false // its inputs do not render: a problem already
				}
				for _, f := range tm.Files {
					if c := fileCluster(f); c != "" && slices.Contains(ecs, c) {
						into(f, tf[f])
					}
				}
				if spec, err := ta.Env(env); err == nil {
					image = spec.Image
					narrowed = spec.Promotion[env]
				}
				return image, true
			}
			if r := fm.Environments[env]; r != nil {
				in := fm.EnvInputs(env)
				rel := release{in, r.Revision}
				image, ok := take(rel, func(f string, data []byte) {
					files[f] = data
					owned = append(owned, f)
				})
				if ok {
					rr := *r
					rr.Release, rr.Image = fleet.ReleaseID(fm.Team, fm.App, in), image
					envs[env] = &rr
				}
			}
			if pr := pendings[id][env]; pr != nil && pr.Source != nil {
				np := *pr
				np.Files, np.Clusters, np.Requests = map[string]string{}, nil, map[string]fleet.Requests{}
				rel := release{pr.Inputs, pr.Source.Revision}
				_, tm, _ := of(rel)
				image, ok := take(rel, func(f string, data []byte) {
					np.Files[f] = string(data)
					if c := fileCluster(f); !slices.Contains(np.Clusters, c) {
						np.Clusters = append(np.Clusters, c)
						np.Requests[c] = tm.Requests[c]
					}
				})
				if ok {
					np.Release, np.Image = fleet.ReleaseID(fm.Team, fm.App, pr.Inputs), image
					np.Manual, np.Soak = narrowed.Manual, narrowed.Soak
					pp := fleet.PendingPath(fm.Team, fm.App, env)
					files[pp] = fleet.EncodePending(&np)
					owned = append(owned, pp)
				}
			}
		}
		b, err := fleet.Restage(base[mp], files, owned, envs)
		if err != nil {
			return err
		}
		files[mp] = b
	}
	if len(pendings) == 0 {
		return nil
	}
	// Each cluster's entry point lists the Flux objects that stay.
	for _, f := range slices.Sorted(maps.Keys(files)) {
		if !isEntryKustomization(f) {
			continue
		}
		prefix := path.Dir(f) + "/"
		var res []string
		for g := range files {
			if rel, ok := strings.CutPrefix(g, prefix); ok && rel != "kustomization.yaml" && strings.HasSuffix(rel, ".yaml") {
				res = append(res, rel)
			}
		}
		if len(res) == 0 {
			delete(files, f)
			continue
		}
		slices.Sort(res)
		b, err := render.EntryKustomization(res)
		if err != nil {
			return err
		}
		files[f] = b
	}
	return nil
}

// promotionLines say, per rendered app whose environments do not all take
// the new release at commit, which change now and which wait for
// promotion or are held (the diff's and the PR comment's
// "Environments" lines).
func promotionLines(in render.Input, ms *fleet.Manifests) []string {
	p := in.Platform
	byEnv := envClusters(p)
	gated := false // an environment a commit does not write
	for _, e := range p.Data.Environments {
		gated = gated || e.Promotion.Mode != schema.PromoteAtCommit
	}
	var out []string
	for _, a := range in.Apps {
		id := a.Base.Team + "/" + a.Base.Name
		var fm *fleet.Manifest
		if ms != nil {
			fm = ms.Apps[id]
		}
		if !gated && !heldAnywhere(fm) {
			continue // every environment takes it with the commit
		}
		inputs := &fleet.ManifestInputs{Files: map[string]string{}, Docs: a.Docs}
		for _, f := range a.Files {
			inputs.Files[path.Base(filepath.ToSlash(f))] = string(a.Data[f])
		}
		rel := fleet.ReleaseID(a.Base.Team, a.Base.Name, inputs)
		// The source commit's Paved-Fixes, read only for a held app.
		var fixes []string
		if heldAnywhere(fm) {
			info, _ := gitsource.Describe(a.Dir)
			fixes = info.Fixes
		}
		var now, wait []string
		for _, env := range p.PromotionOrder() {
			var tr *fleet.EnvRelease
			if fm != nil {
				tr = fm.EnvRelease(env, byEnv[env])
			}
			if tr != nil && tr.Release == rel {
				continue
			}
			spec, err := a.Env(env)
			if err != nil {
				continue
			}
			pr := p.EffectivePromotion(env, &spec)
			held := tr != nil && tr.Hold != nil && !slices.Contains(fixes, tr.Hold.From)
			switch {
			case held:
				wait = append(wait, fmt.Sprintf("%s is held on release %s after a rollback from %s (%s): it takes nothing until the hold is released or a commit says Paved-Fixes: %s", env, tr.Release, tr.Hold.From, tr.Hold.Reason, tr.Hold.From))
			case pr.Mode == schema.PromoteAtCommit:
				now = append(now, env)
			case pr.Mode == schema.PromoteAuto:
				wait = append(wait, fmt.Sprintf("%s waits for promotion (auto, after %s in %s)", env, pr.Soak, pr.From))
			default:
				wait = append(wait, fmt.Sprintf("%s waits for promotion (manual: paved promote %s --to %s, after %s in %s)", env, id, env, pr.Soak, pr.From))
			}
		}
		if len(wait) == 0 {
			continue
		}
		line := fmt.Sprintf("%s release %s: ", id, rel)
		if len(now) > 0 {
			line += strings.Join(now, ", ") + " change with this commit; "
		}
		out = append(out, line+strings.Join(wait, "; "))
	}
	return out
}

// heldAnywhere reports whether an environment of the fleet's app m is
// held after a rollback.
func heldAnywhere(m *fleet.Manifest) bool {
	if m == nil {
		return false
	}
	for _, r := range m.Environments {
		if r != nil && r.Hold != nil {
			return true
		}
	}
	return false
}
