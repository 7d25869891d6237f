// Package gitsource reads where an app spec comes from: the git repository
// that holds it, its revision and the path inside it.
package gitsource

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/go-git/go-git/v5"
)

// Info describes the repository that holds a directory.
type Info struct {
	Root     string // work tree root, "" outside git
	Repo     string // origin URL without credentials, "" if none
	Revision string // HEAD commit, "" if none
	Branch   string // HEAD's branch, "" when detached
	Subject  string // HEAD commit's subject line
	// Source is the repository's source identity: SourceID of its
	// origin (a relative path origin taken from Root), DefaultSource
	// without one.
	Source string
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
	info.Source = DefaultSource
	if rem, err := r.Remote("origin"); err == nil && len(rem.Config().URLs) > 0 {
		u := rem.Config().URLs[0]
		info.Repo = StripCredentials(u)
		if isLocalPath(u) && !filepath.IsAbs(u) && info.Root != "" {
			u = filepath.Join(info.Root, u)
		}
		info.Source = SourceID(u)
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

// DefaultSource is the source identity of a repository without an origin
// remote (or of apps outside git): the monorepo-local default. Two such
// repositories writing one fleet must each pass --source.
const DefaultSource = "local"

// SourceID is the source identity of a repository from its origin URL:
// host/owner/name, the host in lower case, without scheme, credentials,
// port, a trailing slash or ".git". The https, ssh and scp-like
// (git@host:owner/name.git) forms of one repository are one ID. A file URL
// or a local path is its cleaned absolute path without ".git". An empty
// origin is DefaultSource.
func SourceID(origin string) string {
	origin = strings.TrimSpace(origin)
	if origin == "" {
		return DefaultSource
	}
	return escapeID(sourceID(origin))
}

// escapeID percent-encodes what an identity cannot hold (spaces, control
// characters), so that it stays one line in manifests and trailers.
func escapeID(id string) string {
	var b strings.Builder
	for _, r := range id {
		if r <= ' ' || r == 0x7f || r == '%' || !unicode.IsPrint(r) {
			for _, c := range []byte(string(r)) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func sourceID(origin string) string {
	trim := func(p string) string {
		p = strings.Trim(path.Clean("/"+strings.ReplaceAll(p, "\\", "/")), "/")
		return strings.TrimSuffix(p, ".git")
	}
	if u, err := url.Parse(origin); err == nil && u.Scheme != "" && u.Host != "" && len(u.Scheme) > 1 {
		return strings.ToLower(u.Hostname()) + "/" + trim(u.Path)
	}
	if strings.HasPrefix(origin, "file://") {
		return "/" + trim(strings.TrimPrefix(origin, "file://"))
	}
	// scp-like [user@]host:path; a path with a colon before any slash.
	if colon := strings.Index(origin, ":"); colon > 0 && !strings.Contains(origin[:colon], "/") && !isWindowsDrive(origin) {
		host := origin[:colon]
		if at := strings.LastIndex(host, "@"); at >= 0 {
			host = host[at+1:]
		}
		return strings.ToLower(host) + "/" + trim(origin[colon+1:])
	}
	return "/" + trim(origin)
}

// isLocalPath reports whether a remote URL is a file system path.
func isLocalPath(u string) bool {
	if strings.Contains(u, "://") {
		return false
	}
	colon := strings.Index(u, ":")
	return colon < 0 || strings.Contains(u[:colon], "/") || isWindowsDrive(u)
}

func isWindowsDrive(s string) bool {
	return len(s) >= 2 && s[1] == ':' && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z')
}

// CheckSourceID says what is wrong with a --source value, or nil: it is
// recorded in manifests and commit trailers, so it is one line of printable
// text without spaces, at most 256 bytes.
func CheckSourceID(id string) error {
	switch {
	case id == "":
		return errors.New("a source identity cannot be empty")
	case len(id) > 256:
		return errors.New("a source identity is at most 256 bytes")
	}
	for _, r := range id {
		if r <= ' ' || r == 0x7f || !unicode.IsPrint(r) {
			return fmt.Errorf("a source identity holds no spaces or control characters (%q)", id)
		}
	}
	return nil
}
