// Package render turns validated apps and the platform into the fleet
// repository layout, in memory: Render is the entry point. Every blueprint
// runs in CUE; every object is written once, as canonical YAML; every
// kustomization directory is built as Flux's kustomize-controller builds it.
// Render is pure: it reads nothing from disk and writes nothing, except
// the content-addressed cache when Input.Cache is set (speed, never output).
package render
