package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/fleet"
	"github.com/paved-dev/paved/internal/gitsource"
	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

type rollbackOptions struct {
	fleet, branch, env, to, reason, now string
	releaseHold, allowDBDelete          bool
	attempts                            int
}

// pastRelease is a release an environment ran, as the fleet's history
// records it.
type pastRelease struct {
	rec    fleet.EnvRelease
	inputs *fleet.ManifestInputs
	commit string
}

// pastReleases are the releases env of app id ran, newest first, one
// entry per release (its latest record).
func pastReleases(h *fleet.History, id, env string, clusters []string) ([]pastRelease, error) {
	mp := ".paved/apps/" + id + ".json"
	log, err := h.Log(mp, 0)
	if err != nil {
		return nil, err
	}
	var out []pastRelease
	seen := map[string]bool{}
	for _, c := range log {
		if c.Data == nil {
			continue
		}
		m, err := fleet.ReadManifest(mp, c.Data)
		if err != nil {
			continue // a manifest paved refused then: not a release to return to
		}
		r := m.EnvRelease(env, clusters)
		if r == nil || seen[r.Release] {
			continue
		}
		seen[r.Release] = true
		out = append(out, pastRelease{rec: *r, inputs: m.EnvInputs(env), commit: c.Commit})
	}
	return out, nil
}

