package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/fleet"
	"github.com/paved-dev/paved/schema"
)

// deployment is one environment of an app taking a release, as the
// fleet's history records it.
type deployment struct {
	App, Env, Release, Via string
	At                     time.Time // the fleet commit's time
	Source                 time.Time // the source commit's time (zero: unknown)
	Commit                 string
	Revert                 bool // the fleet commit is a git revert
}

// deliveryMetrics are the four delivery metrics of one group of
// deployments (DORA's: frequency, lead time, change failure rate, time to
// restore).
type deliveryMetrics struct {
	Group       string  `json:"group"` // team/app, team or "all"
	Environment string  `json:"environment"`
	Deployments int     `json:"deployments"`
	PerDay      float64 `json:"deploymentsPerDay"`
	// LeadTime is the median time from source commit to deployment, in
	// seconds (0 with no source times), over LeadTimes deployments.
	LeadTimeSeconds int64 `json:"leadTimeMedianSeconds"`
	LeadTimes       int   `json:"leadTimes"`
	// Failed are deployments followed by a rollback, a revert or a
	// redeploy of an older release; RestoreSeconds the median time
	// from such a deployment to the one that replaced it.
	Failed            int     `json:"failed"`
	ChangeFailureRate float64 `json:"changeFailureRate"`
	RestoreSeconds    int64   `json:"timeToRestoreMedianSeconds"`
}

