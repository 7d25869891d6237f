package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/paved-dev/paved/internal/synth"
)

// TestShardOfStable: adding apps moves no app between shards, and the
// shards of a fleet are each a fair part of it.
func TestShardOfStable(t *testing.T) {
	for _, n := range []int{2, 4, 7} {
		counts := make([]int, n+1)
		for i := range 1000 {
			team, app := fmt.Sprintf("team-%03d", i/25), fmt.Sprintf("app-%04d", i)
			s := shardOf(team, app, n)
			if s < 1 || s > n {
				t.Fatalf("shard %d of %d", s, n)
			}
			counts[s]++
			if shardOf(team, app, n) != s {
				t.Fatal("shardOf is not a function of the name")
			}
		}
		for s := 1; s <= n; s++ {
			if counts[s] < 1000/n*7/10 {
				t.Errorf("%d shards: shard %d holds %d of 1,000 apps", n, s, counts[s])
			}
		}
	}
}

// shardPolicies are platform policies of every kind of input, so that a
// sharded run has per-object, per-directory and whole-fleet findings to
// split.
var shardPolicies = map[string]string{
	"obj.rego": `package acme.obj

import rego.v1

warn_deployment contains msg if {
	input.kind == "Deployment"
	msg := sprintf("Deployment %s seen", [input.metadata.name])
}
`,
	"fleet.rego": `package acme.fleet

import rego.v1

warn_directory contains msg if {
	count(input.objects) > 0
	msg := sprintf("a directory of %s with %d objects", [input.cluster, count(input.objects)])
}
`,
	"all.rego": `package acme.all

import rego.v1

warn_service contains r if {
	some u in input.units
	u.kind == "app"
	some o in u.objects
	o.kind == "Service"
	r := {
		"msg": sprintf("Service %s seen across the fleet", [o.metadata.name]),
		"cluster": u.cluster,
		"object": {"apiVersion": o.apiVersion, "kind": o.kind, "namespace": o.metadata.namespace, "name": o.metadata.name},
	}
}
`,
}

