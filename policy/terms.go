package policy

import (
	"encoding/json"
	"hash/maphash"
	"slices"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// interner converts rendered objects to OPA values and shares equal parts
// between them (hash consing): a fleet's objects repeat the same keys,
// labels, security contexts, probes and resource blocks thousands of times,
// and an OPA value takes several times the memory of its JSON. Equal
// objects come out as the same term, which is how lint evaluates an
// object rendered identically into several clusters once.
//
// Sharing is safe: the evaluator never changes an input term, and terms
// are already shared between the jobs that run in parallel. An interner
// may be used by several goroutines at once.
type interner struct {
	seed   maphash.Seed
	true_  *ast.Term
	false_ *ast.Term
	null   *ast.Term
	shards [64]internShard
}

type internShard struct {
	mu      sync.Mutex
	strings map[string]*ast.Term
	numbers map[string]*ast.Term
	nodes   map[uint64][]internNode
}

// internNode is an object or array already built: its keys (nil for an
// array) and its elements, themselves interned, so that equality is a
// comparison of pointers.
type internNode struct {
	term  *ast.Term
	array bool
	keys  []*ast.Term
	elems []*ast.Term
}

func newInterner() *interner {
	in := &interner{seed: maphash.MakeSeed(), true_: ast.BooleanTerm(true), false_: ast.BooleanTerm(false), null: ast.NullTerm()}
	for i := range in.shards {
		s := &in.shards[i]
		s.strings, s.numbers, s.nodes = map[string]*ast.Term{}, map[string]*ast.Term{}, map[uint64][]internNode{}
	}
	return in
}

// object converts a rendered object (maps, lists, strings, json.Number,
// booleans and nulls, as decoded from JSON) to an OPA term; any other Go
// value is converted by ast.InterfaceToValue, unshared.
func (in *interner) object(o map[string]any) (*ast.Term, error) {
	t, _, err := in.term(o)
	return t, err
}

func (in *interner) term(x any) (*ast.Term, uint64, error) {
	var h maphash.Hash
	h.SetSeed(in.seed)
	switch v := x.(type) {
	case string:
		h.WriteByte('s')
		h.WriteString(v)
		sum := h.Sum64()
		return in.scalar(sum, v, false), sum, nil
	case json.Number:
		h.WriteByte('n')
		h.WriteString(string(v))
		sum := h.Sum64()
		return in.scalar(sum, string(v), true), sum, nil
	case bool:
		if v {
			return in.true_, 1, nil
		}
		return in.false_, 2, nil
	case nil:
		return in.null, 3, nil
	case []any:
		elems := make([]*ast.Term, len(v))
		h.WriteByte('a')
		for i, e := range v {
			t, sum, err := in.term(e)
			if err != nil {
				return nil, 0, err
			}
			elems[i] = t
			writeUint64(&h, sum)
		}
		sum := h.Sum64()
		return in.node(sum, internNode{array: true, elems: elems}), sum, nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		keyTerms := make([]*ast.Term, len(keys))
		elems := make([]*ast.Term, len(keys))
		h.WriteByte('o')
		for i, k := range keys {
			kt, ksum, _ := in.term(k)
			t, sum, err := in.term(v[k])
			if err != nil {
				return nil, 0, err
			}
			keyTerms[i], elems[i] = kt, t
			writeUint64(&h, ksum)
			writeUint64(&h, sum)
		}
		sum := h.Sum64()
		return in.node(sum, internNode{keys: keyTerms, elems: elems}), sum, nil
	}
	val, err := ast.InterfaceToValue(x)
	if err != nil {
		return nil, 0, err
	}
	h.WriteByte('x')
	return ast.NewTerm(val), h.Sum64(), nil
}

func writeUint64(h *maphash.Hash, v uint64) {
	var b [8]byte
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	h.Write(b[:])
}

func (in *interner) scalar(sum uint64, s string, number bool) *ast.Term {
	sh := &in.shards[sum%uint64(len(in.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	m := sh.strings
	if number {
		m = sh.numbers
	}
	if t, ok := m[s]; ok {
		return t
	}
	t := ast.StringTerm(s)
	if number {
		t = ast.NumberTerm(json.Number(s))
	}
	m[s] = t
	return t
}

// node returns the term of an object or array equal to n, building it the
// first time.
func (in *interner) node(sum uint64, n internNode) *ast.Term {
	sh := &in.shards[sum%uint64(len(in.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for _, c := range sh.nodes[sum] {
		if c.array == n.array && slices.Equal(c.keys, n.keys) && slices.Equal(c.elems, n.elems) {
			return c.term
		}
	}
	if n.array {
		n.term = ast.ArrayTerm(n.elems...)
	} else {
		items := make([][2]*ast.Term, len(n.keys))
		for i, k := range n.keys {
			items[i] = [2]*ast.Term{k, n.elems[i]}
		}
		n.term = ast.ObjectTerm(items...)
	}
	sh.nodes[sum] = append(sh.nodes[sum], n)
	return n.term
}
