package intern

import (
	"encoding/json"
	"reflect"
	"sync"
	"testing"
)

type goValues struct{}

func (goValues) String(s string) any      { return s }
func (goValues) Number(n json.Number) any { return n }
func (goValues) Bool(b bool) any          { return b }
func (goValues) Null() any                { return nil }
func (goValues) Array(elems []any) any    { return elems }
func (goValues) Other(x any) (any, error) { return x, nil }
func (goValues) Object(keys, elems []any) any {
	m := map[string]any{}
	for i, k := range keys {
		m[k.(string)] = elems[i]
	}
	return m
}

func same(a, b any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// TestShared: a value comes out equal to what went in, equal values (also
// built concurrently) are one value, equal parts of different values are
// shared, and values of different types never are.
func TestShared(t *testing.T) {
	mk := func(name string) map[string]any {
		return map[string]any{"metadata": map[string]any{"name": name}, "spec": map[string]any{
			"securityContext": map[string]any{"runAsNonRoot": true, "drop": []any{"ALL"}},
			"n":               []any{json.Number("1"), json.Number("2.5"), nil, false, "s", []any{}, map[string]any{}},
		}}
	}
	tb := New[any](goValues{})
	var vals [8]any
	var wg sync.WaitGroup
	for i := range vals {
		wg.Go(func() {
			name := "a"
			if i%2 == 1 {
				name = "b"
			}
			v, err := tb.Value(mk(name))
			if err != nil {
				t.Error(err)
			}
			vals[i] = v
		})
	}
	wg.Wait()
	if !reflect.DeepEqual(vals[0], mk("a")) || !reflect.DeepEqual(vals[1], mk("b")) {
		t.Fatalf("values changed: %v, %v", vals[0], vals[1])
	}
	for i := 2; i < len(vals); i++ {
		if !same(vals[i], vals[i%2]) {
			t.Errorf("value %d: equal values are not one", i)
		}
	}
	spec := func(v any) any { return v.(map[string]any)["spec"] }
	if same(vals[0], vals[1]) || !same(spec(vals[0]), spec(vals[1])) {
		t.Error("different values are one, or their equal parts are not shared")
	}
	mixed, err := tb.Value(map[string]any{"a": "1", "b": json.Number("1"), "c": map[string]any{}, "d": []any{}, "e": true, "f": "true"})
	if err != nil {
		t.Fatal(err)
	}
	m := mixed.(map[string]any)
	if m["a"] != "1" || m["b"] != json.Number("1") || m["e"] != true || m["f"] != "true" {
		t.Errorf("types conflated: %#v", m)
	}
	if _, ok := m["c"].(map[string]any); !ok {
		t.Errorf("{} came out as %#v", m["c"])
	}
	if _, ok := m["d"].([]any); !ok {
		t.Errorf("[] came out as %#v", m["d"])
	}
}

// TestOtherIsNotShared: a value the table does not know is built by Other
// and makes its containers unshared.
func TestOtherIsNotShared(t *testing.T) {
	tb := New[any](goValues{})
	x := map[string]any{"f": 1.5}
	a, _ := tb.Value(x)
	b, _ := tb.Value(x)
	if same(a, b) {
		t.Error("a value holding an unknown type was shared")
	}
	if !reflect.DeepEqual(a, x) {
		t.Errorf("got %#v", a)
	}
}
