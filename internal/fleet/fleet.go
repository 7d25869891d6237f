// Package fleet reads the fleet repository paved renders into: a git
// repository (a local clone or bare repository, or a URL cloned, shallow
// and single-branch, into memory or a temporary directory) or a plain directory
// such as the output of `paved render --out`. It only reads what paved
// owns.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/paved-dev/paved/internal/gitsource"
)

// Snapshot is what a fleet ref holds of the paths paved owns. Only the
// list of paths is read up front; a file's content is read when asked
// for, so a diff of one app reads that app's files and the manifests, not
// the whole fleet.
type Snapshot struct {
	// Source names the fleet (credentials stripped) and Revision the
	// commit read ("" for a plain directory and an empty repository).
	Source, Revision string
	// Empty: the fleet is a git repository without a commit (read with
	// ReadOptions.EmptyOK): it holds nothing yet.
	Empty bool
	// Paths are the owned files' slash paths, sorted: apps/, tenants/,
	// catalog/, clusters/<cluster>/paved/ and .paved/; and the platform's
	// files (platform/).
	Paths []string
	has   map[string]bool
	read  func(p string) ([]byte, error)
	// done releases what read reads from (a clone's temporary directory).
	done func() error
}

// Close releases what the snapshot reads from (a clone); File and
// ReadFile find no file after it. Closing twice is allowed.
func (s *Snapshot) Close() error {
	if s == nil {
		return nil
	}
	done := s.done
	s.done, s.has, s.read = nil, nil, nil
	if done == nil {
		return nil
	}
	return done()
}

// File returns the content of an owned file, and whether the fleet has it.
func (s *Snapshot) File(p string) ([]byte, bool) {
	if !s.has[p] {
		return nil, false
	}
	data, err := s.read(p)
	return data, err == nil
}

