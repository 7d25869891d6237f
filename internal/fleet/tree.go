package fleet

import (
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// entry is a file of a tree: its mode and blob.
type entry struct {
	mode filemode.FileMode
	hash plumbing.Hash
}

// flatten lists every file of a tree.
func flatten(t *object.Tree) (map[string]entry, error) {
	out := map[string]entry{}
	if t == nil {
		return out, nil
	}
	w := object.NewTreeWalker(t, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if e.Mode == filemode.Dir {
			continue
		}
		out[name] = entry{mode: e.Mode, hash: e.Hash}
	}
	return out, nil
}

// writeBlob stores data and returns its hash.
func writeBlob(s storer.EncodedObjectStorer, data []byte) (plumbing.Hash, error) {
	obj := s.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(data)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(data); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}

// ClashError is a fleet path that is a file where paved needs a
// directory (or the reverse): no valid tree holds both (exit code 4).
type ClashError struct {
	// Paths are the clashing paths, sorted: each is a file in the fleet or
	// the render and a directory of another file.
	Paths []string
}

func (e *ClashError) Error() string {
	return fmt.Sprintf("%s %s both a file and a directory of other files: refusing to write a tree git would reject (remove or rename %s in the fleet repository)",
		list(e.Paths), plural(len(e.Paths), "is", "are"), plural(len(e.Paths), "it", "them"))
}

// buildTree stores the tree objects of a flat file list in one pass and
// returns the root tree's hash (staging with one tree build, not a
// work-tree add per file).
func buildTree(s storer.EncodedObjectStorer, files map[string]entry) (plumbing.Hash, error) {
	type dir struct {
		files map[string]entry
		dirs  map[string]*dir
	}
	root := &dir{files: map[string]entry{}, dirs: map[string]*dir{}}
	for p, e := range files {
		d := root
		parts := strings.Split(p, "/")
		for _, part := range parts[:len(parts)-1] {
			next := d.dirs[part]
			if next == nil {
				next = &dir{files: map[string]entry{}, dirs: map[string]*dir{}}
				d.dirs[part] = next
			}
			d = next
		}
		d.files[parts[len(parts)-1]] = e
	}
	// A name that is both a file and a directory would give the tree two
	// entries of one name: git fsck and every forge refuse such a tree.
	var clashes []string
	var find func(d *dir, prefix string)
	find = func(d *dir, prefix string) {
		for name, sub := range d.dirs {
			if _, ok := d.files[name]; ok {
				clashes = append(clashes, prefix+name)
			}
			find(sub, prefix+name+"/")
		}
	}
	find(root, "")
	if len(clashes) > 0 {
		sort.Strings(clashes)
		return plumbing.ZeroHash, &ClashError{Paths: clashes}
	}
	var write func(d *dir) (plumbing.Hash, error)
	write = func(d *dir) (plumbing.Hash, error) {
		var t object.Tree
		for name, e := range d.files {
			t.Entries = append(t.Entries, object.TreeEntry{Name: name, Mode: e.mode, Hash: e.hash})
		}
		for name, sub := range d.dirs {
			h, err := write(sub)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			t.Entries = append(t.Entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
		}
		// git orders entries by name, a directory's name compared as if it
		// ended in '/'.
		key := func(e object.TreeEntry) string {
			if e.Mode == filemode.Dir {
				return e.Name + "/"
			}
			return e.Name
		}
		sort.Slice(t.Entries, func(i, j int) bool { return key(t.Entries[i]) < key(t.Entries[j]) })
		obj := s.NewEncodedObject()
		if err := t.Encode(obj); err != nil {
			return plumbing.ZeroHash, err
		}
		return s.SetEncodedObject(obj)
	}
	return write(root)
}

// readBlob reads a blob's content.
func readBlob(s storer.EncodedObjectStorer, h plumbing.Hash) ([]byte, error) {
	b, err := object.GetBlob(s, h)
	if err != nil {
		return nil, err
	}
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// Exactly the blob's size: a growing buffer held twice the bytes of
	// a fleet read whole.
	data := make([]byte, b.Size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, err
	}
	return data, nil
}

// entryKustomization lists a cluster's Flux objects for its paved entry
// point: the files under clusters/<cluster>/paved that an ownership
// manifest lists (a file pushed there by hand is never wired in).
func entryKustomization(files map[string]entry, cluster string, owned map[string]bool) []string {
	prefix := path.Join("clusters", cluster, "paved") + "/"
	var res []string
	for p := range files {
		if rel, ok := strings.CutPrefix(p, prefix); ok && owned[p] && rel != "kustomization.yaml" && strings.HasSuffix(rel, ".yaml") {
			res = append(res, rel)
		}
	}
	sort.Strings(res)
	return res
}

func clusterOf(p string) (string, bool) {
	parts := strings.Split(p, "/")
	if len(parts) >= 3 && parts[0] == "clusters" && parts[2] == "paved" {
		return parts[1], true
	}
	return "", false
}
