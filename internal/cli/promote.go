package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-github/v88/github"
	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/diff"
	"github.com/paved-dev/paved/internal/fleet"
	"github.com/paved-dev/paved/internal/gitsource"
	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

type promoteOptions struct {
	fleet, branch, to, now, reason, kubeconfig string
	dryRun, skipGates, allowDBDelete           bool
	attempts                                   int
	// pr proposes the promotion as a pull request of the fleet's GitHub
	// repository repo (OWNER/NAME) instead of committing it.
	pr           bool
	repo, apiURL string
}

// gates judges whether a pending release may enter its environment.
type gates struct {
	p   *schema.Platform
	now time.Time
	// flux reads a Kustomization of a cluster; fleetAt says whether the
	// fleet at a revision runs release in env of team/app.
	flux    *fluxReader
	fleetAt func(rev, id, env, release string) (bool, error)
	// to is the environment a person names (--to): manual environments
	// move only then.
	to string
}

// blockers are the reasons a pending release may not enter env now, in
// the order a person fixes them; none: it may. A hold is not a gate:
// --skip-gates does not pass it (held reports it).
func (g *gates) blockers(m *fleet.Manifest, env string, pend *fleet.Pending) []string {
	pr := g.p.EffectivePromotion(env, &schema.Spec{Promotion: map[string]schema.AppPromotion{env: {Manual: pend.Manual, Soak: pend.Soak}}})
	var out []string
	if pr.Mode != schema.PromoteAuto && g.to != env {
		out = append(out, fmt.Sprintf("manual: a person promotes it (paved promote %s --to %s)", m.ID(), env))
	}
	if pr.From != "" {
		fromClusters := schema.SortedKeys(g.p.Data.Environments[pr.From].Clusters)
		fr := m.EnvRelease(pr.From, fromClusters)
		switch {
		case fr == nil:
			out = append(out, fmt.Sprintf("%s: the app does not run there yet", pr.From))
			return out
		case fr.Release != pend.Release:
			out = append(out, fmt.Sprintf("%s runs release %s, not %s: it moves there first", pr.From, fr.Release, pend.Release))
			return out
		}
		soak, _ := time.ParseDuration(pr.Soak)
		landed, err := time.Parse(time.RFC3339, fr.Landed)
		if err != nil {
			landed = time.Time{} // recorded before releases were: it ran since before
		}
		if ran := g.now.Sub(landed); ran < soak {
			out = append(out, fmt.Sprintf("soak: %s in %s needed, %s so far (until %s)", pr.Soak, pr.From, ran.Truncate(time.Second), landed.Add(soak).UTC().Format(time.RFC3339)))
		}
		if pr.Ready {
			for _, c := range fromClusters {
				if why := g.ready(m, pr.From, c, pend.Release); why != "" {
					out = append(out, why)
				}
			}
		}
	}
	if !schema.InWindow(pr.Windows, g.now) {
		out = append(out, fmt.Sprintf("window: %s promotes only in its windows (%s), now is %s", env, windowList(pr.Windows), g.now.UTC().Format("Mon 15:04 MST")))
	}
	return out
}

// ready is why cluster c of env does not (provably) run release ready,
// "" when it does: its Flux Kustomization of the app is Ready on a fleet
// revision that records the release there.
func (g *gates) ready(m *fleet.Manifest, env, c, release string) string {
	kctx := g.p.Data.Environments[env].Clusters[c].KubeContext
	if kctx == "" {
		return fmt.Sprintf("ready: cluster %s has no kubeContext in the platform, so paved cannot see what Flux applied there", c)
	}
	st := g.flux.get(kctx, g.p.Data.Flux.SourceRef.Namespace, schema.AppFluxName(m.Team, m.App))
	switch {
	case st.Err != nil:
		return fmt.Sprintf("ready: %s: %v", c, st.Err)
	case !st.Ready:
		return fmt.Sprintf("ready: %s: Kustomization %s is not Ready (%s)", c, schema.AppFluxName(m.Team, m.App), st.Reason)
	}
	ok, err := g.fleetAt(st.Revision, m.ID(), env, release)
	switch {
	case err != nil:
		return fmt.Sprintf("ready: %s applied fleet revision %s, which paved cannot read: %v", c, short(st.Revision), err)
	case !ok:
		return fmt.Sprintf("ready: %s last applied fleet revision %s, which does not run release %s yet", c, short(st.Revision), release)
	}
	return ""
}