// ReadFile returns the content of an owned file, or the error reading it.
func (s *Snapshot) ReadFile(p string) ([]byte, error) {
	if !s.has[p] {
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	return s.read(p)
}

func newSnapshot(paths []string, read func(string) ([]byte, error)) *Snapshot {
	slices.Sort(paths)
	has := make(map[string]bool, len(paths))
	for _, p := range paths {
		has[p] = true
	}
	return &Snapshot{Paths: paths, has: has, read: read}
}

// Owned reports whether p is in a part of the fleet paved writes.
func Owned(p string) bool {
	switch {
	case strings.HasPrefix(p, "apps/"), strings.HasPrefix(p, "tenants/"), strings.HasPrefix(p, ".paved/"), strings.HasPrefix(p, "catalog/"):
		return true
	case strings.HasPrefix(p, "clusters/"):
		parts := strings.Split(p, "/")
		return len(parts) >= 4 && parts[2] == "paved"
	}
	return false
}

// Error is a git, network or file system failure reading the fleet (exit
// code 4). Its message never holds credentials.
type Error struct {
	Fleet string
	Err   error
}

func (e *Error) Error() string { return fmt.Sprintf("fleet %s: %v", e.Fleet, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// ErrNoBranch is a fleet that has no such branch or revision (or no
// commit at all).
var ErrNoBranch = errors.New("no such branch or revision")

// noBranch is an ErrNoBranch with its message, credentials removed.
type noBranch struct{ msg string }

func (e *noBranch) Error() string { return e.msg }
func (e *noBranch) Unwrap() error { return ErrNoBranch }

// Read reads the owned paths at ref from src: a directory (a git work
// tree or bare repository is read at ref, any other directory as it is)
// or a URL (https with a token from PAVED_GIT_TOKEN or GITHUB_TOKEN, ssh
// with the agent or the key in PAVED_SSH_KEY, file://).
func Read(ctx context.Context, src, ref string) (*Snapshot, error) {
	return ReadWith(ctx, src, ref, ReadOptions{})
}

// ReadOptions say how to read a fleet.
type ReadOptions struct {
	// OnDisk clones a URL into a temporary directory, where its pack stays
	// compressed, rather than into memory, where every object is decoded
	// as it arrives: for a caller that reads the whole fleet while it holds
	// much else (a full diff: a 1,000-app fleet decoded is ~100 MB), at the
	// cost of decoding each object it reads (a diff of one app reads the
	// thousand ownership manifests: 1.3 s slower on disk).
	OnDisk bool
	// EmptyOK reads a git repository without any commit (a new fleet: no
	// branch at all) as an empty fleet (Snapshot.Empty) rather than as an
	// ErrNoBranch. A repository that has commits but not ref is still
	// ErrNoBranch: a mistyped ref must not read as an empty fleet.
	EmptyOK bool
}

// ReadWith is Read with options.
func ReadWith(ctx context.Context, src, ref string, o ReadOptions) (*Snapshot, error) {
	shown := gitsource.SanitizeOrigin(src)
	fail := func(err error) error {
		msg := err.Error()
		if src != shown {
			msg = strings.ReplaceAll(msg, src, shown)
		}
		if errors.Is(err, ErrNoBranch) || errors.Is(err, transport.ErrEmptyRemoteRepository) || isNoBranch(err) {
			return &Error{Fleet: shown, Err: &noBranch{msg}}
		}
		return &Error{Fleet: shown, Err: errors.New(msg)}
	}
	empty := func() *Snapshot {
		s := newSnapshot(nil, func(p string) ([]byte, error) { return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist) })
		s.Source, s.Empty = shown, true
		return s
	}
	if isURL(src) {
		r, done, err := clone(ctx, src, ref, o.OnDisk)
		if o.EmptyOK && errors.Is(err, transport.ErrEmptyRemoteRepository) {
			return empty(), nil
		}
		if err != nil {
			return nil, fail(err)
		}
		s, err := readRepo(r, ref, true)
		if err != nil {
			_ = done()
			return nil, fail(err)
		}
		s.Source, s.done = shown, done
		return s, nil
	}
	fi, err := os.Stat(src)
	if err != nil {
		return nil, fail(err)
	}
	if !fi.IsDir() {
		return nil, fail(fmt.Errorf("not a directory"))
	}
	r, err := git.PlainOpenWithOptions(src, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	switch {
	case errors.Is(err, git.ErrRepositoryNotExists):
		s, err := readDir(src)
		if err != nil {
			return nil, fail(err)
		}
		s.Source = shown
		return s, nil
	case err != nil:
		return nil, fail(err)
	}
	s, err := readRepo(r, ref, false)
	if err != nil {
		if o.EmptyOK && errors.Is(err, ErrNoBranch) && noCommits(r) {
			return empty(), nil
		}
		return nil, fail(err)
	}
	s.Source = shown
	return s, nil
}

// noCommits reports whether a repository has no reference to a commit: a
// new repository, HEAD naming a branch that does not exist yet.
func noCommits(r *git.Repository) bool {
	refs, err := r.References()
	if err != nil {
		return false
	}
	defer refs.Close()
	none := true
	_ = refs.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() == plumbing.HashReference {
			none = false
			return storer.ErrStop
		}
		return nil
	})
	return none
}

func isURL(s string) bool {
	if strings.Contains(s, "://") {
		return true
	}
	// scp-like git@host:path
	at, colon := strings.Index(s, "@"), strings.Index(s, ":")
	return at > 0 && colon > at && !strings.Contains(s[:at], "/")
}

// Auth returns the credentials for a fleet URL from the environment.
func Auth(url string) (transport.AuthMethod, error) {
	switch {
	case strings.HasPrefix(url, "https://"), strings.HasPrefix(url, "http://"):
		tok := os.Getenv("PAVED_GIT_TOKEN")
		if tok == "" {
			tok = os.Getenv("GITHUB_TOKEN")
		}
		if tok == "" {
			return nil, nil
		}
		return &githttp.BasicAuth{Username: "x-access-token", Password: tok}, nil
	case strings.HasPrefix(url, "ssh://"), isURL(url) && !strings.Contains(url, "://"):
		user := "git"
		if key := os.Getenv("PAVED_SSH_KEY"); key != "" {
			return gitssh.NewPublicKeysFromFile(user, key, os.Getenv("PAVED_SSH_KEY_PASSPHRASE"))
		}
		return gitssh.NewSSHAgentAuth(user)
	}
	return nil, nil
}

// cloneCache bounds the objects a clone keeps decoded in memory: a
// snapshot reads each file once, so a cache serves only the trees and
// delta bases read again.
const cloneCache = 4 * cache.MiByte

// clone clones the branch (shallow, single branch, no work tree) into
// memory, or with onDisk into a temporary directory, where its pack stays
// compressed (ReadOptions). done releases it.
func clone(ctx context.Context, url, ref string, onDisk bool) (_ *git.Repository, done func() error, err error) {
	auth, err := Auth(url)
	if err != nil {
		return nil, nil, err
	}
	opts := &git.CloneOptions{
		URL: url, Auth: auth, SingleBranch: true, Tags: git.NoTags,
		ReferenceName: plumbing.NewBranchReferenceName(ref),
	}
	if !strings.HasPrefix(url, "file://") {
		opts.Depth = 1 // go-git's file transport does not serve shallow clones
	}
	if !onDisk {
		r, err := git.CloneContext(ctx, memory.NewStorage(), nil, opts)
		if err != nil {
			return nil, nil, err
		}
		return r, func() error { return nil }, nil
	}
	dir, err := os.MkdirTemp("", "paved-fleet-")
	if err != nil {
		return nil, nil, err
	}
	st := filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRU(cloneCache),
		filesystem.Options{ExclusiveAccess: true, KeepDescriptors: true})
	done = func() error {
		return errors.Join(st.Close(), os.RemoveAll(dir))
	}
	r, err := git.CloneContext(ctx, st, nil, opts)
	if err != nil {
		_ = done()
		return nil, nil, err
	}
	return r, done, nil
}

