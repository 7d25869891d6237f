package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
	fleet     string
	branch    string
	message   string
	overwrite bool
	attempts  int
	today     string
}

func newCommitCmd(e *env) *cobra.Command {
	o := &commitOptions{}
	c := &cobra.Command{
		Use:   "commit [PATH...] --fleet URL|DIR [--branch main] [--message ...]",
		Short: "Render, lint and commit the result to the fleet repository, with provenance",
		Long: `commit renders the apps below each PATH (default .), lints them (any denial
aborts), and writes the paths paved owns into the fleet branch as one commit,
or none when nothing changes. Files of removed objects and apps are pruned
(the ownership manifests say which files are paved's); other files are never
touched. The message names the source and carries the trailers
Render-Source-Repo, Render-Source-Revision, Render-Tool and
Render-Inputs-Digest; SOURCE_DATE_EPOCH, PAVED_AUTHOR_NAME and
PAVED_AUTHOR_EMAIL make commits reproducible.

The push is never forced: when the branch moved meanwhile, commit fetches the
new tip, applies the same render on it and retries with backoff and jitter.
An app whose fleet render comes from a newer source revision is skipped, not
reverted. Files paved owns that were edited by hand since its last commit
stop the run unless --overwrite-foreign-edits.

--fleet is a URL (https with PAVED_GIT_TOKEN or GITHUB_TOKEN, ssh, file://)
or a local repository directory.

Exit codes: 0 committed or nothing to commit, 1 policy denials, 2 invalid
input, 3 render error, 4 git error (including foreign edits).`,
		RunE: func(c *cobra.Command, args []string) error {
			if o.fleet == "" {
				return invalid("commit: --fleet URL|DIR is required")
			}
			today, err := parseToday(o.today)
			if err != nil {
				return err
			}
			l, err := loadApps(e, args, o.path(e), loadOptions{policies: true})
			if err != nil {
				return err
			}
			in, tree, err := renderLoaded(e, l, render.WriteAndRead)
			if err != nil {
				return err
			}
			rep, err := lintTree(e, l, tree, today)
			if err != nil {
				return err
			}
			if deny, _, _ := rep.Count(); deny > 0 {
				_ = policy.FormatText(e.stderr, rep, policy.FormatOptions{Cwd: e.cwd, Apps: len(l.apps), Clusters: len(render.Clusters(l.platform))})
				return &exitError{code: ExitChanges, err: fmt.Errorf("commit: %d policy %s: nothing committed", deny, plural(deny, "denial", "denials"))}
			}
			files := map[string][]byte{}
			for p, data := range tree.Files {
				if !strings.HasPrefix(p, "clusters/") || filepath.Base(p) != "kustomization.yaml" {
					files[p] = data
				}
			}
			roots := sourceRoots(e, args)
			srcDir := e.cwd
			if len(l.apps) > 0 {
				srcDir = l.apps[0].Dir
			}
			r := &fleet.Render{
				Files:                 files,
				InScope:               func(team, app, src string) bool { return underRoots(roots, src) },
				Newer:                 func(fleetRev, ours string) bool { return gitsource.IsAncestor(srcDir, ours, fleetRev) },
				Entry:                 render.EntryKustomization,
				OverwriteForeignEdits: o.overwrite,
			}
			url := fleetLocation(e, o.fleet)
			author, err := commitAuthor()
			if err != nil {
				return err
			}
			stop := e.stage("commit and push")
			res, err := fleet.Commit(context.Background(), r, fleet.CommitOptions{
				URL: url, Branch: o.branch, Message: commitMessage(o.message, in, files),
				Author: author, MaxAttempts: o.attempts, Log: e.stderr,
			})
			stop()
			if err != nil {
				return &exitError{code: ExitGit, err: fmt.Errorf("commit: %w", err)}
			}
			shown := gitsource.StripCredentials(o.fleet)
			for _, s := range res.Skipped {
				fmt.Fprintf(e.stdout, "skipped %s: the fleet holds a render of a newer source revision\n", s)
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
			return nil
		},
	}
	o.register(c)
	c.Flags().StringVar(&o.fleet, "fleet", "", "fleet repository URL or directory (required)")
	c.Flags().StringVar(&o.branch, "branch", "main", "fleet branch to commit to")
	c.Flags().StringVar(&o.message, "message", "", "commit subject (default: render(<scope>): <source subject> [<repo>@<sha7>])")
	c.Flags().BoolVar(&o.overwrite, "overwrite-foreign-edits", false, "replace owned files that were edited by hand")
	c.Flags().IntVar(&o.attempts, "max-attempts", 8, "pushes to try when the branch keeps moving")
	c.Flags().StringVar(&o.today, "today", "", "date exceptions are checked against, YYYY-MM-DD (default: today, UTC)")
	return c
}

func underRoots(roots []string, src string) bool {
	for _, r := range roots {
		if r == "." || src == r || strings.HasPrefix(src, r+"/") {
			return true
		}
	}
	return false
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
func commitMessage(subject string, in render.Input, files map[string][]byte) string {
	var repo, rev, branch, srcSubject string
	teams := map[string]bool{}
	var digests []string
	for _, a := range in.Apps {
		teams[a.Base.Team] = true
		if repo == "" {
			repo, rev = a.Source.Repo, a.Source.Revision
		}
	}
	if len(in.Apps) > 0 {
		if info, err := gitsource.Describe(in.Apps[0].Dir); err == nil {
			branch, srcSubject = info.Branch, info.Subject
		}
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
	var b strings.Builder
	b.WriteString(subject + "\n\n")
	if repo != "" {
		fmt.Fprintf(&b, "Render-Source-Repo: %s\n", repo)
	}
	if rev != "" {
		if branch == "" {
			branch = "HEAD"
		}
		fmt.Fprintf(&b, "Render-Source-Revision: %s@sha1:%s\n", branch, rev)
	}
	fmt.Fprintf(&b, "Render-Tool: paved %s\n", Version())
	fmt.Fprintf(&b, "Render-Inputs-Digest: sha256:%s\n", hex.EncodeToString(h.Sum(nil)))
	return b.String()
}
