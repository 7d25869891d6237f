package gitsource

import (
	"os"
	"path/filepath"
	"slices"
)

// Root is the root of the work tree of the git repository that holds dir,
// found as git finds it: the nearest directory at or above dir with a
// .git entry (a directory, or the file of a linked work tree or a
// submodule), not looking into or above a directory GIT_CEILING_DIRECTORIES
// names. dir need not exist yet (paved init names a directory it is about
// to create). Root is "" when no repository holds dir.
func Root(dir string) string {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	var ceilings []string
	for _, c := range filepath.SplitList(os.Getenv("GIT_CEILING_DIRECTORIES")) {
		if filepath.IsAbs(c) {
			ceilings = append(ceilings, filepath.Clean(c))
		}
	}
	for d := filepath.Clean(dir); ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d || slices.Contains(ceilings, parent) {
			return ""
		}
		d = parent
	}
}