func windowList(ws []schema.Window) string {
	var out []string
	for _, w := range ws {
		out = append(out, strings.Join(w.Days, ",")+" "+w.Start+"-"+w.End+" UTC")
	}
	return strings.Join(out, "; ")
}

// fleetRuns says whether the fleet at url, revision rev, records release
// in env of app id; the branch's history is read once.
func fleetRuns(url, branch string) func(rev, id, env, release string) (bool, error) {
	var h *fleet.History
	return func(rev, id, env, release string) (bool, error) {
		if h == nil {
			var err error
			if h, err = fleet.OpenHistory(context.Background(), url, branch); err != nil {
				return false, err
			}
		}
		mp := ".paved/apps/" + id + ".json"
		data, err := h.ReadAt(rev, mp)
		if err != nil {
			return false, err
		}
		m, err := fleet.ReadManifest(mp, data)
		if err != nil {
			return false, err
		}
		return m.Environments[env] != nil && m.Environments[env].Release == release, nil
	}
}

// promotion is one pending release written into its environment.
type promotion struct {
	id, env, release, from string
}

func newPromoteCmd(e *env) *cobra.Command {
	o := &promoteOptions{}
	c := &cobra.Command{
		Use:   "promote [team/app...] --fleet URL|DIR [--to ENV] [--dry-run]",
		Short: "Write pending releases into the next environment once their gates hold",
		Long: `promote moves releases between environments (README "Environments:
promotion and rollback"). paved commit writes the environments whose
promotion mode is "commit" and records the new release as pending in the
others, with the exact files that were diffed and reviewed. promote writes
a pending release into its environment, byte for byte, when its gates hold:

  - the environment it comes from (promotion.from) runs the release;
  - it ran there for the soak time, since the commit that landed it;
  - ready: Flux applied it, Ready, in every cluster of that environment
    (read through each cluster's kubeContext; --kubeconfig names the file);
  - now is inside one of the environment's windows;
  - the environment is not held by a rollback (paved rollback).

An environment whose mode is "auto" moves with a plain promote, the
fleet's scheduled job; a "manual" one only when a person names it with
--to. Each app moves at most one environment per run. With --pr (a
person's promotion of team/app --to ENV) the commit goes to a new branch
paved/promote/<env>/<apps>-<time> and a pull request of --repo (GITHUB_TOKEN)
proposes it, its body paved's diff of what Flux will apply; the fleet
branch is untouched until it merges. The commit carries a
Paved-Promotion trailer per move; --skip-gates --reason TEXT passes the
gates for a hotfix (never a hold, and a manual environment still needs
--to) and records the reason
(Paved-Skip-Gates). --dry-run prints what would move and why the rest
waits, and writes nothing. --now sets the clock the soak and windows are
judged by.

Exit codes: 0 promoted, or nothing was due; 1 an environment named with
--to could not be promoted (its gates are printed); 2 invalid input; 4 git
or cluster error.`,
		RunE: func(c *cobra.Command, args []string) error {
			if o.fleet == "" {
				return invalid("promote: --fleet URL|DIR is required")
			}
			if o.pr && (o.to == "" || o.repo == "" || len(args) == 0) {
				return invalid("promote: --pr proposes a person's promotion: it needs team/app, --to ENV and --repo OWNER/NAME (the fleet's GitHub repository)")
			}
			if o.pr && o.dryRun {
				return invalid("promote: --pr and --dry-run: one or the other")
			}
			if o.skipGates && strings.TrimSpace(o.reason) == "" {
				return invalid("promote: --skip-gates needs --reason (it is recorded in the commit)")
			}
			for _, a := range args {
				if t, n, ok := strings.Cut(a, "/"); !ok || t == "" || n == "" {
					return invalid("promote: %q is not team/app", a)
				}
			}
			run, err := startReleaseRun(e, o.fleet, o.branch, o.now)
			if err != nil {
				return err
			}
			defer run.fp.close()
			url, now, author, fp, lp, p := run.url, run.now, run.author, run.fp, run.lp, run.lp.platform
			if o.to != "" {
				if err := knownEnv("promote --to", o.to, p); err != nil {
					return err
				}
			}
			g := &gates{p: p, now: now, flux: newFluxReader(o.kubeconfig), fleetAt: fleetRuns(url, o.branch), to: o.to}
			var moved []promotion
			var waits []string
			// before and after are the moved environments' files as the
			// fleet holds them and as promoted: the pull request's diff.
			var before, after map[string][]byte
			blockedTo := false
			prepare := func(ms *fleet.Manifests) (*fleet.Render, error) {
				moved, waits, blockedTo = nil, nil, false
				before, after = map[string][]byte{}, map[string][]byte{}
				files := map[string][]byte{}
				var apps []fleet.App
				ids := args
				if len(ids) == 0 {
					ids = slices.Sorted(maps.Keys(ms.Apps))
				}
				for _, id := range ids {
					m := ms.Apps[id]
					if m == nil {
						return nil, invalid("promote: the fleet has no app %s", id)
					}
					pend, err := pendingOf(m, ms.Read)
					if err != nil {
						return nil, err
					}
					for _, env := range p.PromotionOrder() {
						pr := pend[env]
						if pr == nil || o.to != "" && env != o.to {
							continue
						}
						if h := heldBy(m, env); h != "" {
							waits = append(waits, fmt.Sprintf("%s %s: release %s waits: %s", id, env, pr.Release, h))
							blockedTo = blockedTo || o.to == env
							continue
						}
						why := g.blockers(m, env, pr)
						if o.skipGates && !slices.ContainsFunc(why, isManualGate) {
							why = nil // a person skips the gates, never who promotes
						}
						if len(why) > 0 {
							waits = append(waits, fmt.Sprintf("%s %s: release %s waits: %s", id, env, pr.Release, strings.Join(why, "; ")))
							blockedTo = blockedTo || o.to == env
							continue
						}
						// What is written is what was reviewed: the pending
						// files are what their recorded inputs render with
						// the fleet's platform, byte for byte.
						if why, err := pendingTampered(e, m, fp, env, pr); err != nil {
							return nil, err
						} else if why != "" {
							waits = append(waits, fmt.Sprintf("%s %s: release %s waits: %s", id, env, pr.Release, why))
							blockedTo = blockedTo || o.to == env
							continue
						}
						for _, f := range m.Files {
							if c := fileCluster(f); c != "" && p.EnvironmentOf(c) == env && strings.HasPrefix(f, "apps/") {
								if b, ok := ms.Read(f); ok {
									before[f] = b
								}
							}
						}
						for f, data := range pr.Files {
							if strings.HasPrefix(f, "apps/") {
								after[f] = []byte(data)
							}
						}
						nm, err := promoteInto(files, m, ms.Read, p, env, pr, now, "promote")
						if err != nil {
							return nil, err
						}
						from := p.EffectivePromotion(env, nil).From
						moved = append(moved, promotion{id: id, env: env, release: pr.Release, from: from})
						apps = append(apps, fleetApp(nm, ms, p))
						break // one environment per app and run
					}
				}
				if len(moved) == 0 || o.dryRun {
					return nil, errNothingToPromote
				}
				var b strings.Builder
				if len(moved) == 1 {
					fmt.Fprintf(&b, "promote(%s): release %s to %s\n\n", moved[0].id, moved[0].release, moved[0].env)
				} else {
					fmt.Fprintf(&b, "promote: %d releases\n\n", len(moved))
				}
				for _, mv := range moved {
					b.WriteString(fleet.Trailer("Paved-Promotion", fmt.Sprintf("%s %s %s", mv.id, mv.env, mv.release)))
				}
				if o.skipGates {
					b.WriteString(fleet.Trailer("Paved-Skip-Gates", o.reason))
				}
				b.WriteString(fleet.Trailer("Render-Tool", "paved "+Version()))
				return &fleet.Render{
					Message: b.String(), Files: files, Apps: apps,
					AllowDatabaseDelete: o.allowDBDelete, Built: builtObjects,
					PlatformDigest: fp.digest, Entry: render.EntryKustomization,
					Catalog: func(files []string) ([]byte, error) { return render.CatalogLocationFile(p, files) },
				}, nil
			}
			co := fleet.CommitOptions{URL: url, Branch: o.branch, Author: author, MaxAttempts: o.attempts, Log: e.stderr}
			if o.pr {
				co.PushBranch = proposalBranch(o.to, args, now)
			}
			res, err := fleet.Commit(context.Background(), prepare, co)
			var pe *fleet.PrepareError
			nothing := errors.As(err, &pe) && errors.Is(pe.Err, errNothingToPromote)
			if err != nil && !nothing {
				if errors.As(err, &pe) {
					return pe.Err
				}
				if ferr, ok := fleetError(lp, "promote", err); ok {
					return ferr
				}
				return &exitError{code: ExitGit, err: fmt.Errorf("promote: %w", err)}
			}
			verb := "promoted"
			if o.dryRun {
				verb = "would promote"
			}
			for _, mv := range moved {
				fmt.Fprintf(e.stdout, "%s %s %s: release %s (from %s)\n", verb, mv.id, mv.env, mv.release, orDash(mv.from))
			}
			for _, w := range waits {
				fmt.Fprintln(e.stdout, w)
			}
			switch {
			case o.pr && res != nil && res.Commit != "":
				n, err := openPromotionPR(e, o, p, co.PushBranch, moved, before, after)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "proposed %s on %s as pull request #%d of %s\n", res.Commit[:12], co.PushBranch, n, o.repo)
			case res != nil && !res.NoChanges && res.Commit != "":
				fmt.Fprintf(e.stdout, "committed %s to %s %s\n", res.Commit[:12], gitsource.SanitizeOrigin(o.fleet), o.branch)
			case len(moved) == 0 && len(waits) == 0:
				fmt.Fprintln(e.stdout, "nothing pending")
			}
			if blockedTo && len(moved) == 0 {
				return &exitError{code: ExitChanges, err: fmt.Errorf("promote: nothing could be promoted to %s", o.to)}
			}
			return nil
		},
	}
	c.Flags().StringVar(&o.fleet, "fleet", "", "fleet repository URL or directory (required)")
	c.Flags().StringVar(&o.branch, "branch", "main", "fleet branch")
	c.Flags().StringVar(&o.to, "to", "", "promote into this environment only (needed for a manual one)")
	c.Flags().BoolVar(&o.dryRun, "dry-run", false, "print what would move and why the rest waits; write nothing")
	c.Flags().BoolVar(&o.skipGates, "skip-gates", false, "promote without the gates (soak, ready, windows, mode), never past a hold; needs --reason")
	c.Flags().StringVar(&o.reason, "reason", "", "why the gates are skipped (recorded in the commit)")
	c.Flags().StringVar(&o.now, "now", "", "the time gates are judged at, RFC 3339 (default: now)")
	c.Flags().StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file holding the clusters' kubeContexts (default: KUBECONFIG, ~/.kube/config)")
	c.Flags().BoolVar(&o.allowDBDelete, "allow-database-delete", false, "let a promotion remove a database the release no longer declares")
	c.Flags().IntVar(&o.attempts, "max-attempts", 8, "pushes to try when the branch keeps moving")
	c.Flags().BoolVar(&o.pr, "pr", false, "propose the promotion as a pull request of --repo (a new branch paved/promote/...; GITHUB_TOKEN) whose body is paved's diff, instead of committing it")
	c.Flags().StringVar(&o.repo, "repo", "", "with --pr: the fleet's GitHub repository, OWNER/NAME")
	c.Flags().StringVar(&o.apiURL, "api-url", "", "GitHub API base URL (default GITHUB_API_URL, else https://api.github.com/)")
	return c
}

