package cache

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPutGet(t *testing.T) {
	c := Open(t.TempDir(), "v1")
	k := c.Key("eval", []byte("a"), []byte("b"))
	if _, ok := c.Get(k); ok {
		t.Fatal("hit in an empty cache")
	}
	c.Put(k, []byte("payload"))
	if b, ok := c.Get(k); !ok || string(b) != "payload" {
		t.Fatalf("Get = %q, %v", b, ok)
	}
	if hits, misses := c.Stats(); hits != 1 || misses != 1 {
		t.Fatalf("stats %d hits %d misses", hits, misses)
	}
}

// Keys differ whenever the inputs, their split or the salt differ.
func TestKeysSeparateInputs(t *testing.T) {
	dir := t.TempDir()
	c, d := Open(dir, "v1"), Open(dir, "v2")
	keys := map[string]string{
		"ab|c":    c.Key("eval", []byte("ab"), []byte("c")),
		"a|bc":    c.Key("eval", []byte("a"), []byte("bc")),
		"abc":     c.Key("eval", []byte("abc")),
		"app abc": c.Key("app", []byte("abc")),
		"v2 abc":  d.Key("eval", []byte("abc")),
	}
	seen := map[string]string{}
	for name, k := range keys {
		if prev, ok := seen[k]; ok {
			t.Errorf("%s and %s share key %s", prev, name, k)
		}
		seen[k] = name
	}
}

// A torn or edited entry is a miss, never wrong data.
func TestCorruptEntryIsAMiss(t *testing.T) {
	c := Open(t.TempDir(), "v1")
	k := c.Key("eval", []byte("x"))
	c.Put(k, []byte("the real payload"))
	p := c.path(k)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"edited":    append(b[:len(b)-1:len(b)-1], 'X'),
		"truncated": b[:len(b)-3],
		"no header": []byte("the real payload"),
		"empty":     nil,
	} {
		if err := os.WriteFile(p, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if got, ok := c.Get(k); ok {
			t.Errorf("%s entry read as %q", name, got)
		}
	}
}

// A nil cache (disabled) misses and ignores writes; an unusable directory
// gives a disabled cache, not an error.
func TestDisabled(t *testing.T) {
	var c *Cache
	c.Put(c.Key("eval", []byte("x")), []byte("y"))
	if _, ok := c.Get(c.Key("eval", []byte("x"))); ok {
		t.Fatal("a disabled cache hit")
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if Open(filepath.Join(f, "sub"), "v1") != nil {
		t.Fatal("a cache under a regular file")
	}
	t.Setenv("PAVED_CACHE_DIR", "off")
	if Open("", "v1") != nil {
		t.Fatal("PAVED_CACHE_DIR=off gave a cache")
	}
}
