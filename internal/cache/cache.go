// Package cache is paved's content-addressed cache: results of pure,
// expensive steps (validating an app, evaluating a blueprint, building a
// kustomization) stored under a key that digests every input of the step
// plus paved's and CUE's versions. An entry is only ever read back for the
// very same inputs, so output is byte-identical with and without the
// cache.
//
// Entries live under the user cache directory (PAVED_CACHE_DIR, else
// os.UserCacheDir()/paved). Writes are atomic (temporary file + rename),
// every entry carries the sha256 of its payload and is ignored when it
// does not match, and any failure to read or write only costs a miss:
// the cache never fails a run.
//
// Like Go's build cache, the cache trims itself: an entry read back has
// its modification time refreshed (at most once an hour), and at most once
// a day Trim removes the entries nobody used for five days (every entry a
// previous paved or CUE version wrote becomes such an entry) and any
// temporary file a killed run left behind.
package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// header starts every entry; the payload's sha256 follows it.
const header = "paved-cache v1 "

// Cache is a cache directory. A nil *Cache is a disabled cache: Get
// misses and Put does nothing.
type Cache struct {
	dir          string
	salt         string
	hits, misses atomic.Int64
}

// Open returns the cache in dir, or in the default directory when dir is
// "". salt (paved's version) is part of every key. It returns nil (a
// disabled cache) when PAVED_CACHE_DIR is "off" or no directory can be
// used.
func Open(dir, salt string) *Cache {
	if dir == "" {
		dir = os.Getenv("PAVED_CACHE_DIR")
		if dir == "off" {
			return nil
		}
	}
	if dir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return nil
		}
		dir = filepath.Join(d, "paved")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil
	}
	return &Cache{dir: dir, salt: salt + "\x00" + cueVersion() + "\x00" + binaryStamp()}
}

// binaryStamp identifies the running binary. A paved installed as a
// released module (go install ...@v1.2.3: a version and a module sum) is
// identified by its build information (its version, every dependency's
// version and sum, the build settings), which the same release built on
// another CI runner repeats: the cache a CI job restores from an earlier
// job's is read. Any other build (a development build keeps its version
// string) is identified by path, size and modification time, so that a
// rebuilt paved never reads entries an older build wrote.
func binaryStamp() string {
	bi, _ := debug.ReadBuildInfo()
	return stampOf(bi, fileStamp)
}

// stampOf is binaryStamp for the given build information.
func stampOf(bi *debug.BuildInfo, file func() string) string {
	if bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" && bi.Main.Sum != "" {
		return "module " + bi.String()
	}
	return file()
}

// fileStamp is the running executable's path, size and modification time.
func fileStamp() string {
	exe, err := os.Executable()
	if err != nil {
		return "unknown"
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%s %d %d", exe, fi.Size(), fi.ModTime().UnixNano())
}

// cueVersion is the version of cuelang.org/go paved is built with: a CUE
// upgrade may change what a blueprint evaluates to.
func cueVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "cuelang.org/go" {
				return m.Version
			}
		}
	}
	return "unknown"
}

// Dir is the cache directory ("" when disabled).
func (c *Cache) Dir() string {
	if c == nil {
		return ""
	}
	return c.dir
}

// Key digests a step's kind and inputs (with the cache's salt) into a key.
// Each part is length-prefixed, so no two input lists share a key.
func (c *Cache) Key(kind string, parts ...[]byte) string {
	h := sha256.New()
	salt := ""
	if c != nil {
		salt = c.salt
	}
	fmt.Fprintf(h, "%s\x00%d:%s\x00", kind, len(salt), salt)
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return kind + "-" + hex.EncodeToString(h.Sum(nil))
}

func (c *Cache) path(key string) string {
	// kind-<hex>: shard by the first two hex digits.
	i := bytes.LastIndexByte([]byte(key), '-') + 1
	return filepath.Join(c.dir, key[i:i+2], key)
}

// Get returns the payload stored under key.
func (c *Cache) Get(key string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	b, err := os.ReadFile(c.path(key))
	if err != nil {
		c.misses.Add(1)
		return nil, false
	}
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 || !bytes.HasPrefix(b, []byte(header)) {
		c.misses.Add(1)
		return nil, false
	}
	sum := sha256.Sum256(b[nl+1:])
	if string(b[len(header):nl]) != hex.EncodeToString(sum[:]) {
		c.misses.Add(1) // torn or tampered entry: recompute
		return nil, false
	}
	c.hits.Add(1)
	c.touch(c.path(key))
	return b[nl+1:], true
}

// Trimming, as Go's build cache does it (cmd/go/internal/cache).
const (
	mtimeInterval = time.Hour      // a used entry's mtime is refreshed this often
	trimInterval  = 24 * time.Hour // Trim runs at most this often
	trimLimit     = 5 * 24 * time.Hour
	trimFile      = "trim.txt" // when Trim last ran, Unix seconds
)

// touch marks the entry at p used, unless that was done within the hour.
func (c *Cache) touch(p string) {
	now := time.Now()
	if fi, err := os.Stat(p); err == nil && now.Sub(fi.ModTime()) > mtimeInterval {
		_ = os.Chtimes(p, now, now)
	}
}

// Trim removes the entries not used since now minus five days and the
// temporary files older than an hour, unless it ran within the last day.
// Like every cache operation it fails nothing: what it cannot remove
// stays.
func (c *Cache) Trim(now time.Time) {
	if c == nil {
		return
	}
	marker := filepath.Join(c.dir, trimFile)
	if b, err := os.ReadFile(marker); err == nil {
		if t, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && now.Sub(time.Unix(t, 0)) < trimInterval {
			return
		}
	}
	shards, err := os.ReadDir(c.dir)
	if err != nil {
		return
	}
	for _, s := range shards {
		if strings.HasPrefix(s.Name(), ".tmp-") { // a killed Trim's marker
			if fi, err := s.Info(); err == nil && now.Sub(fi.ModTime()) > mtimeInterval {
				_ = os.Remove(filepath.Join(c.dir, s.Name()))
			}
			continue
		}
		if !s.IsDir() || len(s.Name()) != 2 {
			continue
		}
		dir := filepath.Join(c.dir, s.Name())
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			fi, err := e.Info()
			if err != nil || fi.IsDir() {
				continue
			}
			limit := trimLimit
			if strings.HasPrefix(e.Name(), ".tmp-") {
				limit = mtimeInterval
			}
			if now.Sub(fi.ModTime()) > limit {
				_ = os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
	// Written like an entry: a torn marker only means trimming again.
	if f, err := os.CreateTemp(c.dir, ".tmp-trim-*"); err == nil {
		_, werr := fmt.Fprintf(f, "%d\n", now.Unix())
		if cerr := f.Close(); werr == nil && cerr == nil {
			_ = os.Rename(f.Name(), marker)
		}
		_ = os.Remove(f.Name())
	}
}

// Put stores payload under key, atomically.
func (c *Cache) Put(key string, payload []byte) {
	if c == nil {
		return
	}
	p := c.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return
	}
	sum := sha256.Sum256(payload)
	_, err = fmt.Fprintf(f, "%s%s\n", header, hex.EncodeToString(sum[:]))
	if err == nil {
		_, err = f.Write(payload)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return
	}
	if err := os.Rename(f.Name(), p); err != nil {
		_ = os.Remove(f.Name())
	}
}

// Stats returns the hits and misses so far.
func (c *Cache) Stats() (hits, misses int64) {
	if c == nil {
		return 0, 0
	}
	return c.hits.Load(), c.misses.Load()
}
