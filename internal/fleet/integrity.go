package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5"
)

// IntegrityKind says what is wrong with a file of the fleet.
type IntegrityKind string

const (
	// Unowned is a file under paved's directories that no ownership
	// manifest lists.
	Unowned IntegrityKind = "unowned"
	// MissingManifest is a file of a deployed app (its directory, its Flux
	// Kustomization) whose app has no ownership manifest.
	MissingManifest IntegrityKind = "missing-manifest"
	// EntryEdited is a cluster's entry kustomization that differs from the
	// one paved generates from the owned Flux objects (edited, added or
	// deleted by hand).
	EntryEdited IntegrityKind = "entry-edited"
)

// IntegrityProblem is one file of the fleet that paved did not write as
// it is.
type IntegrityProblem struct {
	Kind IntegrityKind `json:"kind"`
	File string        `json:"file"`
	// App is team/app of a MissingManifest problem in an app directory, or
	// the Flux Kustomization's name (<team>-<app>) of one in a cluster's
	// entry point.
	App     string `json:"app,omitempty"`
	Message string `json:"message"`
}

func (p IntegrityProblem) String() string { return p.File + ": " + p.Message }

// Integrity checks a fleet revision against its ownership manifests, the
// check `diff`, `commit` and `verify` share: files are the fleet's paths
// (any, only those under paved's directories are looked at: Owned), ms
// its checked manifests, read a file's content and entry the renderer of
// a cluster's entry kustomization. It reports every file under paved's
// directories that no manifest lists (a hand-pushed file paved would
// otherwise wire into a cluster, or keep next to an app), every file of an
// app without a manifest, and every entry kustomization that is not what
// paved generates from the owned Flux objects. Problems are sorted by
// file. An error is a file that cannot be read.
func Integrity(files []string, ms *Manifests, read func(string) ([]byte, error), entry func(resources []string) ([]byte, error)) ([]IntegrityProblem, error) {
	owned := ownedSet(ms)
	var out []IntegrityProblem
	clusters := map[string]bool{}
	for _, p := range files {
		if !Owned(p) {
			continue
		}
		if c, ok := clusterOf(p); ok {
			clusters[c] = true
		}
		if owned[p] || p == CatalogLocation || isEntry(p) || isManifestOf(p, ms) || IsSourceRecord(p) {
			continue
		}
		out = append(out, unowned(p, ms))
	}
	for _, c := range slices.Sorted(maps.Keys(clusters)) {
		kp := path.Join("clusters", c, "paved", "kustomization.yaml")
		res := ownedEntries(files, owned, c)
		have, err := read(kp)
		exists := err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		switch {
		case len(res) == 0 && exists:
			out = append(out, IntegrityProblem{Kind: EntryEdited, File: kp, Message: "entry kustomization of a cluster where paved owns no Flux object (added by hand)"})
		case len(res) == 0:
		case !exists:
			out = append(out, IntegrityProblem{Kind: EntryEdited, File: kp, Message: "entry kustomization deleted by hand"})
		default:
			want, err := entry(res)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(have, want) {
				out = append(out, IntegrityProblem{Kind: EntryEdited, File: kp, Message: "entry kustomization edited by hand (it differs from what paved generates from the Flux objects it owns)"})
			}
		}
	}
	slices.SortFunc(out, func(a, b IntegrityProblem) int { return strings.Compare(a.File, b.File) })
	return out, nil
}

// ownedSet is every file an ownership manifest lists.
func ownedSet(ms *Manifests) map[string]bool {
	owned := map[string]bool{}
	for _, m := range ms.Apps {
		for _, f := range m.Files {
			owned[f] = true
		}
	}
	for _, m := range ms.Tenants {
		for _, f := range m.Files {
			owned[f] = true
		}
	}
	return owned
}

// ownedEntries lists the Flux objects of a cluster's entry point that a
// manifest owns, sorted: what its entry kustomization lists.
func ownedEntries(files []string, owned map[string]bool, cluster string) []string {
	prefix := path.Join("clusters", cluster, "paved") + "/"
	var res []string
	for _, p := range files {
		if rel, ok := strings.CutPrefix(p, prefix); ok && owned[p] && rel != "kustomization.yaml" && strings.HasSuffix(rel, ".yaml") {
			res = append(res, rel)
		}
	}
	slices.Sort(res)
	return res
}

