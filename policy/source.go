package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

// specField maps a path in a rendered object back to the app spec field
// that produced it ("" when the blueprint alone decides the value, as for
// a security context). The blueprints are paved's own, so this table is
// the source map: each entry names the spec field a blueprint reads.
func specField(o render.Object, p []any) string {
	key := func(i int) string {
		if i < len(p) {
			s, _ := p[i].(string)
			return s
		}
		return ""
	}
	// Annotations recording a justified opt-out.
	if key(0) == "metadata" && key(1) == "annotations" {
		switch key(2) {
		case "opt-out.paved.dev/tracing":
			return "observability.tracing"
		case "opt-out.paved.dev/metrics":
			return "observability.metrics"
		case "opt-out.paved.dev/logging":
			return "observability.logging"
		case "opt-out.paved.dev/network-policy":
			return "networkPolicy"
		case "opt-out.paved.dev/health":
			return "health"
		}
	}
	// Inside a container.
	for i := 0; i+1 < len(p); i++ {
		if k := key(i); k != "containers" && k != "initContainers" {
			continue
		}
		if _, ok := pathIndex(p[i+1]); !ok {
			continue
		}
		switch key(i + 2) {
		case "image":
			return "image"
		case "args", "command":
			return "args"
		case "resources":
			return "size"
		case "ports":
			return "port"
		case "livenessProbe":
			return "health.liveness"
		case "readinessProbe":
			return "health.readiness"
		case "startupProbe":
			return "health"
		case "env":
			return envField(o, p[:i+4])
		}
		return ""
	}
	switch o.Kind() {
	case "Deployment", "StatefulSet":
		if key(0) == "spec" && key(1) == "replicas" {
			return "replicas"
		}
	case "HorizontalPodAutoscaler", "PodDisruptionBudget":
		return "replicas"
	case "CronJob":
		if key(0) == "spec" && key(1) == "schedule" {
			return "schedule"
		}
	case "Ingress":
		return "ingress"
	case "NetworkPolicy":
		return "dependsOn"
	case "ServiceMonitor":
		return "observability.metrics"
	case "ExternalSecret":
		return "secrets"
	case "Service":
		if key(0) == "spec" && key(1) == "ports" {
			return "port"
		}
	}
	return ""
}

// envField names the spec field an env entry comes from: a secret, an
// env value, or one of the observability defaults.
func envField(o render.Object, p []any) string {
	var cur any = map[string]any(o)
	for _, el := range p {
		switch x := cur.(type) {
		case map[string]any:
			cur = x[fmt.Sprint(el)]
		case []any:
			i, ok := pathIndex(el)
			if !ok || i < 0 || i >= len(x) {
				return "env"
			}
			cur = x[i]
		default:
			return "env"
		}
	}
	e, _ := cur.(map[string]any)
	name, _ := e["name"].(string)
	switch {
	case name == "":
		return "env"
	case strings.HasPrefix(name, "OTEL_"):
		return "observability.tracing"
	case name == "LOG_FORMAT":
		return "observability.logging"
	case e["valueFrom"] != nil:
		return "secrets." + name
	}
	return "env." + name
}

// sourcePos finds the app.cue position of the field behind a finding: a
// patch that changed the path, else the spec field the blueprint read
// (the environment's override first). ok is false when no field of the
// app's own files produced the value.
func sourcePos(u render.Unit, b *render.Built, p []any) (diag.Position, bool) {
	if u.App == nil {
		return diag.Position{}, false
	}
	a := u.App.App
	if b != nil && len(b.Patched) > 0 && patchedAt(b.Patched, p) {
		spec, _ := u.App.Env(u.Environment) // rendered: decoded already
		if i := patchIndex(spec.Patches, b.Object); i >= 0 {
			if pos, ok := lookup(a, u.Environment, fmt.Sprintf("patches[%d]", i)); ok {
				return pos, true
			}
		}
		if pos, ok := lookup(a, u.Environment, "patches"); ok {
			return pos, true
		}
	}
	var f string
	if b != nil {
		f = specField(b.Object, p)
	}
	if f == "" {
		return diag.Position{}, false
	}
	for {
		if pos, ok := lookup(a, u.Environment, f); ok {
			return pos, true
		}
		i := strings.LastIndexByte(f, '.')
		if i < 0 {
			return diag.Position{}, false
		}
		f = f[:i]
	}
}

// lookup finds a spec field, preferring the environment's override.
func lookup(a *schema.App, env, f string) (diag.Position, bool) {
	if env != "" {
		if pos, ok := a.FieldPos("environments." + env + "." + f); ok {
			return pos, true
		}
	}
	return a.FieldPos(f)
}

// patchedAt reports whether p is at, inside or above a patched path.
func patchedAt(patched [][]any, p []any) bool {
	for _, q := range patched {
		n := min(len(p), len(q))
		if slices.EqualFunc(p[:n], q[:n], samePathElem) {
			return true
		}
	}
	return false
}

func samePathElem(a, b any) bool {
	ai, aok := pathIndex(a)
	bi, bok := pathIndex(b)
	if aok || bok {
		return aok && bok && ai == bi
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// patchIndex is the first patch whose target selects the object by kind,
// name and namespace (label and annotation selectors are not evaluated),
// or -1.
func patchIndex(patches []schema.Patch, o render.Object) int {
	for i, pt := range patches {
		t := pt.Target
		if t == nil {
			return i
		}
		g, v := o.GroupVersion()
		if (t.Kind == "" || t.Kind == o.Kind()) && (t.Name == "" || t.Name == o.Name()) &&
			(t.Namespace == "" || t.Namespace == o.Namespace()) && (t.Group == "" || t.Group == g) &&
			(t.Version == "" || t.Version == v) {
			return i
		}
	}
	return -1
}
