package policy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"

	"github.com/paved-dev/paved/internal/cache"
)

// The results of the per-object namespaces are content-addressed: the
// results of every InputObject namespace over one object depend on the
// object, the compiled policies and their data alone (the capabilities
// are hermetic: no clock, network or randomness), so they are cached
// under (object digest, bundle digest, data digest) and a warm lint
// evaluates only the objects it has not seen with this bundle and data.
// paved's version and binary are part of every key (cache.Open), so an
// OPA upgrade never reads an older build's results.

// resultKind is the cache kind of a per-object result entry.
const resultKind = "lint-object"

// bundleDigest digests the policies conftest loaded (every file's
// content, named relative to its policy directory) and every document of
// the data store (the platform's data/ and data.paved.platform), so that
// a change to either misses every entry.
func bundleDigest(ctx context.Context, policies map[string]string, roots []string, st storage.Store) ([]byte, []byte, error) {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(policies)) {
		// conftest names files by their path as it walked them, without
		// the leading slash; the built-in bundle's directory is a new
		// temporary one each run. A name no root matches stays whole,
		// which costs misses, never a wrong hit.
		shown := filepath.ToSlash(name)
		for _, r := range roots {
			r = filepath.ToSlash(filepath.Clean(r))
			if rel, ok := cutDir(shown, r); ok {
				shown = rel
				break
			}
			if rel, ok := cutDir(shown, strings.TrimPrefix(r, "/")); ok {
				shown = rel
				break
			}
		}
		writeString(h, shown)
		writeString(h, policies[name])
	}
	var data any
	err := storage.Txn(ctx, st, storage.TransactionParams{}, func(txn storage.Transaction) error {
		var err error
		data, err = st.Read(ctx, txn, storage.Path{})
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading the policy data: %w", err)
	}
	// encoding/json writes map keys sorted: equal data, equal bytes.
	js, err := json.Marshal(data)
	if err != nil {
		return nil, nil, fmt.Errorf("digesting the policy data: %w", err)
	}
	d := sha256.Sum256(js)
	return h.Sum(nil), d[:], nil
}

// cutDir returns name relative to dir, if it is below it.
func cutDir(name, dir string) (string, bool) {
	return strings.CutPrefix(name, strings.TrimSuffix(dir, "/")+"/")
}

func writeString(h hash.Hash, s string) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
	h.Write([]byte(s))
}

// termDigest is the sha256 of an OPA value in a canonical encoding: a
// type byte, then length-prefixed scalars, arrays element by element and
// objects by their keys in sorted order. Equal values, equal digests;
// different values (including 1 and "1", or an object and an array of
// pairs) differ.
func termDigest(v ast.Value) ([32]byte, error) {
	h := sha256.New()
	if err := writeValue(h, v); err != nil {
		return [32]byte{}, err
	}
	var out [32]byte
	h.Sum(out[:0])
	return out, nil
}

func writeValue(h hash.Hash, v ast.Value) error {
	switch x := v.(type) {
	case ast.Null:
		h.Write([]byte{'0'})
	case ast.Boolean:
		if x {
			h.Write([]byte{'t'})
		} else {
			h.Write([]byte{'f'})
		}
	case ast.Number:
		h.Write([]byte{'n'})
		writeString(h, string(x))
	case ast.String:
		h.Write([]byte{'s'})
		writeString(h, string(x))
	case *ast.Array:
		h.Write([]byte{'a'})
		writeString(h, fmt.Sprint(x.Len()))
		for i := range x.Len() {
			if err := writeValue(h, x.Elem(i).Value); err != nil {
				return err
			}
		}
	case ast.Object:
		keys := x.Keys()
		slices.SortFunc(keys, func(a, b *ast.Term) int { return a.Value.Compare(b.Value) })
		h.Write([]byte{'o'})
		writeString(h, fmt.Sprint(len(keys)))
		for _, k := range keys {
			if err := writeValue(h, k.Value); err != nil {
				return err
			}
			if err := writeValue(h, x.Get(k).Value); err != nil {
				return err
			}
		}
	default:
		// Rendered objects hold nothing else (sets, refs, calls).
		return fmt.Errorf("cannot digest a %T", v)
	}
	return nil
}

// cachedResult is one result of a per-object rule as an entry holds it.
type cachedResult struct {
	Rule    string         `json:"rule"` // namespace.rule
	Msg     string         `json:"msg"`
	Path    []any          `json:"path,omitempty"`
	Outputs map[string]any `json:"outputs,omitempty"`
}

// cachedEntry is an entry: the object's digest (checked on read, beside
// the cache's own payload checksum) and the results of every per-object
// namespace over it.
type cachedEntry struct {
	Object  string         `json:"object"`
	Results []cachedResult `json:"results"`
}

// resultCache reads and writes per-object results of one engine.
type resultCache struct {
	c *cache.Cache
	e *Engine
}

func (rc *resultCache) key(obj [32]byte) string {
	return rc.c.Key(resultKind, rc.e.bundleSum, rc.e.dataSum, obj[:])
}

// get returns the cached results of the object with digest obj. An entry
// that does not decode, names another object or a rule the engine does
// not have is a miss: the object is evaluated again.
func (rc *resultCache) get(obj [32]byte) ([]result, bool) {
	payload, ok := rc.c.Get(rc.key(obj))
	if !ok {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber() // as OPA's bindings hold numbers
	var ent cachedEntry
	if err := dec.Decode(&ent); err != nil || ent.Object != fmt.Sprintf("%x", obj) {
		return nil, false
	}
	out := make([]result, 0, len(ent.Results))
	for _, cr := range ent.Results {
		c := rc.e.byRule[cr.Rule]
		if c == nil || c.Input != InputObject {
			return nil, false
		}
		out = append(out, result{check: c, msg: cr.Msg, path: cr.Path, outputs: cr.Outputs})
	}
	return out, true
}

// put stores the results of every per-object namespace over the object
// with digest obj.
func (rc *resultCache) put(obj [32]byte, rs []result) {
	ent := cachedEntry{Object: fmt.Sprintf("%x", obj), Results: make([]cachedResult, len(rs))}
	for i, r := range rs {
		ent.Results[i] = cachedResult{Rule: r.check.Namespace + "." + r.check.Rule, Msg: r.msg, Path: r.path, Outputs: r.outputs}
	}
	payload, err := json.Marshal(ent)
	if err != nil {
		return // not cacheable: only a miss next time
	}
	// Only what reads back as it is: a value JSON would change (a string
	// that is not UTF-8) is evaluated again next time.
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var back cachedEntry
	if err := dec.Decode(&back); err != nil || !reflect.DeepEqual(normal(back), normal(ent)) {
		return
	}
	rc.c.Put(rc.key(obj), payload)
}

// normal makes empty and nil paths and outputs alike (omitempty drops
// both), for the comparison of an entry with its reading.
func normal(e cachedEntry) cachedEntry {
	rs := slices.Clone(e.Results)
	for i := range rs {
		if len(rs[i].Path) == 0 {
			rs[i].Path = nil
		}
		if len(rs[i].Outputs) == 0 {
			rs[i].Outputs = nil
		}
	}
	e.Results = rs
	return e
}
