package outdir

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReplacesAtomically(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fleet")
	if err := Write(dir, map[string][]byte{".paved/a.json": []byte("{}\n"), "apps/a.yaml": []byte("a\n"), "apps/old.yaml": []byte("old\n")}); err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, map[string][]byte{".paved/a.json": []byte("{}\n"), "apps/a.yaml": []byte("b\n")}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "apps/a.yaml")); string(b) != "b\n" {
		t.Errorf("apps/a.yaml = %q, want the new content", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "apps/old.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file of the previous render survived: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("temporary directories left behind: %v", entries)
	}
}

func TestWriteRefusesForeignAndUnsafe(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, map[string][]byte{"a.yaml": nil}); !errors.Is(err, ErrForeign) {
		t.Fatalf("Write into a foreign directory: %v, want ErrForeign", err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := Write(out, map[string][]byte{"../escape.yaml": nil}); err == nil {
		t.Fatal("Write accepted a path that escapes the directory")
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed Write left %s behind", out)
	}
}

// FuzzSafe: whatever Safe accepts stays inside the directory it is joined to.
func FuzzSafe(f *testing.F) {
	for _, s := range []string{"apps/a.yaml", "../x", "a/../../x", "/etc/passwd", "a//b", ".", "a\\..\\b", "./a", ".paved/apps/t/a.json"} {
		f.Add(s)
	}
	root := filepath.FromSlash("/root/fleet")
	f.Fuzz(func(t *testing.T, name string) {
		if !Safe(name) {
			return
		}
		j := filepath.Join(root, filepath.FromSlash(name))
		if j == root || !strings.HasPrefix(j, root+string(filepath.Separator)) {
			t.Fatalf("Safe(%q) but it joins to %s", name, j)
		}
	})
}

// TestWriteRefusesFleetClone: a clone of the fleet (.git, a README, Flux's
// own files and .paved/ ownership manifests, which every fleet has) is not
// an earlier render: it is refused and left byte-identical. A directory a
// previous Write left is replaced; an empty one is used; a .git next to a
// marker still refuses.
func TestWriteRefusesFleetClone(t *testing.T) {
	clone := t.TempDir()
	tree := map[string]string{
		".git/HEAD":          "ref: refs/heads/main\n",
		"README.md":          "fleet\n",
		".paved/apps/x.json": "{}\n",
		"clusters/prod-eu-1/flux-system/gotk-sync.yaml": "kind: Kustomization\n",
	}
	for name, content := range tree {
		p := filepath.Join(clone, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	snapshot := func(dir string) map[string]string {
		got := map[string]string{}
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(p)
				rel, _ := filepath.Rel(dir, p)
				got[filepath.ToSlash(rel)] = string(b)
			}
			return nil
		})
		return got
	}
	files := map[string][]byte{".paved/apps/a.json": []byte("{}\n"), "apps/a.yaml": []byte("a\n")}
	if err := Write(clone, files); !errors.Is(err, ErrForeign) {
		t.Fatalf("Write into a fleet clone: %v, want ErrForeign", err)
	}
	if got := snapshot(clone); !maps.Equal(got, tree) {
		t.Errorf("the clone changed: %v", got)
	}
	// A marker committed into the fleet does not make a clone replaceable.
	if err := os.WriteFile(filepath.Join(clone, Marker), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(clone, files); !errors.Is(err, ErrForeign) {
		t.Fatalf("Write into a fleet clone with a marker: %v, want ErrForeign", err)
	}

	empty := t.TempDir()
	if err := Write(empty, files); err != nil {
		t.Fatalf("Write into an empty directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(empty, Marker)); err != nil {
		t.Errorf("no marker: %v", err)
	}
	if err := Write(empty, map[string][]byte{"apps/b.yaml": []byte("b\n")}); err != nil {
		t.Fatalf("Write over a previous Write: %v", err)
	}
	if got := snapshot(empty); len(got) != 2 || got["apps/b.yaml"] != "b\n" || got[Marker] == "" {
		t.Errorf("after the second Write: %v", got)
	}
}
