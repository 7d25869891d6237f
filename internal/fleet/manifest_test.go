package fleet

import (
	"encoding/json"
	"errors"
	"path"
	"slices"
	"strings"
	"testing"
)

func manifestJSON(t testing.TB, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func appManifest(files ...string) map[string]any {
	digests := map[string]string{}
	for _, f := range files {
		digests[f] = "sha256:00"
	}
	return map[string]any{
		"apiVersion": "paved.dev/v1alpha1", "kind": "Ownership", "app": "ledger", "team": "payments",
		"source": map[string]any{"id": "github.com/acme/ledger", "path": "svc"},
		"files":  files, "digests": digests,
	}
}

// TestReadManifest: a manifest is acted on only when it names the app its
// file name names and lists only that app's paths.
func TestReadManifest(t *testing.T) {
	const p = ".paved/apps/payments/ledger.json"
	good := appManifest(
		"apps/prod-eu-1/payments/ledger/apps_v1_deployment_ledger.yaml",
		"apps/prod-eu-1/payments/ledger/kustomization.yaml",
		"clusters/prod-eu-1/paved/apps/payments-ledger.yaml",
		"catalog/payments/ledger.yaml",
	)
	m, err := ReadManifest(p, manifestJSON(t, good))
	if err != nil {
		t.Fatal(err)
	}
	if m.ID() != "payments/ledger" || m.SourceID() != "github.com/acme/ledger" || len(m.Files) != 4 {
		t.Fatalf("read %+v", m)
	}
	// A manifest from before source identities: the ID of its origin.
	old := appManifest()
	old["source"] = map[string]any{"repo": "git@github.com:acme/ledger.git", "path": "."}
	if m, err := ReadManifest(p, manifestJSON(t, old)); err != nil || m.SourceID() != "github.com/acme/ledger" {
		t.Fatalf("old manifest: %v, %v", m, err)
	}
	old["source"] = map[string]any{"path": "svc"}
	if m, err := ReadManifest(p, manifestJSON(t, old)); err != nil || m.SourceID() != "local" {
		t.Fatalf("old manifest without origin: %v, %v", m, err)
	}

	tenant := map[string]any{
		"apiVersion": "paved.dev/v1alpha1", "kind": "Ownership", "team": "payments",
		"files": []string{"tenants/dev-eu-1/payments/core_v1_namespace_payments.yaml", "clusters/dev-eu-1/paved/tenants/payments.yaml", "catalog/payments/_group.yaml"},
	}
	if _, err := ReadManifest(".paved/tenants/payments.json", manifestJSON(t, tenant)); err != nil {
		t.Fatal(err)
	}

	bad := []struct {
		name, path string
		data       []byte
		reason     string
	}{
		{"Flux's bootstrap file", p, manifestJSON(t, appManifest("clusters/prod-eu-1/flux-system/gotk-sync.yaml")), "not a file of app payments/ledger"},
		{"dot-dot", p, manifestJSON(t, appManifest("apps/prod-eu-1/payments/ledger/../../search/x/y.yaml")), "not a file of app payments/ledger"},
		{"another app's file", p, manifestJSON(t, appManifest("apps/prod-eu-1/payments/checkout/apps_v1_deployment_checkout.yaml")), "not a file"},
		{"another app's Flux object", p, manifestJSON(t, appManifest("clusters/prod-eu-1/paved/apps/payments-checkout.yaml")), "not a file"},
		{"a tenant file", p, manifestJSON(t, appManifest("tenants/prod-eu-1/payments/core_v1_namespace_payments.yaml")), "not a file"},
		{"absolute", p, manifestJSON(t, appManifest("/etc/passwd")), "not a file"},
		{"nested", p, manifestJSON(t, appManifest("apps/prod-eu-1/payments/ledger/sub/x.yaml")), "not a file"},
		{"hidden", p, manifestJSON(t, appManifest("apps/prod-eu-1/payments/ledger/.git")), "not a file"},
		{"the team's Group", p, manifestJSON(t, appManifest("catalog/payments/_group.yaml")), "not a file"},
		{"another app's catalog entry", p, manifestJSON(t, appManifest("catalog/payments/checkout.yaml")), "not a file"},
		{"the Location", p, manifestJSON(t, appManifest("catalog/all.yaml")), "not a file"},
		{"twice", p, manifestJSON(t, appManifest("apps/prod-eu-1/payments/ledger/a.yaml", "apps/prod-eu-1/payments/ledger/a.yaml")), "twice"},
		{"another name", ".paved/apps/payments/checkout.json", manifestJSON(t, appManifest()), "names app payments/ledger, not the app payments/checkout"},
		{"another team", ".paved/apps/search/ledger.json", manifestJSON(t, appManifest()), "names app payments/ledger"},
		{"bad file name", ".paved/apps/payments/Ledger.json", manifestJSON(t, appManifest()), "DNS-1123"},
		{"misplaced", ".paved/apps/payments/x/ledger.json", manifestJSON(t, appManifest()), "not where paved keeps"},
		{"not JSON", p, []byte(`{"files": [[`), "does not parse"},
		{"two documents", p, append(manifestJSON(t, appManifest()), []byte(" {}")...), "data after the manifest"},
		{"not an ownership", p, []byte(`{"app": "ledger", "team": "payments"}`), "want paved.dev/v1alpha1 Ownership"},
		{"a digest of an unlisted file", p, func() []byte {
			m := appManifest()
			m["digests"] = map[string]string{"clusters/prod-eu-1/flux-system/gotk-sync.yaml": "sha256:00"}
			return manifestJSON(t, m)
		}(), "does not list"},
		{"source path", p, func() []byte {
			m := appManifest()
			m["source"] = map[string]any{"path": "../elsewhere"}
			return manifestJSON(t, m)
		}(), "not a clean relative path"},
		{"dependsOn", p, func() []byte {
			m := appManifest()
			m["dependsOn"] = []string{"../x"}
			return manifestJSON(t, m)
		}(), "not team/app"},
		{"tenant lists another team's", ".paved/tenants/payments.json", func() []byte {
			m := map[string]any{"apiVersion": "paved.dev/v1alpha1", "kind": "Ownership", "team": "payments",
				"files": []string{"tenants/dev-eu-1/search/core_v1_namespace_search.yaml"}}
			return manifestJSON(t, m)
		}(), "not a file of the tenant of team payments"},
		{"tenant lists an app's catalog entry", ".paved/tenants/payments.json", func() []byte {
			m := map[string]any{"apiVersion": "paved.dev/v1alpha1", "kind": "Ownership", "team": "payments",
				"files": []string{"catalog/payments/ledger.yaml"}}
			return manifestJSON(t, m)
		}(), "not a file of the tenant"},
		{"tenant lists an app's", ".paved/tenants/payments.json", func() []byte {
			m := map[string]any{"apiVersion": "paved.dev/v1alpha1", "kind": "Ownership", "team": "payments",
				"files": []string{"apps/dev-eu-1/payments/ledger/kustomization.yaml"}}
			return manifestJSON(t, m)
		}(), "not a file of the tenant"},
	}
	for _, c := range bad {
		_, err := ReadManifest(c.path, c.data)
		var me *ManifestError
		if !errors.As(err, &me) {
			t.Errorf("%s: accepted (%v)", c.name, err)
			continue
		}
		if me.Path != c.path || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: %v, want the manifest named and %q", c.name, err, c.reason)
		}
	}
}

