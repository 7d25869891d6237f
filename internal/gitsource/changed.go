package gitsource

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Dir is a directory whose files --changed compares with a revision.
type Dir struct {
	Path string // absolute
	// Files are the working tree's files of interest, by slash path
	// relative to Path; nil means every regular file below Path, read
	// from disk.
	Files map[string][]byte
	// Match selects the files of interest by slash path relative to Path;
	// nil matches every file.
	Match func(rel string) bool
}

// ChangedDirs reports, for each dir, whether its files of interest differ
// between the working tree and ref in the repository holding start:
// committed changes since ref, staged and unstaged edits, new and deleted
// files alike. With ref "HEAD" that is exactly what a commit in progress
// touches.
//
// Only the given directories are compared, by git blob hash, against the
// ref's tree: a --changed run in a large monorepo hashes a few thousand
// small files instead of computing the status of the whole work tree.
func ChangedDirs(start, ref string, dirs []Dir) (_ []bool, err error) {
	r, err := git.PlainOpenWithOptions(start, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		if errors.Is(err, git.ErrRepositoryNotExists) {
			return nil, fmt.Errorf("--changed needs a git repository: %s is not in one", start)
		}
		return nil, err
	}
	wt, err := r.Worktree()
	if err != nil {
		return nil, err
	}
	// The same repository with its packfiles kept open: go-git otherwise
	// opens the packfile again for every object it reads, and this walk
	// reads a tree object per app directory.
	if fsys, ok := r.Storer.(*filesystem.Storage); ok {
		s := filesystem.NewStorageWithOptions(fsys.Filesystem(), cache.NewObjectLRUDefault(), filesystem.Options{KeepDescriptors: true})
		defer func() {
			if cerr := s.Close(); err == nil {
				err = cerr
			}
		}()
		if r, err = git.Open(s, wt.Filesystem); err != nil {
			return nil, err
		}
	}
	root := wt.Filesystem.Root()
	if ref == "" {
		ref = "HEAD"
	}
	var tree *object.Tree // nil: a repository without commits yet
	h, err := r.ResolveRevision(plumbing.Revision(ref))
	switch {
	case ref == "HEAD" && errors.Is(err, plumbing.ErrReferenceNotFound):
		// Before the first commit every file is new.
	case err != nil:
		return nil, fmt.Errorf("resolving %s: %w", ref, err)
	default:
		if tree, err = treeOf(r, *h); err != nil {
			return nil, fmt.Errorf("reading %s: %w", ref, err)
		}
	}
	// Subtrees by slash path: apps share their parents, and go-git's
	// Tree.Tree decodes every tree on the way down at each call.
	trees := map[string]*object.Tree{".": tree}
	var subtree func(rel string) (*object.Tree, error)
	subtree = func(rel string) (*object.Tree, error) {
		if t, ok := trees[rel]; ok || tree == nil {
			return t, nil
		}
		parent, base := path.Split(rel)
		pt, err := subtree(strings.TrimSuffix(cmp.Or(parent, "."), "/"))
		if err != nil || pt == nil {
			trees[rel] = nil
			return nil, err
		}
		t, err := pt.Tree(base)
		if errors.Is(err, object.ErrDirectoryNotFound) {
			t, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		trees[rel] = t
		return t, nil
	}
	out := make([]bool, len(dirs))
	for i, d := range dirs {
		match := d.Match
		if match == nil {
			match = func(string) bool { return true }
		}
		rel, err := filepath.Rel(root, d.Path)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			out[i] = true // outside the repository: nothing to compare with
			continue
		}
		at := map[string]plumbing.Hash{}
		rel = filepath.ToSlash(rel)
		sub, err := subtree(rel)
		if err != nil {
			return nil, fmt.Errorf("reading %s at %s: %w", rel, ref, err)
		}
		if sub != nil {
			w := object.NewTreeWalker(sub, true, nil)
			for {
				name, e, err := w.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					w.Close()
					return nil, fmt.Errorf("reading %s at %s: %w", rel, ref, err)
				}
				if e.Mode.IsFile() && match(name) {
					at[name] = e.Hash
				}
			}
			w.Close()
		}
		files := d.Files
		if files == nil {
			if files, err = readAll(d.Path); err != nil {
				return nil, err
			}
		}
		n := 0
		for name, data := range files {
			if !match(name) {
				continue
			}
			n++
			if want, ok := at[name]; !ok || plumbing.ComputeHash(plumbing.BlobObject, data) != want {
				out[i] = true
				break
			}
		}
		if n != len(at) {
			out[i] = true // a file was deleted
		}
	}
	return out, nil
}

// readAll reads every regular file below dir, by slash path relative to
// it; a missing dir has no files.
func readAll(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !e.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = data
		return nil
	})
	return out, err
}

func treeOf(r *git.Repository, h plumbing.Hash) (*object.Tree, error) {
	c, err := r.CommitObject(h)
	if err != nil {
		return nil, err
	}
	return c.Tree()
}

// ErrUnknownAncestry is returned by Ancestor when the repository cannot
// tell whether one revision precedes another: a revision it does not hold
// (a shallow clone, a commit of another branch or a rewritten history), a
// history cut short by a shallow clone, or no repository at all.
var ErrUnknownAncestry = errors.New("ancestry cannot be established")

// Ancestor reports whether revision a is b or an ancestor of b in the
// repository holding dir. false means provably not: both commits are
// there and b's whole history is, and a is not in it. When that cannot be
// proved the error wraps ErrUnknownAncestry.
func Ancestor(dir, a, b string) (bool, error) {
	if a == b && a != "" {
		return true, nil
	}
	unknown := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrUnknownAncestry, fmt.Sprintf(format, args...))
	}
	if a == "" || b == "" {
		return false, unknown("a revision is not known")
	}
	r, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return false, unknown("%v", err)
	}
	ca, err := r.CommitObject(plumbing.NewHash(a))
	if err != nil {
		return false, unknown("commit %s is not in this clone", short(a))
	}
	cb, err := r.CommitObject(plumbing.NewHash(b))
	if err != nil {
		return false, unknown("commit %s is not in this clone", short(b))
	}
	ok, err := ca.IsAncestor(cb)
	if err != nil {
		return false, unknown("the history of %s cannot be read: %v", short(b), err)
	}
	if ok {
		return true, nil
	}
	// A shallow clone holds b's history only down to its shallow
	// commits: a may be below them.
	if shallow, err := r.Storer.Shallow(); err != nil || len(shallow) > 0 {
		return false, unknown("the clone is shallow")
	}
	return false, nil
}

func short(rev string) string { return rev[:min(len(rev), 12)] }

// IsAncestor reports whether revision a is an ancestor of b in the
// repository holding dir; false when either is unknown there.
func IsAncestor(dir, a, b string) bool {
	r, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return false
	}
	ca, err := r.CommitObject(plumbing.NewHash(a))
	if err != nil {
		return false
	}
	cb, err := r.CommitObject(plumbing.NewHash(b))
	if err != nil {
		return false
	}
	ok, err := ca.IsAncestor(cb)
	return err == nil && ok
}
