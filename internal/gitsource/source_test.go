package gitsource

import (
	"net/url"
	"strings"
	"testing"
)

// TestSourceID: the https, ssh and scp-like forms of one repository are
// one identity, without credentials, port, ".git" or a trailing slash.
func TestSourceID(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://github.com/acme/indexer.git", "github.com/acme/indexer"},
		{"https://github.com/acme/indexer", "github.com/acme/indexer"},
		{"https://github.com/acme/indexer/", "github.com/acme/indexer"},
		{"https://x-access-token:s3cret@GitHub.com/acme/indexer.git", "github.com/acme/indexer"},
		{"http://github.com:80/acme/indexer.git", "github.com/acme/indexer"},
		{"ssh://git@github.com/acme/indexer.git", "github.com/acme/indexer"},
		{"ssh://git@github.com:22/acme/indexer.git", "github.com/acme/indexer"},
		{"git@github.com:acme/indexer.git", "github.com/acme/indexer"},
		{"github.com:acme/indexer", "github.com/acme/indexer"},
		{"git@gitlab.acme.dev:platform/services/ledger.git", "gitlab.acme.dev/platform/services/ledger"},
		{"https://dev.azure.com/acme/shop/_git/ledger", "dev.azure.com/acme/shop/_git/ledger"},
		{"file:///srv/git/indexer.git", "/srv/git/indexer"},
		{"/srv/git/indexer.git/", "/srv/git/indexer"},
		{"/srv/git/../git/indexer", "/srv/git/indexer"},
		{"", DefaultSource},
		{"  ", DefaultSource},
	} {
		if got := SourceID(c.in); got != c.want {
			t.Errorf("SourceID(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// Case in the path is kept: some servers tell such repositories apart.
	if SourceID("https://github.com/Acme/Indexer") == SourceID("https://github.com/acme/indexer") {
		t.Error("path case folded")
	}
}

func TestCheckSourceID(t *testing.T) {
	for _, ok := range []string{"github.com/acme/indexer", "local", "monorepo:shop"} {
		if err := CheckSourceID(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a b", "a\nb", "a\x00", string(make([]byte, 300))} {
		if CheckSourceID(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzSourceID: any origin gives an identity that can be recorded (one
// line, no spaces) and never carries the URL's password.
func FuzzSourceID(f *testing.F) {
	for _, s := range []string{"https://u:p@github.com/a/b.git", "git@h:a/b", "ssh://git@h:22/a b", "file:///x", "../rel", "a\nb", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, origin string) {
		id := SourceID(origin)
		if len(id) <= 256 {
			if err := CheckSourceID(id); err != nil {
				t.Fatalf("SourceID(%q) = %q: %v", origin, id, err)
			}
		}
		if u, err := url.Parse(strings.TrimSpace(origin)); err == nil && u.User != nil && u.Host != "" && len(u.Scheme) > 1 {
			if pw, ok := u.User.Password(); ok && len(pw) > 3 && strings.Contains(id, pw) && !strings.Contains(u.Host+u.Path, pw) {
				t.Fatalf("SourceID(%q) = %q keeps the password", origin, id)
			}
		}
	})
}
