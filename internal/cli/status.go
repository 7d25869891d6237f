package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/fleet"
	"github.com/paved-dev/paved/schema"
)

type statusOptions struct {
	fleet, ref, output, now, kubeconfig string
	offline                             bool
}

// appStatus is what paved status says of one app.
type appStatus struct {
	App          string      `json:"app"`
	Source       string      `json:"source"`
	Environments []envStatus `json:"environments"`
}

type envStatus struct {
	Environment string          `json:"environment"`
	Release     string          `json:"release,omitempty"`
	Revision    string          `json:"revision,omitempty"`
	Image       string          `json:"image,omitempty"`
	Landed      string          `json:"landed,omitempty"`
	Via         string          `json:"via,omitempty"`
	Hold        *fleet.Hold     `json:"hold,omitempty"`
	Clusters    []clusterStatus `json:"clusters"`
	Pending     *pendingStatus  `json:"pending,omitempty"`
}

type clusterStatus struct {
	Cluster string `json:"cluster"`
	// Flux: "Ready", "NotReady", "Unknown" (no kubeContext, --offline, or
	// the cluster could not be read: Reason says which).
	Flux     string `json:"flux"`
	Revision string `json:"appliedRevision,omitempty"`
	// Current: the applied revision records this environment's release.
	Current bool   `json:"current"`
	Reason  string `json:"reason,omitempty"`
}

type pendingStatus struct {
	Release   string   `json:"release"`
	Image     string   `json:"image,omitempty"`
	Committed string   `json:"committed"`
	Blockers  []string `json:"blockers"`
}