// proposalBranch names the branch of a proposed promotion: the
// environment, the apps and the time it was made at.
func proposalBranch(env string, apps []string, now time.Time) string {
	name := strings.ReplaceAll(strings.Join(apps, "+"), "/", "-")
	if len(name) > 100 {
		name = fmt.Sprintf("%d-apps", len(apps))
	}
	return fmt.Sprintf("paved/promote/%s/%s-%d", env, name, now.Unix())
}

// openPromotionPR opens the pull request of a proposed promotion: base
// the fleet branch, head the proposal's branch, body paved's diff of the
// environments it changes (as paved diff prints it).
func openPromotionPR(e *env, o *promoteOptions, p *schema.Platform, head string, moved []promotion, before, after map[string][]byte) (int, error) {
	owner, name, ok := strings.Cut(o.repo, "/")
	if !ok || owner == "" || name == "" {
		return 0, invalid("promote: --repo %q is not OWNER/NAME", o.repo)
	}
	var body strings.Builder
	body.WriteString("<!-- paved promote -->\n### paved: promotion to " + o.to + "\n\n")
	for _, mv := range moved {
		fmt.Fprintf(&body, "- `%s`: release `%s` from %s\n", mv.id, mv.release, orDash(mv.from))
	}
	d, err := promotionDiff(p, diff.Meta{Fleet: gitsource.SanitizeOrigin(o.fleet), Ref: o.branch, Version: Version()}, before, after)
	if err != nil {
		return 0, err
	}
	// GitHub takes a body of at most 65,536 characters.
	const maxDiff = 60_000
	if len(d) > maxDiff {
		d = d[:strings.LastIndex(d[:maxDiff], "\n")+1] + fmt.Sprintf("... (cut at %d of %d bytes: the branch's commit holds every file)\n", maxDiff, len(d))
	}
	body.WriteString("\nWhat Flux will apply, as `paved diff` shows it:\n\n```diff\n" + d + "```\n")
	gh, err := githubClient(os.Getenv("GITHUB_TOKEN"), o.apiURL)
	if err != nil {
		return 0, &exitError{code: ExitGit, err: fmt.Errorf("promote: %w", err)}
	}
	title := fmt.Sprintf("promote to %s: %s", o.to, strings.Join(ids(moved), ", "))
	b := body.String()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pr, _, err := gh.PullRequests.Create(ctx, owner, name, &github.NewPullRequest{Title: &title, Head: &head, Base: &o.branch, Body: &b})
	if err != nil {
		return 0, &exitError{code: ExitGit, err: fmt.Errorf("promote: opening the pull request (branch %s is pushed): %w", head, err)}
	}
	return pr.GetNumber(), nil
}

