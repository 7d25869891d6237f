package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/paved-dev/paved/internal/gitsource"
)

// History reads a fleet branch's past: what a file held at each commit
// of its first-parent line (rollback finds earlier releases there, promote
// reads the revision a cluster applied, metrics the deployments).
type History struct {
	repo *git.Repository
	tip  plumbing.Hash
}

// OpenHistory opens branch of the fleet src (a repository directory, or a
// URL it clones whole into memory).
func OpenHistory(ctx context.Context, src, branch string) (*History, error) {
	shown := gitsource.SanitizeOrigin(src)
	var r *git.Repository
	var err error
	if isURL(src) {
		auth, aerr := Auth(src)
		if aerr != nil {
			return nil, &Error{Fleet: shown, Err: aerr}
		}
		r, err = git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{
			URL: src, Auth: auth, SingleBranch: true, Tags: git.NoTags,
			ReferenceName: plumbing.NewBranchReferenceName(branch),
		})
	} else {
		if _, serr := os.Stat(src); serr != nil {
			return nil, &Error{Fleet: shown, Err: serr}
		}
		r, err = git.PlainOpenWithOptions(src, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	}
	if err != nil {
		return nil, &Error{Fleet: shown, Err: err}
	}
	h, err := resolve(r, branch, isURL(src))
	if err != nil {
		return nil, &Error{Fleet: shown, Err: err}
	}
	return &History{repo: r, tip: h}, nil
}

// Tip is the commit the history starts at.
func (h *History) Tip() string { return h.tip.String() }

// ReadAt reads file p at revision rev (a commit hash); fs.ErrNotExist
// when the revision does not hold it, an error when the fleet has no such
// revision.
func (h *History) ReadAt(rev, p string) ([]byte, error) {
	c, err := h.repo.CommitObject(plumbing.NewHash(rev))
	if err != nil {
		return nil, fmt.Errorf("revision %s: %w", rev, err)
	}
	return readCommitFile(c, p)
}

func readCommitFile(c *object.Commit, p string) ([]byte, error) {
	f, err := c.File(p)
	if errors.Is(err, object.ErrFileNotFound) {
		return nil, fmt.Errorf("%s: %w", p, os.ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	rd, err := f.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

// FileVersion is a commit of the first-parent line and what a file held after
// it (Data nil: the commit removed it, or it did not exist).
type FileVersion struct {
	Commit  string
	When    time.Time
	Message string
	Data    []byte
}

// Log is every commit of the first-parent line that changed p, newest
// first, at most max (0: all) commits read.
func (h *History) Log(p string, max int) ([]FileVersion, error) {
	var out []FileVersion
	c, err := h.repo.CommitObject(h.tip)
	if err != nil {
		return nil, err
	}
	for n := 0; c != nil && (max == 0 || n < max); n++ {
		data, err := readCommitFile(c, p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		var parent *object.Commit
		var before []byte
		if c.NumParents() > 0 {
			if parent, err = c.Parent(0); err != nil {
				return nil, err
			}
			if before, err = readCommitFile(parent, p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		}
		if string(before) != string(data) || (before == nil) != (data == nil) {
			out = append(out, FileVersion{Commit: c.Hash.String(), When: c.Committer.When.UTC(), Message: c.Message, Data: data})
		}
		c = parent
	}
	return out, nil
}
