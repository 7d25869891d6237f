package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/fleet"
	"github.com/paved-dev/paved/internal/gitsource"
	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

func newPreviewCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "preview",
		Short: "Preview environments: a pull request's apps in their own namespaces",
		Long: `preview manages pull requests' preview environments on the platform's
preview cluster(s) (platform.previews): up renders and commits a pull
request's apps as previews, down removes them when the pull request
closes, gc removes those of closed pull requests and those past their TTL
or maximum lifetime, ls lists them.

A preview of app <team>/<app> for pull request N lives in namespace
<team>-<app>-pr<N> (shortened with a hash past 63 characters), at host
<app>-pr<N>-<team>.<previews.domain>, with one replica of the previews'
size, no autoscaler, disruption budget or canary, ExternalSecrets from the
previews' secret store and its databases as one instance each, started
empty, from SQL or from a backup (previews.database, narrowed by the app's
preview.database). dependsOn and calls reach the preview cluster's own
environment's apps.

The previews live in the fleet under previews.directory (default
previews): <dir>/clusters/<cluster>/ is each cluster's preview entry point
(one Flux Kustomization of the platform's points at it, beside
clusters/<cluster>/paved: a preview never changes the real environments'
entry), <dir>/<cluster>/<namespace>/ a preview's objects, and
<dir>/records/<namespace>.json its record (pull request, source, revision,
image, created and last push times), from which gc computes its expiry.`,
	}
	c.AddCommand(newPreviewUpCmd(e), newPreviewDownCmd(e), newPreviewGCCmd(e), newPreviewLsCmd(e))
	return c
}

// previewFleet are the flags every preview command shares.
type previewFleet struct {
	fleet, branch, platformBranch string
	now                           string
	attempts                      int
}

func (o *previewFleet) register(c *cobra.Command) {
	c.Flags().StringVar(&o.fleet, "fleet", "", "fleet repository URL or directory (required)")
	c.Flags().StringVar(&o.branch, "branch", "", "fleet branch the previews are committed to (default: the platform's previews.branch)")
	c.Flags().StringVar(&o.platformBranch, "platform-branch", "main", "fleet branch whose platform/ is the platform")
	c.Flags().StringVar(&o.now, "now", "", "the time expiry is computed against, RFC 3339 (default: SOURCE_DATE_EPOCH, else now)")
	c.Flags().IntVar(&o.attempts, "max-attempts", 8, "pushes to try when the branch keeps moving")
}

// clock is --now, else SOURCE_DATE_EPOCH, else the time now: the one
// place the preview commands read the time.
func (o *previewFleet) clock() (time.Time, error) {
	if o.now != "" {
		t, err := time.Parse(time.RFC3339, o.now)
		if err != nil {
			return time.Time{}, invalid("--now %q: want RFC 3339 (2026-01-02T15:04:05Z): %v", o.now, err)
		}
		return t.UTC(), nil
	}
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, invalid("SOURCE_DATE_EPOCH must be seconds since the epoch: %v", err)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Now().UTC().Truncate(time.Second), nil
}

// open reads the fleet's platform and returns it with the previews'
// branch.
func (o *previewFleet) open(e *env, verb string) (*fleetPlatform, *schema.Platform, string, error) {
	if o.fleet == "" {
		return nil, nil, "", invalid("preview %s: --fleet URL|DIR is required", verb)
	}
	url := fleetLocation(e, o.fleet)
	fp, err := fleetPlatformAt(url, o.platformBranch)
	if err != nil {
		return nil, nil, "", err
	}
	p, err := loadFleetPlatform(e, fp)
	if err != nil {
		fp.close()
		return nil, nil, "", err
	}
	if len(p.Data.Previews.Clusters) == 0 {
		fp.close()
		return nil, nil, "", invalid("preview %s: the fleet's platform hosts no previews (platform.previews.clusters is empty)", verb)
	}
	known := map[string]bool{}
	for _, ct := range render.Clusters(p) {
		known[ct.Name] = true
	}
	for _, c := range p.Data.Previews.Clusters {
		if !known[c] {
			fp.close()
			return nil, nil, "", invalid("preview %s: the fleet's platform: previews.clusters: %q is not a cluster of the platform's environments", verb, c)
		}
	}
	branch := o.branch
	if branch == "" {
		branch = p.Data.Previews.Branch
	}
	return fp, p, branch, nil
}

// loadFleetPlatform loads the fleet's platform (the embedded default for
// a fleet without one).
func loadFleetPlatform(e *env, fp *fleetPlatform) (*schema.Platform, error) {
	lp := <-loadPlatform(e, fp.dir, false)
	if lp.err != nil {
		return nil, lp.err
	}
	return lp.p, nil
}