func ids(moved []promotion) []string {
	var out []string
	for _, mv := range moved {
		out = append(out, mv.id)
	}
	return out
}

// promotionDiff is paved's diff of the app directories before and after a
// promotion, built as Flux builds them, without color.
func promotionDiff(p *schema.Platform, meta diff.Meta, before, after map[string][]byte) (string, error) {
	bt, at := &render.Tree{Files: before}, &render.Tree{Files: after}
	for _, t := range []*render.Tree{bt, at} {
		if err := render.BuildAll(t); err != nil {
			return "", &exitError{code: ExitRender, err: fmt.Errorf("promote: %w", err)}
		}
		for i := range t.Units {
			t.Units[i].Environment = p.EnvironmentOf(t.Units[i].Cluster)
		}
	}
	rep, err := diff.ComputeWith(bt.Units, at.Units, diff.Options{Sizes: p.Data.Sizes})
	if err != nil {
		return "", &exitError{code: ExitRender, err: fmt.Errorf("promote: %w", err)}
	}
	var b bytes.Buffer
	if err := diff.Terminal(&b, rep, diff.TerminalInput{Meta: meta, Before: policy.Estimate(p, bt), After: policy.Estimate(p, at)}); err != nil {
		return "", err
	}
	return b.String(), nil
}

