package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/fleet"
	"github.com/paved-dev/paved/internal/gitsource"
	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
)

type commitOptions struct {
	platformFlag
	fleetFlags
	changed         bool
	allowMassDelete bool
	allowDBDelete   bool
	fleet           string
	branch          string
	message         string
	overwrite       bool
	createBranch    bool
	attempts        int
	today           string
}

func newCommitCmd(e *env) *cobra.Command {
	o := &commitOptions{}
	c := &cobra.Command{
		Use:   "commit [PATH...] --fleet URL|DIR [--branch main] [--message ...]",
		Short: "Render, lint and commit the result to the fleet repository, with provenance",
		Long: `commit renders the apps below each PATH (default .), lints them (any denial
aborts), and writes the paths paved owns into the fleet branch as one commit,
or none when nothing changes.

Many repositories write one fleet. Every app belongs to the source that
rendered it: --source, else the origin remote as host/owner/name ("local"
without one). A commit changes and prunes only its scope: the apps it
renders, and the fleet's apps of its own source whose path lies below a
PATH (those were removed). Every other app is read, never written. An app
the fleet records for another source is refused (exit 2) unless moved with
--adopt team/name. A dependsOn entry must name an app of this run or of the
fleet, and an app still depended on cannot be removed. A team's tenant and
each cluster's entry point follow the whole fleet: a tenant goes with the
last app of its team, from any source. A commit that would remove more than
half of the apps in its scope, or any tenant, stops unless
--allow-mass-delete; one that would delete a database (a removed
databases entry, or an app with databases removed) stops unless
--allow-database-delete: its volumes and data go with it. Ownership manifests that list files outside their own
app, name another app than their file, or do not parse stop the run (exit
4): they are never followed.

commit renders with the fleet's platform (platform/ at the branch's tip;
the embedded default when the fleet has none), never with the source's
own: a local paved.platform is for offline vet, lint and lsp, and commit
says when it differs. The platform binds each team to the sources that may
write it (teams.<team>.sources): an app of a team that does not list this
source is refused (exit 2). --source must be the origin's identity unless
the platform's sourceAliases allow it; a repository without an origin needs
--source. The fleet records each source's newest revision: a run of an
older revision writes nothing (exit 0), and one whose ancestry cannot be
established (a shallow clone) is exit 4. Deletes are judged on the objects
as Flux builds them, patches included: a CloudNativePG Cluster,
PersistentVolumeClaim or Namespace that goes needs --allow-database-delete.
Those objects carry Flux's prune protection (kustomize.toolkit.fluxcd.io/prune:
disabled): a commit removes them from the fleet, Flux leaves them and their
data in the cluster, and commit lists each ("left in the cluster: ...") for
a person to delete once the data may go. A removed tenant leaves its
Namespace the same way.

The message names the source and carries the trailers Render-Source,
Render-Source-Repo, Render-Source-Revision, Render-Tool and
Render-Inputs-Digest (and Render-Adopted per adopted app);
SOURCE_DATE_EPOCH, PAVED_AUTHOR_NAME and PAVED_AUTHOR_EMAIL make commits
reproducible.

The push is never forced: when the branch moved meanwhile, commit fetches the
new tip, applies the same render on it and retries with backoff and jitter.
Files paved owns that were edited by hand since its
last commit stop the run unless --overwrite-foreign-edits.

Only files an ownership manifest lists are deployed. A commit stops (exit
4, nothing pushed) when the fleet holds a file under paved's directories
(clusters/<cluster>/paved, apps, tenants, catalog, .paved) that no manifest
lists, a file of an app without its manifest, or an entry kustomization
edited by hand (diff reports the same); remove such files or restore them
by a platform-team commit. --overwrite-foreign-edits regenerates an edited
entry kustomization, never keeps or wires an unowned file. A file where
paved needs a directory (or the reverse) stops it too.

--branch must exist in the fleet (a typo must not start a new branch):
--create-branch starts it, and is needed for the first commit to an empty
fleet.

--fleet is a URL (https with PAVED_GIT_TOKEN or GITHUB_TOKEN, ssh, file://)
or a local repository directory.

Exit codes: 0 committed or nothing to commit, 1 policy denials, 2 invalid
input (including a claim on another source's app, a missing dependency and
a stopped mass or database delete), 3 render error, 4 git error (including foreign
edits, refused ownership manifests, unowned files, path clashes and a
missing branch).`,
		RunE: func(c *cobra.Command, args []string) error {
			if o.fleet == "" {
				return invalid("commit: --fleet URL|DIR is required")
			}
			if o.message != "" && gitsource.Subject(o.message) != o.message {
				return invalid("commit: --message is one line of text without control characters (it is the commit subject; the trailers follow it)")
			}
			today, err := parseToday(o.today)
			if err != nil {
				return err
			}
			if err := o.checkFleet(); err != nil {
				return err
			}
			url := fleetLocation(e, o.fleet)
			// The fleet's platform at the branch's tip is the one the
			// commit renders with (re-checked on the tip it commits to).
			stop := e.stage("read fleet platform")
			fp, err := fleetPlatformAt(url, o.branch)
			stop()
			if err != nil {
				return err
			}
			defer fp.close()
			fp.note(e, "commit", localPlatform(e, o.path(e), args), gitsource.SanitizeOrigin(o.fleet), fp.revision)
			// With --allow-mass-delete a PATH may hold no app any more:
			// the commit removes its source's apps there.
			l, err := loadApps(e, args, fp.dir, loadOptions{policies: true, allowEmpty: o.allowMassDelete, deferValidation: o.changed, fixedPlatform: true})
			if err != nil {
				return err
			}
			if err := checkIdentity(e, "commit", args, o.source, l.platform); err != nil {
				return err
			}
			srcDir := e.cwd
			if len(args) > 0 {
				srcDir = absPath(e, args[0])
			}
			if len(l.apps) > 0 {
				srcDir = l.apps[0].Dir
			} else if len(l.found) > 0 {
				srcDir = l.found[0].Dir
			}
			roots := sourceRoots(e, args, o.source)
			author, err := commitAuthor()
			if err != nil {
				return err
			}
			info, _ := gitsource.Describe(srcDir)
			var staged map[string]*staged
			// Each attempt prepares the render for the tip it applies to:
			// with --changed, the apps whose inputs differ from what that
			// tip records. A render is reused while the selection repeats.
			var last struct {
				key  string
				in   render.Input
				tree *render.Tree
			}
			prepare := func(ms *fleet.Manifests) (*fleet.Render, error) {
				sel, keep := l, []fleet.App(nil)
				if o.changed {
					var err error
					if sel, keep, err = keepUnchanged(e, l, ms, o.source, unchangedAgainstFleet(l)); err != nil {
						return nil, err
					}
				}
				// The team's other apps in this tip, which its tenants
				// count: a render is reused only while they are the same.
				fleetApps := tenantFleet(ms, renderedIDs(sel), keep, roots)
				key := appIDs(sel.apps) + "\x00" + tenantFleetKey(fleetApps)
				if last.tree == nil || last.key != key {
					in, tree, err := renderLoaded(e, sel, render.WriteAndRead, o.source, fleetApps...)
					if err != nil {
						return nil, err
					}
					rep, err := lintTree(e, sel, tree, today)
					if err != nil {
						return nil, err
					}
					if deny, _, _ := rep.Count(); deny > 0 {
						_ = policy.FormatText(e.stderr, rep, policy.FormatOptions{Cwd: e.cwd, Apps: len(sel.apps), Clusters: len(render.Clusters(l.platform))})
						return nil, &exitError{code: ExitChanges, err: fmt.Errorf("commit: %d policy %s: nothing committed", deny, plural(deny, "denial", "denials"))}
					}
					last.key, last.in, last.tree = key, in, tree
				}
				in, tree := last.in, last.tree
				files := map[string][]byte{}
				for p, data := range tree.Files {
					if !strings.HasPrefix(p, "clusters/") || filepath.Base(p) != "kustomization.yaml" {
						files[p] = data
					}
				}
				// Each environment takes the new release or keeps its
				// own (promotion): decided against this tip.
				if staged, err = stageReleases(files, in.Apps, staging{
					platform: l.platform, now: author.When, tip: ms, read: ms.Read,
					sourceTime: info.Time, fixes: info.Fixes,
				}); err != nil {
					return nil, err
				}
				return &fleet.Render{
					Message:               commitMessage(o.message, in, files, srcDir, roots),
					Files:                 files,
					Apps:                  planApps(in),
					Keep:                  keep,
					Roots:                 roots,
					Adopt:                 o.adopt,
					AllowMassDelete:       o.allowMassDelete,
					AllowDatabaseDelete:   o.allowDBDelete,
					Built:                 builtObjects,
					Ancestry:              sourceAncestry(e, args, o.source),
					TeamSources:           teamSources(l.platform),
					PlatformDigest:        fp.digest,
					Entry:                 render.EntryKustomization,
					Catalog:               func(files []string) ([]byte, error) { return render.CatalogLocationFile(l.platform, files) },
					OverwriteForeignEdits: o.overwrite,
				}, nil
			}
			stop = e.stage("commit and push")
			res, err := fleet.Commit(context.Background(), prepare, fleet.CommitOptions{
				URL: url, Branch: o.branch, Author: author, MaxAttempts: o.attempts, Log: e.stderr,
				CreateBranch: o.createBranch,
			})
			stop()
			var pe *fleet.PrepareError
			if errors.As(err, &pe) {
				return pe.Err // the render's own error and exit code
			}
			if err != nil {
				if ferr, ok := fleetError(l, "commit", err); ok {
					return ferr
				}
				return &exitError{code: ExitGit, err: fmt.Errorf("commit: %w", err)}
			}
			shown := gitsource.SanitizeOrigin(o.fleet)
			if len(res.Stale) > 0 {
				for _, s := range res.Stale {
					fmt.Fprintf(e.stdout, "skipped: %s; this run is older, so it writes nothing (its apps, additions and removals alike)\n", s)
				}
				return nil
			}
			if !res.NoChanges {
				for _, a := range res.Adopted {
					fmt.Fprintf(e.stdout, "adopted %s\n", a)
				}
				for _, id := range res.Removed {
					fmt.Fprintf(e.stdout, "removed %s\n", id)
				}
				reportStateful(e.stdout, res)
			}
			if res.NoChanges {
				fmt.Fprintf(e.stdout, "no changes: %s %s already holds this render\n", shown, o.branch)
				return nil
			}
			fmt.Fprintf(e.stdout, "committed %s to %s %s: %d files written, %d removed", res.Commit[:12], shown, o.branch, res.Written, res.Deleted)
			if res.Attempts > 1 {
				fmt.Fprintf(e.stdout, " (after %d attempts)", res.Attempts)
			}
			fmt.Fprintln(e.stdout)
			for _, line := range describeStaged(staged) {
				fmt.Fprintln(e.stdout, line)
			}
			return nil
		},
	}
	o.register(c)
	o.registerFleet(c)
	c.Flags().BoolVar(&o.changed, "changed", false, "render only the apps whose inputs (spec files, platform, paved version, source path) differ from what the fleet records for them; the others stay as they are")
	c.Flags().BoolVar(&o.allowMassDelete, "allow-mass-delete", false, "let the commit remove more than half of the apps in its scope, or a tenant")
	c.Flags().BoolVar(&o.allowDBDelete, "allow-database-delete", false, "let the commit remove databases (CloudNativePG Clusters) from the fleet: Flux leaves them, with their data, in the clusters for a person to delete")
	c.Flags().StringVar(&o.fleet, "fleet", "", "fleet repository URL or directory (required)")
	c.Flags().StringVar(&o.branch, "branch", "main", "fleet branch to commit to")
	c.Flags().StringVar(&o.message, "message", "", "commit subject (default: render(<scope>): <source subject> [<repo>@<sha7>])")
	c.Flags().BoolVar(&o.overwrite, "overwrite-foreign-edits", false, "replace owned files that were edited by hand")
	c.Flags().BoolVar(&o.createBranch, "create-branch", false, "start --branch when the fleet does not have it (a new fleet, or a new branch as a root commit)")
	c.Flags().IntVar(&o.attempts, "max-attempts", 8, "pushes to try when the branch keeps moving")
	c.Flags().StringVar(&o.today, "today", "", "date exceptions are checked against, YYYY-MM-DD (default: today, UTC)")
	return c
}

