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
	"github.com/paved-dev/paved/schema"
)

type rerenderOptions struct {
	fleet, branch, message string
	allowDBDelete          bool
	attempts               int
	today                  string
	shard                  shard
	outBundle              string
	merge                  bool
}

func newRerenderCmd(e *env) *cobra.Command {
	o := &rerenderOptions{}
	c := &cobra.Command{
		Use:   "rerender --fleet URL|DIR [--branch main] [--shard I/N --out-bundle F | --merge F...]",
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

For a fleet past one machine, the render step runs as a CI matrix:
rerender --shard I/N --out-bundle F renders and lints shard I of N (a hash
of team/app; shard 1 also runs the checks over the whole fleet) and writes
its render to F, committing nothing; rerender --merge F1 F2 ... then
commits the N bundles as the one commit an unsharded rerender of the same
fleet revision makes, byte for byte, and refuses when the fleet or its
platform moved since the shards read it.

Exit codes: 0 committed or nothing to commit, 1 policy denials, 2 invalid
input (a recorded spec that no longer loads with the platform, a stopped
database delete), 3 render error, 4 git error.`,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 && !o.merge {
				return invalid("rerender: unexpected arguments %q (bundles are for --merge)", args)
			}
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
			switch {
			case o.shard.on() && o.merge:
				return invalid("rerender: --shard renders a shard, --merge commits the shards' bundles: one or the other")
			case o.shard.on() && o.outBundle == "":
				return invalid("rerender: --shard needs --out-bundle FILE (merged by rerender --merge)")
			case o.shard.on():
				return rerenderShard(e, url, o.branch, fp, &o.shard, today, absPath(e, o.outBundle))
			}
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
				if rec, err = renderRecordedWith(e, ms, fp, nil, true); err != nil {
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
				msg := rerenderMessage(o.message, len(rec.in.Apps), fp)
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
			var merged []verifyProblem
			if o.merge {
				var files []string
				for _, f := range args {
					files = append(files, absPath(e, f))
				}
				bs, err := readBundles(files)
				if err != nil {
					return err
				}
				if bs[0].Platform != fp.digest {
					return &exitError{code: ExitGit, err: fmt.Errorf("rerender --merge: the fleet's platform changed since the shards rendered: run the shards again")}
				}
				p, err := schema.LoadPlatform(fp.dir)
				if err != nil {
					return &exitError{code: ExitInvalid, err: fmt.Errorf("platform: %w", err)}
				}
				if prepare, merged, err = mergePrepare(bs, p, fp, o.message, o.allowDBDelete); err != nil {
					return err
				}
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
				merged = rec.problems
			}
			for _, p := range merged {
				fmt.Fprintf(e.stderr, "left as it is: %s\n", p)
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
	o.shard.register(c)
	c.Flags().StringVar(&o.outBundle, "out-bundle", "", "with --shard: write the shard's render to this file instead of committing")
	c.Flags().BoolVar(&o.merge, "merge", false, "commit the shards' bundles given as arguments (every shard 1..N of one fleet revision) as one commit")
	return c
}