var errNothingToPromote = errors.New("nothing to promote")

// releaseRun is what promote and rollback start from: the fleet, the
// platform its branch holds (the embedded default without one), loaded,
// the time they judge and record at (--now, else now) and the commit's
// author at that time.
type releaseRun struct {
	url    string
	now    time.Time
	author object.Signature
	fp     *fleetPlatform
	lp     *loaded
}

func startReleaseRun(e *env, fleetArg, branch, nowArg string) (*releaseRun, error) {
	now, err := parseNow(nowArg)
	if err != nil {
		return nil, err
	}
	author, err := commitAuthor()
	if err != nil {
		return nil, err
	}
	if nowArg != "" {
		author.When = now
	}
	url := fleetLocation(e, fleetArg)
	fp, err := fleetPlatformAt(url, branch)
	if err != nil {
		return nil, err
	}
	lp, err := loadPlatformNow(e, fp.dir, false)
	if err != nil {
		fp.close()
		return nil, err
	}
	return &releaseRun{url: url, now: now, author: author, fp: fp, lp: lp}, nil
}

// knownEnv is an invalid-input error unless env is an environment of p.
func knownEnv(what, env string, p *schema.Platform) error {
	if _, ok := p.Data.Environments[env]; !ok {
		return invalid("%s %s: unknown environment (known: %s)", what, env, strings.Join(p.PromotionOrder(), ", "))
	}
	return nil
}

