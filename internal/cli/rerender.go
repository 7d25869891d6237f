package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/fleet"
	"github.com/paved-dev/paved/internal/gitsource"
	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
)

type rerenderOptions struct {
	fleet, branch, message string
	allowDBDelete          bool
	attempts               int
	today                  string
}

func newRerenderCmd(e *env) *cobra.Command {
	o := &rerenderOptions{}
	c := &cobra.Command{
		Use:   "rerender --fleet URL|DIR [--branch main]",
		Short: "Re-render every app of the fleet from its recorded inputs with the fleet's platform, as one commit",
		Long: `rerender is the platform team's commit: run in the fleet repository's CI
when the platform (platform/) changes, it re-renders every app from the
inputs its ownership manifest records (its spec files, source and
revision) with the fleet's platform at the branch's tip, lints the result
(any denial aborts), and commits it as one commit, so that every app moves
with the platform at once and paved verify passes on the result. Apps keep
their sources; none is added or removed. An app whose manifest records no
inputs is left as it is (paved verify reports it). Deletes are judged as
commit judges them: a platform change that would delete a database needs
--allow-database-delete.

Exit codes: 0 committed or nothing to commit, 1 policy denials, 2 invalid
input (a recorded spec that no longer loads with the platform, a stopped
database delete), 3 render error, 4 git error.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if o.fleet == "" {
				return invalid("rerender: --fleet URL|DIR is required")
			}
			today, err := parseToday(o.today)
			if err != nil {
				return err
			}
			url := fleetLocation(e, o.fleet)
			stop := e.stage("read fleet platform")
			fp, err := fleetPlatformAt(url, o.branch)
			stop()
			if err != nil {
				return err
			}
			defer fp.close()
			var rec *recorded
			defer func() {
				if rec != nil {
					rec.fp = nil // closed above
					rec.close()
				}
			}()
			prepare := func(ms *fleet.Manifests) (*fleet.Render, error) {
				if rec != nil {
					rec.fp = nil
					rec.close()
				}
				var err error
				if rec, err = renderRecordedWith(e, ms, fp, nil); err != nil {
					return nil, err
				}
				rep, err := rec.lint(e, today)
				if err != nil {
					return nil, err
				}
				if deny, _, _ := rep.Count(); deny > 0 {
					_ = policy.FormatText(e.stderr, rep, policy.FormatOptions{Cwd: e.cwd, Apps: len(rec.l.apps), Clusters: len(render.Clusters(rec.l.platform))})
					return nil, &exitError{code: ExitChanges, err: fmt.Errorf("rerender: %d policy %s: nothing committed", deny, plural(deny, "denial", "denials"))}
				}
				files := map[string][]byte{}
				for p, data := range rec.tree.Files {
					if !strings.HasPrefix(p, "clusters/") || filepath.Base(p) != "kustomization.yaml" {
						files[p] = data
					}
				}
				msg := o.message
				if msg == "" {
					at := "the embedded default"
					if fp.dir != "" {
						at = fleet.PlatformDir + "/ at " + fp.revision[:min(12, len(fp.revision))]
					}
					msg = fmt.Sprintf("rerender: %d %s with the fleet's platform (%s)", len(rec.in.Apps), plural(len(rec.in.Apps), "app", "apps"), at)
				}
				msg += "\n\n" + fleet.Trailer("Render-Tool", "paved "+Version())
				if fp.digest != "" {
					msg += fleet.Trailer("Render-Platform", fp.digest)
				}
				platform := rec.l.platform
				return &fleet.Render{
					Message:             msg,
					Files:               files,
					Apps:                planApps(rec.in),
					AllowDatabaseDelete: o.allowDBDelete,
					Built:               builtObjects,
					PlatformDigest:      fp.digest,
					Entry:               render.EntryKustomization,
					Catalog:             func(files []string) ([]byte, error) { return render.CatalogLocationFile(platform, files) },
				}, nil
			}
			author, err := commitAuthor()
			if err != nil {
				return err
			}
			stop = e.stage("commit and push")
			res, err := fleet.Commit(context.Background(), prepare, fleet.CommitOptions{URL: url, Branch: o.branch, Author: author, MaxAttempts: o.attempts, Log: e.stderr})
			stop()
			var pe *fleet.PrepareError
			if errors.As(err, &pe) {
				return pe.Err
			}
			if err != nil {
				var l *loaded
				if rec != nil {
					l = rec.l
				}
				if ferr, ok := fleetError(l, "rerender", err); ok {
					return ferr
				}
				return &exitError{code: ExitGit, err: fmt.Errorf("rerender: %w", err)}
			}
			if rec != nil {
				for _, p := range rec.problems {
					fmt.Fprintf(e.stderr, "left as it is: %s\n", p)
				}
			}
			shown := gitsource.SanitizeOrigin(o.fleet)
			if res.NoChanges {
				fmt.Fprintf(e.stdout, "no changes: %s %s already holds this render\n", shown, o.branch)
				return nil
			}
			fmt.Fprintf(e.stdout, "committed %s to %s %s: %d files written, %d removed\n", res.Commit[:12], shown, o.branch, res.Written, res.Deleted)
			reportStateful(e.stdout, res)
			return nil
		},
	}
	c.Flags().StringVar(&o.fleet, "fleet", "", "fleet repository URL or directory (required)")
	c.Flags().StringVar(&o.branch, "branch", "main", "fleet branch to re-render")
	c.Flags().StringVar(&o.message, "message", "", "commit subject (default: rerender: <n> apps with the fleet's platform (platform/ at <rev>))")
	c.Flags().BoolVar(&o.allowDBDelete, "allow-database-delete", false, "let the commit delete databases (CloudNativePG Clusters) and their data")
	c.Flags().IntVar(&o.attempts, "max-attempts", 8, "pushes to try when the branch keeps moving")
	c.Flags().StringVar(&o.today, "today", "", "date exceptions are checked against, YYYY-MM-DD (default: today, UTC)")
	return c
}
