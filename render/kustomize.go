package render

import (
	"fmt"
	"sync"

	"github.com/fluxcd/pkg/kustomize"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

// kustomizeMu contains kustomize's global state (the OpenAPI schema
// strategic merge patches use, and the maps behind kustomize issue 3659):
// every build in paved runs under it, one at a time.
var kustomizeMu sync.Mutex

// kustomizeBuild builds dir as Flux's kustomize-controller does.
//
// fluxcd/pkg/kustomize.Build resets kustomize's global OpenAPI schema and
// parses the built-in Kubernetes schema again for every build (about 25 ms),
// so that an `openapi:` field of one kustomization cannot leak into the
// next build. A kustomization without that field builds against the
// built-in schema either way, so paved parses it once and keeps it: the
// same krusty options as Flux, the same schema, the same output
// (TestPlainBuildEquivalence compares the two on every patched directory of
// the examples and a synthetic fleet).
// A kustomization with an `openapi:` field, and every build with always
// set (the reference path), goes through fluxcd/pkg/kustomize.Build itself.
func kustomizeBuild(fs filesys.FileSystem, dir string, k *kusttypes.Kustomization, always bool) (res resmap.ResMap, err error) {
	kustomizeMu.Lock()
	defer kustomizeMu.Unlock()
	if always || len(k.OpenAPI) > 0 {
		return kustomize.Build(fs, dir)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("recovered from kustomize build panic: %v", r)
		}
	}()
	// Parsed on first use, and again after a Flux build reset it.
	_ = openapi.Schema()
	// A base this kustomization includes may still set `openapi:`; that
	// schema must not outlive the build (as Flux's reset ensures).
	version := openapi.GetSchemaVersion()
	defer func() {
		if openapi.GetSchemaVersion() != version {
			openapi.ResetOpenAPI()
		}
	}()
	kz := krusty.MakeKustomizer(&krusty.Options{
		LoadRestrictions: kusttypes.LoadRestrictionsNone,
		PluginConfig:     kusttypes.DisabledPluginConfig(),
	})
	return kz.Run(fs, dir)
}
