package schema

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/paved-dev/paved/blueprints"
	"github.com/paved-dev/paved/internal/diag"
)

// The starter paved platform init writes is a whole platform on its own,
// and its data is the example's: the same environments, clusters, sizes,
// prices, teams, registries and catalog systems, with the teams bound to
// their repositories and the starter's own settings.
func TestStarterIsTheExample(t *testing.T) {
	starter, err := fs.Sub(blueprints.Starters, "starters/platform")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "platform")
	if err := os.CopyFS(dir, starter); err != nil {
		t.Fatal(err)
	}
	sp, err := LoadPlatform(dir)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Extends() {
		t.Fatal("the starter extends the example: it must be a platform of its own")
	}
	ep, err := LoadPlatform("")
	if err != nil {
		t.Fatal(err)
	}
	if !ep.Extends() {
		t.Fatal(`the embedded default does not say extends: "example"`)
	}
	var s, e map[string]any
	if err := json.Unmarshal(sp.JSON(), &s); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(ep.JSON(), &e); err != nil {
		t.Fatal(err)
	}
	for _, m := range []map[string]any{s, e} {
		delete(m, "extends")
		delete(m, "reservedNames")
		delete(m["policy"].(map[string]any), "notWaivable")
		for _, team := range m["teams"].(map[string]any) {
			delete(team.(map[string]any), "sources")
		}
	}
	for k := range e {
		if !reflect.DeepEqual(s[k], e[k]) {
			t.Errorf("platform.%s: the starter has %v, the example %v", k, s[k], e[k])
		}
	}
	for team, v := range sp.Data.Teams {
		if want := "github.com/acme/" + team + "-*"; len(v.Sources) != 1 || v.Sources[0] != want {
			t.Errorf("starter team %s: sources %v, want [%s]", team, v.Sources, want)
		}
	}
}

// A platform directory replaces the example: what it does not declare is
// missing, each at its file:line:col, with one word on how to build on the
// example instead; saying extends: "example" builds on it.
func TestPlatformDirectoryReplacesExample(t *testing.T) {
	load := func(src string) (*Platform, error) {
		t.Helper()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "platform.cue"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return LoadPlatform(dir)
	}
	_, err := load("package paved\n\nplatform: reservedNames: [\"legacy\"]\n")
	if err == nil {
		t.Fatal("a platform directory without environments, teams, sizes, prices and registries loads")
	}
	got := err.Error()
	for _, want := range []string{
		"platform.environments: the platform declares no environments",
		"platform.teams: the platform declares no teams",
		"platform.sizes: the platform declares no sizes",
		"platform.registries: the platform declares no registries",
		"platform.prices.cpuCoreMonth: field is required but not present",
		`builds on the example with platform: extends: "example"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	for _, d := range err.(diag.List) {
		if len(d.Positions) != 1 || filepath.Base(d.Positions[0].Filename) != "platform.cue" || d.Positions[0].Line != 3 || d.Positions[0].Column != 1 {
			t.Errorf("%s: at %v, want platform.cue:3:1 (the platform field)", d, d.Positions)
		}
	}

	p, err := load("package paved\n\nplatform: extends: \"example\"\nplatform: teams: data: {owners: [\"d@acme.dev\"], sources: [\"*\"], monthlyBudgetUSD: 10, costCenter: \"cc-9\"}\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Data.Teams) != 4 || len(p.Data.Environments) != 3 || p.Data.Sizes["small"].CPUMillicores != 250 {
		t.Errorf("extends: the example's teams, environments and sizes and the directory's team: %+v", p.Data)
	}

	// Its own environment needs its clusters; its defaultSize is one of
	// its sizes; a bucket only where databases back up.
	_, err = load(`package paved

platform: {
	environments: qa: {
		tracingSampleRatio: 1
		rollout: {interval: "1m", threshold: 1, stepWeight: 10, maxWeight: 50, iterations: 1, requestSuccessRateMin: 90, requestDurationMaxMs: 500}
		databases: {instances: 1, backups: true}
	}
	sizes: m: {cpuMillicores: 100, memoryMiB: 128}
	prices: {cpuCoreMonth: 1, memoryGiBMonth: 1, storageGiBMonth: 1}
	teams: a: {owners: ["a@x.org"], sources: ["*"], monthlyBudgetUSD: 10, costCenter: "cc-1"}
	registries: ["r.x.org/"]
}
`)
	if err == nil {
		t.Fatal("an environment without clusters loads")
	}
	for _, want := range []string{
		`platform.environments.qa.clusters: environment "qa" declares no clusters`,
		`platform.defaultSize: size "small" is not one of the platform's sizes (m)`,
		"platform.databases.backup.destinationPath: field is required but not present",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%s", want, err)
		}
	}
}
