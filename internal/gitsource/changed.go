package gitsource

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Changed returns the absolute paths of the files that differ between ref
// and the working tree of the repository holding dir: committed changes
// since ref, staged and unstaged edits, and untracked files. With ref
// "HEAD" that is exactly what a commit in progress touches.
func Changed(dir, ref string) ([]string, error) {
	r, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		if errors.Is(err, git.ErrRepositoryNotExists) {
			return nil, fmt.Errorf("--changed needs a git repository: %s is not in one", dir)
		}
		return nil, err
	}
	wt, err := r.Worktree()
	if err != nil {
		return nil, err
	}
	root := wt.Filesystem.Root()
	set := map[string]bool{}
	st, err := wt.Status()
	if err != nil {
		return nil, fmt.Errorf("reading the working tree status: %w", err)
	}
	for p, s := range st {
		if s.Staging != git.Unmodified || s.Worktree != git.Unmodified {
			set[p] = true
		}
	}
	if ref != "" && ref != "HEAD" {
		base, err := r.ResolveRevision(plumbing.Revision(ref))
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", ref, err)
		}
		head, err := r.Head()
		if err != nil {
			return nil, err
		}
		bt, err := treeOf(r, *base)
		if err != nil {
			return nil, err
		}
		ht, err := treeOf(r, head.Hash())
		if err != nil {
			return nil, err
		}
		changes, err := object.DiffTree(bt, ht)
		if err != nil {
			return nil, err
		}
		for _, c := range changes {
			for _, n := range []string{c.From.Name, c.To.Name} {
				if n != "" {
					set[n] = true
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, filepath.Join(root, filepath.FromSlash(p)))
	}
	slices.Sort(out)
	return out, nil
}

func treeOf(r *git.Repository, h plumbing.Hash) (*object.Tree, error) {
	c, err := r.CommitObject(h)
	if err != nil {
		return nil, err
	}
	return c.Tree()
}

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
