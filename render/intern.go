package render

import (
	"encoding/json"

	"github.com/paved-dev/paved/internal/intern"
)

// newObjectTable returns the table a render shares the equal parts of its
// objects through (internal/intern): about half the memory of a fleet's
// objects, so half the collector's work. Rendered objects are therefore
// immutable: copy one before changing it.
func newObjectTable() *intern.Table[any] { return intern.New[any](goBuilder{}) }

// shareObject returns o with its equal parts shared through t (o itself
// when t is nil).
func shareObject(t *intern.Table[any], o Object) Object {
	if t == nil {
		return o
	}
	v, err := t.Value(map[string]any(o))
	if err != nil {
		return o
	}
	m, _ := v.(map[string]any)
	return Object(m)
}

// goBuilder builds the values encoding/json decodes to.
type goBuilder struct{}

func (goBuilder) String(s string) any      { return s }
func (goBuilder) Number(n json.Number) any { return n }
func (goBuilder) Bool(b bool) any          { return b }
func (goBuilder) Null() any                { return nil }
func (goBuilder) Array(elems []any) any    { return elems }
func (goBuilder) Other(x any) (any, error) { return x, nil }

func (goBuilder) Object(keys, elems []any) any {
	m := make(map[string]any, len(keys))
	for i, k := range keys {
		m[k.(string)] = elems[i]
	}
	return m
}
