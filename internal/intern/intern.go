// Package intern converts JSON-like Go values (maps with string keys, lists,
// strings, json.Number, booleans and nulls, as encoding/json decodes them)
// into a representation of the caller's, sharing equal parts (hash
// consing). A fleet's objects repeat the same keys, labels, security
// contexts, probes and resource blocks thousands of times: render keeps
// its objects this way (Go maps) and lint its policy engine's values (OPA
// terms), each in about half the memory, and equal inputs come out as one
// value, which is how lint evaluates an object rendered identically into
// several clusters once.
//
// The values a Table returns are shared: they must never be modified. A
// Table may be used by several goroutines at once.
package intern

import (
	"encoding/json"
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
)

// Builder makes the caller's values. Object gets its keys sorted, as the
// values String made of them.
type Builder[T any] interface {
	String(s string) T
	Number(n json.Number) T
	Bool(b bool) T
	Null() T
	Array(elems []T) T
	Object(keys, elems []T) T
	// Other converts any other Go value; the result is not shared.
	Other(x any) (T, error)
}

// Table holds the values built so far.
type Table[T any] struct {
	b      Builder[T]
	seed   maphash.Seed
	ids    atomic.Uint64
	shards [64]shard[T]
}

type shard[T any] struct {
	mu      sync.Mutex
	scalars map[scalar]entry[T]
	nodes   map[uint64][]node[T]
}

type scalar struct {
	kind byte
	s    string
}

type entry[T any] struct {
	v  T
	id uint64
}

// node is a list or map already built: its keys' and elements' ids, so
// that equality is a comparison of ids.
type node[T any] struct {
	entry[T]
	array bool
	keys  []uint64
	elems []uint64
}

// New returns an empty table building with b.
func New[T any](b Builder[T]) *Table[T] {
	t := &Table[T]{b: b, seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].scalars = map[scalar]entry[T]{}
		t.shards[i].nodes = map[uint64][]node[T]{}
	}
	return t
}

// Value returns x built with the table's Builder, its equal parts shared
// with every value the table built before.
func (t *Table[T]) Value(x any) (T, error) {
	v, _, _, err := t.value(x)
	return v, err
}

// value returns the built value, its id (0: not shared) and its hash.
func (t *Table[T]) value(x any) (T, uint64, uint64, error) {
	switch v := x.(type) {
	case string:
		return t.scalar('s', v)
	case json.Number:
		return t.scalar('n', string(v))
	case bool:
		if v {
			return t.scalar('t', "")
		}
		return t.scalar('f', "")
	case nil:
		return t.scalar('0', "")
	case []any:
		elems := make([]T, len(v))
		ids := make([]uint64, len(v))
		var h maphash.Hash
		h.SetSeed(t.seed)
		h.WriteByte('a')
		for i, e := range v {
			ev, id, sum, err := t.value(e)
			if err != nil {
				return ev, 0, 0, err
			}
			elems[i], ids[i] = ev, id
			writeUint64(&h, sum)
		}
		return t.node(h.Sum64(), true, nil, ids, func() T { return t.b.Array(elems) })
	case map[string]any:
		names := make([]string, 0, len(v))
		for k := range v {
			names = append(names, k)
		}
		slices.Sort(names)
		keys := make([]T, len(names))
		keyIDs := make([]uint64, len(names))
		elems := make([]T, len(names))
		ids := make([]uint64, len(names))
		var h maphash.Hash
		h.SetSeed(t.seed)
		h.WriteByte('o')
		for i, k := range names {
			kv, kid, ksum, _ := t.scalar('s', k)
			ev, id, sum, err := t.value(v[k])
			if err != nil {
				return ev, 0, 0, err
			}
			keys[i], keyIDs[i], elems[i], ids[i] = kv, kid, ev, id
			writeUint64(&h, ksum)
			writeUint64(&h, sum)
		}
		return t.node(h.Sum64(), false, keyIDs, ids, func() T { return t.b.Object(keys, elems) })
	}
	v, err := t.b.Other(x)
	return v, 0, 0, err
}

func writeUint64(h *maphash.Hash, v uint64) {
	var b [8]byte
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	h.Write(b[:])
}

func (t *Table[T]) scalar(kind byte, s string) (T, uint64, uint64, error) {
	var h maphash.Hash
	h.SetSeed(t.seed)
	h.WriteByte(kind)
	h.WriteString(s)
	sum := h.Sum64()
	sh := &t.shards[sum%uint64(len(t.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	k := scalar{kind, s}
	if e, ok := sh.scalars[k]; ok {
		return e.v, e.id, sum, nil
	}
	var v T
	switch kind {
	case 's':
		v = t.b.String(s)
	case 'n':
		v = t.b.Number(json.Number(s))
	case 't', 'f':
		v = t.b.Bool(kind == 't')
	default:
		v = t.b.Null()
	}
	e := entry[T]{v, t.ids.Add(1)}
	sh.scalars[k] = e
	return e.v, e.id, sum, nil
}

// node returns the list or map with these keys and elements, building it
// the first time. An element that is not shared (id 0) makes the node
// unshared too.
func (t *Table[T]) node(sum uint64, array bool, keys, elems []uint64, build func() T) (T, uint64, uint64, error) {
	if slices.Contains(elems, 0) {
		return build(), 0, sum, nil
	}
	sh := &t.shards[sum%uint64(len(t.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for _, n := range sh.nodes[sum] {
		if n.array == array && slices.Equal(n.keys, keys) && slices.Equal(n.elems, elems) {
			return n.v, n.id, sum, nil
		}
	}
	n := node[T]{entry: entry[T]{build(), t.ids.Add(1)}, array: array, keys: keys, elems: elems}
	sh.nodes[sum] = append(sh.nodes[sum], n)
	return n.v, n.id, sum, nil
}