// pendingTampered says why the pending release pr of app m in env is
// not what its recorded inputs render with the fleet's platform ("" when
// it is): a hand edit of the record, or a platform change since the
// commit that paved rerender has not applied yet.
func pendingTampered(e *env, m *fleet.Manifest, fp *fleetPlatform, env string, pr *fleet.Pending) (string, error) {
	if pr.Source == nil {
		return "its record names no source revision", nil
	}
	want, err := renderRelease(e, m, fp, env, &pastRelease{
		rec:    fleet.EnvRelease{Release: pr.Release, Revision: pr.Source.Revision, SourceTime: pr.SourceTime, Image: pr.Image},
		inputs: pr.Inputs,
	}, false)
	if err != nil {
		return "", err
	}
	if !maps.Equal(want.Files, pr.Files) || want.Release != fleet.ReleaseID(m.Team, m.App, pr.Inputs) {
		return fmt.Sprintf("%s is not what its recorded inputs render with the fleet's platform (edited by hand, or the platform changed since: paved verify names the files, paved rerender renders it again)", fleet.PendingPath(m.Team, m.App, env)), nil
	}
	return "", nil
}

// isManualGate is the gate of a manual environment: --skip-gates does not
// pass it (a plain scheduled promote never moves a manual environment).
func isManualGate(why string) bool { return strings.HasPrefix(why, "manual: ") }

func orDash(s string) string {
	if s == "" {
		return "commit"
	}
	return s
}

// parseNow parses --now (RFC 3339), default the current time.
func parseNow(s string) (time.Time, error) {
	if s == "" {
		return time.Now().UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, invalid("--now must be an RFC 3339 time (2026-12-08T10:00:00Z): %v", err)
	}
	return t.UTC(), nil
}

