package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/paved-dev/paved/internal/memtune"
)

func TestMain(m *testing.M) {
	testscript.Main(removeBenchFleets{m}, map[string]func(){
		"paved": func() { os.Exit(Main()) },
	})
}

// removeBenchFleets removes the monorepos the benchmarks generated (up to
// 5,000 apps) once the tests and benchmarks have run. A benchmark run
// collects garbage as the paved binary does (cli.Main starts memtune), so
// that its figures are the command's.
type removeBenchFleets struct{ m *testing.M }

func (r removeBenchFleets) Run() int {
	if !flag.Parsed() {
		flag.Parse()
	}
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		memtune.Start()
	}
	code := r.m.Run()
	if fleetDir != "" {
		os.RemoveAll(fleetDir)
	}
	return code
}

// TestScripts runs the CLI scripts in testdata/script. PAVED_UPDATE=1
// rewrites the expected outputs in the scripts (review the diff!).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script"),
		UpdateScripts:       os.Getenv("PAVED_UPDATE") != "",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(e.WorkDir))
			// Each script has its own cache, outside $WORK.
			e.Setenv("PAVED_CACHE_DIR", e.WorkDir+"-cache")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// killtrials N SRCAPP FLEET: N times, rewrite SRCAPP/app.cue
			// with a new image tag, start `paved commit SRCAPP --fleet
			// FLEET --create-branch`, kill it after a random delay, and require the fleet
			// repository to stay valid (git fsck --strict).
			"killtrials": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 3 {
					ts.Fatalf("usage: killtrials N SRCAPP FLEET")
				}
				n, err := strconv.Atoi(args[0])
				ts.Check(err)
				paved, err := lookPath("paved", ts.Getenv("PATH"))
				ts.Check(err)
				spec, err := os.ReadFile(ts.MkAbs(filepath.Join(args[1], "app.cue")))
				ts.Check(err)
				killed := 0
				for i := range n {
					next := strings.Replace(string(spec), ":1.0.0", fmt.Sprintf(":1.0.%d", i+1), 1)
					ts.Check(os.WriteFile(ts.MkAbs(filepath.Join(args[1], "app.cue")), []byte(next), 0o644))
					cmd := exec.Command(paved, "commit", args[1], "--source", "local", "--fleet", args[2], "--create-branch")
					cmd.Dir = ts.Getenv("WORK")
					cmd.Env = append(os.Environ(), "HOME="+ts.Getenv("HOME"), "SOURCE_DATE_EPOCH=1700000000")
					// Its own process group, killed as a whole, as a CI
					// runner or a terminal kills a job: go-git pushes to a
					// local repository through a git-receive-pack child,
					// which would otherwise go on after paved and overlap
					// the next trial's push.
					cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
					ts.Check(cmd.Start())
					time.Sleep(time.Duration(rand.IntN(900)) * time.Millisecond)
					_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					_ = cmd.Wait()
					if !cmd.ProcessState.Exited() {
						killed++ // ended by the signal, not by itself
					}
					for deadline := time.Now().Add(10 * time.Second); syscall.Kill(-cmd.Process.Pid, 0) == nil; {
						if time.Now().After(deadline) {
							ts.Fatalf("trial %d: the killed commit's processes are still running", i)
						}
						time.Sleep(10 * time.Millisecond)
					}
					fsck := exec.Command("git", "-C", ts.MkAbs(args[2]), "fsck", "--strict")
					if out, err := fsck.CombinedOutput(); err != nil {
						ts.Fatalf("trial %d: fleet invalid after kill: %v\n%s", i, err, out)
					}
				}
				ts.Logf("%d trials, %d processes killed before they finished", n, killed)
			},
			// gitserve ROOT: serve the bare repositories under ROOT over
			// smart HTTP (git http-backend) on 127.0.0.1 until the script
			// ends; sets GITURL to the server's base URL.
			// With -token T, every request must carry T as its basic-auth
			// password.
			"gitserve": func(ts *testscript.TestScript, neg bool, args []string) {
				token := ""
				if len(args) == 3 && args[0] == "-token" {
					token, args = args[1], args[2:]
				}
				if len(args) != 1 {
					ts.Fatalf("usage: gitserve [-token T] ROOT")
				}
				gitPath, err := exec.LookPath("git")
				ts.Check(err)
				var h http.Handler = &cgi.Handler{
					Path: gitPath,
					Args: []string{"http-backend"},
					Env:  []string{"GIT_PROJECT_ROOT=" + ts.MkAbs(args[0]), "GIT_HTTP_EXPORT_ALL=1"},
				}
				if token != "" {
					backend := h
					h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if _, pw, ok := r.BasicAuth(); !ok || pw != token {
							w.Header().Set("WWW-Authenticate", `Basic realm="fleet"`)
							http.Error(w, "a fleet token is required", http.StatusUnauthorized)
							return
						}
						backend.ServeHTTP(w, r)
					})
				}
				srv := httptest.NewServer(h)
				ts.Defer(srv.Close)
				ts.Setenv("GITURL", srv.URL)
			},
			// exits CODE PROGRAM [ARGS...]: run PROGRAM as exec does and
			// require it to exit with CODE (the documented exit codes);
			// stdout and stderr are kept for the commands that follow.
			"exits": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exits CODE PROGRAM [ARGS...]")
				}
				want, err := strconv.Atoi(args[0])
				ts.Check(err)
				got := 0
				if err := ts.Exec(args[1], args[2:]...); err != nil {
					var ee *exec.ExitError
					if !errors.As(err, &ee) {
						ts.Fatalf("%s: %v", args[1], err)
					}
					got = ee.ExitCode()
				}
				if got != want {
					ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
				}
			},
			// pendingmatches PENDING DIR: every file of the pending release
			// PENDING (a .paved/pending/... record) is byte for byte the
			// file of the fleet checkout DIR, and DIR holds no other file
			// of the app in the release's clusters.
			"pendingmatches": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: pendingmatches PENDING DIR")
				}
				var pend struct {
					Team, App string
					Clusters  []string
					Files     map[string]string
				}
				ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &pend))
				if len(pend.Files) == 0 {
					ts.Fatalf("%s holds no files", args[0])
				}
				var bad []string
				for f, want := range pend.Files {
					got, err := os.ReadFile(filepath.Join(ts.MkAbs(args[1]), f))
					if err != nil || string(got) != want {
						bad = append(bad, f)
					}
				}
				for _, c := range pend.Clusters {
					dir := filepath.Join(ts.MkAbs(args[1]), "apps", c, pend.Team, pend.App)
					entries, _ := os.ReadDir(dir)
					for _, e := range entries {
						if _, ok := pend.Files["apps/"+c+"/"+pend.Team+"/"+pend.App+"/"+e.Name()]; !ok {
							bad = append(bad, "extra "+e.Name())
						}
					}
				}
				if (len(bad) > 0) != neg {
					ts.Fatalf("pending files that differ: %v (negated: %v)", bad, neg)
				}
			},
			// setenvre NAME REGEXP FILE: sets NAME to the first submatch of
			// REGEXP in FILE (fails without a match).
			"setenvre": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 3 {
					ts.Fatalf("usage: setenvre NAME REGEXP FILE")
				}
				m := regexp.MustCompile(args[1]).FindStringSubmatch(ts.ReadFile(args[2]))
				if len(m) < 2 {
					ts.Fatalf("%s: no match for %s", args[2], args[1])
				}
				ts.Setenv(args[0], m[1])
			},
			// fakeregistry IMAGE...: an OCI distribution registry on
			// 127.0.0.1 holding the manifests of IMAGE (repository:tag, no
			// host) until the script ends; sets REGISTRY to its URL.
			"fakeregistry": func(ts *testscript.TestScript, neg bool, args []string) {
				have := map[string]bool{}
				for _, a := range args {
					repo, tag, _ := strings.Cut(a, ":")
					have["/v2/"+repo+"/manifests/"+tag] = true
				}
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					switch {
					case r.URL.Path == "/v2/":
						w.WriteHeader(http.StatusOK)
					case have[r.URL.Path]:
						w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
						w.Header().Set("Docker-Content-Digest", "sha256:0000000000000000000000000000000000000000000000000000000000000000")
						w.Header().Set("Content-Length", "2")
						w.WriteHeader(http.StatusOK)
					default:
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(http.StatusNotFound)
						fmt.Fprint(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`)
					}
				}))
				ts.Defer(srv.Close)
				ts.Setenv("REGISTRY", srv.URL)
			},
			// fakegithub FILE: the GitHub API's pull requests on 127.0.0.1
			// until the script ends (a pull request created is recorded in
			// FILE.created.json), read from FILE at each request (lines
			// "OWNER/NAME N open|closed|500"; a 500 answers every request
			// with a server error); sets GITHUB_API_URL.
			"fakegithub": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: fakegithub FILE")
				}
				file := ts.MkAbs(args[0])
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					// A pull request opened (paved promote --pr): its
					// request body goes to FILE.created.json; it is #42.
					if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/pulls") {
						body, _ := io.ReadAll(r.Body)
						_ = os.WriteFile(file+".created.json", body, 0o644)
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(http.StatusCreated)
						fmt.Fprint(w, `{"number":42,"state":"open"}`)
						return
					}
					data, _ := os.ReadFile(file)
					for _, line := range strings.Split(string(data), "\n") {
						f := strings.Fields(line)
						if len(f) == 1 && f[0] == "500" {
							http.Error(w, `{"message":"server error"}`, http.StatusInternalServerError)
							return
						}
						if len(f) == 3 && r.URL.Path == "/repos/"+f[0]+"/pulls/"+f[1] {
							w.Header().Set("Content-Type", "application/json")
							fmt.Fprintf(w, `{"number":%s,"state":%q}`, f[1], f[2])
							return
						}
					}
					http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
				}))
				ts.Defer(srv.Close)
				ts.Setenv("GITHUB_API_URL", srv.URL+"/")
			},
			// mkfile SIZE NAME: a file of SIZE bytes of CUE comment text.
			"mkfile": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: mkfile SIZE NAME")
				}
				n, err := strconv.Atoi(args[0])
				ts.Check(err)
				b := make([]byte, n)
				for i := range b {
					b[i] = '/'
					if i%80 == 79 {
						b[i] = '\n'
					}
				}
				ts.Check(os.MkdirAll(filepath.Dir(ts.MkAbs(args[1])), 0o755))
				ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o644))
			},
		},
	})
}

// lookPath finds a program in a PATH list.
func lookPath(name, path string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH", name)
}
