package fleet

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/paved-dev/paved/internal/gitsource"
)

// View is a fleet revision as a change reads it: its paths and their
// content.
type View struct {
	files map[string]entry
	read  func(string) ([]byte, bool)
	// Tip is the revision's commit ("" for an empty branch).
	Tip string
}

// Paths returns the revision's paths below dir (a slash-separated
// directory; "" for all), sorted.
func (v *View) Paths(dir string) []string {
	var out []string
	for p := range v.files {
		if dir == "" || strings.HasPrefix(p, dir+"/") {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// Read returns a file's content.
func (v *View) Read(p string) ([]byte, bool) { return v.read(p) }

// Change is what a commit of files outside paved's app directories writes
// (paved preview): files to write and files to delete, and the message.
// An empty Write and Delete, or one that leaves every file as it was, is
// no commit.
type Change struct {
	Message string
	Write   map[string][]byte
	Delete  []string
}

// PrepareChange makes the change a commit applies to a fleet revision:
// once per attempt, since a retry applies to a new tip. An error it
// returns is returned by CommitChange as a *PrepareError.
type PrepareChange func(v *View) (*Change, error)

// CommitChange commits a change of files outside the directories paved's
// apps own (Owned: a change never writes or deletes there) as Commit
// commits a render: one commit or none, never forced, retried on a new
// tip when the branch moved.
func CommitChange(ctx context.Context, prepare PrepareChange, o CommitOptions) (*Result, error) {
	return commit(ctx, o, func(repo *git.Repository, tip *object.Commit) (*applied, error) {
		v, err := view(repo, tip)
		if err != nil {
			return nil, err
		}
		// The change edits files; the view reads the tip as it was.
		files := maps.Clone(v.files)
		c, err := prepare(v)
		if err != nil {
			return nil, &PrepareError{Err: err}
		}
		a := &applied{files: files, message: c.Message}
		for _, p := range c.Delete {
			if Owned(p) {
				return nil, fmt.Errorf("a change may not delete %s: paved's apps own it", p)
			}
			if _, ok := files[p]; ok {
				delete(files, p)
				a.deleted++
			}
		}
		for _, p := range slices.Sorted(maps.Keys(c.Write)) {
			if Owned(p) {
				return nil, fmt.Errorf("a change may not write %s: paved's apps own it", p)
			}
			if err := put(repo, files, p, c.Write[p], &a.written); err != nil {
				return nil, err
			}
		}
		return a, nil
	})
}

// ReadView reads a branch of the fleet at url whole, as a change sees it
// (paved preview ls). A branch without a commit is an empty view.
func ReadView(ctx context.Context, url, branch string) (*View, error) {
	auth, err := Auth(url)
	if err != nil {
		return nil, err
	}
	repo, tip, err := openBranch(ctx, url, branch, auth)
	if err != nil {
		return nil, &Error{Fleet: gitsource.SanitizeOrigin(url), Err: err}
	}
	return view(repo, tip)
}

// view is a revision's files as a View (tip nil: none).
func view(repo *git.Repository, tip *object.Commit) (*View, error) {
	var tree *object.Tree
	v := &View{}
	if tip != nil {
		var err error
		if tree, err = tip.Tree(); err != nil {
			return nil, err
		}
		v.Tip = tip.Hash.String()
	}
	files, err := flatten(tree)
	if err != nil {
		return nil, err
	}
	v.files = files
	v.read = func(p string) ([]byte, bool) {
		e, ok := files[p]
		if !ok {
			return nil, false
		}
		b, err := readBlob(repo.Storer, e.hash)
		return b, err == nil
	}
	return v, nil
}
