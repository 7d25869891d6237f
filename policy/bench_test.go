package policy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	cpolicy "github.com/open-policy-agent/conftest/policy"

	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
)

// scaledTree repeats the rendered examples' units under new cluster names
// until the tree holds at least n objects. Each copy of an object carries
// its own annotation, so no two objects are equal: lint evaluates an
// object rendered identically into several clusters once, and identical
// copies would measure that instead of the engine.
func scaledTree(b *testing.B, n int) (*render.Tree, int) {
	p := defaultPlatform(b)
	base := renderExamples(b, p)
	tree := &render.Tree{}
	objects := 0
	for i := 0; objects < n; i++ {
		for _, u := range base.Units {
			u.Cluster = fmt.Sprintf("%s-%d", u.Cluster, i)
			objs := make([]render.Built, len(u.Objects))
			for j, o := range u.Objects {
				js, err := json.Marshal(o.Object)
				if err != nil {
					b.Fatal(err)
				}
				c, err := render.DecodeObject(js)
				if err != nil {
					b.Fatal(err)
				}
				meta, _ := c["metadata"].(map[string]any)
				ann, _ := meta["annotations"].(map[string]any)
				if ann == nil {
					ann = map[string]any{}
					meta["annotations"] = ann
				}
				ann["paved.dev/bench-copy"] = strconv.Itoa(i)
				o.Object = c
				objs[j] = o
			}
			u.Objects = objs
			tree.Units = append(tree.Units, u)
			objects += len(u.Objects)
		}
	}
	return tree, objects
}

// BenchmarkLint5000Objects lints at least 5,000 rendered objects with the
// full built-in bundle: every object, every kustomization directory and
// the budgets.
func BenchmarkLint5000Objects(b *testing.B) {
	p := defaultPlatform(b)
	e := load(b, p)
	tree, n := scaledTree(b, 5000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.Lint(context.Background(), p, tree, policy.LintOptions{Today: today}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(float64(n), "objects")
}

// BenchmarkConftestCheck1000Objects evaluates the same bundle's
// per-object namespace the way `conftest test` does (Engine.Check: the
// query prepared again for every object and rule) over 1,000 of the same
// objects. Compare its objects/s with BenchmarkLint5000Objects.
func BenchmarkConftestCheck1000Objects(b *testing.B) {
	tree, _ := scaledTree(b, 1000)
	configs := map[string]any{}
	for _, u := range tree.Units {
		for i, o := range u.Objects {
			if len(configs) == 1000 {
				break
			}
			configs[fmt.Sprintf("%s/%s/%d.yaml", u.Cluster, u.Dir, i)] = map[string]any(o.Object)
		}
	}
	// The same data paved gives its engine, as a data file.
	dataDir := b.TempDir()
	p := defaultPlatform(b)
	js, _ := json.Marshal(map[string]any{"paved": map[string]any{"platform": map[string]any{
		"registries": p.Data.Registries,
		"policy": map[string]any{
			"allowedServiceTypes": p.Data.Policy.AllowedServiceTypes, "allowExternalIPs": p.Data.Policy.AllowExternalIPs,
			"kubernetesVersion": p.Data.Policy.KubernetesVersion, "notWaivable": p.Data.Policy.NotWaivable,
		},
	}}})
	if err := os.WriteFile(filepath.Join(dataDir, "data.json"), js, 0o644); err != nil {
		b.Fatal(err)
	}
	eng, err := cpolicy.LoadWithData([]string{"bundle"}, []string{dataDir}, cpolicy.CompilerOptions{RegoVersion: "v1", Strict: true})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := eng.Check(context.Background(), configs, "paved.k8s"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(configs))*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}
