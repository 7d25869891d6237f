package render_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"sigs.k8s.io/yaml"

	"github.com/paved-dev/paved/render"
)

// TestDashboardsDecodeStrictly: every dashboard of every example in every
// cluster, read back from its rendered ConfigMap file, decodes strictly
// into the Grafana Foundation SDK's dashboard model (no unknown or
// mistyped field) and passes its validation, generated from Grafana's
// dashboard schema; it carries the sidecar's label and the team's folder,
// and queries the app's HTTP metrics exactly when the app has them.
func TestDashboardsDecodeStrictly(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	in := loadExamples(t)
	tree, err := render.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	d := in.Platform.Data.Dashboards
	seen := map[string]int{}
	for _, u := range tree.Units {
		if u.Kind != render.UnitApp {
			continue
		}
		spec, err := u.App.Env(u.Environment)
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, b := range u.Objects {
			if b.Object.Kind() != "ConfigMap" || b.Object.Name() != spec.Name+"-dashboard" {
				continue
			}
			found++
			var cm struct {
				Metadata struct {
					Labels      map[string]string `json:"labels"`
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
				Data map[string]string `json:"data"`
			}
			if err := yaml.Unmarshal(tree.Files[b.File], &cm); err != nil {
				t.Fatalf("%s: %v", b.File, err)
			}
			if cm.Metadata.Labels[d.Label.Key] != d.Label.Value || cm.Metadata.Annotations[d.FolderAnnotation] != spec.Team {
				t.Errorf("%s: label %q=%q and folder %q=%q, want the sidecar's label and folder %s", b.File,
					d.Label.Key, cm.Metadata.Labels[d.Label.Key], d.FolderAnnotation, cm.Metadata.Annotations[d.FolderAnnotation], spec.Team)
			}
			js, ok := cm.Data[spec.Team+"-"+spec.Name+".json"]
			if !ok || len(cm.Data) != 1 {
				t.Fatalf("%s: data keys %v", b.File, cm.Data)
			}
			//lint:ignore SA1019 the provisioned file is the v1 model (see dashboardJSON)
			var db dashboard.Dashboard
			if err := db.UnmarshalJSONStrict([]byte(js)); !noErrors(err) {
				t.Fatalf("%s: does not decode strictly: %v", b.File, err)
			}
			if err := db.Validate(); !noErrors(err) {
				t.Fatalf("%s: %v", b.File, err)
			}
			if db.Uid == nil || *db.Uid != render.DashboardUID(spec.Team, spec.Name) || len(*db.Uid) > 40 {
				t.Errorf("%s: uid %v", b.File, db.Uid)
			}
			vars := []string{}
			for _, v := range db.Templating.List {
				if v.Type == dashboard.VariableTypeQuery {
					vars = append(vars, v.Name)
				}
			}
			if !slices.Equal(vars, []string{"cluster", "namespace"}) {
				t.Errorf("%s: template variables %v, want cluster and namespace", b.File, vars)
			}
			links := map[string]bool{}
			for _, l := range db.Links {
				links[l.Title] = l.Url != nil && strings.Contains(*l.Url, "/explore?")
			}
			if !links["Traces"] || !links["Logs"] {
				t.Errorf("%s: links %v, want Traces and Logs in Explore", b.File, links)
			}
			http := strings.Contains(js, in.Platform.Data.Metrics.HTTPDuration)
			if want := spec.Kind == "web" && spec.Observability.Metrics.Enabled; http != want {
				t.Errorf("%s: queries %s: %v, want %v", b.File, in.Platform.Data.Metrics.HTTPDuration, http, want)
			}
			seen[spec.Kind]++
		}
		want := 0
		if spec.Observability.Dashboard.Enabled {
			want = 1
		}
		if found != want {
			t.Errorf("%s: %d dashboards, want %d", u.Dir, found, want)
		}
	}
	for _, k := range []string{"web", "worker", "cron"} {
		if seen[k] == 0 {
			t.Errorf("no dashboard of a %s app checked", k)
		}
	}
}

// TestCatalogResolves: the catalog has one Component per app and one Group
// per team; every owner, system and dependsOn reference names an entity of
// the catalog or a system the platform declares; the Location lists every
// entity file. (make catalog-check runs Backstage's own catalog-model on
// the same files.)
func TestCatalogResolves(t *testing.T) {
	in := loadExamples(t)
	tree, err := render.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	if tree.Catalog == nil {
		t.Fatal("no catalog")
	}
	refs := map[string]bool{}
	var files []string
	for _, b := range tree.Catalog.Objects {
		md := b.Object["metadata"].(map[string]any)
		refs[strings.ToLower(b.Object.Kind())+":"+md["namespace"].(string)+"/"+md["name"].(string)] = true
		files = append(files, "./"+strings.TrimPrefix(b.File, "catalog/"))
	}
	for s := range in.Platform.Data.Catalog.Systems {
		refs["system:default/"+s] = true
	}
	teams := map[string]bool{}
	for _, a := range in.Apps {
		teams[a.Base.Team] = true
		if !refs["component:"+a.Base.Team+"/"+a.Base.Name] {
			t.Errorf("no Component for %s/%s", a.Base.Team, a.Base.Name)
		}
	}
	for team := range teams {
		if !refs["group:default/"+team] {
			t.Errorf("no Group for team %s", team)
		}
	}
	for _, b := range tree.Catalog.Objects {
		if b.Object.Kind() != "Component" {
			continue
		}
		spec := b.Object["spec"].(map[string]any)
		check := func(field, ref string) {
			if !refs[ref] {
				t.Errorf("%s: %s %q resolves to nothing", b.File, field, ref)
			}
		}
		check("owner", spec["owner"].(string))
		if s, ok := spec["system"].(string); ok {
			check("system", s)
		}
		deps, _ := spec["dependsOn"].([]any)
		for _, d := range deps {
			check("dependsOn", d.(string))
		}
	}
	var loc struct {
		Kind string `json:"kind"`
		Spec struct {
			Targets []string `json:"targets"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(tree.Files[render.CatalogLocation], &loc); err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	if loc.Kind != "Location" || !slices.Equal(loc.Spec.Targets, files) {
		js, _ := json.Marshal(loc)
		t.Errorf("Location %s, want targets %v", js, files)
	}
}

// noErrors reports whether err is nil or an empty cog.BuildErrors (the
// SDK's strict decoder returns its error list even when it is empty).
func noErrors(err error) bool {
	var be cog.BuildErrors
	if errors.As(err, &be) {
		return len(be) == 0
	}
	return err == nil
}

// TestDashboardGoldens: the dashboard of one app of each kind, indented
// for review (the rendered ConfigMap holds it compact), against
// testdata/dashboards/<kind>.json; PAVED_UPDATE=1 rewrites them (review
// the diff).
func TestDashboardGoldens(t *testing.T) {
	in := loadExamples(t)
	tree, err := render.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"web":    "apps/prod-eu-1/payments/checkout/core_v1_configmap_checkout-dashboard.yaml",
		"worker": "apps/prod-eu-1/search/indexer/core_v1_configmap_indexer-dashboard.yaml",
		"cron":   "apps/prod-eu-1/identity/session-reaper/core_v1_configmap_session-reaper-dashboard.yaml",
	}
	for kind, f := range files {
		data, ok := tree.File(f)
		if !ok {
			t.Fatalf("%s: not rendered", f)
		}
		var cm struct {
			Data map[string]string `json:"data"`
		}
		if err := yaml.Unmarshal(data, &cm); err != nil || len(cm.Data) != 1 {
			t.Fatalf("%s: %v %v", f, err, cm.Data)
		}
		var got bytes.Buffer
		for _, js := range cm.Data {
			if err := json.Indent(&got, []byte(js), "", "  "); err != nil {
				t.Fatal(err)
			}
		}
		golden := filepath.Join("testdata", "dashboards", kind+".json")
		if os.Getenv("PAVED_UPDATE") != "" {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("the %s dashboard differs from %s (PAVED_UPDATE=1 rewrites it; review the diff)", kind, golden)
		}
	}
}