// previewRecord is <dir>/records/<namespace>.json: what a preview is, for
// ls, down and gc.
type previewRecord struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Team       string `json:"team"`
	App        string `json:"app"`
	Namespace  string `json:"namespace"`
	// PullRequest: its number and, where the source is a GitHub
	// repository, OWNER/NAME (gc asks the API whether it is closed).
	PullRequest struct {
		Number int    `json:"number"`
		Repo   string `json:"repo,omitempty"`
	} `json:"pullRequest"`
	Source struct {
		ID       string `json:"id"`
		Repo     string `json:"repo,omitempty"`
		Revision string `json:"revision,omitempty"`
	} `json:"source"`
	Clusters   []string `json:"clusters"`
	Host       string   `json:"host,omitempty"`
	Image      string   `json:"image"`
	Database   string   `json:"database,omitempty"`
	MonthlyUSD float64  `json:"monthlyUSD"`
	// Created is when the preview first came up, LastPush when it was
	// last brought up: it expires TTL after LastPush and at the latest
	// maxLifetime after Created.
	Created  time.Time `json:"created"`
	LastPush time.Time `json:"lastPush"`
	Files    []string  `json:"files"`
}

// expiry is when the record's preview expires under the platform's TTL
// and maximum lifetime, and which of the two it is.
func (r *previewRecord) expiry(pv schema.Previews) (time.Time, string, error) {
	ttl, err := time.ParseDuration(pv.TTL)
	if err != nil {
		return time.Time{}, "", err
	}
	maxLife, err := time.ParseDuration(pv.MaxLifetime)
	if err != nil {
		return time.Time{}, "", err
	}
	byTTL, byMax := r.LastPush.Add(ttl), r.Created.Add(maxLife)
	if byMax.Before(byTTL) {
		return byMax, "maximum lifetime " + pv.MaxLifetime, nil
	}
	return byTTL, "TTL " + pv.TTL + " since the last push", nil
}

func recordsDir(p *schema.Platform) string { return path.Join(p.Data.Previews.Directory, "records") }

func recordPath(p *schema.Platform, ns string) string {
	return path.Join(recordsDir(p), ns+".json")
}