// computeMetrics groups deployments within [since, until) by app, team
// and everything, per environment. ds must be in time order.
func computeMetrics(ds []deployment, since, until time.Time) []deliveryMetrics {
	// Failures are judged on each app/environment's whole sequence: the
	// deployment after the window's last may be what shows it failed.
	type key struct{ group, env string }
	failed := make([]bool, len(ds))
	restore := make([]time.Duration, len(ds))
	last := map[string]int{} // app/env -> index of its latest deployment
	seen := map[string]map[string]bool{}
	for i, d := range ds {
		k := d.App + "\x00" + d.Env
		if seen[k] == nil {
			seen[k] = map[string]bool{}
		}
		if j, ok := last[k]; ok && (d.Via == "rollback" || d.Revert || seen[k][d.Release]) {
			failed[j], restore[j] = true, d.At.Sub(ds[j].At)
		}
		seen[k][d.Release] = true
		last[k] = i
	}
	groups := map[key][]int{}
	for i, d := range ds {
		if d.At.Before(since) || !d.At.Before(until) {
			continue
		}
		team, _, _ := strings.Cut(d.App, "/")
		for _, g := range []string{d.App, team, "all"} {
			groups[key{g, d.Env}] = append(groups[key{g, d.Env}], i)
		}
	}
	days := until.Sub(since).Hours() / 24
	var out []deliveryMetrics
	for k, idx := range groups {
		m := deliveryMetrics{Group: k.group, Environment: k.env, Deployments: len(idx)}
		if days > 0 {
			m.PerDay = round2(float64(len(idx)) / days)
		}
		var leads, restores []time.Duration
		for _, i := range idx {
			if !ds[i].Source.IsZero() && !ds[i].At.Before(ds[i].Source) {
				leads = append(leads, ds[i].At.Sub(ds[i].Source))
			}
			if failed[i] {
				m.Failed++
				restores = append(restores, restore[i])
			}
		}
		m.LeadTimes = len(leads)
		m.LeadTimeSeconds = int64(median(leads) / time.Second)
		m.ChangeFailureRate = round2(float64(m.Failed) / float64(len(idx)))
		m.RestoreSeconds = int64(median(restores) / time.Second)
		out = append(out, m)
	}
	rank := func(g string) int {
		switch {
		case g == "all":
			return 2
		case strings.Contains(g, "/"):
			return 0
		}
		return 1
	}
	slices.SortFunc(out, func(a, b deliveryMetrics) int {
		if r := rank(a.Group) - rank(b.Group); r != 0 {
			return r
		}
		if c := strings.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		return strings.Compare(a.Environment, b.Environment)
	})
	return out
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// median of ds (the lower middle of an even count), 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// fleetDeployments reads every deployment of the fleet branch's history:
// each commit that changes the release an environment of an app records
// (or, in manifests from before releases were recorded, the app's own
// release where it has files).
func fleetDeployments(h *fleet.History, p *schema.Platform, ids []string) ([]deployment, error) {
	byEnv := envClusters(p)
	var out []deployment
	for _, id := range ids {
		mp := ".paved/apps/" + id + ".json"
		log, err := h.Log(mp, 0)
		if err != nil {
			return nil, err
		}
		slices.Reverse(log) // oldest first
		prev := map[string]string{}
		for _, c := range log {
			cur := map[string]*fleet.EnvRelease{}
			if c.Data != nil {
				m, err := fleet.ReadManifest(mp, c.Data)
				if err != nil {
					continue // refused then: no deployment to count
				}
				for env, ecs := range byEnv {
					if r := m.EnvRelease(env, ecs); r != nil {
						cur[env] = r
					}
				}
			}
			for _, env := range slices.Sorted(maps.Keys(cur)) {
				r := cur[env]
				if prev[env] == r.Release {
					continue
				}
				d := deployment{App: id, Env: env, Release: r.Release, Via: r.Via, At: c.When, Commit: c.Commit,
					Revert: strings.HasPrefix(c.Message, "Revert ")}
				if d.Via == "" {
					d.Via = "commit"
				}
				if t, err := time.Parse(time.RFC3339, r.SourceTime); err == nil {
					d.Source = t
				}
				out = append(out, d)
			}
			prev = map[string]string{}
			for env, r := range cur {
				prev[env] = r.Release
			}
		}
	}
	slices.SortStableFunc(out, func(a, b deployment) int { return a.At.Compare(b.At) })
	return out, nil
}

type metricsOptions struct {
	fleet, branch, since, until, output string
}

func newMetricsCmd(e *env) *cobra.Command {
	o := &metricsOptions{}
	c := &cobra.Command{
		Use:   "metrics [team/app...] --fleet URL|DIR [--since DATE] [--until DATE] [-o markdown|json]",
		Short: "Delivery metrics from the fleet's history: deployment frequency, lead time, change failure rate, time to restore",
		Long: `metrics reads the fleet branch's history (no cluster, no other system) and
computes, per app, team and environment, over [--since, --until):

  - deployments: commits that changed the release an environment runs
    (paved commit, promote or rollback), and their number per day;
  - lead time for changes: the median time from the source commit (its
    time, recorded at commit) to the deployment;
  - change failure rate: the share of deployments followed by a rollback,
    a git revert, or a redeploy of a release the environment ran before;
  - time to restore: the median time from such a deployment to the one
    that replaced it.

--since and --until are dates (YYYY-MM-DD, UTC) or RFC 3339 times; the
default is the 30 days before now.

Exit codes: 0 shown; 2 invalid input; 4 git error.`,
		RunE: func(c *cobra.Command, args []string) error {
			if o.fleet == "" {
				return invalid("metrics: --fleet URL|DIR is required")
			}
			if o.output != "markdown" && o.output != "json" {
				return invalid("metrics: -o must be markdown or json")
			}
			until, err := parseWhen("--until", o.until, time.Now().UTC())
			if err != nil {
				return err
			}
			since, err := parseWhen("--since", o.since, until.Add(-30*24*time.Hour))
			if err != nil {
				return err
			}
			if !since.Before(until) {
				return invalid("metrics: --since must be before --until")
			}
			url := fleetLocation(e, o.fleet)
			snap, err := fleet.Read(context.Background(), url, o.branch)
			if err != nil {
				return &exitError{code: ExitGit, err: fmt.Errorf("metrics: %w", err)}
			}
			defer snap.Close()
			ms, err := fleet.ReadManifests(snap.Paths, snap.ReadFile)
			if err != nil {
				return fleetFailure(nil, "metrics", err)
			}
			fp, err := readFleetPlatform(snap)
			if err != nil {
				return &exitError{code: ExitGit, err: fmt.Errorf("metrics: %w", err)}
			}
			defer fp.close()
			lp, err := loadPlatformNow(e, fp.dir, false)
			if err != nil {
				return err
			}
			h, err := fleet.OpenHistory(context.Background(), url, o.branch)
			if err != nil {
				return &exitError{code: ExitGit, err: fmt.Errorf("metrics: %w", err)}
			}
			ids := args
			if len(ids) == 0 {
				ids = slices.Sorted(maps.Keys(ms.Apps))
			}
			ds, err := fleetDeployments(h, lp.platform, ids)
			if err != nil {
				return &exitError{code: ExitGit, err: fmt.Errorf("metrics: %w", err)}
			}
			ms2 := computeMetrics(ds, since, until)
			if o.output == "json" {
				b, _ := json.MarshalIndent(struct {
					Since   string            `json:"since"`
					Until   string            `json:"until"`
					Metrics []deliveryMetrics `json:"metrics"`
				}{since.Format(time.RFC3339), until.Format(time.RFC3339), ms2}, "", "  ")
				fmt.Fprintln(e.stdout, string(b))
				return nil
			}
			writeMetricsMarkdown(e.stdout, ms2, since, until)
			return nil
		},
	}
	c.Flags().StringVar(&o.fleet, "fleet", "", "fleet repository URL or directory (required)")
	c.Flags().StringVar(&o.branch, "branch", "main", "fleet branch")
	c.Flags().StringVar(&o.since, "since", "", "start (YYYY-MM-DD or RFC 3339; default: 30 days before --until)")
	c.Flags().StringVar(&o.until, "until", "", "end, exclusive (YYYY-MM-DD or RFC 3339; default: now)")
	c.Flags().StringVarP(&o.output, "output", "o", "markdown", "output format: markdown or json")
	return c
}

func parseWhen(flag, s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, invalid("%s must be a date (YYYY-MM-DD) or an RFC 3339 time: %v", flag, err)
	}
	return t.UTC(), nil
}

func writeMetricsMarkdown(w io.Writer, ms []deliveryMetrics, since, until time.Time) {
	fmt.Fprintf(w, "## Delivery metrics, %s to %s\n\n", since.Format(time.RFC3339), until.Format(time.RFC3339))
	if len(ms) == 0 {
		fmt.Fprintln(w, "No deployment in this period.")
		return
	}
	fmt.Fprintln(w, "| app / team | environment | deployments | per day | lead time (median) | change failure rate | time to restore (median) |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|")
	for _, m := range ms {
		lead, restore := "-", "-"
		if m.LeadTimes > 0 {
			lead = (time.Duration(m.LeadTimeSeconds) * time.Second).String()
		}
		if m.Failed > 0 {
			restore = (time.Duration(m.RestoreSeconds) * time.Second).String()
		}
		fmt.Fprintf(w, "| %s | %s | %d | %.2f | %s | %.0f%% (%d) | %s |\n", m.Group, m.Environment, m.Deployments, m.PerDay, lead, m.ChangeFailureRate*100, m.Failed, restore)
	}
}
