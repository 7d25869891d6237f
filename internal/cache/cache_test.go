package cache

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
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

// Trim removes what nobody used for five days and stale temporary files,
// keeps the rest, runs at most once a day, and a Get marks an entry used.
func TestTrim(t *testing.T) {
	dir := t.TempDir()
	c := Open(dir, "v1")
	now := time.Now()
	old, recent, used := c.Key("eval", []byte("old")), c.Key("eval", []byte("recent")), c.Key("eval", []byte("used"))
	for _, k := range []string{old, recent, used} {
		c.Put(k, []byte(k))
	}
	age := func(p string, d time.Duration) {
		t.Helper()
		if err := os.Chtimes(p, now.Add(-d), now.Add(-d)); err != nil {
			t.Fatal(err)
		}
	}
	age(c.path(old), 6*24*time.Hour)
	age(c.path(recent), 4*24*time.Hour)
	age(c.path(used), 6*24*time.Hour)
	if _, ok := c.Get(used); !ok { // refreshes its mtime
		t.Fatal("miss")
	}
	tmpOld := filepath.Join(filepath.Dir(c.path(old)), ".tmp-killed")
	tmpNew := filepath.Join(filepath.Dir(c.path(old)), ".tmp-writing")
	for _, p := range []string{tmpOld, tmpNew} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	age(tmpOld, 2*time.Hour)

	c.Trim(now)
	for p, want := range map[string]bool{c.path(old): false, c.path(recent): true, c.path(used): true, tmpOld: false, tmpNew: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists %v after Trim, want %v", filepath.Base(p), err == nil, want)
		}
	}

	// Within a day of the last trim nothing is removed, after it again.
	age(c.path(recent), 6*24*time.Hour)
	c.Trim(now.Add(time.Hour))
	if _, err := os.Stat(c.path(recent)); err != nil {
		t.Fatal("Trim ran twice within a day")
	}
	c.Trim(now.Add(25 * time.Hour))
	if _, err := os.Stat(c.path(recent)); err == nil {
		t.Fatal("Trim did not run a day later")
	}
	var nilCache *Cache
	nilCache.Trim(now) // a disabled cache: nothing to do, no panic
}

// TestStampOf: a released module build is identified by its build
// information, whatever file it was installed to and when (a CI runner
// installs it anew each job); any other build by its file.
func TestStampOf(t *testing.T) {
	file := func() string { return "file" }
	rel := &debug.BuildInfo{Main: debug.Module{Path: "github.com/paved-dev/paved", Version: "v0.1.0", Sum: "h1:abc="}}
	if got := stampOf(rel, file); got == "file" || !strings.Contains(got, "v0.1.0") || !strings.Contains(got, "h1:abc=") {
		t.Errorf("release build: %q", got)
	}
	other := *rel
	other.Deps = []*debug.Module{{Path: "cuelang.org/go", Version: "v0.99.0", Sum: "h1:x="}}
	if stampOf(&other, file) == stampOf(rel, file) {
		t.Error("a release built with other dependencies has the same stamp")
	}
	for _, bi := range []*debug.BuildInfo{
		nil,
		{Main: debug.Module{Path: "github.com/paved-dev/paved", Version: "(devel)"}},
		{Main: debug.Module{Path: "github.com/paved-dev/paved", Version: "v0.1.1-0.20261201-abcdef+dirty"}}, // a checkout: no sum
	} {
		if got := stampOf(bi, file); got != "file" {
			t.Errorf("%v: stamp %q, want the file's", bi, got)
		}
	}
}