// readRecords reads every preview record of a fleet revision. A record
// that does not parse is an error: gc and down never guess.
func readRecords(p *schema.Platform, v *fleet.View) ([]*previewRecord, error) {
	var out []*previewRecord
	for _, f := range v.Paths(recordsDir(p)) {
		if path.Ext(f) != ".json" {
			continue
		}
		b, _ := v.Read(f)
		r := &previewRecord{}
		if err := json.Unmarshal(b, r); err != nil {
			return nil, fmt.Errorf("preview record %s: %w", f, err)
		}
		if r.Namespace+".json" != path.Base(f) || r.Kind != "Preview" {
			return nil, fmt.Errorf("preview record %s: not the record of namespace %s", f, strings.TrimSuffix(path.Base(f), ".json"))
		}
		for _, file := range r.Files {
			if !strings.HasPrefix(file, p.Data.Previews.Directory+"/") || fleet.Owned(file) || strings.Contains(file, "..") {
				return nil, fmt.Errorf("preview record %s: lists %s, outside the previews", f, file)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// removePreviews is the change that removes the given previews: their
// files and records, and the entry points' listing.
func removePreviews(p *schema.Platform, v *fleet.View, gone []*previewRecord) (map[string][]byte, []string, error) {
	var del []string
	clusters := map[string]bool{}
	for _, r := range gone {
		del = append(del, r.Files...)
		del = append(del, recordPath(p, r.Namespace))
		for _, c := range r.Clusters {
			clusters[c] = true
		}
	}
	write, err := previewEntries(p, v, nil, del, slices.Sorted(maps.Keys(clusters)))
	return write, del, err
}

// previewEntries renders <dir>/clusters/<cluster>/kustomization.yaml of
// each cluster: the Flux Kustomizations there after the change (written
// added, deleted removed). A cluster with none keeps an empty entry, so
// the platform's Kustomization pointing at it stays valid.
func previewEntries(p *schema.Platform, v *fleet.View, write map[string][]byte, del []string, clusters []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	gone := map[string]bool{}
	for _, d := range del {
		gone[d] = true
	}
	for _, c := range clusters {
		_, entry := render.PreviewDirs(p, c, "x")
		names := map[string]bool{}
		for _, f := range v.Paths(entry) {
			if !gone[f] {
				names[f] = true
			}
		}
		for f := range write {
			if strings.HasPrefix(f, entry+"/") {
				names[f] = true
			}
		}
		var res []string
		for f := range names {
			if path.Dir(f) == entry && path.Base(f) != "kustomization.yaml" && path.Ext(f) == ".yaml" {
				res = append(res, path.Base(f))
			}
		}
		slices.Sort(res)
		b, err := render.EntryKustomization(res)
		if err != nil {
			return nil, err
		}
		out[path.Join(entry, "kustomization.yaml")] = b
	}
	return out, nil
}

// githubRepo is OWNER/NAME of a github.com source identity, else "".
func githubRepo(sourceID string) string {
	rest, ok := strings.CutPrefix(sourceID, "github.com/")
	if !ok || strings.Count(rest, "/") != 1 {
		return ""
	}
	return rest
}

// previewMessage is the commit message of a preview change: the subject,
// then the provenance trailers commit writes.
func previewMessage(subject string, in render.Input, dir string) string {
	return commitMessage(subject, in, nil, dir, nil)
}

// ---- up ----

type previewUpOptions struct {
	previewFleet
	sourceFlag
	changed     changedFlag
	pr          int
	image       string
	repo        string
	outFile     string
	registryURL string
	noRegistry  bool
	today       string
}

func newPreviewUpCmd(e *env) *cobra.Command {
	o := &previewUpOptions{}
	c := &cobra.Command{
		Use:   "up [PATH...] --pr N --fleet URL|DIR [--image REF]",
		Short: "Render a pull request's apps as previews and commit them to the fleet",
		Long: `up renders the apps below each PATH (default .; with --changed, those whose
inputs changed against --ref) as pull request N's previews on each of the
platform's preview clusters, lints them like any render (a denial stops
it), and commits them to the fleet as one commit, with commit's provenance
trailers, retrying when the branch moved. A second up of the same pull
request updates its previews in place and moves their expiry.

Like commit, up renders with the fleet's platform and a source writes only
its teams' apps (teams.<team>.sources; --source must be the origin's
identity unless the platform's sourceAliases allow it).

A preview is refused, and nothing of the run deployed, when its team would
have more previews than previews.perTeam, when its team has no tenant in
the preview cluster (no app of the team runs there to make its applier),
or when its image is not in its registry (a HEAD of the manifest, with the
credentials of the Docker configuration; --registry-url asks another
registry, a mirror): the reason is printed and written to --out-file for
paved comment --preview-file. A registry that cannot be reached leaves the
preview pending ("pending image"), not deployed; --no-registry-check skips
the check.

Exit codes: 0 committed (or nothing to change), 1 refused (cap, image,
tenant, policy denials), 2 invalid input, 3 render error, 4 git error.`,
		RunE: func(c *cobra.Command, args []string) error { return previewUp(e, o, args) },
	}
	o.previewFleet.register(c)
	o.registerSource(c)
	o.changed.register(c)
	c.Flags().IntVar(&o.pr, "pr", 0, "pull request number (required)")
	c.Flags().StringVar(&o.image, "image", "", "image of the previews (default: each app's image), the one CI pushed for the pull request")
	c.Flags().StringVar(&o.repo, "repo", "", "the pull request's repository OWNER/NAME (default: the source identity's, for a github.com source)")
	c.Flags().StringVar(&o.outFile, "out-file", "", "write the preview lines for the pull request comment here (paved comment --preview-file)")
	c.Flags().StringVar(&o.registryURL, "registry-url", "", "check images in this registry (http(s)://host[:port]) instead of their own")
	c.Flags().BoolVar(&o.noRegistry, "no-registry-check", false, "do not check that the image exists")
	c.Flags().StringVar(&o.today, "today", "", "date exceptions are checked against, YYYY-MM-DD (default: today, UTC)")
	return c
}

// refusal is a preview not deployed, and why.
type refusal struct {
	app, reason string
}

func previewUp(e *env, o *previewUpOptions, args []string) error {
	if o.pr <= 0 {
		return invalid("preview up: --pr must be a pull request number")
	}
	if err := o.check(); err != nil {
		return err
	}
	if o.repo != "" && (strings.Count(o.repo, "/") != 1 || strings.HasPrefix(o.repo, "/") || strings.HasSuffix(o.repo, "/")) {
		return invalid("preview up: --repo must be OWNER/NAME, got %q", o.repo)
	}
	if o.image != "" && !strings.ContainsAny(o.image[strings.LastIndex(o.image, "/")+1:], ":@") {
		return invalid("preview up: --image %s: a tag or digest is required", o.image)
	}
	now, err := o.clock()
	if err != nil {
		return err
	}
	today, err := parseToday(o.today)
	if err != nil {
		return err
	}
	fp, p, branch, err := o.open(e, "up")
	if err != nil {
		return err
	}
	defer fp.close()
	l, err := loadApps(e, args, fp.dir, loadOptions{policies: true, fixedPlatform: true, changed: o.changed})
	if err != nil {
		return err
	}
	if err := checkIdentity(e, "preview up", args, o.source, l.platform); err != nil {
		return err
	}
	in, err := renderInput(e, l, o.source)
	if err != nil {
		return err
	}
	// A source previews only its own teams' apps.
	for _, a := range in.Apps {
		if a.Source.ID == gitsource.DefaultSource {
			return invalid("preview up: %s has no origin remote, so no source identity: add the repository's origin remote, or pass --source", diagRel(e, a.Dir))
		}
		if !fleet.MatchSource(p.Data.Teams[a.Base.Team].Sources, a.Source.ID) {
			return invalid("preview up: %s/%s: team %s does not list source %s (platform.teams.%s.sources): a source previews only its own teams' apps", a.Base.Team, a.Base.Name, a.Base.Team, a.Source.ID, a.Base.Team)
		}
	}
	if err := checkPreviewDatabases(e, p, in.Apps); err != nil {
		return err
	}
	var out strings.Builder
	defer func() {
		if o.outFile != "" {
			_ = os.WriteFile(absPath(e, o.outFile), []byte(out.String()), 0o644)
		}
	}()
	if len(in.Apps) == 0 {
		fmt.Fprintf(e.stdout, "no apps to preview\n")
		return nil
	}
	stop := e.stage("render previews")
	tree, previews, err := render.RenderPreviews(render.PreviewInput{Platform: l.platform, Apps: in.Apps, PR: o.pr, Image: o.image, Cache: e.cacheDir()})
	stop()
	if err != nil {
		return err
	}
	rep, err := lintTree(e, l, tree, today)
	if err != nil {
		return err
	}
	if deny, _, _ := rep.Count(); deny > 0 {
		_ = policy.FormatText(e.stderr, rep, policy.FormatOptions{Cwd: e.cwd, Apps: len(in.Apps), Clusters: len(p.Data.Previews.Clusters)})
		fmt.Fprintf(&out, "**Preview** (PR #%d): not deployed: %d policy %s (see the lint findings)\n", o.pr, deny, plural(deny, "denial", "denials"))
		return &exitError{code: ExitChanges, err: fmt.Errorf("preview up: %d policy %s: nothing committed", deny, plural(deny, "denial", "denials"))}
	}
	// The images: each distinct one, once.
	var refused []refusal
	if !o.noRegistry {
		checked := map[string]imageState{}
		for _, pv := range previews {
			st, ok := checked[pv.Image]
			if !ok {
				st = checkImage(pv.Image, o.registryURL)
				checked[pv.Image] = st
			}
			if st.problem != "" {
				refused = append(refused, refusal{pv.Team + "/" + pv.App, st.problem})
			}
		}
	}
	created := map[string]time.Time{} // namespace -> creation, as committed
	var stale []string                // namespaces holding a newer push's preview
	prepare := func(v *fleet.View) (*fleet.Change, error) {
		stale = stale[:0]
		return previewChange(e, o, p, in, tree, previews, v, now, &refused, created, &stale)
	}
	var res *fleet.Result
	if len(refused) == 0 {
		author, err := commitAuthor()
		if err != nil {
			return err
		}
		stop = e.stage("commit and push")
		res, err = fleet.CommitChange(context.Background(), prepare, fleet.CommitOptions{
			URL: fleetLocation(e, o.fleet), Branch: branch, Author: author, MaxAttempts: o.attempts, Log: e.stderr,
		})
		stop()
		var pe *fleet.PrepareError
		if errors.As(err, &pe) {
			if !errors.Is(pe.Err, errRefused) {
				return pe.Err
			}
		} else if err != nil {
			return &exitError{code: ExitGit, err: fmt.Errorf("preview up: %w", err)}
		}
	}
	if len(refused) > 0 {
		slices.SortFunc(refused, func(a, b refusal) int { return strings.Compare(a.app+a.reason, b.app+b.reason) })
		refused = slices.Compact(refused)
		fmt.Fprintf(&out, "**Preview** (PR #%d): not deployed\n", o.pr)
		for _, r := range refused {
			fmt.Fprintf(e.stderr, "preview up: %s: %s\n", r.app, r.reason)
			fmt.Fprintf(&out, "- %s: %s\n", r.app, r.reason)
		}
		return &exitError{code: ExitChanges, err: fmt.Errorf("preview up: pull request #%d: refused, nothing deployed", o.pr)}
	}
	ttl := p.Data.Previews
	fmt.Fprintf(&out, "**Preview** (PR #%d)\n", o.pr)
	for _, pv := range previews {
		if slices.Contains(stale, pv.Namespace) {
			fmt.Fprintf(e.stdout, "skipped: preview %s/%s: the fleet holds it from a newer revision of %s; this run is older, so it writes nothing\n", pv.Team, pv.App, appOf(in, pv.Team, pv.App).Source.ID)
			continue
		}
		r := &previewRecord{Created: now, LastPush: now}
		if c, ok := created[pv.Namespace]; ok {
			r.Created = c // an update keeps its creation time
		}
		exp, _, err := r.expiry(ttl)
		if err != nil {
			return invalid("preview up: %v", err)
		}
		where := pv.Namespace + " in " + pv.Cluster
		url := ""
		if pv.Host != "" {
			url = "https://" + pv.Host
		}
		fmt.Fprintf(e.stdout, "preview %s/%s: %s", pv.Team, pv.App, where)
		if url != "" {
			fmt.Fprintf(e.stdout, " at %s", url)
		}
		fmt.Fprintf(e.stdout, ", expires %s, $%.2f/month\n", exp.Format(time.RFC3339), pv.MonthlyUSD)
		link := "no host (" + pv.Namespace + ")"
		if url != "" {
			link = url
		}
		fmt.Fprintf(&out, "- %s/%s: %s · expires %s · ~$%.2f/month · `%s`\n", pv.Team, pv.App, link, exp.Format("2006-01-02 15:04 UTC"), pv.MonthlyUSD, pv.Image)
	}
	if res.NoChanges {
		fmt.Fprintf(e.stdout, "no changes: %s %s already holds these previews\n", gitsource.SanitizeOrigin(o.fleet), branch)
		return nil
	}
	fmt.Fprintf(e.stdout, "committed %s to %s %s: %d files written, %d removed\n", res.Commit[:12], gitsource.SanitizeOrigin(o.fleet), branch, res.Written, res.Deleted)
	return nil
}

// errRefused marks a preview change refused by the fleet's state (the
// team's cap, a missing tenant): the reasons are in the refusals.
var errRefused = errors.New("refused")

// previewChange is up's change to a fleet revision: the previews' files
// (replacing what the fleet holds of the same previews), their records
// and the entry points. It refuses, adding to refused, a preview that
// would take its team past previews.perTeam or whose team has no tenant in
// the cluster.
func previewChange(e *env, o *previewUpOptions, p *schema.Platform, in render.Input, tree *render.Tree, previews []render.Preview, v *fleet.View, now time.Time, refused *[]refusal, created map[string]time.Time, stale *[]string) (*fleet.Change, error) {
	records, err := readRecords(p, v)
	if err != nil {
		return nil, &exitError{code: ExitGit, err: err}
	}
	byNS := map[string]*previewRecord{}
	perTeam := map[string]int{}
	for _, r := range records {
		byNS[r.Namespace] = r
		perTeam[r.Team]++
	}
	var local []refusal
	ours := map[string][]render.Preview{} // namespace -> its previews (one per cluster)
	for _, pv := range previews {
		ours[pv.Namespace] = append(ours[pv.Namespace], pv)
		tenant := path.Join("tenants", pv.Cluster, pv.Team, "kustomization.yaml")
		if _, ok := v.Read(tenant); !ok {
			local = append(local, refusal{pv.Team + "/" + pv.App, fmt.Sprintf("team %s has no tenant in %s (no app of the team runs there), so no applier for its previews", pv.Team, pv.Cluster)})
		}
	}
	for _, ns := range slices.Sorted(maps.Keys(ours)) {
		pv := ours[ns][0]
		if old := byNS[ns]; old != nil {
			a := appOf(in, pv.Team, pv.App)
			if old.Source.ID != a.Source.ID {
				local = append(local, refusal{pv.Team + "/" + pv.App, fmt.Sprintf("namespace %s holds a preview of source %s", ns, old.Source.ID)})
				continue
			}
			// A late run of an older push never replaces a newer one.
			if rev := a.Source.Revision; rev != "" && old.Source.Revision != "" && rev != old.Source.Revision && gitsource.IsAncestor(a.Dir, rev, old.Source.Revision) {
				if !slices.Contains(*stale, ns) {
					*stale = append(*stale, ns)
				}
				delete(ours, ns)
			}
			continue // an update in place
		}
		perTeam[pv.Team]++
		if cap := p.Data.Previews.PerTeam; perTeam[pv.Team] > cap {
			local = append(local, refusal{pv.Team + "/" + pv.App, fmt.Sprintf("team %s would have %d previews, over the platform's cap of %d (previews.perTeam): close a pull request or run paved preview down", pv.Team, perTeam[pv.Team], cap)})
		}
	}
	if len(local) > 0 {
		*refused = append(*refused, local...)
		return nil, errRefused
	}
	write := map[string][]byte{}
	var del []string
	var clusters []string
	for _, ns := range slices.Sorted(maps.Keys(ours)) {
		pvs := ours[ns]
		pv := pvs[0]
		rec := &previewRecord{APIVersion: "paved.dev/v1alpha1", Kind: "Preview", Team: pv.Team, App: pv.App, Namespace: ns,
			Host: pv.Host, Image: pv.Image, Database: pv.Database, Created: now, LastPush: now}
		rec.PullRequest.Number = o.pr
		a := appOf(in, pv.Team, pv.App)
		rec.Source.ID, rec.Source.Repo, rec.Source.Revision = a.Source.ID, a.Source.Repo, a.Source.Revision
		rec.PullRequest.Repo = o.repo
		if rec.PullRequest.Repo == "" {
			rec.PullRequest.Repo = githubRepo(a.Source.ID)
		}
		if old := byNS[ns]; old != nil {
			rec.Created = old.Created
			del = append(del, old.Files...) // what the new render no longer has goes
		}
		created[ns] = rec.Created
		for _, x := range pvs {
			rec.Clusters = append(rec.Clusters, x.Cluster)
			rec.MonthlyUSD += x.MonthlyUSD
			for _, f := range x.Files {
				write[f] = tree.Files[f]
				rec.Files = append(rec.Files, f)
			}
			clusters = append(clusters, x.Cluster)
		}
		slices.Sort(rec.Files)
		b, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return nil, err
		}
		write[recordPath(p, ns)] = append(b, '\n')
	}
	slices.Sort(clusters)
	entries, err := previewEntries(p, v, write, del, slices.Compact(clusters))
	if err != nil {
		return nil, err
	}
	maps.Copy(write, entries)
	var keepDel []string
	for _, d := range del {
		if _, ok := write[d]; !ok {
			keepDel = append(keepDel, d)
		}
	}
	scope := fmt.Sprintf("pr %d", o.pr)
	if len(ours) == 1 {
		for _, pvs := range ours {
			scope = pvs[0].Team + "/" + pvs[0].App + " pr " + strconv.Itoa(o.pr)
		}
	}
	dir := e.cwd
	if len(in.Apps) > 0 {
		dir = in.Apps[0].Dir
	}
	return &fleet.Change{Message: previewMessage(fmt.Sprintf("preview(%s): up", scope), in, dir), Write: write, Delete: keepDel}, nil
}

// checkPreviewDatabases refuses a seed by SQL without statements, in the
// platform or an app (what CUE cannot say without a cycle: the list's
// length decides whether the list is valid).
func checkPreviewDatabases(e *env, p *schema.Platform, apps []render.App) error {
	db := p.Data.Previews.Database
	if db.Mode == "sql" && len(db.SQL) == 0 {
		return invalid("platform: previews.database.sql: mode sql runs these statements once each preview database exists: give at least one")
	}
	for _, a := range apps {
		if pv := a.Base.Preview; pv != nil && pv.Database != nil && pv.Database.Mode == "sql" && len(pv.Database.SQL) == 0 {
			where := diagRel(e, a.Dir)
			if pos, ok := a.FieldPos("preview.database.mode"); ok {
				pos.Filename = diag.Rel(e.cwd, pos.Filename)
				where = pos.String()
			}
			return invalid("preview.database.sql: mode sql runs these statements once the database exists: give at least one:\n    %s", where)
		}
	}
	return nil
}

func appOf(in render.Input, team, name string) render.App {
	for _, a := range in.Apps {
		if a.Base.Team == team && a.Base.Name == name {
			return a
		}
	}
	return render.App{}
}

func diagRel(e *env, dir string) string { return diag.Rel(e.cwd, dir) }

// ---- down ----

type previewDownOptions struct {
	previewFleet
	sourceFlag
	pr int
}

func newPreviewDownCmd(e *env) *cobra.Command {
	o := &previewDownOptions{}
	c := &cobra.Command{
		Use:   "down [PATH] --pr N --fleet URL|DIR",
		Short: "Remove a pull request's previews from the fleet (it closed or merged)",
		Long: `down removes pull request N's previews of this source (--source, else the
origin of PATH, default .) from the fleet in one commit: their files, their
Flux Kustomizations and their records. Flux prunes their objects and their
namespaces. Another source's previews are never touched.

Exit codes: 0 removed (or none to remove), 2 invalid input, 4 git error.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if o.pr <= 0 {
				return invalid("preview down: --pr must be a pull request number")
			}
			if err := o.check(); err != nil {
				return err
			}
			fp, p, branch, err := o.open(e, "down")
			if err != nil {
				return err
			}
			defer fp.close()
			if err := checkIdentity(e, "preview down", args, o.source, p); err != nil {
				return err
			}
			dir := e.cwd
			if len(args) > 0 {
				dir = absPath(e, args[0])
			}
			src := o.source
			info, _ := gitsource.Describe(dir)
			if src == "" {
				src = info.Source
			}
			if src == "" || src == gitsource.DefaultSource {
				return invalid("preview down: %s has no origin remote, so no source identity: pass --source", diagRel(e, dir))
			}
			var removed []*previewRecord
			prepare := func(v *fleet.View) (*fleet.Change, error) {
				records, err := readRecords(p, v)
				if err != nil {
					return nil, &exitError{code: ExitGit, err: err}
				}
				removed = nil
				for _, r := range records {
					if r.PullRequest.Number == o.pr && r.Source.ID == src {
						removed = append(removed, r)
					}
				}
				write, del, err := removePreviews(p, v, removed)
				if err != nil {
					return nil, err
				}
				in := render.Input{Apps: []render.App{{App: &schema.App{Dir: dir}, Source: render.Source{ID: src}}}}
				return &fleet.Change{Message: previewMessage(fmt.Sprintf("preview(pr %d): down", o.pr), in, dir), Write: write, Delete: del}, nil
			}
			return commitRemoval(e, &o.previewFleet, branch, prepare, &removed, nil, fmt.Sprintf("pull request #%d of %s has no previews", o.pr, src))
		},
	}
	o.previewFleet.register(c)
	o.registerSource(c)
	c.Flags().IntVar(&o.pr, "pr", 0, "pull request number (required)")
	return c
}

// commitRemoval commits a removal of previews and reports it.
func commitRemoval(e *env, o *previewFleet, branch string, prepare fleet.PrepareChange, removed *[]*previewRecord, reasons map[string]string, none string) error {
	author, err := commitAuthor()
	if err != nil {
		return err
	}
	var empty bool
	res, err := fleet.CommitChange(context.Background(), func(v *fleet.View) (*fleet.Change, error) {
		c, err := prepare(v)
		if err == nil && len(*removed) == 0 {
			empty = true
			return &fleet.Change{}, nil
		}
		return c, err
	}, fleet.CommitOptions{URL: fleetLocation(e, o.fleet), Branch: branch, Author: author, MaxAttempts: o.attempts, Log: e.stderr})
	var pe *fleet.PrepareError
	if errors.As(err, &pe) {
		return pe.Err
	}
	if err != nil {
		return &exitError{code: ExitGit, err: fmt.Errorf("preview: %w", err)}
	}
	if empty {
		fmt.Fprintln(e.stdout, none)
		return nil
	}
	for _, r := range *removed {
		fmt.Fprintf(e.stdout, "removed preview %s/%s pr %d (%s in %s)", r.Team, r.App, r.PullRequest.Number, r.Namespace, strings.Join(r.Clusters, ", "))
		if why := reasons[r.Namespace]; why != "" {
			fmt.Fprintf(e.stdout, ": %s", why)
		}
		fmt.Fprintln(e.stdout)
	}
	if !res.NoChanges {
		fmt.Fprintf(e.stdout, "committed %s to %s %s: %d files written, %d removed\n", res.Commit[:12], gitsource.SanitizeOrigin(o.fleet), branch, res.Written, res.Deleted)
	}
	return nil
}

// ---- gc ----

type previewGCOptions struct {
	previewFleet
	apiURL string
}

func newPreviewGCCmd(e *env) *cobra.Command {
	o := &previewGCOptions{}
	c := &cobra.Command{
		Use:   "gc --fleet URL|DIR",
		Short: "Remove the previews of closed pull requests and those past their TTL",
		Long: `gc removes, in one commit, every preview whose pull request is closed or
merged, and every preview past its expiry: previews.ttl after its last
push, or previews.maxLifetime after it was created, whichever comes first
(against --now, else SOURCE_DATE_EPOCH, else the time now).

With GITHUB_TOKEN, gc asks the GitHub API (--api-url, else GITHUB_API_URL,
else https://api.github.com/) for each preview's pull request. A request
that fails is exit 4 and nothing is removed, expired previews included: a
failed answer is never read as "closed", nor as "no pull requests". Without
a token only expiry counts, and gc says so.

Exit codes: 0 removed (or nothing to remove), 2 invalid input, 4 git or
API error.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			now, err := o.clock()
			if err != nil {
				return err
			}
			fp, p, branch, err := o.open(e, "gc")
			if err != nil {
				return err
			}
			defer fp.close()
			token := os.Getenv("GITHUB_TOKEN")
			if token == "" {
				fmt.Fprintln(e.stderr, "note: GITHUB_TOKEN is not set: only expired previews are removed, not those of closed pull requests")
			}
			type prKey struct {
				repo string
				n    int
			}
			closed := map[prKey]bool{} // asked once per run, not per attempt
			var removed []*previewRecord
			reasons := map[string]string{}
			prepare := func(v *fleet.View) (*fleet.Change, error) {
				records, err := readRecords(p, v)
				if err != nil {
					return nil, &exitError{code: ExitGit, err: err}
				}
				removed = nil
				for _, r := range records {
					exp, why, err := r.expiry(p.Data.Previews)
					if err != nil {
						return nil, invalid("preview gc: %v", err)
					}
					expired := !now.Before(exp)
					if expired {
						reasons[r.Namespace] = fmt.Sprintf("expired %s (%s)", exp.Format(time.RFC3339), why)
					}
					// Every pull request is asked about, expired or not:
					// an API that fails removes nothing at all.
					if token == "" || r.PullRequest.Repo == "" {
						if expired {
							removed = append(removed, r)
						}
						continue
					}
					k := prKey{r.PullRequest.Repo, r.PullRequest.Number}
					isClosed, ok := closed[k]
					if !ok {
						isClosed, err = pullRequestClosed(token, o.apiURL, k.repo, k.n)
						if err != nil {
							return nil, &exitError{code: ExitGit, err: fmt.Errorf("preview gc: reading pull request %s#%d: %w: nothing removed", k.repo, k.n, err)}
						}
						closed[k] = isClosed
					}
					switch {
					case isClosed:
						removed = append(removed, r)
						reasons[r.Namespace] = fmt.Sprintf("pull request %s#%d is closed", k.repo, k.n)
					case expired:
						removed = append(removed, r)
					}
				}
				write, del, err := removePreviews(p, v, removed)
				if err != nil {
					return nil, err
				}
				in := render.Input{Apps: []render.App{{App: &schema.App{Dir: e.cwd}, Source: render.Source{ID: "paved-preview-gc"}}}}
				return &fleet.Change{Message: previewMessage("preview: gc", in, e.cwd), Write: write, Delete: del}, nil
			}
			return commitRemoval(e, &o.previewFleet, branch, prepare, &removed, reasons, "no previews to remove")
		},
	}
	o.previewFleet.register(c)
	c.Flags().StringVar(&o.apiURL, "api-url", "", "GitHub API base URL (default GITHUB_API_URL, else https://api.github.com/)")
	return c
}

// pullRequestClosed asks the GitHub API whether pull request n of repo
// (OWNER/NAME) is closed (merged or not). Any failure is an error, never
// an answer.
func pullRequestClosed(token, api, repo string, n int) (bool, error) {
	client, err := githubClient(token, api)
	if err != nil {
		return false, err
	}
	owner, name, _ := strings.Cut(repo, "/")
	pr, _, err := client.PullRequests.Get(context.Background(), owner, name, n)
	if err != nil {
		return false, err
	}
	switch pr.GetState() {
	case "open":
		return false, nil
	case "closed":
		return true, nil
	}
	return false, fmt.Errorf("unexpected state %q", pr.GetState())
}

// ---- ls ----

type previewLsOptions struct {
	previewFleet
	output string
}

func newPreviewLsCmd(e *env) *cobra.Command {
	o := &previewLsOptions{}
	c := &cobra.Command{
		Use:   "ls --fleet URL|DIR [-o text|json]",
		Short: "List the fleet's previews with their hosts and expiry",
		Long: `ls lists the previews the fleet holds: namespace, app, pull request,
clusters, URL, image, last push and expiry (against --now, else
SOURCE_DATE_EPOCH, else the time now), and their monthly cost estimate.

Exit codes: 0 listed, 2 invalid input, 4 git error.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if o.output != "text" && o.output != "json" {
				return invalid("preview ls: -o must be text or json, got %q", o.output)
			}
			now, err := o.clock()
			if err != nil {
				return err
			}
			fp, p, branch, err := o.open(e, "ls")
			if err != nil {
				return err
			}
			defer fp.close()
			v, err := fleet.ReadView(context.Background(), fleetLocation(e, o.fleet), branch)
			if err != nil {
				return &exitError{code: ExitGit, err: fmt.Errorf("preview ls: %w", err)}
			}
			records, err := readRecords(p, v)
			if err != nil {
				return &exitError{code: ExitGit, err: err}
			}
			return printPreviews(e.stdout, o.output, records, p.Data.Previews, now)
		},
	}
	o.previewFleet.register(c)
	c.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return c
}

func printPreviews(w io.Writer, format string, records []*previewRecord, pv schema.Previews, now time.Time) error {
	type row struct {
		*previewRecord
		Expires time.Time `json:"expires"`
		Expired bool      `json:"expired"`
	}
	rows := []row{}
	for _, r := range records {
		exp, _, err := r.expiry(pv)
		if err != nil {
			return invalid("preview ls: %v", err)
		}
		rows = append(rows, row{r, exp, !now.Before(exp)})
	}
	if format == "json" {
		b, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no previews")
		return err
	}
	for _, r := range rows {
		url := "-"
		if r.Host != "" {
			url = "https://" + r.Host
		}
		state := "expires " + r.Expires.Format(time.RFC3339)
		if r.Expired {
			state = "expired " + r.Expires.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s  %s/%s  pr %d  %s  %s  %s  last push %s  %s  $%.2f/month\n",
			r.Namespace, r.Team, r.App, r.PullRequest.Number, strings.Join(r.Clusters, ","), url, r.Image,
			r.LastPush.Format(time.RFC3339), state, r.MonthlyUSD)
	}
	return nil
}