// isEntry reports whether p is a cluster's entry kustomization.
func isEntry(p string) bool {
	parts := strings.Split(p, "/")
	return len(parts) == 4 && parts[0] == "clusters" && parts[2] == "paved" && parts[3] == "kustomization.yaml"
}

// isManifestOf reports whether p is one of the checked manifests.
func isManifestOf(p string, ms *Manifests) bool {
	if !IsManifest(p) {
		return false
	}
	parts := strings.Split(strings.TrimSuffix(p, ".json"), "/")
	switch {
	case len(parts) == 4 && parts[1] == "apps":
		return ms.Apps[parts[2]+"/"+parts[3]] != nil
	case len(parts) == 3 && parts[1] == "tenants":
		return ms.Tenants[parts[2]] != nil
	}
	return false
}

// unowned classifies a file no manifest lists: a file of an app that has
// no manifest, or any other unowned file.
func unowned(p string, ms *Manifests) IntegrityProblem {
	parts := strings.Split(p, "/")
	switch {
	case len(parts) >= 5 && parts[0] == "apps" && ms.Apps[parts[2]+"/"+parts[3]] == nil:
		id := parts[2] + "/" + parts[3]
		return IntegrityProblem{Kind: MissingManifest, File: p, App: id,
			Message: fmt.Sprintf("file of app %s, which has no ownership manifest (.paved/apps/%s.json)", id, id)}
	case len(parts) == 5 && parts[0] == "clusters" && parts[2] == "paved" && parts[3] == "apps" && strings.HasSuffix(parts[4], ".yaml"):
		name := strings.TrimSuffix(parts[4], ".yaml")
		return IntegrityProblem{Kind: MissingManifest, File: p, App: name,
			Message: fmt.Sprintf("Flux Kustomization of app %s, which no ownership manifest lists", name)}
	}
	return IntegrityProblem{Kind: Unowned, File: p, Message: "no ownership manifest lists this file"}
}

// IntegrityError stops a commit on a fleet that holds files paved did not
// write as they are (exit code 4).
type IntegrityError struct{ Problems []IntegrityProblem }

func (e *IntegrityError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the fleet holds %d %s paved did not write as %s under the directories it owns:",
		len(e.Problems), plural(len(e.Problems), "file", "files"), plural(len(e.Problems), "it is", "they are"))
	entries := false
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
		entries = entries || p.Kind == EntryEdited
	}
	b.WriteString("\nremove them from the fleet repository, or restore them by a commit of the platform team (paved never deploys or keeps a file no ownership manifest lists)")
	if entries {
		b.WriteString("; --overwrite-foreign-edits regenerates an entry kustomization")
	}
	return b.String()
}

// checkIntegrity refuses a commit on a fleet revision with integrity
// problems; with overwrite, an entry kustomization edited by hand is let
// through (apply regenerates it), never an unowned file.
func checkIntegrity(repo *git.Repository, files map[string]entry, ms *Manifests, r *Render) error {
	if r.Entry == nil {
		return nil
	}
	read := func(p string) ([]byte, error) {
		e, ok := files[p]
		if !ok {
			return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
		}
		return readBlob(repo.Storer, e.hash)
	}
	problems, err := Integrity(slices.Collect(maps.Keys(files)), ms, read, r.Entry)
	if err != nil {
		return err
	}
	if r.OverwriteForeignEdits {
		problems = slices.DeleteFunc(problems, func(p IntegrityProblem) bool { return p.Kind == EntryEdited })
	}
	if len(problems) > 0 {
		return &IntegrityError{Problems: problems}
	}
	return nil
}

// ownedAfter is every file a manifest lists before or after a commit: the
// fleet's manifests and the render's. Only those are wired into an entry
// kustomization.
func ownedAfter(fleet *Manifests, rendered map[string][]byte) map[string]bool {
	owned := ownedSet(fleet)
	for p, data := range rendered {
		if !IsManifest(p) {
			continue
		}
		if m, err := ReadManifest(p, data); err == nil {
			for _, f := range m.Files {
				owned[f] = true
			}
		}
	}
	return owned
}
