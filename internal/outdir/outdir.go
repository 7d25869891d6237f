// Package outdir writes a rendered tree into a directory atomically: all
// files go to a temporary sibling directory that is renamed into place, so
// readers see the old tree or the new one, never a mix, and nothing is left
// behind on error.
package outdir

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Marker is the directory whose presence shows that paved rendered a
// directory; Write replaces only such directories (or empty ones).
const Marker = ".paved"

// ErrForeign is returned when the target holds files paved did not render.
var ErrForeign = errors.New("the directory exists and was not rendered by paved (no .paved inside): refusing to replace it")

// Write replaces dir with exactly files (slash-separated relative paths to
// content). dir must be missing, empty or a previous paved render.
func Write(dir string, files map[string][]byte) (err error) {
	dir = filepath.Clean(dir)
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", dir)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			if fi, err := os.Stat(filepath.Join(dir, Marker)); err != nil || !fi.IsDir() {
				return ErrForeign
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	for name, data := range files {
		if !Safe(name) {
			return fmt.Errorf("refusing to write %q: not a relative path inside the output directory", name)
		}
		p := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			_ = os.Rename(old, dir)
		}
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// Safe reports whether name is a clean, relative, slash-separated path that
// stays inside the directory it is joined to.
func Safe(name string) bool {
	if name == "" || strings.Contains(name, "\\") || strings.ContainsRune(name, 0) || path.IsAbs(name) {
		return false
	}
	if path.Clean(name) != name || name == "." {
		return false
	}
	return name != ".." && !strings.HasPrefix(name, "../")
}