func newStatusCmd(e *env) *cobra.Command {
	o := &statusOptions{}
	c := &cobra.Command{
		Use:   "status [team/app...] --fleet URL|DIR [--ref main] [-o text|json]",
		Short: "Show which release runs in each environment and cluster, what waits for promotion and why",
		Long: `status reads the fleet (and, through each cluster's kubeContext, what Flux
applied there) and shows, per app and environment: the release the fleet
holds (source revision, image, when and how it landed), holds left by a
rollback, and per cluster whether its Flux Kustomization is Ready on a
fleet revision that holds that release. A pending release is shown with
the gates that keep it from being promoted now. --offline reads the fleet
alone.

Exit codes: 0 shown; 2 invalid input; 4 git error.`,
		RunE: func(c *cobra.Command, args []string) error {
			if o.fleet == "" {
				return invalid("status: --fleet URL|DIR is required")
			}
			if o.output != "text" && o.output != "json" {
				return invalid("status: -o must be text or json")
			}
			now, err := parseNow(o.now)
			if err != nil {
				return err
			}
			url := fleetLocation(e, o.fleet)
			snap, err := fleet.Read(context.Background(), url, o.ref)
			if err != nil {
				return &exitError{code: ExitGit, err: fmt.Errorf("status: %w", err)}
			}
			defer snap.Close()
			ms, err := fleet.ReadManifests(snap.Paths, snap.ReadFile)
			if err != nil {
				return fleetFailure(nil, "status", err)
			}
			fp, err := readFleetPlatform(snap)
			if err != nil {
				return &exitError{code: ExitGit, err: fmt.Errorf("status: %w", err)}
			}
			defer fp.close()
			lp, err := loadPlatformNow(e, fp.dir, false)
			if err != nil {
				return err
			}
			p := lp.platform
			flux := newFluxReader(o.kubeconfig)
			runs := fleetRuns(url, o.ref)
			g := &gates{p: p, now: now, flux: flux, fleetAt: runs}
			if o.offline {
				g.flux = nil
			}
			ids := args
			if len(ids) == 0 {
				ids = slices.Sorted(maps.Keys(ms.Apps))
			}
			var out []appStatus
			for _, id := range ids {
				m := ms.Apps[id]
				if m == nil {
					return invalid("status: the fleet has no app %s", id)
				}
				pend, err := pendingOf(m, ms.Read)
				if err != nil {
					return fleetFailure(nil, "status", err)
				}
				as := appStatus{App: id, Source: m.SourceID()}
				for _, env := range p.PromotionOrder() {
					ecs := schema.SortedKeys(p.Data.Environments[env].Clusters)
					es := envStatus{Environment: env, Clusters: []clusterStatus{}}
					r := m.EnvRelease(env, ecs)
					if r != nil {
						es.Release, es.Revision, es.Image, es.Landed, es.Via, es.Hold = r.Release, r.Revision, r.Image, r.Landed, r.Via, r.Hold
						for _, cl := range ecs {
							es.Clusters = append(es.Clusters, clusterState(g, p, m, env, cl, r.Release, o.offline))
						}
					}
					if pr := pend[env]; pr != nil {
						ps := &pendingStatus{Release: pr.Release, Image: pr.Image, Committed: pr.Committed}
						if h := heldBy(m, env); h != "" {
							ps.Blockers = []string{h}
						} else {
							gg := *g
							gg.to = env // status names the gates, not who presses the button
							ps.Blockers = gg.blockers(m, env, pr)
							if pp := p.EffectivePromotion(env, &schema.Spec{Promotion: map[string]schema.AppPromotion{env: {Manual: pr.Manual, Soak: pr.Soak}}}); pp.Mode != schema.PromoteAuto {
								ps.Blockers = append([]string{"manual: waits for paved promote " + id + " --to " + env}, ps.Blockers...)
							}
						}
						if ps.Blockers == nil {
							ps.Blockers = []string{}
						}
						es.Pending = ps
					}
					if r == nil && es.Pending == nil {
						continue
					}
					as.Environments = append(as.Environments, es)
				}
				out = append(out, as)
			}
			if o.output == "json" {
				b, _ := json.MarshalIndent(out, "", "  ")
				fmt.Fprintln(e.stdout, string(b))
				return nil
			}
			for _, as := range out {
				fmt.Fprintf(e.stdout, "%s (source %s)\n", as.App, as.Source)
				for _, es := range as.Environments {
					if es.Release == "" {
						fmt.Fprintf(e.stdout, "  %-10s not deployed\n", es.Environment)
					} else {
						landed := es.Landed
						if landed == "" {
							landed = "before paved recorded releases"
						}
						fmt.Fprintf(e.stdout, "  %-10s release %s  %s  source %s  landed %s (%s)\n", es.Environment, es.Release, es.Image, short(es.Revision), landed, es.Via)
					}
					if es.Hold != nil {
						fmt.Fprintf(e.stdout, "  %-10s HELD after a rollback from %s by %s at %s: %s\n", "", es.Hold.From, es.Hold.By, es.Hold.At, es.Hold.Reason)
					}
					for _, cs := range es.Clusters {
						line := fmt.Sprintf("  %-10s   %s: %s", "", cs.Cluster, cs.Flux)
						if cs.Revision != "" {
							line += " at " + short(cs.Revision)
							if cs.Current {
								line += " (this release)"
							} else {
								line += " (not this release yet)"
							}
						}
						if cs.Reason != "" {
							line += " - " + cs.Reason
						}
						fmt.Fprintln(e.stdout, line)
					}
					if ps := es.Pending; ps != nil {
						fmt.Fprintf(e.stdout, "  %-10s pending release %s  %s  committed %s\n", "", ps.Release, ps.Image, ps.Committed)
						if len(ps.Blockers) == 0 {
							fmt.Fprintf(e.stdout, "  %-10s   due: paved promote moves it\n", "")
						}
						for _, b := range ps.Blockers {
							fmt.Fprintf(e.stdout, "  %-10s   waits: %s\n", "", b)
						}
					}
				}
			}
			return nil
		},
	}
	c.Flags().StringVar(&o.fleet, "fleet", "", "fleet repository URL or directory (required)")
	c.Flags().StringVar(&o.ref, "ref", "main", "fleet branch")
	c.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	c.Flags().StringVar(&o.now, "now", "", "the time gates are judged at, RFC 3339 (default: now)")
	c.Flags().StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file holding the clusters' kubeContexts (default: KUBECONFIG, ~/.kube/config)")
	c.Flags().BoolVar(&o.offline, "offline", false, "read the fleet alone, no cluster")
	return c
}

// clusterState is what cluster cl says of the app's Kustomization.
func clusterState(g *gates, p *schema.Platform, m *fleet.Manifest, env, cl, release string, offline bool) clusterStatus {
	cs := clusterStatus{Cluster: cl, Flux: "Unknown"}
	kctx := p.Data.Environments[env].Clusters[cl].KubeContext
	switch {
	case offline:
		cs.Reason = "--offline"
		return cs
	case kctx == "":
		cs.Reason = "no kubeContext in the platform: the fleet alone"
		return cs
	}
	st := g.flux.get(kctx, p.Data.Flux.SourceRef.Namespace, schema.AppFluxName(m.Team, m.App))
	if st.Err != nil {
		cs.Reason = st.Err.Error()
		return cs
	}
	cs.Flux, cs.Revision = "NotReady", st.Revision
	if st.Ready {
		cs.Flux = "Ready"
	} else {
		cs.Reason = st.Reason
	}
	if st.Revision != "" {
		ok, err := g.fleetAt(st.Revision, m.ID(), env, release)
		cs.Current = ok && err == nil
		if err != nil {
			cs.Reason = strings.TrimSpace(cs.Reason + " " + err.Error())
		}
	}
	return cs
}