// commitAuthor is PAVED_AUTHOR_NAME <PAVED_AUTHOR_EMAIL> at
// SOURCE_DATE_EPOCH (or now).
func commitAuthor() (object.Signature, error) {
	s := object.Signature{Name: os.Getenv("PAVED_AUTHOR_NAME"), Email: os.Getenv("PAVED_AUTHOR_EMAIL"), When: time.Now().UTC()}
	if s.Name == "" {
		s.Name = "paved"
	}
	if s.Email == "" {
		s.Email = "paved@paved.dev"
	}
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return s, invalid("SOURCE_DATE_EPOCH must be seconds since the epoch: %v", err)
		}
		s.When = time.Unix(n, 0).UTC()
	}
	return s, nil
}

// commitMessage is `render(<scope>): <source subject> [<repo>@<sha7>]`
// with provenance trailers.
func commitMessage(subject string, in render.Input, files map[string][]byte, dir string, roots []fleet.Root) string {
	// The source: the repository holding the first app, or the first PATH
	// when the run renders none (it removes its source's apps).
	if len(in.Apps) > 0 {
		dir = in.Apps[0].Dir
	}
	info, _ := gitsource.Describe(dir)
	repo, rev, branch, srcSubject := info.Repo, info.Revision, info.Branch, info.Subject
	teams := map[string]bool{}
	var digests []string
	for _, a := range in.Apps {
		teams[a.Base.Team] = true
	}
	sources := sourcesOf(in)
	if len(in.Apps) == 0 {
		for _, r := range roots {
			if !slices.Contains(sources, r.Source) {
				sources = append(sources, r.Source)
			}
		}
		slices.Sort(sources)
	}
	scope := fmt.Sprintf("%d apps", len(in.Apps))
	switch {
	case len(in.Apps) == 1:
		scope = in.Apps[0].Base.Team + "/" + in.Apps[0].Base.Name
	case len(teams) == 1:
		for t := range teams {
			scope = t
		}
	}
	if subject == "" {
		subject = srcSubject
		if subject == "" {
			subject = "render"
		}
		subject = fmt.Sprintf("render(%s): %s", scope, subject)
		if rev != "" {
			where := repo
			if where == "" {
				where = "local"
			}
			subject += fmt.Sprintf(" [%s@%s]", where, rev[:7])
		}
	}
	// The inputs digest of the commit: over each app's inputs digest
	// (paved's version, the platform, the app's files), in app order.
	for p, data := range files {
		if strings.HasPrefix(p, ".paved/apps/") {
			var m struct {
				InputsDigest string `json:"inputsDigest"`
			}
			if json.Unmarshal(data, &m) == nil {
				digests = append(digests, p+"\x00"+m.InputsDigest)
			}
		}
	}
	slices.Sort(digests)
	h := sha256.New()
	for _, d := range digests {
		fmt.Fprintf(h, "%s\x00", d)
	}
	// The subject and every trailer are one line each, whatever the
	// source repository holds: a value is never written with a line break
	// (fleet.Trailer encodes control characters).
	var b strings.Builder
	b.WriteString(gitsource.Subject(subject) + "\n\n")
	for _, id := range sources {
		b.WriteString(fleet.Trailer("Render-Source", id))
	}
	if repo != "" {
		b.WriteString(fleet.Trailer("Render-Source-Repo", repo))
	}
	if rev != "" {
		if branch == "" {
			branch = "HEAD"
		}
		b.WriteString(fleet.Trailer("Render-Source-Revision", branch+"@sha1:"+rev))
	}
	b.WriteString(fleet.Trailer("Render-Tool", "paved "+Version()))
	b.WriteString(fleet.Trailer("Render-Inputs-Digest", "sha256:"+hex.EncodeToString(h.Sum(nil))))
	return b.String()
}

