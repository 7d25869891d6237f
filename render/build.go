package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"

	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/paved-dev/paved/internal/workpool"
	"github.com/paved-dev/paved/schema"
)

// fsRoot is where the tree is mounted in the in-memory file system builds
// run on.
const fsRoot = "/fleet"

// BuildAll builds every kustomization directory of the tree (apps, tenants
// and each cluster's paved entry point) as Flux's kustomize-controller
// does and records each directory's objects in tree.Units, sorted by
// object ID.
//
// A directory whose kustomization only lists resources (no patches,
// generators or transformers: what paved writes for an app without
// patches) builds to exactly the objects of its files, so those are read
// directly; TestPlainBuildEquivalence proves the equivalence with a real
// build over every example. Directories with patches are built with
// fluxcd/pkg/kustomize.
func BuildAll(tree *Tree) error { return buildAll(tree, false) }

// BuildAllWithKustomize builds every directory with kustomize, plain or
// not: the reference the fast path is tested against.
func BuildAllWithKustomize(tree *Tree) error { return buildAll(tree, true) }

func buildAll(tree *Tree, always bool) error {
	var dirs []string
	for _, p := range tree.Paths() {
		if path.Base(p) == "kustomization.yaml" {
			dirs = append(dirs, path.Dir(p))
		}
	}
	// The whole tree is mounted only for a kustomization that may reach
	// outside its directory; paved's own never do.
	var whole struct {
		once sync.Once
		fs   filesys.FileSystem
		err  error
	}
	mountWhole := func() (filesys.FileSystem, error) {
		whole.once.Do(func() { whole.fs, whole.err = mount(tree, tree.Paths()) })
		return whole.fs, whole.err
	}
	units := make([]Unit, len(dirs))
	unitErrs := make([]Errors, len(dirs))
	fatal := make([]error, len(dirs))
	workpool.Run(len(dirs), runtime.GOMAXPROCS(0), func(_, i int) {
		units[i], unitErrs[i], fatal[i] = buildDir(tree, dirs[i], always, mountWhole)
	})
	var errs Errors
	tree.Units = nil
	for i := range dirs {
		if fatal[i] != nil {
			return fatal[i]
		}
		if len(unitErrs[i]) > 0 {
			errs = append(errs, unitErrs[i]...)
			continue
		}
		tree.Units = append(tree.Units, units[i])
	}
	if len(errs) > 0 {
		tree.Units = nil
		return errs
	}
	return buildCatalog(tree)
}

// buildCatalog collects the catalog's entity files (not the Location,
// which lists them) into tree.Catalog: what diff compares, like a unit's
// objects. Policies do not see it: they judge what Kubernetes applies.
func buildCatalog(tree *Tree) error {
	tree.Catalog = nil
	var u *Unit
	for _, p := range tree.Paths() {
		if !isCatalogEntity(p) {
			continue
		}
		o, err := tree.object(p)
		if err != nil {
			return Errors{{Where: p, Err: err}}
		}
		if u == nil {
			u = &Unit{Dir: "catalog", Kind: UnitCatalog, Cluster: CatalogCluster}
		}
		u.Objects = append(u.Objects, Built{Object: o, File: p})
	}
	tree.Catalog = u
	return nil
}

// mount writes the files into a new in-memory file system under fsRoot.
func mount(tree *Tree, files []string) (filesys.FileSystem, error) {
	fs := filesys.MakeFsInMemory()
	for _, p := range files {
		if err := fs.MkdirAll(path.Join(fsRoot, path.Dir(p))); err != nil {
			return nil, err
		}
		data, _ := tree.File(p)
		if err := fs.WriteFile(path.Join(fsRoot, p), data); err != nil {
			return nil, err
		}
	}
	return fs, nil
}

// object returns the object of a rendered file: the one render kept, else
// decoded from the file.
func (t *Tree) object(f string) (Object, error) {
	if o, ok := t.objs[f]; ok {
		return o, nil
	}
	return decodeObject(t.Files[f])
}

