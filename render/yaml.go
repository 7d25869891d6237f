package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	goyaml "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

// canonicalYAML renders one object as canonical YAML: keys sorted, 2-space
// indent, no document separator, trailing newline.
func canonicalYAML(obj any) ([]byte, error) {
	b, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	return b, nil
}

// objectYAML renders a rendered object as canonical YAML: byte for byte
// what canonicalYAML writes (TestObjectYAMLMatchesCanonical checks every
// object of the examples and a synthetic fleet), without its round trip.
// sigs.k8s.io/yaml marshals to JSON, parses that JSON with go-yaml and
// marshals the result with go-yaml; an Object already holds what that
// parse yields (maps, lists, strings, booleans, json.Number, which go-yaml
// writes as the int or float the parse would give), so go-yaml can write
// it directly: a third of the cost.
func objectYAML(o Object) ([]byte, error) {
	b, err := goyaml.Marshal(map[string]any(o))
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	// The tree keeps every file of the fleet: drop the encoder's spare
	// capacity.
	return bytes.Clone(b), nil
}

// canonicalJSON renders v as indented JSON with a trailing newline.
func canonicalJSON(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Object is a rendered Kubernetes object.
type Object map[string]any

func (o Object) str(path ...string) string {
	var cur any = map[string]any(o)
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}

// identity returns the fields that identify o (apiVersion, kind,
// metadata.namespace and .name): what a plain directory's build reads.
func (o Object) identity() Object {
	md := map[string]any{"name": o.Name()}
	if ns := o.Namespace(); ns != "" {
		md["namespace"] = ns
	}
	return Object{"apiVersion": o.APIVersion(), "kind": o.Kind(), "metadata": md}
}

// APIVersion, Kind, Name and Namespace read the object's identity.
func (o Object) APIVersion() string { return o.str("apiVersion") }
func (o Object) Kind() string       { return o.str("kind") }
func (o Object) Name() string       { return o.str("metadata", "name") }
func (o Object) Namespace() string  { return o.str("metadata", "namespace") }

// GroupVersion splits apiVersion into group ("" for the core group) and version.
func (o Object) GroupVersion() (string, string) {
	av := o.APIVersion()
	if i := strings.LastIndex(av, "/"); i >= 0 {
		return av[:i], av[i+1:]
	}
	return "", av
}

// FileName is <group>_<version>_<kind>_<name>.yaml, lower case, with "core"
// for the core group.
func (o Object) FileName() string {
	g, v := o.GroupVersion()
	if g == "" {
		g = "core"
	}
	return strings.ToLower(fmt.Sprintf("%s_%s_%s_%s.yaml", g, v, o.Kind(), o.Name()))
}

// ID is group/kind namespace/name, the identity of an object in a cluster.
func (o Object) ID() string {
	g, _ := o.GroupVersion()
	gk := o.Kind()
	if g != "" {
		gk = g + "/" + gk
	}
	if ns := o.Namespace(); ns != "" {
		return gk + " " + ns + "/" + o.Name()
	}
	return gk + " " + o.Name()
}

// hasFraction reports whether v holds a number with a fraction or an
// exponent: YAML may write such a number differently from its JSON form
// (1.0 becomes 1), so the object must be decoded from its YAML to equal
// what a reader of the file gets. Integers and every other value
// round-trip unchanged.
func hasFraction(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if hasFraction(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasFraction(e) {
				return true
			}
		}
	case json.Number:
		return strings.ContainsAny(string(x), ".eE")
	case float64, float32:
		return true
	}
	return false
}