// reportStateful says what becomes of the stateful objects a commit
// removed from the fleet. The explicit delete of what holds data is a
// person's: Flux leaves a protected object in its cluster.
func reportStateful(w io.Writer, res *fleet.Result) {
	for _, id := range res.Orphaned {
		fmt.Fprintf(w, "left in the cluster: %s (Flux does not prune it: once its data may go, delete it by hand)\n", id)
	}
	for _, id := range res.Pruned {
		fmt.Fprintf(w, "deleted with its data: %s (rendered before paved protected it from Flux's prune)\n", id)
	}
}

// pruneKey is Flux's prune protection: an object whose label or
// annotation sets it to disabled is never deleted by kustomize-controller.
const pruneKey = "kustomize.toolkit.fluxcd.io/prune"

// builtObjects builds app directories as Flux would and lists the
// objects they apply (fleet.Render.Built); those whose deletion loses data
// are stateful: CloudNativePG Clusters, PersistentVolumeClaims and
// Namespaces.
func builtObjects(files map[string][]byte) ([]fleet.BuiltObject, error) {
	tree := &render.Tree{Files: files}
	if err := render.BuildAll(tree); err != nil {
		return nil, err
	}
	var out []fleet.BuiltObject
	for _, u := range tree.Units {
		for _, b := range u.Objects {
			g, _ := b.Object.GroupVersion()
			k := b.Object.Kind()
			md, _ := b.Object["metadata"].(map[string]any)
			labels, _ := md["labels"].(map[string]any)
			ann, _ := md["annotations"].(map[string]any)
			disabled := func(m map[string]any) bool {
				v, _ := m[pruneKey].(string)
				return strings.EqualFold(v, "disabled")
			}
			out = append(out, fleet.BuiltObject{
				ID:             fmt.Sprintf("%s %s/%s in %s", strings.TrimPrefix(g+"/"+k, "/"), b.Object.Namespace(), b.Object.Name(), u.Cluster),
				Stateful:       k == "Cluster" && g == "postgresql.cnpg.io" || g == "" && (k == "PersistentVolumeClaim" || k == "Namespace"),
				PruneProtected: disabled(labels) || disabled(ann),
			})
		}
	}
	return out, nil
}
