package render

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestKeptObjectsEqualTheirFiles: the object render keeps for a file is
// exactly what decoding the file gives, also for numbers YAML writes
// differently from JSON (1.0 is written 1).
func TestKeptObjectsEqualTheirFiles(t *testing.T) {
	objs := []Object{
		{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "a", "namespace": "t"},
			"data": map[string]any{"k": "1.0"}, "x": []any{json.Number("1.0"), json.Number("2.5e3"), json.Number("7")}},
		{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "b", "namespace": "t"},
			"data": map[string]any{"n": "007", "on": "yes"}, "y": json.Number("42")},
	}
	for _, use := range []Use{WriteAndRead, ReadOnly} {
		tree := &Tree{use: use}
		files, err := writeDir(tree, "apps/c/t/a", slices.Clone(objs), nil)
		if err != nil {
			t.Fatal(err)
		}
		kept := 0
		for _, f := range files {
			o, ok := tree.objs[f]
			if !ok {
				continue
			}
			kept++
			data, _ := tree.File(f)
			fromFile, err := decodeObject(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(o, fromFile) {
				t.Errorf("use %d: %s: kept %#v, the file decodes to %#v", use, f, o, fromFile)
			}
		}
		if kept != 2 {
			t.Fatalf("use %d: %d objects kept, want 2", use, kept)
		}
	}
}

// TestObjectYAMLMatchesCanonical: objectYAML writes exactly what
// canonicalYAML (sigs.k8s.io/yaml) writes, for awkward values and for
// every rendered object (TestPlainBuildEquivalence in render_test.go).
func TestObjectYAMLMatchesCanonical(t *testing.T) {
	objs := []Object{
		{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "a"},
			"data": map[string]any{
				"on": "yes", "octal": "0755", "num": "1.0", "empty": "", "colon": "a: b", "hash": "# x",
				"multi": "line one\nline two\n", "long": strings.Repeat("word ", 40), "html": "<a href='x'>&</a>",
				"unicode": "héllo ✓", "tab": "a\tb", "star": "*", "null": "null", "tilde": "~", "dash": "- x",
				"a10": "x", "a9": "y", "A": "z",
			},
			"n": []any{json.Number("0"), json.Number("-3"), json.Number("1.0"), json.Number("2.5e3"), json.Number("0.1"), json.Number("9007199254740993")},
			"b": []any{true, false, nil}, "m": map[string]any{}, "l": []any{},
		},
	}
	for _, o := range objs {
		want, err := canonicalYAML(o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := objectYAML(o)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("objectYAML:\n%s\ncanonicalYAML:\n%s", got, want)
		}
	}
}
