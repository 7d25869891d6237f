package outdir

import (
	"errors"
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
