package policy

import (
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestInternerEqualsInterfaceToValue: the interner's terms are the values
// OPA's own conversion gives, equal objects are one term, and equal parts
// of different objects are shared.
func TestInternerEqualsInterfaceToValue(t *testing.T) {
	sc := map[string]any{"runAsNonRoot": true, "capabilities": map[string]any{"drop": []any{"ALL"}}}
	objs := []map[string]any{
		{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "a", "labels": map[string]any{"x": "1"}},
			"spec": map[string]any{"securityContext": sc, "n": []any{json.Number("1"), json.Number("2.5"), nil, false, "s", []any{}, map[string]any{}}}},
		{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "b"},
			"spec": map[string]any{"securityContext": map[string]any{"capabilities": map[string]any{"drop": []any{"ALL"}}, "runAsNonRoot": true}}},
		{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "a", "labels": map[string]any{"x": "1"}},
			"spec": map[string]any{"securityContext": sc, "n": []any{json.Number("1"), json.Number("2.5"), nil, false, "s", []any{}, map[string]any{}}}},
		// "1" the string and 1 the number, {} and []: never the same term.
		{"a": "1", "b": json.Number("1"), "c": map[string]any{}, "d": []any{}, "e": float64(3)},
	}
	in := newInterner()
	var terms []*ast.Term
	for i, o := range objs {
		got, err := in.object(o)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ast.InterfaceToValue(o)
		if err != nil {
			t.Fatal(err)
		}
		if ast.Compare(got.Value, want) != 0 {
			t.Errorf("object %d: interned %v, converted %v", i, got, want)
		}
		terms = append(terms, got)
	}
	if terms[0] != terms[2] {
		t.Error("equal objects are not one term")
	}
	sc0 := terms[0].Get(ast.StringTerm("spec")).Get(ast.StringTerm("securityContext"))
	sc1 := terms[1].Get(ast.StringTerm("spec")).Get(ast.StringTerm("securityContext"))
	if sc0 == nil || sc0 != sc1 {
		t.Error("equal parts of different objects are not shared")
	}
	last := terms[3]
	if last.Get(ast.StringTerm("a")) == last.Get(ast.StringTerm("b")) || last.Get(ast.StringTerm("c")) == last.Get(ast.StringTerm("d")) {
		t.Error("values of different types share a term")
	}
}
