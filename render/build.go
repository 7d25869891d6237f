package render

import (
	"fmt"
	"path"

	"github.com/fluxcd/pkg/kustomize"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// fsRoot is where the tree is mounted in the in-memory file system builds
// run on.
const fsRoot = "/fleet"

// BuildAll builds every kustomization directory of the tree (apps, tenants
// and each cluster's paved entry point) exactly as Flux's
// kustomize-controller does, with fluxcd/pkg/kustomize, and checks that a
// directory without patches builds to exactly the objects it lists.
func BuildAll(tree *Tree) error {
	fs := filesys.MakeFsInMemory()
	var dirs []string
	for _, p := range tree.Paths() {
		if err := fs.MkdirAll(path.Join(fsRoot, path.Dir(p))); err != nil {
			return err
		}
		if err := fs.WriteFile(path.Join(fsRoot, p), tree.Files[p]); err != nil {
			return err
		}
		if path.Base(p) == "kustomization.yaml" {
			dirs = append(dirs, path.Dir(p))
		}
	}
	var errs Errors
	for _, dir := range dirs {
		n, err := buildDir(fs, dir)
		if err != nil {
			errs = append(errs, &Error{Where: dir, Err: err})
			continue
		}
		k, err := readKustomization(tree, dir)
		if err != nil {
			errs = append(errs, &Error{Where: dir, Err: err})
			continue
		}
		if want := len(k.Resources); n != want && len(k.Patches) == 0 {
			errs = append(errs, &Error{Where: dir, Err: fmt.Errorf("kustomize build produced %d objects, the directory lists %d", n, want)})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func buildDir(fs filesys.FileSystem, dir string) (int, error) {
	rm, err := kustomize.Build(fs, path.Join(fsRoot, dir))
	if err != nil {
		return 0, fmt.Errorf("kustomize build failed: %w", err)
	}
	return rm.Size(), nil
}

func readKustomization(tree *Tree, dir string) (*kusttypes.Kustomization, error) {
	var k kusttypes.Kustomization
	if err := yaml.UnmarshalStrict(tree.Files[path.Join(dir, "kustomization.yaml")], &k); err != nil {
		return nil, fmt.Errorf("reading kustomization.yaml: %w", err)
	}
	return &k, nil
}
