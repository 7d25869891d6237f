package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// stops holds what must be stopped when the test ends, fails, times out
// or is interrupted: run by t.Cleanup, by TestMain after the tests, and by
// the signal handler, whichever comes first, each function once, last
// registered first.
var stops stopStack

// stopAll are stopped when the whole run ends (what every scenario shares).
var stopAll stopStack

type stopStack struct {
	mu  sync.Mutex
	fns []func()
}

func (s *stopStack) push(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fns = append(s.fns, f)
}

func (s *stopStack) run() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.fns) > 0 {
		f := s.fns[len(s.fns)-1]
		s.fns = s.fns[:len(s.fns)-1]
		f()
	}
}

func TestMain(m *testing.M) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "e2e: %v: stopping everything the test started\n", s)
		stops.run()
		os.Exit(2)
	}()
	code := m.Run()
	stops.run()
	stopAll.run()
	os.Exit(code)
}

// binaries are the programs build.sh built, named by the environment.
type binaries struct {
	apiserver, etcd, sourceController, kustomizeController string
	crds                                                   []string
}

// lookupBinaries reads the environment build.sh prints. The test skips
// unless PAVED_E2E=1, and fails when that is set and a binary is missing.
func lookupBinaries(t *testing.T) binaries {
	t.Helper()
	if os.Getenv("PAVED_E2E") != "1" {
		t.Skip("end-to-end test: run `make e2e` (or set PAVED_E2E=1 and the variables internal/e2e/build.sh prints)")
	}
	var missing []string
	bin := func(name string) string {
		p := os.Getenv(name)
		if fi, err := os.Stat(p); p == "" || err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, fmt.Sprintf("%s=%q is not an executable file", name, p))
		}
		return p
	}
	b := binaries{
		apiserver:           bin("PAVED_E2E_KUBE_APISERVER"),
		etcd:                bin("PAVED_E2E_ETCD"),
		sourceController:    bin("PAVED_E2E_SOURCE_CONTROLLER"),
		kustomizeController: bin("PAVED_E2E_KUSTOMIZE_CONTROLLER"),
	}
	for _, p := range filepath.SplitList(os.Getenv("PAVED_E2E_CRDS")) {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, fmt.Sprintf("PAVED_E2E_CRDS: %v", err))
		}
		b.crds = append(b.crds, p)
	}
	if len(b.crds) == 0 {
		missing = append(missing, "PAVED_E2E_CRDS names no CRD files")
	}
	if len(missing) > 0 {
		t.Fatalf("PAVED_E2E=1 but the binaries are not there (run internal/e2e/build.sh):\n  %s", strings.Join(missing, "\n  "))
	}
	return b
}

// freePort returns a TCP port free on 127.0.0.1 at the time of the call.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// process is a program the harness runs, in its own process group (so a
// terminal's interrupt reaches the harness, which stops it) and killed by
// the kernel should the harness die first.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	err     error // after exited is closed
	stopped bool
	mu      sync.Mutex
}

func startProcess(t *testing.T, name, logDir string, env []string, path string, args ...string) *process {
	t.Helper()
	p := &process{name: name, logPath: filepath.Join(logDir, name+".log"), exited: make(chan struct{})}
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(path, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	stops.push(p.stop)
	return p
}

// stop terminates the process group: SIGTERM, then SIGKILL after 15s.
func (p *process) stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	}
}

// dead reports an error when the process exited without being stopped.
func (p *process) dead() error {
	select {
	case <-p.exited:
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.stopped {
			return fmt.Errorf("%s exited: %v\n%s", p.name, p.err, p.tail(40))
		}
	default:
	}
	return nil
}

// tail returns the last n lines of the process's log.
func (p *process) tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("--- last %d lines of %s ---\n%s", len(lines), p.logPath, strings.Join(lines, "\n"))
}

// serveGit serves the bare repositories under root over smart HTTP (git
// http-backend behind net/http/cgi) on 127.0.0.1 and returns the base URL.
func serveGit(t *testing.T, root string) string {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	h := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1"},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	stops.push(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	})
	return "http://" + l.Addr().String()
}

