package render_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/paved-dev/paved/render"
)

// TestPreviewNames: a preview's namespace is <team>-<app>-pr<N> and its
// host <app>-pr<N>-<team>.<domain> while they fit a DNS label; past 63
// characters they are cut short with a hash of what they name, keep their
// -pr<N>, stay valid labels, and two long names that share their first 50
// characters do not meet.
func TestPreviewNames(t *testing.T) {
	if got := render.PreviewNamespace("payments", "checkout", 7); got != "payments-checkout-pr7" {
		t.Errorf("namespace %q", got)
	}
	if got := render.PreviewHost("preview.acme.dev", "payments", "checkout", 7); got != "checkout-pr7-payments.preview.acme.dev" {
		t.Errorf("host %q", got)
	}
	long := strings.Repeat("a", 40)
	team := "payments-" + strings.Repeat("t", 40)
	seen := map[string]string{}
	for _, app := range []string{long + "-one", long + "-two", strings.Repeat("b", 63)} {
		for _, pr := range []int{7, 12345} {
			ns := render.PreviewNamespace(team, app, pr)
			host := render.PreviewHost("preview.acme.dev", team, app, pr)
			label, _, _ := strings.Cut(host, ".")
			for what, s := range map[string]string{"namespace": ns, "host label": label} {
				if len(s) > 63 || !validLabel(s) {
					t.Errorf("%s/%s pr %d: %s %q is not a DNS label (%d characters)", team, app, pr, what, s, len(s))
				}
			}
			if want := "-pr" + itoa(pr); !strings.HasSuffix(ns, want) {
				t.Errorf("namespace %q does not end in %s", ns, want)
			}
			if !strings.HasPrefix(ns, "payments-ttt") {
				t.Errorf("namespace %q does not start with the team", ns)
			}
			if prev, ok := seen[ns]; ok {
				t.Errorf("%s and %s/%s pr %d share namespace %s", prev, team, app, pr, ns)
			}
			seen[ns] = team + "/" + app + " pr " + itoa(pr)
			if prev, ok := seen[host]; ok {
				t.Errorf("%s and %s/%s pr %d share host %s", prev, team, app, pr, host)
			}
			seen[host] = team + "/" + app + " pr " + itoa(pr)
		}
	}
	// The same long name always gets the same short one.
	short := regexp.MustCompile(`^payments-t{40}-[0-9a-f]{8}-pr7$`)
	if got := render.PreviewNamespace(team, long+"-one", 7); !short.MatchString(got) || got != render.PreviewNamespace(team, strings.Clone(long)+"-one", 7) {
		t.Errorf("namespace %q: not the stable short form %s", got, short)
	}
}

func validLabel(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func itoa(n int) string {
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