func newRollbackCmd(e *env) *cobra.Command {
	o := &rollbackOptions{}
	c := &cobra.Command{
		Use:   "rollback team/app --env ENV --fleet URL|DIR [--to RELEASE] [--reason TEXT]",
		Short: "Return an environment of an app to an earlier release, as a new commit, and hold it there",
		Long: `rollback writes, as a new fleet commit (never a force push or a revert of
someone's commit), the files of an earlier release of team/app into one
environment: --to RELEASE, else the release the environment ran before the
current one (both from the fleet's history). The release's recorded inputs
are rendered with the fleet's platform as it is now, so paved verify
passes on the result.

The environment is then held: paved promote and paved commit do not move
it to another release until a person releases the hold
(paved rollback team/app --env ENV --release-hold), or the team commits
a release whose source commit message says "Paved-Fixes: <release>" for
the release rolled back from. paved status and PR comments show the hold.
The commit carries a Paved-Rollback trailer
("<team/app> <env> <from> -> <to>") and the reason.

Exit codes: 0 rolled back (or the hold released); 2 invalid input (no
such app, environment or release); 4 git error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			id := args[0]
			if t, n, ok := strings.Cut(id, "/"); !ok || t == "" || n == "" {
				return invalid("rollback: %q is not team/app", id)
			}
			if o.fleet == "" || o.env == "" {
				return invalid("rollback: --fleet and --env are required")
			}
			if o.releaseHold && o.to != "" {
				return invalid("rollback: --release-hold changes no release: it takes no --to")
			}
			run, err := startReleaseRun(e, o.fleet, o.branch, o.now)
			if err != nil {
				return err
			}
			defer run.fp.close()
			url, now, author, fp, lp, p := run.url, run.now, run.author, run.fp, run.lp, run.lp.platform
			if err := knownEnv("rollback --env", o.env, p); err != nil {
				return err
			}
			by := author.Email
			if v := gitsource.Subject(strings.TrimSpace(o.reason)); v != "" {
				o.reason = v
			} else if !o.releaseHold {
				o.reason = "rollback"
			}
			var from, to string
			prepare := func(ms *fleet.Manifests) (*fleet.Render, error) {
				m := ms.Apps[id]
				if m == nil {
					return nil, invalid("rollback: the fleet has no app %s", id)
				}
				cur := m.EnvRelease(o.env, schema.SortedKeys(p.Data.Environments[o.env].Clusters))
				if cur == nil {
					return nil, invalid("rollback: %s does not run in %s", id, o.env)
				}
				from = cur.Release
				files := map[string][]byte{}
				if o.releaseHold {
					if cur.Hold == nil {
						return nil, invalid("rollback: %s is not held in %s", id, o.env)
					}
					envs := recordedEnvs(m, p)
					r := *cur
					r.Hold = nil
					envs[o.env] = &r
					if err := restageAs(files, m, ms.Read, envs); err != nil {
						return nil, err
					}
				} else {
					h, err := fleet.OpenHistory(context.Background(), url, o.branch)
					if err != nil {
						return nil, err
					}
					past, err := pastReleases(h, id, o.env, schema.SortedKeys(p.Data.Environments[o.env].Clusters))
					if err != nil {
						return nil, err
					}
					var target *pastRelease
					for i := range past {
						r := &past[i]
						if o.to != "" && r.rec.Release == o.to || o.to == "" && r.rec.Release != cur.Release {
							target = r
							break
						}
					}
					if target == nil {
						known := []string{}
						for _, r := range past {
							known = append(known, r.rec.Release)
						}
						if o.to != "" {
							return nil, invalid("rollback: %s never ran release %s in %s (it ran: %s)", id, o.to, o.env, strings.Join(known, ", "))
						}
						return nil, invalid("rollback: %s ran no release in %s before %s", id, o.env, cur.Release)
					}
					if target.rec.Release == cur.Release {
						return nil, invalid("rollback: %s already runs release %s in %s", id, cur.Release, o.env)
					}
					to = target.rec.Release
					pend, err := renderRelease(e, m, fp, o.env, target, true)
					if err != nil {
						return nil, err
					}
					nm, err := promoteInto(files, m, ms.Read, p, o.env, pend, now, "rollback")
					if err != nil {
						return nil, err
					}
					envs := maps.Clone(nm.Environments)
					r := *envs[o.env]
					r.Hold = &fleet.Hold{From: cur.Release, Reason: o.reason, By: by, At: now.UTC().Format(time.RFC3339)}
					if cur.Hold != nil {
						r.Hold.From = cur.Hold.From // still held for the release first rolled back from
					}
					envs[o.env] = &r
					if err := restageAs(files, nm, func(f string) ([]byte, bool) { b, ok := files[f]; return b, ok }, envs); err != nil {
						return nil, err
					}
				}
				var b strings.Builder
				if o.releaseHold {
					fmt.Fprintf(&b, "rollback(%s): release the hold in %s\n\n", id, o.env)
					b.WriteString(fleet.Trailer("Paved-Hold-Released", fmt.Sprintf("%s %s %s", id, o.env, from)))
				} else {
					fmt.Fprintf(&b, "rollback(%s): %s to release %s (from %s)\n\n", id, o.env, to, from)
					b.WriteString(fleet.Trailer("Paved-Rollback", fmt.Sprintf("%s %s %s -> %s", id, o.env, from, to)))
					b.WriteString(fleet.Trailer("Paved-Reason", o.reason))
				}
				b.WriteString(fleet.Trailer("Render-Tool", "paved "+Version()))
				return &fleet.Render{
					Message: b.String(), Files: files, Apps: []fleet.App{fleetApp(m, ms, p)},
					AllowDatabaseDelete: o.allowDBDelete, Built: builtObjects,
					PlatformDigest: fp.digest, Entry: render.EntryKustomization,
					Catalog: func(files []string) ([]byte, error) { return render.CatalogLocationFile(p, files) },
				}, nil
			}
			res, err := fleet.Commit(context.Background(), prepare, fleet.CommitOptions{URL: url, Branch: o.branch, Author: author, MaxAttempts: o.attempts, Log: e.stderr})
			var pe *fleet.PrepareError
			if errors.As(err, &pe) {
				return pe.Err
			}
			if err != nil {
				if ferr, ok := fleetError(lp, "rollback", err); ok {
					return ferr
				}
				return &exitError{code: ExitGit, err: fmt.Errorf("rollback: %w", err)}
			}
			if o.releaseHold {
				fmt.Fprintf(e.stdout, "released the hold of %s in %s (release %s)\n", id, o.env, from)
			} else {
				fmt.Fprintf(e.stdout, "rolled back %s in %s: release %s -> %s; held there until paved rollback %s --env %s --release-hold, or a commit marked Paved-Fixes: %s\n", id, o.env, from, to, id, o.env, from)
			}
			if res.Commit != "" {
				fmt.Fprintf(e.stdout, "committed %s to %s %s\n", res.Commit[:12], gitsource.SanitizeOrigin(o.fleet), o.branch)
			}
			return nil
		},
	}
	c.Flags().StringVar(&o.fleet, "fleet", "", "fleet repository URL or directory (required)")
	c.Flags().StringVar(&o.branch, "branch", "main", "fleet branch")
	c.Flags().StringVar(&o.env, "env", "", "environment to roll back (required)")
	c.Flags().StringVar(&o.to, "to", "", "release to return to (default: the one before the current)")
	c.Flags().StringVar(&o.reason, "reason", "", "why (recorded in the hold and the commit)")
	c.Flags().BoolVar(&o.releaseHold, "release-hold", false, "release the hold a rollback left, changing no file")
	c.Flags().StringVar(&o.now, "now", "", "the time recorded, RFC 3339 (default: now)")
	c.Flags().BoolVar(&o.allowDBDelete, "allow-database-delete", false, "let the rollback remove a database the earlier release did not declare")
	c.Flags().IntVar(&o.attempts, "max-attempts", 8, "pushes to try when the branch keeps moving")
	return c
}

// renderRelease renders an earlier release of app m with the fleet's
// platform and returns its files in env as a release to write. With lint,
// the release is judged in env with the fleet's policies as they are
// today: a denial refuses it (exit 1), as commit refuses one.
func renderRelease(e *env, m *fleet.Manifest, fp *fleetPlatform, env string, r *pastRelease, lint bool) (*fleet.Pending, error) {
	c := *m
	src := fleet.ManifestSource{ID: m.SourceID()}
	if m.Source != nil {
		src = *m.Source
	}
	src.Revision = r.rec.Revision // the files name the release's own revision
	c.Inputs, c.Environments, c.Source = r.inputs, nil, &src
	ms := &fleet.Manifests{Apps: map[string]*fleet.Manifest{m.ID(): &c}, Tenants: map[string]*fleet.Manifest{}, Sources: map[string]*fleet.SourceRecord{}}
	rec, err := renderRecordedWith(e, ms, fp, nil, lint)
	if err != nil {
		return nil, err
	}
	defer func() { rec.fp = nil; rec.close() }()
	if len(rec.problems) > 0 {
		return nil, invalid("rollback: release %s: %s", r.rec.Release, rec.problems[0].Message)
	}
	if lint {
		rep, err := lintTree(e, rec.l, rec.tree, time.Now().UTC())
		if err != nil {
			return nil, err
		}
		var in []policy.Finding
		for _, f := range rep.Findings {
			if f.Environment == env {
				in = append(in, f)
			}
		}
		rep.Findings = in
		if deny, _, _ := rep.Count(); deny > 0 {
			_ = policy.FormatText(e.stderr, rep, policy.FormatOptions{Cwd: e.cwd, Apps: 1})
			return nil, &exitError{code: ExitChanges, err: fmt.Errorf("rollback: release %s in %s: %d policy %s with today's policies: nothing committed", r.rec.Release, env, deny, plural(deny, "denial", "denials"))}
		}
	}
	mp := ".paved/apps/" + m.ID() + ".json"
	rm, err := fleet.ReadManifest(mp, rec.tree.Files[mp])
	if err != nil {
		return nil, err
	}
	ecs := schema.SortedKeys(rec.l.platform.Data.Environments[env].Clusters)
	out := &fleet.Pending{Team: m.Team, App: m.App, Environment: env, Release: r.rec.Release,
		Source: &src, SourceTime: r.rec.SourceTime,
		Image: r.rec.Image, Inputs: r.inputs, Files: map[string]string{}, Requests: map[string]fleet.Requests{}}
	if a := recordedApp(rec, m.ID()); a != nil {
		if spec, err := a.Env(env); err == nil {
			out.Image = spec.Image
		}
	}
	for _, f := range rm.Files {
		if c := fileCluster(f); c != "" && slices.Contains(ecs, c) {
			out.Files[f] = string(rec.tree.Files[f])
			out.Requests[c] = rm.Requests[c]
		}
	}
	return out, nil
}

// restageAs writes app m's files as the fleet holds them (read) and its
// manifest with envs.
func restageAs(files map[string][]byte, m *fleet.Manifest, read func(string) ([]byte, bool), envs map[string]*fleet.EnvRelease) error {
	mp := ".paved/apps/" + m.ID() + ".json"
	for _, f := range m.Files {
		b, ok := read(f)
		if !ok {
			return fmt.Errorf("%s: the fleet lists %s but cannot read it", m.ID(), f)
		}
		files[f] = b
	}
	old, ok := read(mp)
	if !ok {
		return fmt.Errorf("%s: cannot read its manifest", m.ID())
	}
	b, err := fleet.Restage(old, files, m.Files, envs)
	if err != nil {
		return err
	}
	files[mp] = b
	return nil
}