// FuzzReadManifest: the manifest reader never panics, and whatever it
// accepts lists only clean paths of its own app's or tenant's directories.
func FuzzReadManifest(f *testing.F) {
	f.Add(".paved/apps/payments/ledger.json", string(manifestJSON(f, appManifest("apps/prod-eu-1/payments/ledger/a.yaml", "clusters/prod-eu-1/paved/apps/payments-ledger.yaml"))))
	f.Add(".paved/tenants/payments.json", `{"apiVersion":"paved.dev/v1alpha1","kind":"Ownership","team":"payments","files":["tenants/x/payments/ns.yaml"]}`)
	f.Add(".paved/apps/a/b.json", `{"apiVersion":"paved.dev/v1alpha1","kind":"Ownership","app":"b","team":"a","files":["apps/c/a/b/../../../../x"]}`)
	f.Add(".paved/apps/a-b/c.json", `{"apiVersion":"paved.dev/v1alpha1","kind":"Ownership","app":"c","team":"a-b","files":["clusters/x/paved/apps/a-b-c.yaml"],"digests":{"clusters/x/paved/apps/a-b-c.yaml":"sha256:1"}}`)
	f.Fuzz(func(t *testing.T, p, data string) {
		m, err := ReadManifest(p, []byte(data))
		if err != nil {
			var me *ManifestError
			if !errors.As(err, &me) || me.Path != p {
				t.Fatalf("error %v is not a ManifestError naming %q", err, p)
			}
			return
		}
		team := m.Team
		if p != ".paved/apps/"+team+"/"+m.App+".json" && !(m.App == "" && p == ".paved/tenants/"+team+".json") {
			t.Fatalf("%s accepted for %s/%s", p, team, m.App)
		}
		for _, f := range m.Files {
			if path.Clean(f) != f || path.IsAbs(f) || strings.Contains(f, "..") {
				t.Fatalf("accepted unclean path %q", f)
			}
			var own bool
			if m.App == "" {
				own = strings.HasPrefix(f, "tenants/") && strings.Split(f, "/")[2] == team ||
					strings.HasPrefix(f, "clusters/") && strings.HasSuffix(f, "/paved/tenants/"+team+".yaml") ||
					f == "catalog/"+team+"/_group.yaml"
			} else {
				own = strings.HasPrefix(f, "apps/") && strings.HasPrefix(strings.Join(strings.Split(f, "/")[2:], "/"), team+"/"+m.App+"/") ||
					strings.HasPrefix(f, "clusters/") && strings.HasSuffix(f, "/paved/apps/"+team+"-"+m.App+".yaml") ||
					f == "catalog/"+team+"/"+m.App+".yaml"
			}
			if !own {
				t.Fatalf("%s accepted with foreign file %q", p, f)
			}
		}
		for f := range m.Digests {
			if !slices.Contains(m.Files, f) {
				t.Fatalf("accepted a digest of %q, which is not listed", f)
			}
		}
	})
}

