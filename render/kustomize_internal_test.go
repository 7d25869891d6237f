package render

import (
	"testing"

	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

// TestLeanBuildDoesNotLeakOpenAPI: a kustomization without `openapi:` takes
// the lean build, but a base it includes may set a custom schema, which
// kustomize installs globally. It must not outlive that build (Flux's
// Build resets it after each build; the lean path must too).
func TestLeanBuildDoesNotLeakOpenAPI(t *testing.T) {
	t.Cleanup(openapi.ResetOpenAPI)
	fs := filesys.MakeFsInMemory()
	files := map[string]string{
		"/t/base/kustomization.yaml": "openapi:\n  path: schema.json\nresources:\n- cm.yaml\n",
		"/t/base/schema.json":        `{"swagger": "2.0", "info": {"title": "custom", "version": "v1"}, "paths": {}, "definitions": {}}`,
		"/t/base/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n",
		"/t/app/kustomization.yaml":  "resources:\n- ../base\n",
	}
	for name, data := range files {
		if err := fs.WriteFile(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	before := openapi.GetSchemaVersion()
	rm, err := kustomizeBuild(fs, "/t/app", &kusttypes.Kustomization{Resources: []string{"../base"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if rm.Size() != 1 {
		t.Fatalf("built %d objects, want 1", rm.Size())
	}
	if after := openapi.GetSchemaVersion(); after != before {
		t.Fatalf("the base's custom OpenAPI schema outlived the build: schema %q, was %q", after, before)
	}
}
