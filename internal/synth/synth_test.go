package synth

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The same seed gives the same repository, byte for byte; another seed
// another one.
func TestDeterministic(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for dir, seed := range map[string]uint64{a: 1, b: 1, c: 2} {
		if _, err := Generate(dir, Options{Apps: 120, Seed: seed}); err != nil {
			t.Fatal(err)
		}
	}
	ta, tb, tc := readTree(t, a), readTree(t, b), readTree(t, c)
	if len(ta) != len(tb) {
		t.Fatalf("%d files, then %d", len(ta), len(tb))
	}
	for p, data := range ta {
		if !bytes.Equal(tb[p], data) {
			t.Fatalf("%s differs between two runs with one seed", p)
		}
	}
	same := 0
	for p, data := range ta {
		if bytes.Equal(tc[p], data) {
			same++
		}
	}
	if same == len(ta) {
		t.Fatal("seed 2 generated the repository of seed 1")
	}
}

// A generated fleet has the variety the benchmarks claim: every kind,
// prod overrides, secrets, dependsOn, patches, ingresses and exceptions,
// over several teams.
func TestVariety(t *testing.T) {
	root := t.TempDir()
	apps, err := Generate(root, Options{Apps: 200, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 200 {
		t.Fatalf("%d apps", len(apps))
	}
	files := readTree(t, root)
	count := func(substr string) int {
		n := 0
		for p, b := range files {
			if strings.HasSuffix(p, ".cue") && strings.Contains(string(b), substr) {
				n++
			}
		}
		return n
	}
	for what, substr := range map[string]string{
		"web apps": `kind: "web"`, "workers": `kind: "worker"`, "cron jobs": `kind: "cron"`,
		"prod overrides": "environments: prod", "secrets": "secrets: {", "dependsOn": "dependsOn:",
		"patches": "patches:", "ingresses": "ingress:", "exceptions": "exceptions:", "digests": "@sha256:",
	} {
		if count(substr) < 2 {
			t.Errorf("only %d files with %s", count(substr), what)
		}
	}
	teams := map[string]bool{}
	for _, a := range apps {
		teams[a.Team] = true
	}
	if len(teams) != 200/AppsPerTeam {
		t.Errorf("%d teams", len(teams))
	}
	if _, err := Generate(t.TempDir(), Options{Apps: 0}); err == nil {
		t.Error("zero apps generated")
	}
}
