package schema

import (
	"fmt"
	"strings"
	"testing"

	"github.com/paved-dev/paved/internal/discover"
)

const fixBase = `package app

apiVersion: "paved.dev/v1alpha1"
name:       "a"
team:       "payments"
image:      "ghcr.io/acme/a:1"
`

// TestFixes: each diagnostic that names its own remedy carries it as a
// Fix, which paved lsp turns into a quick fix.
func TestFixes(t *testing.T) {
	p, err := LoadPlatform("")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, src string
		want      string // path kind text
	}{
		{"unknown field", fixBase + "kind: \"worker\"\nreplica: {min: 2, max: 4}\n", "replica 1 replicas"},
		{"unknown nested field", fixBase + "kind: \"worker\"\nobservability: tracin: enabled: true\n", "observability.tracin 1 tracing"},
		{"unknown env override field", fixBase + "kind: \"worker\"\nenvironments: prod: sise: \"xs\"\n", "environments.prod.sise 1 size"},
		{"team", strings.Replace(fixBase, `"payments"`, `"paymnets"`, 1) + "kind: \"worker\"\n", `team 2 "payments"`},
		{"size", fixBase + "kind: \"worker\"\nsize: \"meduim\"\n", `size 2 "medium"`},
		{"kind", fixBase + "kind: \"cronn\"\n", `kind 2 "cron"`},
		{"environment", fixBase + "kind: \"worker\"\nenvironments: stagin: size: \"xs\"\n", "environments.stagin 1 staging"},
		{"missing port", fixBase + "kind: \"web\"\n", "port 3 8080"},
		{"missing schedule", fixBase + "kind: \"cron\"\n", `schedule 3 "@daily"`},
		{"missing image", strings.Replace(fixBase, "image:      \"ghcr.io/acme/a:1\"\n", "", 1) + "kind: \"worker\"\n", `image 3 "ghcr.io/acme/payments/a:0.1.0"`},
		{"missing apiVersion", strings.Replace(fixBase, "apiVersion: \"paved.dev/v1alpha1\"\n", "", 1) + "kind: \"worker\"\n", `apiVersion 3 "paved.dev/v1alpha1"`},
		{"missing nested", fixBase + "kind: \"worker\"\nbudget: {}\n", "budget.monthlyUSD 3 0"},
		{"justification", fixBase + "kind: \"worker\"\nobservability: tracing: enabled: false\n", `observability.tracing.justification 3 ""`},
		{"probes justification", fixBase + "kind: \"web\"\nport: 80\nhealth: enabled: false\n", `health.justification 3 ""`},
	} {
		t.Run(c.name, func(t *testing.T) {
			da := discover.App{Dir: "/apps/a", Files: []discover.File{{Path: "/apps/a/app.cue", Data: []byte(c.src)}}}
			_, diags := p.LoadApp(da)
			var got []string
			for _, d := range diags {
				if d.Fix != nil {
					got = append(got, fmt.Sprintf("%s %d %s", d.Path, d.Fix.Kind, d.Fix.Text))
				}
			}
			if len(got) != 1 || got[0] != c.want {
				t.Errorf("fixes = %q, want [%q]\n%v", got, c.want, diags)
			}
		})
	}
}

// TestNoFixFar: nothing near, no suggestion and no fix.
func TestNoFixFar(t *testing.T) {
	p, err := LoadPlatform("")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(fixBase, `"payments"`, `"billing"`, 1) + "kind: \"worker\"\nwibble: 1\n"
	_, diags := p.LoadApp(discover.App{Dir: "/apps/a", Files: []discover.File{{Path: "/apps/a/app.cue", Data: []byte(src)}}})
	if len(diags) != 2 {
		t.Fatalf("want 2 diagnostics, got %v", diags)
	}
	for _, d := range diags {
		if d.Fix != nil || strings.Contains(d.Message, "did you mean") {
			t.Errorf("%s: unexpected suggestion %+v", d, d.Fix)
		}
	}
}
