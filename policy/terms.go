package policy

import (
	"encoding/json"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/paved-dev/paved/internal/intern"
)

// interner converts rendered objects to OPA values, sharing equal parts
// (internal/intern): an OPA value takes several times the memory of its
// JSON, and equal objects come out as one term, which is how lint
// evaluates an object rendered identically into several clusters once.
// Sharing is safe: the evaluator never changes an input term, and terms
// are shared between the jobs that run in parallel anyway.
type interner struct{ t *intern.Table[*ast.Term] }

func newInterner() interner { return interner{intern.New[*ast.Term](termBuilder{})} }

// object converts a rendered object (maps, lists, strings, json.Number,
// booleans and nulls, as decoded from JSON) to an OPA term; any other Go
// value is converted by ast.InterfaceToValue, unshared.
func (in interner) object(o map[string]any) (*ast.Term, error) { return in.t.Value(o) }

type termBuilder struct{}

func (termBuilder) String(s string) *ast.Term         { return ast.StringTerm(s) }
func (termBuilder) Number(n json.Number) *ast.Term    { return ast.NumberTerm(n) }
func (termBuilder) Bool(b bool) *ast.Term             { return ast.BooleanTerm(b) }
func (termBuilder) Null() *ast.Term                   { return ast.NullTerm() }
func (termBuilder) Array(elems []*ast.Term) *ast.Term { return ast.ArrayTerm(elems...) }

func (termBuilder) Object(keys, elems []*ast.Term) *ast.Term {
	items := make([][2]*ast.Term, len(keys))
	for i := range keys {
		items[i] = [2]*ast.Term{keys[i], elems[i]}
	}
	return ast.ObjectTerm(items...)
}

func (termBuilder) Other(x any) (*ast.Term, error) {
	v, err := ast.InterfaceToValue(x)
	if err != nil {
		return nil, err
	}
	return ast.NewTerm(v), nil
}