// run runs a command in dir and returns its standard output; it fails the
// test with the command's output when it fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := runErr(dir, env, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func runErr(dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s (in %s): %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), dir, err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// gitEnv isolates git from the user's and the system's configuration.
var gitEnv = []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull, "GIT_TERMINAL_PROMPT=0"}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	return strings.TrimSpace(run(t, dir, gitEnv, "git", append([]string{"-c", "user.name=e2e", "-c", "user.email=e2e@paved.dev"}, args...)...))
}

// copyDir copies the regular files of the tree src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, 0o644)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// object is one rendered Kubernetes object: one file of the fleet.
type object struct {
	file       string // relative to the fleet root
	app        string // team/app, or tenant/<team>, or flux/<cluster>
	raw        []byte
	apiVersion string
	kind       string
	namespace  string
	name       string
	doc        map[string]any
}

func (o object) String() string {
	ns := o.namespace
	if ns != "" {
		ns += "/"
	}
	return fmt.Sprintf("%s %s%s", o.kind, ns, o.name)
}

// clusterObjects reads the objects paved rendered for one cluster in a
// fleet work tree: the Flux objects under clusters/<cluster>/paved and the
// objects under tenants/<cluster> and apps/<cluster>, sorted by file.
func clusterObjects(t *testing.T, fleet, cluster string) []object {
	t.Helper()
	var objs []object
	for _, dir := range []string{"clusters/" + cluster + "/paved", "tenants/" + cluster, "apps/" + cluster} {
		root := filepath.Join(fleet, filepath.FromSlash(dir))
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == root {
					return filepath.SkipDir
				}
				return err
			}
			if d.IsDir() || !strings.HasSuffix(p, ".yaml") || d.Name() == "kustomization.yaml" {
				return nil
			}
			rel, _ := filepath.Rel(fleet, p)
			rel = filepath.ToSlash(rel)
			raw, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			var doc map[string]any
			if err := yaml.Unmarshal(raw, &doc); err != nil {
				return fmt.Errorf("%s: %v", rel, err)
			}
			o := object{file: rel, raw: raw, doc: doc}
			o.apiVersion, _ = doc["apiVersion"].(string)
			o.kind, _ = doc["kind"].(string)
			meta, _ := doc["metadata"].(map[string]any)
			o.name, _ = meta["name"].(string)
			o.namespace, _ = meta["namespace"].(string)
			if o.apiVersion == "" || o.kind == "" || o.name == "" {
				return fmt.Errorf("%s: not a Kubernetes object (apiVersion, kind, metadata.name)", rel)
			}
			parts := strings.Split(rel, "/")
			switch parts[0] {
			case "apps":
				o.app = parts[2] + "/" + parts[3]
			case "tenants":
				o.app = "tenant/" + parts[2]
			default:
				o.app = "flux/" + cluster
			}
			objs = append(objs, o)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].file < objs[j].file })
	return objs
}

// clusters lists the clusters of a fleet work tree.
func clusters(t *testing.T, fleet string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(fleet, "clusters"))
	if err != nil {
		t.Fatal(err)
	}
	var cs []string
	for _, e := range ents {
		if e.IsDir() {
			cs = append(cs, e.Name())
		}
	}
	return cs
}

// checkout writes the tree of the fleet repository's commit sha into a
// new directory under dir.
func checkout(t *testing.T, bare, dir, sha string) string {
	t.Helper()
	out := filepath.Join(dir, "fleet-"+sha[:12])
	git(t, dir, "clone", "-q", bare, out)
	git(t, out, "checkout", "-q", "--detach", sha)
	return out
}

// waitFor polls cond every 500ms until it reports done, ctx ends or
// timeout passes; on failure the test fails with desc, cond's last
// report and diagnose's output.
func waitFor(parent context.Context, t *testing.T, timeout time.Duration, desc string, cond func(ctx context.Context) (done bool, report string), diagnose func() string) time.Duration {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var report string
	for {
		var done bool
		done, report = cond(ctx)
		if done {
			return time.Since(start).Round(100 * time.Millisecond)
		}
		select {
		case <-ctx.Done():
			why := ""
			if parent.Err() != nil {
				why = " (the end of the test's -timeout is near)"
			}
			t.Fatalf("timed out after %v%s waiting for %s\n%s\n%s", time.Since(start).Round(time.Second), why, desc, report, diagnose())
		case <-tick.C:
		}
	}
}

// indent prefixes each line of s with indent.
func indent(s, prefix string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		b.WriteString(prefix + sc.Text() + "\n")
	}
	return b.String()
}