// TestShardsEqualWhole: lint --shard I/N and verify --shard I/N over
// I = 1..N report, together, the findings, exceptions and problems of
// the unsharded run, each exactly once.
func TestShardsEqualWhole(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	t.Setenv("PAVED_AUTHOR_NAME", "paved-ci")
	t.Setenv("PAVED_AUTHOR_EMAIL", "ci@acme.dev")
	tmp := t.TempDir()
	t.Setenv("PAVED_CACHE_DIR", filepath.Join(tmp, "cache"))
	src := filepath.Join(tmp, "src")
	if _, err := synth.Generate(src, synth.Options{Apps: 40, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	for name, text := range shardPolicies {
		writeFile(t, filepath.Join(src, "paved.platform", "policies", name), text)
	}
	gitOut(t, src, "init", "-q", "-b", "main")
	gitOut(t, src, "remote", "add", "origin", "https://github.com/acme/monorepo.git")
	gitOut(t, src, "add", "-A")
	gitOut(t, src, "commit", "-q", "-m", "apps")
	paved := func(dir string, args ...string) (int, string) {
		t.Helper()
		var stdout, stderr strings.Builder
		code := Run(args, &env{stdout: &stdout, stderr: &stderr, cwd: dir})
		if code != ExitOK && code != ExitChanges {
			t.Fatalf("paved %v: exit %d\n%s", args, code, stderr.String())
		}
		return code, stdout.String()
	}
	const n = 3
	type report struct {
		Findings []json.RawMessage `json:"findings"`
		Waivers  []json.RawMessage `json:"waivers"`
	}
	canon := func(rs []json.RawMessage) []string {
		var out []string
		for _, r := range rs {
			var v any
			if err := json.Unmarshal(r, &v); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(v)
			out = append(out, string(b))
		}
		slices.Sort(out)
		return out
	}
	lint := func(args ...string) report {
		t.Helper()
		_, out := paved(src, append([]string{"lint", ".", "-o", "json", "--today", synth.Today}, args...)...)
		var r report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return r
	}
	whole := lint()
	var parts report
	for i := 1; i <= n; i++ {
		r := lint("--shard", fmt.Sprintf("%d/%d", i, n))
		if len(r.Findings) == 0 || len(r.Findings) == len(whole.Findings) {
			t.Errorf("shard %d/%d: %d findings of %d", i, n, len(r.Findings), len(whole.Findings))
		}
		parts.Findings = append(parts.Findings, r.Findings...)
		parts.Waivers = append(parts.Waivers, r.Waivers...)
	}
	for _, kind := range []string{"Deployment %s seen", "a directory of", "seen across the fleet", "waiver-unused"} {
		if !strings.Contains(strings.Join(canon(whole.Findings), "\n"), strings.Split(kind, " %s")[0]) {
			t.Fatalf("the whole run has no %q finding", kind)
		}
	}
	if w, p := canon(whole.Findings), canon(parts.Findings); !slices.Equal(w, p) {
		t.Errorf("lint: the shards' findings are not the whole run's:\nshards:\n%s\nwhole:\n%s", strings.Join(p, "\n"), strings.Join(w, "\n"))
	}
	if w, p := canon(whole.Waivers), canon(parts.Waivers); !slices.Equal(w, p) {
		t.Errorf("lint: the shards' exceptions are not the whole run's:\nshards:\n%s\nwhole:\n%s", strings.Join(p, "\n"), strings.Join(w, "\n"))
	}

	// verify: a fleet paved committed, then a hand edit in an app of
	// every shard and a file nobody owns.
	// The platform team puts the platform into the fleet first: commit
	// and verify render with the fleet's.
	bare := filepath.Join(tmp, "fleet.git")
	gitOut(t, tmp, "init", "-q", "--bare", "-b", "main", bare)
	fl := filepath.Join(tmp, "fleet")
	gitOut(t, tmp, "init", "-q", "-b", "main", fl)
	if err := os.CopyFS(filepath.Join(fl, "platform"), os.DirFS(filepath.Join(src, "paved.platform"))); err != nil {
		t.Fatal(err)
	}
	gitOut(t, fl, "add", "-A")
	gitOut(t, fl, "commit", "-q", "-m", "platform")
	gitOut(t, fl, "push", "-q", bare, "main")
	paved(src, "commit", ".", "--quiet", "--fleet", bare, "--today", synth.Today)
	gitOut(t, fl, "pull", "-q", bare, "main")
	edited := map[int]bool{}
	deps, err := filepath.Glob(filepath.Join(fl, "apps", "dev-eu-1", "*", "*", "apps_v1_deployment_*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deps {
		parts := strings.Split(filepath.ToSlash(d), "/")
		team, app := parts[len(parts)-3], parts[len(parts)-2]
		if s := shardOf(team, app, n); !edited[s] {
			edited[s] = true
			data, err := os.ReadFile(d)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, d, string(data)+"# edited by hand\n")
		}
	}
	if len(edited) != n {
		t.Fatalf("edited apps of %d shards, want %d", len(edited), n)
	}
	writeFile(t, filepath.Join(fl, "apps", "dev-eu-1", "stray.yaml"), "kind: ConfigMap\n")
	// An app's entry in a cluster's kustomization directory, deleted.
	entries, err := filepath.Glob(filepath.Join(fl, "clusters", "prod-us-1", "paved", "apps", "*.yaml"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("no app entries in clusters/prod-us-1/paved/apps: %v", err)
	}
	if err := os.Remove(entries[len(entries)/2]); err != nil {
		t.Fatal(err)
	}
	gitOut(t, fl, "add", "-A")
	gitOut(t, fl, "commit", "-q", "-m", "hand edits")
	problems := func(out string) []string {
		var ps []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "apps/") || strings.HasPrefix(l, ".paved/") || strings.HasPrefix(l, "tenants/") || strings.HasPrefix(l, "clusters/") {
				ps = append(ps, l)
			}
		}
		slices.Sort(ps)
		return ps
	}
	code, out := paved(fl, "verify", ".", "--today", synth.Today)
	wantProblems := problems(out)
	if code != ExitChanges || len(wantProblems) != n+2 {
		t.Fatalf("verify of the edited fleet: exit %d, problems %q", code, wantProblems)
	}
	var got []string
	for i := 1; i <= n; i++ {
		code, out := paved(fl, "verify", ".", "--today", synth.Today, "--shard", fmt.Sprintf("%d/%d", i, n))
		ps := problems(out)
		if code != ExitChanges || len(ps) == 0 {
			t.Errorf("verify --shard %d/%d: exit %d, problems %q", i, n, code, ps)
		}
		got = append(got, ps...)
	}
	slices.Sort(got)
	if !slices.Equal(got, wantProblems) {
		t.Errorf("verify: the shards' problems are not the whole run's:\nshards:\n%s\nwhole:\n%s", strings.Join(got, "\n"), strings.Join(wantProblems, "\n"))
	}
}

// TestRerenderShardsEqualWhole: after a platform change, rerender --shard
// I/N --out-bundle over I = 1..N and rerender --merge of the bundles make
// the very commit (same hash: same tree, message, author and parent) an
// unsharded rerender of the same fleet makes; a merge onto a fleet that
// moved, or of an incomplete set of bundles, commits nothing.
func TestRerenderShardsEqualWhole(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	t.Setenv("PAVED_AUTHOR_NAME", "paved-ci")
	t.Setenv("PAVED_AUTHOR_EMAIL", "ci@acme.dev")
	tmp := t.TempDir()
	t.Setenv("PAVED_CACHE_DIR", filepath.Join(tmp, "cache"))
	src := filepath.Join(tmp, "src")
	if _, err := synth.Generate(src, synth.Options{Apps: 30, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	gitOut(t, src, "init", "-q", "-b", "main")
	gitOut(t, src, "remote", "add", "origin", "https://github.com/acme/monorepo.git")
	gitOut(t, src, "add", "-A")
	gitOut(t, src, "commit", "-q", "-m", "apps")
	paved := func(want int, args ...string) string {
		t.Helper()
		var stdout, stderr strings.Builder
		if code := Run(args, &env{stdout: &stdout, stderr: &stderr, cwd: tmp}); code != want {
			t.Fatalf("paved %v: exit %d, want %d\n%s%s", args, code, want, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	// The fleet: its platform, the apps committed, then a platform change
	// (the small size class grows) that moves every app's resources.
	plat := filepath.Join(tmp, "plat")
	seed := filepath.Join(tmp, "seed.git")
	gitOut(t, tmp, "init", "-q", "--bare", "-b", "main", seed)
	gitOut(t, tmp, "init", "-q", "-b", "main", plat)
	if err := os.CopyFS(filepath.Join(plat, "platform"), os.DirFS(filepath.Join(src, "paved.platform"))); err != nil {
		t.Fatal(err)
	}
	gitOut(t, plat, "add", "-A")
	gitOut(t, plat, "commit", "-q", "-m", "platform")
	gitOut(t, plat, "push", "-q", seed, "main")
	var out strings.Builder
	if code := Run([]string{"commit", ".", "--quiet", "--fleet", seed, "--today", synth.Today}, &env{stdout: &out, stderr: &out, cwd: src}); code != ExitOK {
		t.Fatalf("paved commit: exit %d\n%s", code, out.String())
	}
	gitOut(t, plat, "pull", "-q", seed, "main")
	f, err := os.OpenFile(filepath.Join(plat, "platform", "platform.cue"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "platform: sizes: small: cpuMillicores: 300")
	f.Close()
	gitOut(t, plat, "commit", "-q", "-am", "platform: small is 300m")
	gitOut(t, plat, "push", "-q", seed, "main")

	whole, sharded := filepath.Join(tmp, "whole.git"), filepath.Join(tmp, "sharded.git")
	for _, d := range []string{whole, sharded} {
		gitOut(t, tmp, "clone", "-q", "--bare", seed, d)
	}
	paved(ExitOK, "rerender", "--fleet", whole, "--today", synth.Today)
	const n = 3
	var bundles []string
	for i := 1; i <= n; i++ {
		b := filepath.Join(tmp, fmt.Sprintf("shard-%d.json", i))
		paved(ExitOK, "rerender", "--fleet", sharded, "--today", synth.Today, "--shard", fmt.Sprintf("%d/%d", i, n), "--out-bundle", b)
		bundles = append(bundles, b)
	}
	if got := gitOut(t, tmp, "--git-dir", sharded, "rev-parse", "main"); got != gitOut(t, tmp, "--git-dir", seed, "rev-parse", "main") {
		t.Fatal("a shard's render step committed")
	}
	// Not every shard: nothing committed.
	paved(ExitInvalid, append([]string{"rerender", "--fleet", sharded, "--merge"}, bundles[:n-1]...)...)
	paved(ExitOK, append([]string{"rerender", "--fleet", sharded, "--today", synth.Today, "--merge"}, bundles...)...)
	w, s := gitOut(t, tmp, "--git-dir", whole, "rev-parse", "main"), gitOut(t, tmp, "--git-dir", sharded, "rev-parse", "main")
	if w != s {
		t.Fatalf("the merged commit %s is not the unsharded rerender's %s:\n%s", s, w,
			gitOut(t, tmp, "diff", "--stat", w, s))
	}
	if !strings.Contains(gitOut(t, tmp, "--git-dir", whole, "show", "main:"+firstDeployment(t, tmp, whole)), "cpu: 300m") {
		t.Fatal("the rerender did not move the apps to the new size")
	}
	// The fleet moved since: the bundles are refused.
	paved(ExitGit, append([]string{"rerender", "--fleet", sharded, "--merge"}, bundles...)...)
}

// firstDeployment is the path of a prod Deployment in the fleet's main.
func firstDeployment(t *testing.T, dir, gitDir string) string {
	t.Helper()
	for _, p := range strings.Split(gitOut(t, dir, "--git-dir", gitDir, "ls-tree", "-r", "--name-only", "main", "apps/prod-eu-1"), "\n") {
		if strings.Contains(p, "apps_v1_deployment_") {
			return p
		}
	}
	t.Fatal("no Deployment in apps/prod-eu-1")
	return ""
}
