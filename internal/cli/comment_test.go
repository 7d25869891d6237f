package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/paved-dev/paved/internal/diff"
)

// fakeGitHub implements the three endpoints paved comment uses, with
// pagination, and records every request.
type fakeGitHub struct {
	mu       sync.Mutex
	comments []map[string]any
	requests []string
	t        *testing.T
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	if got := r.Header.Get("Authorization"); got != "Bearer t0ken" {
		f.t.Errorf("Authorization %q", got)
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/repos/acme/app/issues/7/comments":
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		per := 2 // small pages so pagination is exercised
		lo, hi := (page-1)*per, min(page*per, len(f.comments))
		if hi < len(f.comments) {
			w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?page=%d&per_page=100>; rel="next"`, r.Host, r.URL.Path, page+1))
		}
		_ = json.NewEncoder(w).Encode(f.comments[min(lo, hi):hi])
	case r.Method == http.MethodPost && r.URL.Path == "/repos/acme/app/issues/7/comments":
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		in["id"] = 100 + len(f.comments)
		f.comments = append(f.comments, in)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(in)
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/repos/acme/app/issues/comments/"):
		id, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/repos/acme/app/issues/comments/"))
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		for _, c := range f.comments {
			if c["id"] == float64(id) || c["id"] == id {
				c["body"] = in["body"]
				_ = json.NewEncoder(w).Encode(c)
				return
			}
		}
		http.NotFound(w, r)
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

func (f *fakeGitHub) count(prefix string) int {
	n := 0
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func TestComment(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main", ".")
	git("commit", "-q", "--allow-empty", "-m", "one")
	older := git("rev-parse", "HEAD")
	git("commit", "-q", "--allow-empty", "-m", "two")
	newer := git("rev-parse", "HEAD")

	f := &fakeGitHub{t: t, comments: []map[string]any{
		{"id": 1, "body": "LGTM"}, {"id": 2, "body": "please rebase"}, {"id": 3, "body": "ok"},
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	t.Setenv("GITHUB_TOKEN", "t0ken")
	run := func(body string) (int, string) {
		p := filepath.Join(dir, "body.md")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		code := Run([]string{"comment", "--repo", "acme/app", "--pr", "7", "--body-file", "body.md", "--api-url", srv.URL}, &env{stdout: &out, stderr: &errb, cwd: dir})
		return code, out.String() + errb.String()
	}

	// No paved comment on any page: create one.
	code, out := run(diff.MarkerLine(newer) + "\n### diff for two\n")
	if code != 0 || !strings.Contains(out, "created comment") {
		t.Fatalf("create: exit %d: %s", code, out)
	}
	if n := f.count("GET "); n != 2 {
		t.Errorf("listed %d pages, want 2", n)
	}
	// It exists (on page 2 now): update in place, no new comment.
	code, out = run(diff.MarkerLine(newer) + "\nNo rendered changes.\n")
	if code != 0 || !strings.Contains(out, "updated comment 103") || f.count("POST ") != 1 || f.count("PATCH ") != 1 {
		t.Fatalf("update: exit %d: %s\n%v", code, out, f.requests)
	}
	if !strings.Contains(f.comments[3]["body"].(string), "No rendered changes.") {
		t.Errorf("a no-changes body did not replace the stale diff: %v", f.comments[3])
	}
	// A body for an older head never overwrites the newer comment.
	code, out = run(diff.MarkerLine(older) + "\n### diff for one\n")
	if code != 0 || !strings.Contains(out, "left comment 103 alone") || f.count("PATCH ") != 1 {
		t.Fatalf("stale guard: exit %d: %s", code, out)
	}
	// A body that is not paved's is refused; a missing token is invalid input.
	if code, _ := run("hello\n"); code != ExitInvalid {
		t.Errorf("foreign body: exit %d", code)
	}
	t.Setenv("GITHUB_TOKEN", "")
	if code, out := run(diff.MarkerLine(newer) + "\n"); code != ExitInvalid || !strings.Contains(out, "GITHUB_TOKEN") {
		t.Errorf("no token: exit %d: %s", code, out)
	}
}