// buildDir builds one kustomization directory. Problems with the
// directory are returned as Errors; the error is for a failure to run.
func buildDir(tree *Tree, dir string, always bool, mountWhole func() (filesys.FileSystem, error)) (Unit, Errors, error) {
	var errs Errors
	k, err := readKustomization(tree, dir)
	if err != nil {
		return Unit{}, Errors{{Where: dir, Err: err}}, nil
	}
	u := newUnit(tree, dir)
	files := map[string]string{}    // object ID -> file
	rendered := map[string]Object{} // file -> object as rendered
	for _, r := range k.Resources {
		f := path.Join(dir, r)
		if !tree.has(f) {
			errs = append(errs, &Error{Where: dir, Err: fmt.Errorf("kustomize build failed: resource %s does not exist", r)})
			continue
		}
		o, err := tree.object(f)
		if err != nil {
			errs = append(errs, &Error{Where: f, Err: err})
			continue
		}
		if o.APIVersion() == "" || o.Kind() == "" || o.Name() == "" {
			// kustomize refuses such a resource; so does the fast path.
			errs = append(errs, &Error{Where: f, Err: fmt.Errorf("kustomize build failed: an object needs apiVersion, kind and metadata.name")})
			continue
		}
		if prev, dup := files[o.ID()]; dup {
			errs = append(errs, &Error{Where: dir, Err: fmt.Errorf("kustomize build failed: %s and %s hold the same object %s", prev, f, o.ID())})
			continue
		}
		files[o.ID()] = f
		rendered[f] = o
	}
	if len(errs) > 0 {
		return Unit{}, errs, nil
	}
	if !always && plain(k) {
		for _, r := range k.Resources {
			f := path.Join(dir, r)
			u.Objects = append(u.Objects, Built{Object: rendered[f], File: f})
		}
		sortBuilt(u.Objects)
		return u, nil, nil
	}
	var fs filesys.FileSystem
	if selfContained(k) {
		// Only the directory's own files: the same build, without
		// copying the whole tree.
		var own []string
		for _, r := range k.Resources {
			own = append(own, path.Join(dir, r))
		}
		own = append(own, path.Join(dir, "kustomization.yaml"))
		fs, err = mount(tree, own)
	} else {
		fs, err = mountWhole()
	}
	if err != nil {
		return Unit{}, nil, err
	}
	u.kustomized = true
	rm, err := kustomizeBuild(fs, path.Join(fsRoot, dir), k, always)
	if err != nil {
		return Unit{}, Errors{{Where: dir, Err: fmt.Errorf("kustomize build failed: %w", err)}}, nil
	}
	if want := len(k.Resources); rm.Size() != want && len(k.Patches) == 0 {
		return Unit{}, Errors{{Where: dir, Err: fmt.Errorf("kustomize build produced %d objects, the directory lists %d", rm.Size(), want)}}, nil
	}
	for _, r := range rm.Resources() {
		m, err := r.Map()
		if err != nil {
			errs = append(errs, &Error{Where: dir, Err: err})
			continue
		}
		js, err := json.Marshal(m)
		if err != nil {
			errs = append(errs, &Error{Where: dir, Err: err})
			continue
		}
		o, err := decodeJSONObject(js)
		if err != nil {
			errs = append(errs, &Error{Where: dir, Err: err})
			continue
		}
		b := Built{Object: o, File: files[o.ID()]}
		if len(k.Patches) > 0 && b.File != "" && tree.use != WriteOnly { // rendered holds identities
			b.Patched = changedPaths(nil, map[string]any(rendered[b.File]), map[string]any(o))
		}
		u.Objects = append(u.Objects, b)
	}
	if len(errs) > 0 {
		return Unit{}, errs, nil
	}
	sortBuilt(u.Objects)
	return u, nil, nil
}

// selfContained reports whether a kustomization reads only files below its
// own directory: resource files (allFiles: no parent, no URL, no
// directory) and inline patches.
func selfContained(k *kusttypes.Kustomization) bool {
	if !allFiles(k.Resources) {
		return false
	}
	for _, p := range k.Patches {
		if p.Path != "" {
			return false
		}
	}
	c := *k
	c.TypeMeta, c.Resources, c.Patches = kusttypes.TypeMeta{}, nil, nil
	return reflect.DeepEqual(c, kusttypes.Kustomization{})
}

