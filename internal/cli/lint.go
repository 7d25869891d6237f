package cli

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

type lintOptions struct {
	platformFlag
	sourceFlag
	changed changedFlag
	shard   shard
	output  string
	today   string
}

func newLintCmd(e *env) *cobra.Command {
	o := &lintOptions{}
	c := &cobra.Command{
		Use:   "lint [PATH...] [--changed] [-o text|json|sarif|github|junit]",
		Short: "Render in memory and check the result against the policies",
		Long: `lint renders the apps below each PATH (default .) in memory, builds every
kustomization directory as Flux would, and evaluates the built-in policy bundle
plus the platform's policies/*.rego on exactly those objects: each object, each
kustomization directory, and the fleet's cost estimate against the budgets.

Each finding names the policy, severity, cluster, object, rendered file and
the app.cue line of the field that produced it. An app waives a policy with an
entry in its exceptions (policy, reason, owner, expires); a waived finding is
listed as waived, an expired waiver denies again and says so.

Output formats: text (grouped by app and cluster, with the cost estimate),
json (documented schema: policy/lint-report.schema.json), sarif (GitHub code
scanning), github (workflow annotations), junit.

--shard I/N checks part I of N of the apps (an app's part is a hash of
team/app, so adding apps moves none), for a CI matrix of N jobs: together
the N jobs report the findings of the whole run, each once. Shard 1 also
runs the checks over the whole fleet (tenants, policies across apps,
budgets) and renders every app for them.

lint writes nothing. Exit codes: 0 no denial, 1 policy denials, 2 invalid
input (spec, platform, policies, exceptions), 3 render error, 4 --changed
could not read the git repository.`,
		RunE: func(c *cobra.Command, args []string) error {
			if !slices.Contains(policy.Formats, o.output) {
				return invalid("lint: unknown output format %q (one of %v)", o.output, policy.Formats)
			}
			today, err := parseToday(o.today)
			if err != nil {
				return err
			}
			if err := o.check(); err != nil {
				return err
			}
			if o.shard.on() && o.changed.on {
				return invalid("lint: --shard and --changed do not combine")
			}
			l, err := loadApps(e, args, o.path(e), loadOptions{changed: o.changed, policies: true})
			if err != nil {
				return err
			}
			l.printWarnings(e)
			l = l.narrow()
			if o.shard.on() {
				// Shard 1 renders every app: the checks over the whole
				// fleet need them all.
				shardApps := o.shard.apps(l.apps)
				if !o.shard.fleet() {
					l = l.only(shardApps)
				} else {
					l = l.only(l.apps)
					l.selected = shardApps
				}
				l.part = o.shard.part()
			}
			_, tree, err := renderLoaded(e, l, render.ReadOnly, o.source)
			if err != nil {
				return err
			}
			rep, err := lintTree(e, l, tree, today)
			if err != nil {
				return err
			}
			if l.changed || o.shard.on() && !o.shard.fleet() {
				rep.Keep(l.selected)
			}
			w := bufio.NewWriter(e.stdout)
			err = policy.Write(w, o.output, rep, policy.FormatOptions{
				Cwd: e.cwd, Version: Version(), Apps: len(l.selected), Clusters: len(render.Clusters(l.platform)),
			})
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			if err != nil {
				return err
			}
			if deny, _, _ := rep.Count(); deny > 0 {
				return &exitError{code: ExitChanges, err: fmt.Errorf("")}
			}
			return nil
		},
	}
	o.register(c)
	o.registerSource(c)
	o.changed.register(c)
	o.shard.register(c)
	c.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text, json, sarif, github or junit")
	c.Flags().StringVar(&o.today, "today", "", "date exceptions are checked against, YYYY-MM-DD (default: today, UTC)")
	return c
}

// lintTree compiles the platform's policies and lints a rendered tree.
func lintTree(e *env, l *loaded, tree *render.Tree, today time.Time) (*policy.Report, error) {
	ctx := context.Background()
	eng, err := l.policies(e)
	if err != nil {
		return nil, err
	}
	defer e.stage("lint")()
	var bar *progress
	defer func() {
		if bar != nil {
			bar.Done()
		}
	}()
	// lint, diff and commit read only the tree's files after linting.
	opts := policy.LintOptions{Today: today, Consume: true, Cache: e.cacheDir(), Part: l.part, Progress: func(total int) func() {
		bar = e.progress("linting", total, "evaluations")
		return func() { bar.Add(1) }
	}}
	return eng.Lint(ctx, l.platform, tree, opts)
}

// start compiles the platform's policies in the background, once;
// engine waits for them.
func (lp *lazyPolicies) start(e *env, p *schema.Platform) {
	lp.once.Do(func() {
		lp.done = make(chan struct{})
		e.background.Go(func() {
			defer close(lp.done)
			stop := e.stage("compile policies")
			lp.engine, lp.err = policy.Load(context.Background(), policy.Options{Platform: p})
			stop()
		})
	})
}

// policies returns the compiled policies, compiling them now if loadApps
// did not start to (loadOptions.policies).
func (l *loaded) policies(e *env) (*policy.Engine, error) {
	if l.pol == nil { // loaded without policies: compile them now
		l.pol = &lazyPolicies{}
	}
	l.pol.start(e, l.platform)
	<-l.pol.done
	return l.pol.engine, l.pol.err
}

// parseToday reads --today (default: today, UTC).
func parseToday(s string) (time.Time, error) {
	if s == "" {
		return time.Now().UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return t, invalid("--today must be a date (YYYY-MM-DD): %v", err)
	}
	return t, nil
}
