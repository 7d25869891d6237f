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
	"runtime"
	"strings"

	"github.com/paved-dev/paved/internal/workpool"
)

// Marker is the file Write leaves at the root of every directory it
// writes; Write replaces only a directory holding it (or an empty or
// missing one). It is not .paved/: every fleet clone has that, and a fleet
// commit never writes Marker.
const Marker = ".paved-render-out"

// markerText is Marker's content.
const markerText = "This directory was written by paved render --out, which replaces it as a whole.\n"

// ErrForeign is returned when the target holds files paved did not render.
var ErrForeign = errors.New("the directory exists and was not written by paved render --out (no " + Marker + " inside, or a .git): refusing to replace it; choose a new or empty directory")

// Write replaces dir with exactly files (slash-separated relative paths to
// content) and Marker. dir must be missing, empty or a previous Write's
// (holding Marker and no .git); anything else is ErrForeign, untouched.
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
			// A git work tree (a fleet clone) is never replaced, whatever
			// it holds: its Marker could have been committed by anyone.
			if _, err := os.Lstat(filepath.Join(dir, ".git")); !errors.Is(err, os.ErrNotExist) {
				return ErrForeign
			}
			if fi, err := os.Lstat(filepath.Join(dir, Marker)); err != nil || !fi.Mode().IsRegular() {
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
	names := make([]string, 0, len(files))
	dirs := map[string]bool{}
	for name := range files {
		if !Safe(name) || name == Marker {
			return fmt.Errorf("refusing to write %q: not a relative path inside the output directory", name)
		}
		names = append(names, name)
		dirs[path.Dir(name)] = true
	}
	for d := range dirs {
		if err := os.MkdirAll(filepath.Join(tmp, filepath.FromSlash(d)), 0o755); err != nil {
			return err
		}
	}
	// Writing many small files is bound by the file system's latency, not
	// by the CPU: a few writers per core.
	errs := make([]error, len(names))
	workpool.Run(len(names), 4*runtime.GOMAXPROCS(0), func(_, i int) {
		errs[i] = os.WriteFile(filepath.Join(tmp, filepath.FromSlash(names[i])), files[names[i]], 0o644)
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, Marker), []byte(markerText), 0o644); err != nil {
		return err
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
		return removeAll(old)
	}
	return nil
}

// removeAll removes dir like os.RemoveAll, its subdirectories in parallel.
func removeAll(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return os.RemoveAll(dir)
	}
	errs := make([]error, len(entries))
	workpool.Run(len(entries), 4*runtime.GOMAXPROCS(0), func(_, i int) {
		sub := filepath.Join(dir, entries[i].Name())
		if entries[i].IsDir() {
			if inner, err := os.ReadDir(sub); err == nil && len(inner) > 1 {
				errs[i] = removeAll(sub)
				return
			}
		}
		errs[i] = os.RemoveAll(sub)
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.Remove(dir)
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
