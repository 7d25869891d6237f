package fleet

import (
	"strings"
	"testing"
)

// TestTrailerOneLine: a value with a line break (an adopted app's path
// read from a fleet manifest, an origin) never ends its trailer: the
// message holds exactly one trailer per call, the break encoded.
func TestTrailerOneLine(t *testing.T) {
	msg := withAdoptions("render(x): y\n\nRender-Tool: paved dev\n", []Adoption{
		{App: "search/api", From: "github.com/acme/a", Path: "apps/api\nRender-Adopted: identity/auth from x (.)"},
		{App: "search/web", From: "github.com/acme/a\r", Path: "web\u2028x"},
	})
	var adopted []string
	for _, l := range strings.Split(msg, "\n") {
		if strings.HasPrefix(l, "Render-Adopted:") {
			adopted = append(adopted, l)
		}
	}
	want := []string{
		"Render-Adopted: search/api from github.com/acme/a (apps/api%0ARender-Adopted: identity/auth from x (.))",
		"Render-Adopted: search/web from github.com/acme/a%0D (web%E2%80%A8x)",
	}
	if strings.Join(adopted, "\n") != strings.Join(want, "\n") {
		t.Errorf("trailers:\n%s\nwant:\n%s", strings.Join(adopted, "\n"), strings.Join(want, "\n"))
	}
	if got := Trailer("K", "a\x00b\tc"); got != "K: a%00b%09c\n" {
		t.Errorf("Trailer = %q", got)
	}
}