// TestSourceRecord: a source record is untrusted input like a manifest: it
// must name a valid identity whose digest is its file name and a full
// commit hash; what paved writes reads back.
func TestSourceRecord(t *testing.T) {
	const id, rev = "github.com/acme/shop", "0123456789abcdef0123456789abcdef01234567"
	p := SourceRecordPath(id)
	if !IsSourceRecord(p) || IsManifest(p) {
		t.Fatalf("%s: not a source record path", p)
	}
	r, err := ReadSourceRecord(p, EncodeSourceRecord(id, rev))
	if err != nil || r.Source != id || r.Revision != rev {
		t.Fatalf("round trip: %v %+v", err, r)
	}
	for name, c := range map[string]struct{ p, data string }{
		"another source's file": {SourceRecordPath("github.com/evil/e"), string(EncodeSourceRecord(id, rev))},
		"short revision":        {p, string(EncodeSourceRecord(id, "abc123"))},
		"newline in source":     {SourceRecordPath("a\nb"), string(EncodeSourceRecord("a\nb", rev))},
		"unknown field":         {p, `{"apiVersion":"paved.dev/v1alpha1","kind":"SourceRecord","source":"` + id + `","revision":"` + rev + `","x":1}`},
		"wrong kind":            {p, `{"apiVersion":"paved.dev/v1alpha1","kind":"Ownership","source":"` + id + `","revision":"` + rev + `"}`},
		"trailing data":         {p, string(EncodeSourceRecord(id, rev)) + "{}"},
	} {
		var me *ManifestError
		if _, err := ReadSourceRecord(c.p, []byte(c.data)); !errors.As(err, &me) || me.Path != c.p {
			t.Errorf("%s: want a ManifestError naming %s, got %v", name, c.p, err)
		}
	}
	// ReadManifests refuses a fleet whose record is bad, as it refuses a
	// bad manifest.
	files := map[string]string{p: string(EncodeSourceRecord(id, "abc"))}
	_, err = ReadManifests([]string{p}, func(q string) ([]byte, error) { return []byte(files[q]), nil })
	var me *ManifestError
	if !errors.As(err, &me) {
		t.Fatalf("ReadManifests: want a ManifestError, got %v", err)
	}
}

