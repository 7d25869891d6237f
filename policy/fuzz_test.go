package policy_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/policy"
)

// FuzzGitHubAnnotation: whatever a policy message or file name holds, each
// finding is exactly one workflow command line whose properties hold no
// raw separator, so a message can never inject a second command.
func FuzzGitHubAnnotation(f *testing.F) {
	f.Add("image is bad", "app.cue", "no-latest-tag")
	f.Add("50%\r\n::error::injected", "a,b:c/app.cue", "p")
	f.Add("", "", "x")
	f.Fuzz(func(t *testing.T, msg, file, id string) {
		rep := &policy.Report{Findings: []policy.Finding{{
			Policy: id, Severity: policy.Deny, Message: msg, Team: "t", App: "a",
			Source: &diag.Position{Filename: file, Line: 3, Column: 1},
		}}}
		var buf bytes.Buffer
		if err := policy.FormatGitHub(&buf, rep, policy.FormatOptions{}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("%d lines for one finding: %q", len(lines), buf.String())
		}
		cmd := lines[0]
		if !strings.HasPrefix(cmd, "::error ") {
			t.Fatalf("not an error command: %q", cmd)
		}
		props, _, ok := strings.Cut(strings.TrimPrefix(cmd, "::error "), "::")
		if !ok {
			t.Fatalf("no message separator: %q", cmd)
		}
		for _, p := range strings.Split(props, ",") {
			k, v, ok := strings.Cut(p, "=")
			if !ok || strings.ContainsAny(v, ":,\r\n") || !strings.Contains("file line col title", k) {
				t.Fatalf("property %q of %q not escaped", p, cmd)
			}
		}
	})
}
