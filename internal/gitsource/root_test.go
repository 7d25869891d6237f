package gitsource

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRoot(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("GIT_CEILING_DIRECTORIES", tmp)
	repo := filepath.Join(tmp, "repo")
	linked := filepath.Join(tmp, "linked")
	for _, d := range []string{filepath.Join(repo, ".git"), filepath.Join(repo, "svc"), linked} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A linked work tree (git worktree add) has a .git file.
	if err := os.WriteFile(filepath.Join(linked, ".git"), []byte("gitdir: "+repo+"/.git/worktrees/linked\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, want string }{
		{repo, repo},
		{filepath.Join(repo, "svc"), repo},
		{filepath.Join(repo, "svc", "not", "yet", "made"), repo},
		{filepath.Join(linked, "app"), linked},
		{filepath.Join(tmp, "lone", "app"), ""},
	} {
		if got := Root(c.dir); got != c.want {
			t.Errorf("Root(%s) = %q, want %q", c.dir, got, c.want)
		}
	}
	// Above the ceiling nothing is looked for, as git does not.
	t.Setenv("GIT_CEILING_DIRECTORIES", repo)
	if got := Root(filepath.Join(repo, "svc", "app")); got != "" {
		t.Errorf("Root below a ceiling at the repository = %q, want none", got)
	}
}
