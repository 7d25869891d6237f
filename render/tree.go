package render

import (
	"maps"
	"slices"
)

// Tree is a rendered fleet: slash-separated relative paths to file content,
// and, once built, every kustomization directory's objects as Flux builds
// them.
type Tree struct {
	Files map[string][]byte
	// Units are the built kustomization directories, sorted by Dir. They
	// are filled by BuildAll.
	Units []Unit

	env  map[string]string      // cluster -> environment
	apps map[string]*unitSource // app directory -> the app it renders
	// objs are the objects of the rendered files, exactly as they decode
	// from those files, so the build need not parse YAML paved just wrote.
	objs map[string]Object
	// inMemory: the tree is read, not written (Input.InMemory): an
	// object's file is encoded when File asks for it, not held in Files.
	inMemory bool
}

// File returns the content of a rendered file. Files holds every file of
// a render, except the object files of an in-memory render
// (Input.InMemory), which are encoded now: byte for byte what a render
// writes (TestInMemoryRender).
func (t *Tree) File(p string) ([]byte, bool) {
	if b, ok := t.Files[p]; ok {
		return b, true
	}
	if o, ok := t.objs[p]; ok && t.inMemory {
		b, err := objectYAML(o)
		return b, err == nil
	}
	return nil, false
}

// ReleaseFileObjects lets go of the objects the tree keeps for its files,
// for a caller that reads only the units' built objects and the files from
// now on and drops the built objects as it is done with them, so that a
// large fleet is not held twice (lint converts every object to an OPA
// value). An in-memory tree first encodes the files of units kustomize
// built, whose objects may differ from their files; any other object file
// of an in-memory tree is the canonical YAML of its unit's built object
// (EncodeObject), which File no longer serves.
func (t *Tree) ReleaseFileObjects() {
	if t.inMemory {
		for _, u := range t.Units {
			if !u.kustomized {
				continue
			}
			for _, b := range u.Objects {
				if data, ok := t.File(b.File); ok && b.File != "" {
					t.add(b.File, data)
				}
			}
		}
	}
	t.objs = nil
}

// has reports whether the tree holds the file p.
func (t *Tree) has(p string) bool {
	if _, ok := t.Files[p]; ok {
		return true
	}
	_, ok := t.objs[p]
	return ok && t.inMemory
}

// addObject adds the file of one object and keeps the object as it decodes
// from that file: the same value, unless a number is written differently
// in YAML (1.0 is written 1), so only then is the file decoded. An
// in-memory tree encodes the file only for that check.
func (t *Tree) addObject(p string, o Object) error {
	fraction := hasFraction(map[string]any(o))
	if t.inMemory && !fraction {
		t.setObject(p, o)
		return nil
	}
	b, err := objectYAML(o)
	if err != nil {
		return err
	}
	if fraction {
		if o, err = decodeObject(b); err != nil {
			return err
		}
	}
	t.add(p, b)
	t.setObject(p, o)
	return nil
}

func (t *Tree) setObject(p string, o Object) {
	if t.objs == nil {
		t.objs = map[string]Object{}
	}
	t.objs[p] = o
}

// merge adds the files, objects and app directories of part.
func (t *Tree) merge(part *Tree) {
	for p, b := range part.Files {
		t.add(p, b)
	}
	for p, o := range part.objs {
		t.setObject(p, o)
	}
	for d, s := range part.apps {
		t.apps[d] = s
	}
}

// Paths returns the file paths in order (with the object files of an
// in-memory tree).
func (t *Tree) Paths() []string {
	ps := slices.Collect(maps.Keys(t.Files))
	if t.inMemory {
		for p := range t.objs {
			if _, ok := t.Files[p]; !ok {
				ps = append(ps, p)
			}
		}
	}
	slices.Sort(ps)
	return ps
}

func (t *Tree) add(p string, data []byte) {
	if t.Files == nil {
		t.Files = map[string][]byte{}
	}
	t.Files[p] = data
}

// UnitKind says what a kustomization directory holds.
type UnitKind string

const (
	UnitApp    UnitKind = "app"    // apps/<cluster>/<team>/<app>
	UnitTenant UnitKind = "tenant" // tenants/<cluster>/<team>
	UnitEntry  UnitKind = "entry"  // clusters/<cluster>/paved
)

// Unit is one kustomization directory built as Flux's kustomize-controller
// builds it: exactly what Flux applies.
type Unit struct {
	Dir         string
	Kind        UnitKind
	Cluster     string
	Environment string
	Team        string // "" for an entry unit
	// App is the rendered app (nil unless Kind is UnitApp).
	App *App
	// Objects in kustomize's output order.
	Objects []Built
	// kustomized: built by kustomize (the kustomization has patches), so
	// its objects may differ from its files.
	kustomized bool
}

// Built is one object of a built unit.
type Built struct {
	Object Object
	// File is the rendered file the object comes from ("" when kustomize
	// generated it).
	File string
	// Patched lists the JSON paths of the object that the app's patches
	// changed, added or removed (each a list of keys and indexes).
	Patched [][]any
}

type unitSource struct {
	app *App
}
