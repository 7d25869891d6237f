package policy_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/internal/cache"
	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

// lintJSON lints a fresh copy of the examples (broken, so that there are
// findings, and with mutate applied) and returns the JSON report and the
// report.
func lintJSON(t *testing.T, e *policy.Engine, p *schema.Platform, c *cache.Cache, mutate func(*render.Tree)) ([]byte, *policy.Report) {
	t.Helper()
	tree := renderExamples(t, p)
	breakDeployments(tree, "hostNetwork", "docker.io/library/nginx:latest")
	if mutate != nil {
		mutate(tree)
	}
	rep, err := e.Lint(context.Background(), p, tree, policy.LintOptions{Today: today, Consume: true, Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := policy.FormatJSON(&buf, rep, policy.FormatOptions{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), rep
}

// entries lists the cache's per-object result entries.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "lint-object-") {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestResultCache: lint with the per-object results cache gives the same
// report, byte for byte, as without it, cold and warm; warm it evaluates
// only the objects that changed; corrupt, torn or swapped entries are
// evaluated again, never believed; and a change of the policies or of
// their data misses every entry.
func TestResultCache(t *testing.T) {
	p := defaultPlatform(t)
	e := load(t, p)
	want, _ := lintJSON(t, e, p, nil, nil)
	if !bytes.Contains(want, []byte(`"severity": "deny"`)) {
		t.Fatalf("the broken examples produced no denial:\n%s", want)
	}
	dir := t.TempDir()
	c := cache.Open(dir, "test")

	cold, rep := lintJSON(t, e, p, c, nil)
	if !bytes.Equal(cold, want) {
		t.Fatalf("cold run with the cache differs from the uncached one:\n%s\nwant:\n%s", cold, want)
	}
	if rep.Cached != 0 || rep.Distinct == 0 {
		t.Fatalf("cold: %d of %d objects cached, want 0 of some", rep.Cached, rep.Distinct)
	}
	if n := len(entries(t, dir)); n != rep.Distinct {
		t.Fatalf("cold run wrote %d entries for %d distinct objects", n, rep.Distinct)
	}
	// A new engine, as a new process has: its built-in bundle is written
	// to another temporary directory.
	e = load(t, p)
	warm, rep := lintJSON(t, e, p, c, nil)
	if !bytes.Equal(warm, want) {
		t.Fatalf("warm run differs from the uncached one:\n%s\nwant:\n%s", warm, want)
	}
	if rep.Cached != rep.Distinct {
		t.Fatalf("warm: %d of %d objects cached, want all", rep.Cached, rep.Distinct)
	}

	// One object changed: only it is evaluated, and its new finding is there.
	pick := func(tree *render.Tree) {
		for _, u := range tree.Units {
			for _, b := range u.Objects {
				if b.Object.Kind() == "Deployment" && u.Cluster == "dev-eu-1" {
					spec := b.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
					spec["hostPID"] = true
					return
				}
			}
		}
		t.Fatal("no Deployment in dev-eu-1")
	}
	wantOne, _ := lintJSON(t, e, p, nil, pick)
	one, rep := lintJSON(t, e, p, c, pick)
	if !bytes.Equal(one, wantOne) {
		t.Fatalf("one object changed: cached run differs from the uncached one:\n%s\nwant:\n%s", one, wantOne)
	}
	if rep.Cached != rep.Distinct-1 {
		t.Fatalf("one object changed: %d of %d objects cached, want all but one", rep.Cached, rep.Distinct)
	}
	if bytes.Equal(wantOne, want) {
		t.Fatal("hostPID on one Deployment changed no finding")
	}

	// Corrupt entries: a torn one, garbage with a valid checksum, and an
	// entry of another object under this one's key. Each is evaluated
	// again.
	files := entries(t, dir)
	if len(files) < 3 {
		t.Fatalf("only %d entries", len(files))
	}
	other, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			b = b[:len(b)/2]
		case 1:
			b = other
		case 2:
			// A valid checksum over a payload naming no rule.
			b = validEntry(t, `{"object":"`+strings.Repeat("0", 64)+`","results":[]}`)
		}
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	again, rep := lintJSON(t, e, p, c, nil)
	if !bytes.Equal(again, want) {
		t.Fatalf("corrupt entries changed the report:\n%s\nwant:\n%s", again, want)
	}
	if rep.Cached > 1 { // files[0] kept its own content
		t.Fatalf("%d corrupt entries were believed", rep.Cached)
	}

	// A platform policy and data: every entry misses, the new policy's
	// findings are there, and a change of the data alone misses again.
	pdir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		f := filepath.Join(pdir, name)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("platform.cue", "package paved\n\nplatform: extends: \"example\"\n")
	write("policies/label.rego", `package acme.label

import rego.v1

warn_owner_label contains msg if {
	input.kind == "Deployment"
	not input.metadata.labels[data.labelcheck.label]
	msg := sprintf("Deployment %s has no %s label", [input.metadata.name, data.labelcheck.label])
}
`)
	write("data/labelcheck.json", `{"labelcheck": {"label": "owner"}}`)
	for _, label := range []string{"owner", "cost-center"} {
		write("data/labelcheck.json", `{"labelcheck": {"label": "`+label+`"}}`)
		pp, err := schema.LoadPlatform(pdir)
		if err != nil {
			t.Fatal(err)
		}
		pe := load(t, pp)
		want, _ := lintJSON(t, pe, pp, nil, nil)
		if !bytes.Contains(want, []byte("no "+label+" label")) {
			t.Fatalf("the platform policy found nothing with label %s:\n%s", label, want)
		}
		got, rep := lintJSON(t, pe, pp, c, nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("label %s: cached run differs from the uncached one:\n%s\nwant:\n%s", label, got, want)
		}
		if rep.Cached != 0 {
			t.Fatalf("label %s: %d objects' results came from another bundle or data", label, rep.Cached)
		}
	}
}

// validEntry is a cache entry holding payload with a correct checksum.
func validEntry(t *testing.T, payload string) []byte {
	t.Helper()
	dir := t.TempDir()
	c := cache.Open(dir, "x")
	c.Put("k-00", []byte(payload))
	b, err := os.ReadFile(filepath.Join(dir, "00", "k-00"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