// heldBy says why env of app m is held, "" when it is not.
func heldBy(m *fleet.Manifest, env string) string {
	r := m.Environments[env]
	if r == nil || r.Hold == nil {
		return ""
	}
	return fmt.Sprintf("held on release %s after a rollback from %s (%s, by %s): paved rollback %s --env %s --release-hold, or a commit marked Paved-Fixes: %s",
		r.Release, r.Hold.From, r.Hold.Reason, r.Hold.By, m.ID(), env, r.Hold.From)
}

// fleetApp is the plan's view of an app a promote or rollback writes: its
// own source, and every cluster its team has a tenant in (so tenants
// stay as they are).
func fleetApp(m *fleet.Manifest, ms *fleet.Manifests, p *schema.Platform) fleet.App {
	a := fleet.App{Team: m.Team, Name: m.App, Source: m.SourceID(), Path: m.SourcePath(), DependsOn: m.DependsOn}
	seen := map[string]bool{}
	for _, c := range m.AppClusters() {
		seen[c] = true
	}
	if t := ms.Tenants[m.Team]; t != nil {
		for _, f := range t.Files {
			if c := fleet.TenantCluster(f); c != "" {
				seen[c] = true
			}
		}
	}
	a.Clusters = slices.Sorted(maps.Keys(seen))
	return a
}

// recordedEnvs are the releases m records per environment (derived for
// a manifest from before releases were recorded), a copy.
func recordedEnvs(m *fleet.Manifest, p *schema.Platform) map[string]*fleet.EnvRelease {
	envs := maps.Clone(m.Environments)
	if envs == nil {
		envs = map[string]*fleet.EnvRelease{}
		for e, ec := range envClusters(p) {
			if er := m.EnvRelease(e, ec); er != nil {
				envs[e] = er
			}
		}
	}
	return envs
}

// promoteInto writes into files every file of app m after env takes the
// release r (the pending release's files, byte for byte, or a rollback's
// render): the app's other files as the fleet holds them, the files of
// env's clusters from r, its manifest with env's new release. It returns
// the new manifest.
func promoteInto(files map[string][]byte, m *fleet.Manifest, read func(string) ([]byte, bool), p *schema.Platform, env string, r *fleet.Pending, now time.Time, via string) (*fleet.Manifest, error) {
	ecs := schema.SortedKeys(p.Data.Environments[env].Clusters)
	mp := ".paved/apps/" + m.ID() + ".json"
	var owned []string
	for _, f := range m.Files {
		if c := fileCluster(f); c != "" && slices.Contains(ecs, c) {
			continue // replaced
		}
		if f == fleet.PendingPath(m.Team, m.App, env) {
			continue // promoted
		}
		b, ok := read(f)
		if !ok {
			return nil, fmt.Errorf("%s: the fleet lists %s but cannot read it", m.ID(), f)
		}
		files[f] = b
		owned = append(owned, f)
	}
	for f, data := range r.Files {
		files[f] = []byte(data)
		owned = append(owned, f)
	}
	envs := recordedEnvs(m, p)
	rec := &fleet.EnvRelease{Release: r.Release, SourceTime: r.SourceTime, Image: r.Image,
		Landed: now.UTC().Format(time.RFC3339), Via: via}
	if r.Source != nil {
		rec.Revision = r.Source.Revision
	}
	if !sameInputs(r.Inputs, m.Inputs) {
		rec.Inputs = r.Inputs
	}
	envs[env] = rec
	old, ok := read(mp)
	if !ok {
		return nil, fmt.Errorf("%s: cannot read its manifest", m.ID())
	}
	b, err := fleet.Restage(old, files, owned, envs)
	if err != nil {
		return nil, err
	}
	files[mp] = b
	return fleet.ReadManifest(mp, b)
}
