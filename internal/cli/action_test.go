package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// TestAction runs the paved GitHub Action (action.yml) as a runner runs a
// composite action, step by step in bash, against a release served on
// 127.0.0.1 (GoReleaser's names: paved_X.Y.Z_linux_amd64.tar.gz and
// paved_X.Y.Z_checksums.txt under /vX.Y.Z/): with no version input it
// installs the action's own tag, puts paved on PATH and runs it; a
// release whose checksums file does not match its archive fails the step
// with nothing installed; a ref that is not a release tag is refused.
// actions/cache is a miss here (its step is the runner's); `make
// release-check` runs action/install.sh on a real snapshot too.
func TestAction(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	data, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Inputs map[string]struct {
			Default string `json:"default"`
		} `json:"inputs"`
		Runs struct {
			Using string   `json:"using"`
			Steps []ghStep `json:"steps"`
		} `json:"runs"`
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatal(err)
	}
	if action.Runs.Using != "composite" {
		t.Fatalf("action.yml runs %q, want composite", action.Runs.Using)
	}

	// The run: scripts, checked as actionlint checks a workflow's (it
	// does not read action metadata): with shellcheck, under CI required.
	if shellcheck, err := exec.LookPath("shellcheck"); err == nil {
		for i, s := range action.Runs.Steps {
			if s.Run == "" {
				continue
			}
			cmd := exec.Command(shellcheck, "--norc", "--shell", "bash", "-")
			cmd.Stdin = strings.NewReader(s.Run)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("action.yml step %d: shellcheck: %v\n%s", i+1, err, out)
			}
		}
		if out, err := exec.Command(shellcheck, "--norc", "../../action/install.sh").CombinedOutput(); err != nil {
			t.Errorf("action/install.sh: shellcheck: %v\n%s", err, out)
		}
	} else if ci := os.Getenv("CI"); ci != "" && ci != "false" {
		t.Error("shellcheck is not installed; CI must check the action's scripts (.ci/run installs it)")
	}

	// The release: an archive whose paved says its version.
	const tag = "v9.8.7"
	var archive bytes.Buffer
	zw := gzip.NewWriter(&archive)
	tw := tar.NewWriter(zw)
	script := []byte("#!/bin/sh\necho \"paved           " + tag + "\"\n")
	for _, f := range []struct {
		name string
		data []byte
	}{{"README.md", []byte("paved\n")}, {"paved", script}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o755, Size: int64(len(f.data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	name := "paved_9.8.7_linux_amd64.tar.gz"
	sum := sha256.Sum256(archive.Bytes())
	good := fmt.Sprintf("%s  %s\n%s  paved_9.8.7_darwin_arm64.tar.gz\n", hex.EncodeToString(sum[:]), name, strings.Repeat("0", 64))
	bad := strings.Replace(good, hex.EncodeToString(sum[:4]), "00000000", 1)
	mux := http.NewServeMux()
	for release, sums := range map[string]string{"good": good, "bad": bad} {
		mux.HandleFunc("/"+release+"/"+tag+"/paved_9.8.7_checksums.txt", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, sums) })
		mux.HandleFunc("/"+release+"/"+tag+"/"+name, func(w http.ResponseWriter, r *http.Request) { w.Write(archive.Bytes()) })
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	base := "http://" + ln.Addr().String()

	actionPath, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	expr := regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)
	// run runs the action's steps; it returns the runner's PATH additions,
	// the output and whether a step failed.
	run := func(t *testing.T, tmp string, inputs map[string]string, ref string) (path []string, output string, failed bool) {
		ctx := map[string]string{
			"github.action_ref": ref,
			"runner.os":         "Linux",
			"runner.arch":       "X64",
			"runner.tool_cache": filepath.Join(tmp, "toolcache"),
		}
		for k, in := range action.Inputs {
			ctx["inputs."+k] = in.Default
		}
		for k, v := range inputs {
			ctx["inputs."+k] = v
		}
		eval := func(s string) string {
			return expr.ReplaceAllStringFunc(s, func(m string) string {
				key := expr.FindStringSubmatch(m)[1]
				v, ok := ctx[key]
				if !ok && !strings.HasPrefix(key, "steps.") {
					t.Fatalf("action.yml: an expression the test cannot evaluate: %s", m)
				}
				return v
			})
		}
		ghPath := filepath.Join(tmp, "GITHUB_PATH")
		for i, s := range action.Runs.Steps {
			if s.If != "" {
				// The only condition: the cache missed (its output is
				// empty here).
				if s.If != "steps.cache.outputs.cache-hit != 'true'" {
					t.Fatalf("step %d: a condition the test cannot evaluate: %s", i+1, s.If)
				}
				if ctx["steps.cache.outputs.cache-hit"] == "true" {
					continue
				}
			}
			if s.Uses != "" {
				if !strings.HasPrefix(s.Uses, "actions/cache@") {
					t.Fatalf("step %d uses %s", i+1, s.Uses)
				}
				continue
			}
			if s.Shell != "bash" {
				t.Fatalf("step %d: shell %q: a composite action's run step names bash", i+1, s.Shell)
			}
			out := filepath.Join(tmp, fmt.Sprintf("output-%d", i))
			env := append(os.Environ(), "GITHUB_OUTPUT="+out, "GITHUB_PATH="+ghPath, "GITHUB_ACTION_PATH="+actionPath,
				"RUNNER_TOOL_CACHE="+ctx["runner.tool_cache"], "RUNNER_OS=Linux", "RUNNER_ARCH=X64")
			for k, v := range s.Env {
				env = append(env, k+"="+eval(v))
			}
			o, err := runScript(t, tmp, env, githubShell(t, s.Name, s.Shell), eval(s.Run))
			output += o
			if err != nil {
				return nil, output, true
			}
			if data, err := os.ReadFile(out); err == nil {
				for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
					if k, v, ok := strings.Cut(l, "="); ok && s.ID != "" {
						ctx["steps."+s.ID+".outputs."+k] = v
					}
				}
			}
		}
		if data, err := os.ReadFile(ghPath); err == nil {
			path = strings.Fields(string(data))
		}
		return path, output, false
	}

	t.Run("installs", func(t *testing.T) {
		path, out, failed := run(t, t.TempDir(), map[string]string{"base-url": base + "/good"}, tag)
		if failed || len(path) != 1 {
			t.Fatalf("the action failed or added %d directories to PATH:\n%s", len(path), out)
		}
		if !strings.Contains(out, "paved           "+tag) {
			t.Errorf("the action did not run the installed paved:\n%s", out)
		}
		v, err := exec.Command(filepath.Join(path[0], "paved")).Output()
		if err != nil || !strings.Contains(string(v), tag) {
			t.Errorf("the paved on PATH: %v, %s", err, v)
		}
	})
	t.Run("checksum mismatch", func(t *testing.T) {
		tmp := t.TempDir()
		path, out, failed := run(t, tmp, map[string]string{"base-url": base + "/bad", "version": tag}, "main")
		if !failed || !strings.Contains(out, "::error title=paved install::"+name+": SHA-256") || len(path) != 0 {
			t.Fatalf("a checksum mismatch was not refused:\n%s", out)
		}
		if _, err := os.Stat(filepath.Join(tmp, "toolcache")); !os.IsNotExist(err) {
			t.Errorf("a refused install wrote into the tool cache (%v)", err)
		}
	})
	t.Run("not a release", func(t *testing.T) {
		_, out, failed := run(t, t.TempDir(), map[string]string{"base-url": base + "/good"}, "main")
		if !failed || !strings.Contains(out, "is not a release tag") {
			t.Fatalf("a branch ref was not refused:\n%s", out)
		}
	})
}
