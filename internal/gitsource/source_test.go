package gitsource

import (
	"fmt"
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

// TestSanitizeOrigin: no user or password survives, in URL and scp-like
// forms, whether or not url.Parse accepts the URL (git accepts
// https://ci:s3cr%t@host/x, url.Parse does not); control characters are
// percent-encoded, so an origin stays one line.
func TestSanitizeOrigin(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://github.com/acme/a.git", "https://github.com/acme/a.git"},
		{"https://ci:s3cr%t@github.com/acme/a.git", "https://github.com/acme/a.git"},
		{"https://ci:s3cret@github.com/acme/a.git", "https://github.com/acme/a.git"},
		{"https://x-access-token:ghp_abc@github.com:443/acme/a", "https://github.com:443/acme/a"},
		{"https://u:p@ss@github.com/acme/a", "https://github.com/acme/a"},
		{"ssh://git@github.com:22/acme/a.git", "ssh://github.com:22/acme/a.git"},
		{"git@github.com:acme/a.git", "github.com:acme/a.git"},
		{"ci:s3cret@github.com:acme/a.git", "github.com:acme/a.git"},
		{"/srv/git/a@b.git", "/srv/git/a@b.git"},
		{"../a@b", "../a@b"},
		{"https://github.com/acme/a.git\nRender-Adopted: x", "https://github.com/acme/a.git%0ARender-Adopted:%20x"},
		{"https://github.com/acme/a\r.git", "https://github.com/acme/a%0D.git"},
		{"  https://github.com/acme/a.git\n", "https://github.com/acme/a.git"},
	} {
		if got := SanitizeOrigin(c.in); got != c.want {
			t.Errorf("SanitizeOrigin(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"https://ci:s3cr%t@github.com/acme/a.git", "github.com/acme/a"},
		{"https://github.com/acme/a%zz.git", "github.com/acme/a%25zz"},
		{"https://github.com/acme/a\n.git", "github.com/acme/a%0A"},
	} {
		if got := SourceID(c.in); got != c.want {
			t.Errorf("SourceID(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSubject(t *testing.T) {
	if got := Subject("  fix\rRender-Adopted: x\u2028y\nbody\n"); got != "fix Render-Adopted: x y" {
		t.Errorf("Subject = %q", got)
	}
}

// FuzzSanitizeOrigin: a sanitised origin never holds a control character
// or a space, sanitising it again changes nothing, and the password of a
// URL or scp-like origin built around the input never survives.
func FuzzSanitizeOrigin(f *testing.F) {
	for _, s := range [][3]string{
		{"github.com/acme/a.git", "ci", "s3cr%t"},
		{"host:22/a b", "x-access-token", "ghp_0123456789"},
		{"h/a\nRender-Adopted: x", "git", "p@ss@word"},
		{"[::1]:8080/x", "u", "\x00\x01\x02\x03"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, rest, user, pass string) {
		check := func(origin string) string {
			out := SanitizeOrigin(origin)
			for _, r := range out {
				if !printable(r) {
					t.Fatalf("SanitizeOrigin(%q) = %q holds %q", origin, out, r)
				}
			}
			if again := SanitizeOrigin(out); again != out {
				t.Fatalf("SanitizeOrigin not idempotent: %q -> %q -> %q", origin, out, again)
			}
			return out
		}
		check(rest)
		// A password is what git would send: user and password hold no
		// character that ends the authority.
		if strings.ContainsAny(user+pass, "/?#\\") || len(pass) < 4 {
			return
		}
		for _, form := range []string{"https://%s:%s@%s", "ssh://%s:%s@%s", "%s:%s@%s"} {
			origin := fmt.Sprintf(form, user, pass, rest)
			out := check(origin)
			for _, secret := range []string{pass, OneLine(pass), user + ":" + pass} {
				if strings.Contains(out, secret) && !strings.Contains(OneLine(rest), secret) && !strings.Contains(form, secret) {
					t.Fatalf("SanitizeOrigin(%q) = %q keeps the password", origin, out)
				}
			}
			// The identity is made from the sanitised origin alone.
			if id := SourceID(origin); id != SourceID(out) {
				t.Fatalf("SourceID(%q) = %q, of its sanitised form %q", origin, id, SourceID(out))
			}
		}
	})
}