// plain reports whether a kustomization only lists resource files: its
// build is exactly those files' objects.
func plain(k *kusttypes.Kustomization) bool {
	c := *k
	c.TypeMeta = kusttypes.TypeMeta{}
	c.Resources = nil
	return reflect.DeepEqual(c, kusttypes.Kustomization{}) && len(k.Resources) > 0 && allFiles(k.Resources)
}

// allFiles reports whether every resource names a YAML file by a clean
// relative path inside the kustomization's directory (a cluster's entry
// point lists apps/<name>.yaml and tenants/<team>.yaml): no remote, no
// parent, no directory. buildDir checks that each file exists.
func allFiles(res []string) bool {
	for _, r := range res {
		if !strings.HasSuffix(r, ".yaml") || strings.Contains(r, "://") || path.IsAbs(r) ||
			path.Clean(r) != r || r == ".." || strings.HasPrefix(r, "../") {
			return false
		}
	}
	return true
}

func sortBuilt(objs []Built) {
	slices.SortStableFunc(objs, func(a, b Built) int { return strings.Compare(a.Object.ID(), b.Object.ID()) })
}

// newUnit classifies a kustomization directory by its place in the fleet
// layout.
func newUnit(tree *Tree, dir string) Unit {
	u := Unit{Dir: dir}
	parts := strings.Split(dir, "/")
	switch {
	case len(parts) == 4 && parts[0] == "apps":
		u.Kind, u.Cluster, u.Team = UnitApp, parts[1], parts[2]
		if s := tree.apps[dir]; s != nil {
			u.App = s.app
		}
	case len(parts) == 3 && parts[0] == "tenants":
		u.Kind, u.Cluster, u.Team = UnitTenant, parts[1], parts[2]
	case len(parts) == 3 && parts[0] == "clusters":
		u.Kind, u.Cluster = UnitEntry, parts[1]
	case len(parts) == 4 && tree.previewDir != "" && parts[0] == tree.previewDir && parts[3] == "app":
		// A preview's app: <previews>/<cluster>/<namespace>/app.
		u.Kind, u.Cluster = UnitApp, parts[1]
		if s := tree.apps[dir]; s != nil {
			u.App, u.Team = s.app, s.app.Base.Team
		}
	case len(parts) == 4 && tree.previewDir != "" && parts[0] == tree.previewDir && parts[3] == "namespace":
		u.Kind, u.Cluster = UnitTenant, parts[1]
	}
	u.Environment = tree.env[u.Cluster]
	return u
}

// EncodeObject writes an object as a rendered file: canonical YAML.
func EncodeObject(o Object) ([]byte, error) { return objectYAML(o) }

// DecodeObject reads a single-object YAML file as rendered, with numbers
// kept as json.Number.
func DecodeObject(data []byte) (Object, error) { return decodeObject(data) }

// decodeObject reads a single-object YAML file with numbers kept as
// json.Number, as decodeJSONObject does.
func decodeObject(data []byte) (Object, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	return decodeJSONObject(js)
}

func decodeJSONObject(js []byte) (Object, error) {
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	var o Object
	if err := d.Decode(&o); err != nil {
		return nil, err
	}
	return o, nil
}

// changedPaths returns the paths at which a and b differ, as deep as both
// sides are objects or lists of the same length.
func changedPaths(prefix []any, a, b any) [][]any {
	if reflect.DeepEqual(a, b) {
		return nil
	}
	at := func(k any) []any { return append(slices.Clone(prefix), k) }
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			break
		}
		var out [][]any
		keys := map[string]bool{}
		for k := range av {
			keys[k] = true
		}
		for k := range bv {
			keys[k] = true
		}
		for _, k := range schema.SortedKeys(keys) {
			out = append(out, changedPaths(at(k), av[k], bv[k])...)
		}
		return out
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			break
		}
		var out [][]any
		for i := range av {
			out = append(out, changedPaths(at(i), av[i], bv[i])...)
		}
		return out
	}
	return [][]any{slices.Clone(prefix)}
}

func readKustomization(tree *Tree, dir string) (*kusttypes.Kustomization, error) {
	var k kusttypes.Kustomization
	if err := yaml.UnmarshalStrict(tree.Files[path.Join(dir, "kustomization.yaml")], &k); err != nil {
		return nil, fmt.Errorf("reading kustomization.yaml: %w", err)
	}
	return &k, nil
}
