package render

import (
	"maps"
	"slices"
)

// Tree is a rendered fleet: slash-separated relative paths to file content.
type Tree struct {
	Files map[string][]byte
}

// Paths returns the file paths in order.
func (t *Tree) Paths() []string {
	return slices.Sorted(maps.Keys(t.Files))
}

func (t *Tree) add(p string, data []byte) {
	if t.Files == nil {
		t.Files = map[string][]byte{}
	}
	t.Files[p] = data
}
