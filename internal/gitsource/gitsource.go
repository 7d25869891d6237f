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
	"time"
	"unicode"
	"unicode/utf8"

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
	// Time is when HEAD was committed (zero without one).
	Time time.Time
	// Fixes are the releases HEAD's message says it fixes, one trailer
	// "Paved-Fixes: <release>" each: a commit of such a release moves an
	// environment held on a rollback of it.
	Fixes []string
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
			info.Branch = OneLine(head.Name().Short())
		}
		if c, err := r.CommitObject(head.Hash()); err == nil {
			info.Subject = Subject(c.Message)
			info.Time = c.Committer.When.UTC()
			for _, line := range strings.Split(c.Message, "\n") {
				if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "Paved-Fixes") {
					info.Fixes = append(info.Fixes, strings.TrimSpace(v))
				}
			}
		}
	}
	info.Source = DefaultSource
	if rem, err := r.Remote("origin"); err == nil && len(rem.Config().URLs) > 0 {
		u := SanitizeOrigin(rem.Config().URLs[0])
		info.Repo = u
		if isLocalPath(u) && !filepath.IsAbs(u) && info.Root != "" {
			u = filepath.Join(info.Root, u)
		}
		info.Source = SourceID(u)
	}
	return info, nil
}

// SanitizeOrigin is a remote URL as paved may record or show it: without
// any user or password (user[:pass]@ before the host, in URL and scp-like
// forms alike, whether or not the URL parses: git accepts origins such as
// https://ci:s3cr%t@host/x that url.Parse rejects), and without spaces or
// control characters, which are percent-encoded so that the result is one
// line. Every origin paved reads goes through it. It is idempotent.
func SanitizeOrigin(u string) string {
	return OneLine(stripUserinfo(strings.TrimSpace(u)))
}

// stripUserinfo removes everything up to the last '@' of the authority of
// a URL (scheme://authority/...) or of the host part of an scp-like
// remote ([user@]host:path, the part before the first slash); a local
// path is returned unchanged.
func stripUserinfo(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		end := strings.IndexAny(rest, "/?#\\")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
			return u[:i+3] + rest[at+1:]
		}
		return u
	}
	// scp-like when a colon comes before any slash (a Windows drive
	// letter, "C:\\...", holds no '@' before its first backslash).
	colon := strings.Index(u, ":")
	if colon < 0 || strings.ContainsAny(u[:colon], "/\\") {
		return u
	}
	end := strings.IndexAny(u, "/\\")
	if end < 0 {
		end = len(u)
	}
	if at := strings.LastIndex(u[:end], "@"); at >= 0 {
		return u[at+1:]
	}
	return u
}

// OneLine percent-encodes the spaces and control characters of s (and
// the other non-printable runes and invalid bytes), so that s is one line
// of text that can be recorded in a manifest or a commit trailer. A '%' is
// kept: OneLine(OneLine(s)) == OneLine(s).
func OneLine(s string) string {
	clean := true
	for _, r := range s {
		if !printable(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				fmt.Fprintf(&b, "%%%02X", s[i])
				continue
			}
		}
		if !printable(r) {
			for _, c := range []byte(string(r)) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Subject is the first line of a commit message with its control
// characters (a carriage return, a tab, a Unicode line separator) turned
// into spaces: text to show or to put on one line of a commit message.
func Subject(msg string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	line = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError {
			return ' '
		}
		return r
	}, line)
	return strings.TrimSpace(line)
}

// printable reports whether r may stand in a one-line record: printable,
// not a space.
func printable(r rune) bool {
	return r > ' ' && r != 0x7f && r != utf8.RuneError && unicode.IsPrint(r)
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
	origin = SanitizeOrigin(origin)
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
	if i := strings.Index(origin, "://"); i > 1 {
		// A URL that url.Parse refuses (a stray '%', say) but git may
		// accept: host and path by the same rules, as text.
		rest := origin[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		host, p := rest[:end], rest[end:]
		if q := strings.IndexAny(p, "?#"); q >= 0 {
			p = p[:q]
		}
		if c := strings.LastIndex(host, ":"); c >= 0 && !strings.Contains(host[c:], "]") {
			host = host[:c]
		}
		host = strings.Trim(host, "[]")
		if host != "" {
			return strings.ToLower(host) + "/" + trim(p)
		}
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