// readRepo lists the owned files of ref's tree, without a work tree, and
// reads each one's blob when asked for.
func readRepo(r *git.Repository, ref string, cloned bool) (*Snapshot, error) {
	h, err := resolve(r, ref, cloned)
	if err != nil {
		return nil, err
	}
	c, err := r.CommitObject(h)
	if err != nil {
		return nil, err
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, err
	}
	blobs := map[string]plumbing.Hash{}
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if e.Mode.IsFile() && Owned(name) {
			blobs[name] = e.Hash
		}
		if IsPlatformFile(name) {
			if e.Mode == filemode.Symlink || e.Mode == filemode.Submodule {
				return nil, fmt.Errorf("%s: the fleet's platform holds regular files only, not links or submodules", name)
			}
			if e.Mode.IsFile() {
				blobs[name] = e.Hash
			}
		}
	}
	var mu sync.Mutex // go-git's storage is read by one goroutine at a time
	s := newSnapshot(slices.Collect(maps.Keys(blobs)), func(p string) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		return readBlob(r.Storer, blobs[p])
	})
	s.Revision = h.String()
	return s, nil
}

func resolve(r *git.Repository, ref string, cloned bool) (plumbing.Hash, error) {
	if ref == "HEAD" && !cloned {
		if h, err := r.Head(); err == nil {
			return h.Hash(), nil
		}
	}
	for _, name := range []plumbing.ReferenceName{
		plumbing.NewBranchReferenceName(ref), plumbing.NewRemoteReferenceName("origin", ref),
	} {
		if rr, err := r.Reference(name, true); err == nil {
			return rr.Hash(), nil
		}
	}
	if !cloned {
		if h, err := r.ResolveRevision(plumbing.Revision(ref)); err == nil {
			return *h, nil
		}
	}
	return plumbing.ZeroHash, &noBranch{fmt.Sprintf("no branch or revision %q", ref)}
}

// readDir lists the owned files of a plain directory and reads each one
// when asked for.
func readDir(dir string) (*Snapshot, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !Owned(rel) && !IsPlatformFile(rel) {
			return nil
		}
		paths = append(paths, path.Clean(rel))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return newSnapshot(paths, func(p string) ([]byte, error) {
		return os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
	}), nil
}

// Changed lists the paths whose content differs between revisions base
// and ref of the fleet repository at src (a local repository: a work tree
// or a bare one), sorted: what a push changed, for verify --changed.
func Changed(src, base, ref string) ([]string, error) {
	r, err := git.PlainOpenWithOptions(src, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	tree := func(rev string) (*object.Tree, error) {
		h, err := resolve(r, rev, false)
		if err != nil {
			return nil, err
		}
		c, err := r.CommitObject(h)
		if err != nil {
			return nil, err
		}
		return c.Tree()
	}
	from, err := tree(base)
	if err != nil {
		return nil, err
	}
	to, err := tree(ref)
	if err != nil {
		return nil, err
	}
	changes, err := object.DiffTree(from, to)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, c := range changes {
		for _, n := range []string{c.From.Name, c.To.Name} {
			if n != "" {
				seen[n] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen)), nil
}
