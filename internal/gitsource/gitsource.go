// Package gitsource reads where an app spec comes from: the git repository
// that holds it, its revision and the path inside it.
package gitsource

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
)

// Info describes the repository that holds a directory.
type Info struct {
	Root     string // work tree root, "" outside git
	Repo     string // origin URL without credentials, "" if none
	Revision string // HEAD commit, "" if none
	Branch   string // HEAD's branch, "" when detached
	Subject  string // HEAD commit's subject line
}

// Describe opens the git repository holding dir, if any. A directory
// outside git is not an error: the Info is empty.
func Describe(dir string) (Info, error) {
	r, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return Info{}, nil
	}
	if err != nil {
		return Info{}, err
	}
	var info Info
	if wt, err := r.Worktree(); err == nil {
		info.Root = wt.Filesystem.Root()
	}
	if head, err := r.Head(); err == nil {
		info.Revision = head.Hash().String()
		if head.Name().IsBranch() {
			info.Branch = head.Name().Short()
		}
		if c, err := r.CommitObject(head.Hash()); err == nil {
			info.Subject, _, _ = strings.Cut(strings.TrimSpace(c.Message), "\n")
		}
	}
	if rem, err := r.Remote("origin"); err == nil && len(rem.Config().URLs) > 0 {
		info.Repo = StripCredentials(rem.Config().URLs[0])
	}
	return info, nil
}

// StripCredentials removes a user and password from a URL; other forms
// (scp-like git@host:path) are returned unchanged.
func StripCredentials(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" || p.User == nil {
		return u
	}
	if p.Scheme == "ssh" {
		p.User = url.User(p.User.Username())
	} else {
		p.User = nil
	}
	return p.String()
}

// Rel returns dir relative to root in slash form, or dir's slash form when
// it is not below root.
func Rel(root, dir string) string {
	r, err := filepath.Rel(root, dir)
	if err != nil {
		return filepath.ToSlash(dir)
	}
	return filepath.ToSlash(r)
}
