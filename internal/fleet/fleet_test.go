package fleet

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestReadURLClosed: a fleet read from a URL on disk is cloned into a
// temporary directory, where its pack stays compressed; Close removes it,
// and the snapshot finds no file after it.
func TestReadURLClosed(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	work := filepath.Join(t.TempDir(), "fleet")
	file := filepath.Join(work, "apps", "dev-eu-1", "search", "api", "kustomization.yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("resources: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "render"},
	} {
		if out, err := exec.Command("git", append([]string{"-C", work}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	s, err := ReadWith(context.Background(), "file://"+work, "main", ReadOptions{OnDisk: true})
	if err != nil {
		t.Fatal(err)
	}
	clones, _ := filepath.Glob(filepath.Join(tmp, "paved-fleet-*"))
	if len(clones) != 1 {
		t.Fatalf("clones in TMPDIR: %v, want one", clones)
	}
	const p = "apps/dev-eu-1/search/api/kustomization.yaml"
	if data, ok := s.File(p); !ok || string(data) != "resources: []\n" {
		t.Fatalf("File(%s) = %q, %v", p, data, ok)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if clones, _ := filepath.Glob(filepath.Join(tmp, "paved-fleet-*")); len(clones) != 0 {
		t.Errorf("Close left %v", clones)
	}
	if _, ok := s.File(p); ok {
		t.Errorf("File(%s) after Close found the file", p)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// In memory (the default), nothing is written to TMPDIR.
	s, err = Read(context.Background(), "file://"+work, "main")
	if err != nil {
		t.Fatal(err)
	}
	if clones, _ := filepath.Glob(filepath.Join(tmp, "*")); len(clones) != 0 {
		t.Errorf("an in-memory read wrote %v", clones)
	}
	if data, ok := s.File(p); !ok || string(data) != "resources: []\n" {
		t.Fatalf("File(%s) = %q, %v", p, data, ok)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