// TestManifestSourceFields: the source a manifest records is one line of
// text and a full commit hash; anything else is refused before it can
// reach a commit message, a catalog or a PR comment.
func TestManifestSourceFields(t *testing.T) {
	const p = ".paved/apps/payments/ledger.json"
	for name, src := range map[string]string{
		"newline in path":  `{"id":"github.com/acme/a","path":"svc\nRender-Adopted: x","revision":"0123456789abcdef0123456789abcdef01234567"}`,
		"newline in repo":  `{"id":"github.com/acme/a","repo":"https://x\r\nRender-Source: y","path":"."}`,
		"short revision":   `{"id":"github.com/acme/a","path":".","revision":"abc"}`,
		"revision garbage": `{"id":"github.com/acme/a","path":".","revision":"HEAD~1"}`,
	} {
		data := `{"apiVersion":"paved.dev/v1alpha1","kind":"Ownership","app":"ledger","team":"payments","source":` + src + `,"files":[]}`
		var me *ManifestError
		if _, err := ReadManifest(p, []byte(data)); !errors.As(err, &me) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
	ok := `{"apiVersion":"paved.dev/v1alpha1","kind":"Ownership","app":"ledger","team":"payments","source":{"id":"github.com/acme/a","path":"svc","revision":"0123456789abcdef0123456789abcdef01234567"},"files":[]}`
	if _, err := ReadManifest(p, []byte(ok)); err != nil {
		t.Fatal(err)
	}
}

// TestManifestRequests: an app's recorded requests are read per cluster
// (AppClusters from its files); a manifest is untrusted, so out-of-range
// values, a cluster that is no label and requests on a tenant are refused.
func TestManifestRequests(t *testing.T) {
	const p = ".paved/apps/payments/ledger.json"
	m := appManifest("apps/prod-eu-1/payments/ledger/kustomization.yaml", "apps/dev-eu-1/payments/ledger/kustomization.yaml")
	m["requests"] = map[string]any{"prod-eu-1": map[string]any{"cpuMillicores": 750, "memoryMiB": 768, "limitsCPUMillicores": 1500, "limitsMemoryMiB": 768, "storageGiB": 30}}
	got, err := ReadManifest(p, manifestJSON(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if r := got.Requests["prod-eu-1"]; r.CPUMillicores != 750 || r.StorageGiB != 30 {
		t.Errorf("requests %+v", got.Requests)
	}
	if c := got.AppClusters(); !slices.Equal(c, []string{"dev-eu-1", "prod-eu-1"}) {
		t.Errorf("clusters %v", c)
	}
	for name, req := range map[string]any{
		"negative":    map[string]any{"prod-eu-1": map[string]any{"cpuMillicores": -1}},
		"too large":   map[string]any{"prod-eu-1": map[string]any{"storageGiB": int64(1) << 50}},
		"bad label":   map[string]any{"Prod_EU": map[string]any{"cpuMillicores": 1}},
		"not a count": map[string]any{"prod-eu-1": map[string]any{"cpuMillicores": "1"}},
	} {
		m["requests"] = req
		var me *ManifestError
		if _, err := ReadManifest(p, manifestJSON(t, m)); !errors.As(err, &me) {
			t.Errorf("%s: %v, want a ManifestError", name, err)
		}
	}
	tenant := map[string]any{"apiVersion": "paved.dev/v1alpha1", "kind": "Ownership", "team": "payments", "files": []string{}, "digests": map[string]string{},
		"requests": map[string]any{"prod-eu-1": map[string]any{"cpuMillicores": 1}}}
	if _, err := ReadManifest(".paved/tenants/payments.json", manifestJSON(t, tenant)); err == nil || !strings.Contains(err.Error(), "a tenant records no requests") {
		t.Errorf("tenant with requests: %v", err)
	}
}
