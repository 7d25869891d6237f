package cli

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestCITemplates runs the CI templates paved ships the way their CI runs
// them: examples/ci/github-actions.yaml, the workflow `paved init`
// scaffolds, and examples/ci/gitlab-ci.yaml, in an app repository that
// `paved init` scaffolded, with the app clean, denied by a policy, and
// invalid. The steps that run paved vet or lint run in bash as the runners
// run them (GitHub: `bash -e` for a step without a shell, a step's `if:`
// evaluated after the steps before it; GitLab: a job's lines under
// `set -eo pipefail`, stopping at the first that fails); the other steps
// (installing paved, checkout, diff, comment, commit) need the network or
// a fleet and count as passed. A job must fail exactly when the app does
// not pass, a GitHub job must annotate a denial at its app.cue line, and a
// report that a later step uploads (upload-sarif's sarif_file, GitLab's
// artifacts:reports) must exist and parse whenever that step runs.
func TestCITemplates(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	if p, err := exec.LookPath("paved"); err != nil || !strings.Contains(p, "testscript") {
		t.Fatalf("paved is not the test binary on PATH (%q, %v): TestMain sets it up", p, err)
	}
	example := func(name string) func(t *testing.T, repo string) []byte {
		return func(t *testing.T, _ string) []byte {
			data, err := os.ReadFile(filepath.Join("..", "..", "examples", "ci", name))
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
	scaffolded := func(t *testing.T, repo string) []byte {
		data, err := os.ReadFile(filepath.Join(repo, ".github", "workflows", "paved.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	templates := []struct {
		name   string
		gitlab bool
		read   func(t *testing.T, repo string) []byte
	}{
		{"examples/ci/github-actions.yaml", false, example("github-actions.yaml")},
		{"paved init workflow", false, scaffolded},
		{"examples/ci/gitlab-ci.yaml", true, example("gitlab-ci.yaml")},
	}
	// Each scenario edits the scaffolded app.cue; a denial is reported at
	// the line of the edit.
	scenarios := []struct {
		name     string
		old, new string
		fails    bool
		denies   bool // a policy denies the edit, at its app.cue line
		linted   bool // lint runs (vet passes)
	}{
		{name: "clean", linted: true},
		{name: "denial", old: `image:      "ghcr.io/acme/identity/shop:0.1.0"`, new: `image:      "docker.io/acme/shop:0.1.0"`, fails: true, denies: true, linted: true},
		{name: "invalid", old: `port:       8080`, new: `port:       "8080"`, fails: true},
	}
	cache := t.TempDir()
	for _, sc := range scenarios {
		for _, tmpl := range templates {
			t.Run(sc.name+"/"+tmpl.name, func(t *testing.T) {
				repo := filepath.Join(t.TempDir(), "shop")
				initRepoApp(t, repo, repo)
				t.Parallel() // the scripts; paved init ran in-process, one at a time
				denyLine := 0
				if sc.old != "" {
					spec, err := os.ReadFile(filepath.Join(repo, "app.cue"))
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Contains(spec, []byte(sc.old)) {
						t.Fatalf("the scaffolded app.cue has no %q:\n%s", sc.old, spec)
					}
					spec = bytes.Replace(spec, []byte(sc.old), []byte(sc.new), 1)
					if err := os.WriteFile(filepath.Join(repo, "app.cue"), spec, 0o644); err != nil {
						t.Fatal(err)
					}
					if sc.denies {
						denyLine = lineOf(spec, sc.new)
					}
				}
				runEnv := append(os.Environ(), "CI=true", "PAVED_CACHE_DIR="+cache)
				data := tmpl.read(t, repo)
				if tmpl.gitlab {
					runGitLab(t, data, repo, runEnv, sc.fails, sc.linted, denyLine)
				} else {
					runGitHub(t, data, repo, runEnv, sc.fails, sc.linted, denyLine)
				}
			})
		}
	}
}

// pavedCheck matches a script that runs paved vet or lint: the steps
// TestCITemplates runs.
var pavedCheck = regexp.MustCompile(`\bpaved (vet|lint)\b`)

type ghStep struct {
	ID    string            `json:"id"`
	Name  string            `json:"name"`
	Uses  string            `json:"uses"`
	Run   string            `json:"run"`
	Shell string            `json:"shell"`
	If    string            `json:"if"`
	Env   map[string]string `json:"env"`
	With  map[string]any    `json:"with"`
}

// runGitHub runs the jobs of a GitHub workflow that lint.
func runGitHub(t *testing.T, data []byte, repo string, runEnv []string, wantFail, linted bool, denyLine int) {
	var wf struct {
		Env  map[string]string `json:"env"`
		Jobs map[string]struct {
			Env   map[string]string `json:"env"`
			Steps []ghStep          `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	linting := 0
	for _, id := range sortedJobIDs(wf.Jobs) {
		job := wf.Jobs[id]
		lints := false
		for _, s := range job.Steps {
			lints = lints || strings.Contains(s.Run, "paved lint")
		}
		if !lints {
			continue
		}
		linting++
		failed, output, uploads, uploaded := false, "", 0, 0
		for _, s := range job.Steps {
			if strings.HasPrefix(s.Uses, "github/codeql-action/upload-sarif@") {
				uploads++
			}
		}
		for i, s := range job.Steps {
			name := fmt.Sprintf("job %s, step %d (%s%s)", id, i+1, s.Name, s.Uses)
			runs, err := githubIf(s.If, failed, repo)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !runs {
				continue
			}
			switch {
			case strings.HasPrefix(s.Uses, "github/codeql-action/upload-sarif@"):
				file, _ := s.With["sarif_file"].(string)
				if file == "" {
					t.Fatalf("%s: no sarif_file", name)
				}
				checkSARIF(t, name, filepath.Join(repo, file), denyLine)
				uploaded++
			case s.Uses != "":
				// checkout, setup-go: the test is their result.
			case pavedCheck.MatchString(s.Run):
				env := append(runEnv, "GITHUB_ACTIONS=true")
				for _, m := range []map[string]string{wf.Env, job.Env, s.Env} {
					for k, v := range m {
						env = append(env, k+"="+v)
					}
				}
				out, err := runScript(t, repo, env, githubShell(t, name, s.Shell), s.Run)
				output += out
				if err != nil {
					failed = true
					t.Logf("%s failed (%v):\n%s", name, err, out)
				}
			}
		}
		if failed != wantFail {
			t.Errorf("job %s: failed = %v, want %v\n%s", id, failed, wantFail, output)
		}
		if linted && uploaded != uploads {
			t.Errorf("job %s: paved lint ran, but %d of its %d SARIF uploads did not", id, uploads-uploaded, uploads)
		}
		if denyLine > 0 {
			annotation := fmt.Sprintf("::error file=app.cue,line=%d,", denyLine)
			if !strings.Contains(output, annotation) {
				t.Errorf("job %s: the denial is not annotated (%s...):\n%s", id, annotation, output)
			}
		}
	}
	if linting == 0 {
		t.Errorf("no job runs paved lint")
	}
}

// githubShell is how a GitHub runner on Linux runs a step's script.
func githubShell(t *testing.T, step, shell string) []string {
	switch shell {
	case "":
		return []string{"bash", "-e"}
	case "bash":
		return []string{"bash", "--noprofile", "--norc", "-eo", "pipefail"}
	}
	t.Fatalf("%s: shell %q: only bash steps are run here", step, shell)
	return nil
}

var hashFilesTerm = regexp.MustCompile(`^hashFiles\('([^'*?\[]+)'\) (!=|==) ''$`)

// githubIf evaluates a step's if: condition in the forms the templates
// use: status functions and hashFiles('file') compared with the empty
// string, joined by &&. Without a status function, success() is implied,
// as on GitHub.
func githubIf(cond string, failed bool, dir string) (bool, error) {
	cond = strings.TrimSpace(cond)
	cond = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(cond, "${{"), "}}"))
	result, status := true, false
	if cond == "" {
		return !failed, nil
	}
	for _, term := range strings.Split(cond, "&&") {
		term = strings.TrimSpace(term)
		switch {
		case term == "always()", term == "!cancelled()":
			status = true
		case term == "success()":
			status, result = true, result && !failed
		case term == "failure()":
			status, result = true, result && failed
		case term == "cancelled()":
			status, result = true, false
		case hashFilesTerm.MatchString(term):
			m := hashFilesTerm.FindStringSubmatch(term)
			_, err := os.Stat(filepath.Join(dir, m[1]))
			result = result && (err == nil) == (m[2] == "!=")
		default:
			return false, fmt.Errorf("if: %q: the test does not evaluate %q; teach githubIf", cond, term)
		}
	}
	if !status {
		result = result && !failed
	}
	return result, nil
}

// checkSARIF checks the file an upload-sarif step uploads: present, SARIF
// 2.1.0, and with the denial at its app.cue line when there is one.
func checkSARIF(t *testing.T, step, file string, line int) {
	denied := line > 0
	data, err := os.ReadFile(file)
	if err != nil {
		t.Errorf("%s: the upload runs but its file is not there: %v", step, err)
		return
	}
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &sarif); err != nil || sarif.Version != "2.1.0" || len(sarif.Runs) != 1 {
		t.Errorf("%s: %s is not a SARIF 2.1.0 log of one run (%v):\n%.300s", step, file, err, data)
		return
	}
	found := false
	for _, r := range sarif.Runs[0].Results {
		for _, l := range r.Locations {
			found = found || r.RuleID == "allowed-registry" && r.Level == "error" &&
				l.PhysicalLocation.ArtifactLocation.URI == "app.cue" && l.PhysicalLocation.Region.StartLine == line
		}
		if !denied && r.Level == "error" {
			t.Errorf("%s: unexpected error in the SARIF: %s", step, r.RuleID)
		}
	}
	if denied && !found {
		t.Errorf("%s: the SARIF has no allowed-registry error at app.cue:%d:\n%.2000s", step, line, data)
	}
}

// runGitLab runs the jobs of a GitLab CI file that lint.
func runGitLab(t *testing.T, data []byte, repo string, runEnv []string, wantFail, linted bool, denyLine int) {
	type job struct {
		BeforeScript []string          `json:"before_script"`
		Script       []string          `json:"script"`
		Variables    map[string]string `json:"variables"`
		Artifacts    *struct {
			When    string         `json:"when"`
			Reports map[string]any `json:"reports"` // a file or a list of files
		} `json:"artifacts"`
	}
	var top map[string]json.RawMessage
	if err := yaml.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	var def job
	if raw, ok := top["default"]; ok {
		if err := json.Unmarshal(raw, &def); err != nil {
			t.Fatal(err)
		}
	}
	var vars map[string]string
	if raw, ok := top["variables"]; ok {
		if err := json.Unmarshal(raw, &vars); err != nil {
			t.Fatal(err)
		}
	}
	linting := 0
	for _, id := range sortedJobIDs(top) {
		if id == "default" || id == "variables" || id == "stages" || strings.HasPrefix(id, ".") {
			continue
		}
		var j job
		if err := json.Unmarshal(top[id], &j); err != nil {
			t.Fatalf("job %s: %v", id, err)
		}
		if !strings.Contains(strings.Join(j.Script, "\n"), "paved lint") {
			continue
		}
		linting++
		if j.BeforeScript == nil {
			j.BeforeScript = def.BeforeScript
		}
		// One script, as the runner writes it; lines that do not run
		// paved vet or lint are left out.
		script := ""
		for _, line := range append(j.BeforeScript, j.Script...) {
			if pavedCheck.MatchString(line) {
				script += line + "\n"
			}
		}
		env := append(runEnv, "GITLAB_CI=true")
		for _, m := range []map[string]string{vars, j.Variables} {
			for k, v := range m {
				env = append(env, k+"="+v)
			}
		}
		out, err := runScript(t, repo, env, []string{"bash", "-eo", "pipefail"}, script)
		if failed := err != nil; failed != wantFail {
			t.Errorf("job %s: failed = %v, want %v\n%s", id, failed, wantFail, out)
		}
		if j.Artifacts == nil || len(j.Artifacts.Reports) == 0 {
			continue
		}
		if err != nil && j.Artifacts.When != "always" {
			t.Errorf("job %s: its reports are not uploaded when it fails (artifacts:when %q)", id, j.Artifacts.When)
		}
		if !linted {
			continue // lint did not run: GitLab warns that the report is missing
		}
		for kind, files := range j.Artifacts.Reports {
			list, ok := files.([]any)
			if !ok {
				list = []any{files}
			}
			for _, f := range list {
				checkReport(t, fmt.Sprintf("job %s: %s report", id, kind), kind, filepath.Join(repo, fmt.Sprint(f)), denyLine)
			}
		}
	}
	if linting == 0 {
		t.Errorf("no job runs paved lint")
	}
}

// checkReport checks a GitLab report paved lint wrote.
func checkReport(t *testing.T, name, kind, file string, denyLine int) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	if kind != "junit" {
		t.Fatalf("%s: the test reads junit reports only", name)
	}
	var suites struct {
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(data, &suites); err != nil {
		t.Errorf("%s: %v\n%.300s", name, err, data)
		return
	}
	if denied := denyLine > 0; denied != (suites.Failures > 0) ||
		denied && !bytes.Contains(data, fmt.Appendf(nil, "at app.cue:%d", denyLine)) {
		t.Errorf("%s: want the denial at app.cue:%d (%v), got %d failures:\n%.1000s", name, denyLine, denied, suites.Failures, data)
	}
}

// runScript runs a CI script file with a shell command line, in dir.
func runScript(t *testing.T, dir string, env, shell []string, script string) (string, error) {
	if strings.Contains(script, "${{") {
		t.Fatalf("the script uses a workflow expression the test cannot expand:\n%s", script)
	}
	f := filepath.Join(t.TempDir(), "step.sh")
	if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(shell[0], append(shell[1:], f)...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func sortedJobIDs[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// TestGitLabScripts checks each job script of examples/ci/gitlab-ci.yaml
// with shellcheck, as actionlint (make lint) checks the GitHub workflows'
// run: scripts: the runner's bash runs its before_script and script lines
// as one script. Variables come from the CI file and GitLab (SC2153,
// SC2154 off, as actionlint has them).
func TestGitLabScripts(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" {
			t.Fatal("shellcheck is not installed; CI must run this test (.ci/run installs Debian's shellcheck)")
		}
		t.Skip("shellcheck is not installed (apt-get install shellcheck); CI runs this test")
	}
	for _, name := range []string{"gitlab-ci.yaml", "fleet-gitlab-ci.yaml"} {
		t.Run(name, func(t *testing.T) { shellcheckGitLab(t, shellcheck, name) })
	}
}

func shellcheckGitLab(t *testing.T, shellcheck, name string) {
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "ci", name))
	if err != nil {
		t.Fatal(err)
	}
	type job struct {
		BeforeScript []string `json:"before_script"`
		Script       []string `json:"script"`
	}
	var top map[string]json.RawMessage
	if err := yaml.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	var def job
	if err := json.Unmarshal(top["default"], &def); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, id := range sortedJobIDs(top) {
		var j job
		if id == "default" || json.Unmarshal(top[id], &j) != nil || j.Script == nil {
			continue
		}
		if j.BeforeScript == nil {
			j.BeforeScript = def.BeforeScript
		}
		cmd := exec.Command(shellcheck, "--norc", "--shell", "bash", "-e", "SC1091,SC2153,SC2154", "-")
		cmd.Stdin = strings.NewReader(strings.Join(append(j.BeforeScript, j.Script...), "\n") + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("job %s: shellcheck: %v\n%s", id, err, out)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no job scripts")
	}
}

// TestCITemplatesFleet runs the fleet steps of the CI templates as their
// runners do, against a bare fleet repository (file://): the default
// branch's commit step renders into the fleet, a pull request that bumps
// the image gets a diff whose comment says so (the diff step exits 0 on
// changes), and once the change is merged and committed the same diff
// shows no change. The templates render only what changed (--changed);
// what each step writes is what a full run writes.
func TestCITemplatesFleet(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	type step struct{ diff, commit string }
	github := func(t *testing.T) step {
		jobs := workflowJobs(t, "github-actions.yaml")
		var s step
		for _, id := range sortedJobIDs(jobs) {
			for _, st := range jobs[id] {
				switch {
				case strings.Contains(st.Run, "paved diff"):
					s.diff = st.Run
				case strings.Contains(st.Run, "paved commit"):
					s.commit = st.Run
				}
			}
		}
		s.diff = strings.ReplaceAll(s.diff, "${{ github.event.pull_request.base.sha }}", "$BASE_SHA")
		return s
	}
	gitlab := func(t *testing.T) step {
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", "ci", "gitlab-ci.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var top map[string]json.RawMessage
		if err := yaml.Unmarshal(data, &top); err != nil {
			t.Fatal(err)
		}
		var s step
		for _, id := range sortedJobIDs(top) {
			var j struct {
				Script []string `json:"script"`
			}
			if json.Unmarshal(top[id], &j) != nil {
				continue
			}
			script := "set -eo pipefail\n" + strings.Join(j.Script, "\n") + "\n"
			switch {
			case strings.Contains(script, "paved diff"):
				s.diff = strings.ReplaceAll(script, "$CI_MERGE_REQUEST_DIFF_BASE_SHA", "$BASE_SHA")
			case strings.Contains(script, "paved commit"):
				s.commit = script
			}
		}
		return s
	}
	for _, tmpl := range []struct {
		name  string
		steps func(t *testing.T) step
	}{{"github-actions", github}, {"gitlab-ci", gitlab}} {
		t.Run(tmpl.name, func(t *testing.T) {
			s := tmpl.steps(t)
			for name, script := range map[string]string{"diff": s.diff, "commit": s.commit} {
				if script == "" || !strings.Contains(script, "--changed") {
					t.Fatalf("the %s step does not render only what changed:\n%s", name, script)
				}
			}
			tmp := t.TempDir()
			repo := filepath.Join(tmp, "shop")
			base := scaffoldRepo(t, repo)
			fleet := filepath.Join(tmp, "fleet.git")
			gitOut(t, tmp, "init", "-q", "--bare", "-b", "main", fleet)
			// The fleet has its main branch (Flux bootstrap makes it): the
			// templates commit to it, and never start a branch.
			seed := filepath.Join(tmp, "seed")
			gitOut(t, tmp, "clone", "-q", fleet, seed)
			if err := os.WriteFile(filepath.Join(seed, "README.md"), []byte("fleet\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			gitOut(t, seed, "add", "README.md")
			gitOut(t, seed, "-c", "user.name=ops", "-c", "user.email=ops@acme.dev", "commit", "-q", "-m", "bootstrap")
			gitOut(t, seed, "push", "-q", "origin", "main")
			summary := filepath.Join(tmp, "summary.md")
			env := append(os.Environ(), "CI=true", "PAVED_CACHE_DIR="+filepath.Join(tmp, "cache"),
				"FLEET_URL=file://"+fleet, "BASE_SHA="+base, "GITHUB_STEP_SUMMARY="+summary)
			run := func(name, script string) string {
				t.Helper()
				out, err := runScript(t, repo, env, []string{"bash", "-e"}, script)
				if err != nil {
					t.Fatalf("the %s step failed (%v):\n%s", name, err, out)
				}
				return out
			}
			// The default branch: the first commit renders the app.
			run("commit", s.commit)
			if n := gitOut(t, tmp, "--git-dir", fleet, "rev-list", "--count", "main"); n != "2" {
				t.Fatalf("fleet commits after the first commit step: %s, want 2 (bootstrap and render)", n)
			}
			// A pull request bumps the image.
			spec, err := os.ReadFile(filepath.Join(repo, "app.cue"))
			if err != nil {
				t.Fatal(err)
			}
			bumped := bytes.Replace(spec, []byte(`shop:0.1.0"`), []byte(`shop:0.2.0"`), 1)
			if bytes.Equal(bumped, spec) {
				t.Fatalf("the scaffolded app.cue has no shop:0.1.0 image:\n%s", spec)
			}
			if err := os.WriteFile(filepath.Join(repo, "app.cue"), bumped, 0o644); err != nil {
				t.Fatal(err)
			}
			gitOut(t, repo, "commit", "-q", "-am", "bump")
			run("diff", s.diff)
			comment, err := os.ReadFile(filepath.Join(repo, "paved-diff.md"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(comment, []byte("image 0.1.0 → 0.2.0")) {
				t.Errorf("the comment does not say the image changed:\n%s", comment)
			}
			if _, err := os.Stat(filepath.Join(repo, "paved-diff-full.md")); err != nil {
				t.Errorf("no full report: %v", err)
			}
			// Merged: the commit step writes the change, after which the
			// pull request's diff has nothing left to show.
			run("commit", s.commit)
			if n := gitOut(t, tmp, "--git-dir", fleet, "rev-list", "--count", "main"); n != "3" {
				t.Fatalf("fleet commits after the second commit step: %s, want 3", n)
			}
			if img := gitOut(t, tmp, "--git-dir", fleet, "grep", "-h", "image:", "main", "--", "apps/prod-eu-1"); !strings.Contains(img, "shop:0.2.0") {
				t.Errorf("the fleet's prod image: %s", img)
			}
			run("diff", s.diff)
			comment, err = os.ReadFile(filepath.Join(repo, "paved-diff.md"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(comment, []byte("\nNo rendered changes.\n")) {
				t.Errorf("the diff after the commit still shows a change:\n%s", comment)
			}
		})
	}
}

// TestFleetTemplates runs the verify step of the fleet repository's CI
// templates (examples/ci/fleet-github-actions.yaml and
// fleet-gitlab-ci.yaml) as their runners do, in a checkout of a fleet that
// paved commit wrote: it passes, and fails once a rendered Deployment is
// edited by hand.
func TestFleetTemplates(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	steps := map[string]string{}
	for _, st := range workflowJobs(t, "fleet-github-actions.yaml")["verify"] {
		if strings.Contains(st.Run, "paved verify") {
			steps["github"] = "set -e\n" + st.Run
		}
	}
	{
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", "ci", "fleet-gitlab-ci.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var top map[string]json.RawMessage
		if err := yaml.Unmarshal(data, &top); err != nil {
			t.Fatal(err)
		}
		var j struct {
			Script []string `json:"script"`
		}
		if err := json.Unmarshal(top["fleet:verify"], &j); err != nil {
			t.Fatal(err)
		}
		steps["gitlab"] = "set -eo pipefail\n" + strings.Join(j.Script, "\n") + "\n"
	}
	for _, name := range []string{"github", "gitlab"} {
		if !strings.Contains(steps[name], "paved verify") {
			t.Fatalf("%s: no paved verify step", name)
		}
	}
	tmp := t.TempDir()
	t.Setenv("PAVED_CACHE_DIR", filepath.Join(tmp, "cache"))
	src := filepath.Join(tmp, "shop")
	scaffoldRepo(t, src)
	var out bytes.Buffer
	bare := filepath.Join(tmp, "fleet.git")
	gitOut(t, tmp, "init", "-q", "--bare", "-b", "main", bare)
	if code := Run([]string{"commit", ".", "--fleet", bare, "--create-branch"}, &env{stdout: &out, stderr: &out, cwd: src}); code != ExitOK {
		t.Fatalf("paved commit: exit %d\n%s", code, out.String())
	}
	checkout := filepath.Join(tmp, "fleet")
	gitOut(t, tmp, "clone", "-q", bare, checkout)
	run := func(script string) error {
		cmd := exec.Command("bash", "-c", script)
		cmd.Dir = checkout
		cmd.Env = append(os.Environ(), "CI=true")
		b, err := cmd.CombinedOutput()
		t.Logf("%s", b)
		return err
	}
	for name, script := range steps {
		if err := run(script); err != nil {
			t.Fatalf("%s: verify of the fleet paved wrote failed: %v", name, err)
		}
	}
	dep, err := filepath.Glob(filepath.Join(checkout, "apps", "prod-eu-1", "*", "shop", "apps_v1_deployment_shop.yaml"))
	if err != nil || len(dep) != 1 {
		t.Fatalf("the Deployment: %v %v", dep, err)
	}
	data, err := os.ReadFile(dep[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dep[0], append(data, []byte("# edited by hand\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	gitOut(t, checkout, "commit", "-q", "-am", "hand edit")
	for name, script := range steps {
		if err := run(script); err == nil {
			t.Fatalf("%s: verify passed a hand-edited fleet", name)
		}
	}
}

// workflowJobs reads a GitHub workflow of examples/ci: each job's steps.
func workflowJobs(t *testing.T, name string) map[string][]ghStep {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "ci", name))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []ghStep `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	out := map[string][]ghStep{}
	for id, j := range wf.Jobs {
		out[id] = j.Steps
	}
	return out
}

// scaffoldRepo makes a service repository as CI checks it out: a git
// repository with its origin (the source identity commit needs), paved
// init of the app at its root, and one commit, whose hash it returns.
func scaffoldRepo(t *testing.T, dir string) string {
	t.Helper()
	initRepoApp(t, dir, dir)
	gitOut(t, dir, "remote", "add", "origin", "https://github.com/acme/shop.git")
	gitOut(t, dir, "add", "-A")
	gitOut(t, dir, "commit", "-q", "-m", "scaffold")
	return gitOut(t, dir, "rev-parse", "HEAD")
}

// initRepoApp makes a git repository at repo and runs paved init (web,
// team identity) for the app in app, repo or a directory below it: the
// repository-level files go to repo's root.
func initRepoApp(t *testing.T, repo, app string) {
	t.Helper()
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	gitOut(t, repo, "init", "-q", "-b", "main")
	var out bytes.Buffer
	if code := Run([]string{"init", "--team", "identity", app}, &env{stdout: &out, stderr: &out, cwd: repo}); code != ExitOK {
		t.Fatalf("paved init: exit %d\n%s", code, out.String())
	}
	for _, f := range []string{".pre-commit-config.yaml", ".github/workflows/paved.yaml"} {
		if _, err := os.Stat(filepath.Join(repo, f)); err != nil {
			t.Fatalf("paved init did not write %s at the repository's root: %v\n%s", f, err, out.String())
		}
	}
}

// lineOf is the 1-based number of the line of data where s starts, 0 when
// data does not hold s.
func lineOf(data []byte, s string) int {
	i := bytes.Index(data, []byte(s))
	if i < 0 {
		return 0
	}
	return bytes.Count(data[:i], []byte("\n")) + 1
}
