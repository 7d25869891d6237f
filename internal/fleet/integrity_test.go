package fleet

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/storage/memory"
)

// TestBuildTreeClash: a blob where paved writes a directory (a hand-pushed
// catalog/payments next to catalog/payments/checkout.yaml) is refused with
// the path named; a tree with two entries of one name is never written.
func TestBuildTreeClash(t *testing.T) {
	s := memory.NewStorage()
	blob, err := writeBlob(s, []byte("x: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := entry{mode: filemode.Regular, hash: blob}
	files := map[string]entry{
		"catalog/payments":               e,
		"catalog/payments/checkout.yaml": e,
		"apps/a/b/c/x.yaml":              e,
		"apps/a/b/c/x.yaml/y":            e,
		"README.md":                      e,
	}
	before := len(s.Objects)
	_, err = buildTree(s, files)
	var ce *ClashError
	if !errors.As(err, &ce) {
		t.Fatalf("buildTree: %v, want a *ClashError", err)
	}
	if want := []string{"apps/a/b/c/x.yaml", "catalog/payments"}; !slices.Equal(ce.Paths, want) {
		t.Errorf("clashes %v, want %v", ce.Paths, want)
	}
	if len(s.Objects) != before {
		t.Errorf("%d objects stored for a refused tree", len(s.Objects)-before)
	}
	delete(files, "catalog/payments")
	delete(files, "apps/a/b/c/x.yaml/y")
	if _, err := buildTree(s, files); err != nil {
		t.Fatalf("buildTree without the clashes: %v", err)
	}
}

// TestIntegrity: files under paved's directories that no manifest lists,
// files of an app without a manifest and entry kustomizations that are not
// what paved generates are reported; owned files, catalog/all.yaml, files
// outside paved's directories and a well-formed entry are not.
func TestIntegrity(t *testing.T) {
	app := &Manifest{Team: "payments", App: "checkout", Files: []string{
		"apps/prod-eu-1/payments/checkout/kustomization.yaml",
		"clusters/prod-eu-1/paved/apps/payments-checkout.yaml",
		"catalog/payments/checkout.yaml",
	}}
	tenant := &Manifest{Team: "payments", Files: []string{
		"tenants/prod-eu-1/payments/kustomization.yaml",
		"clusters/prod-eu-1/paved/tenants/payments.yaml",
		"catalog/payments/_group.yaml",
	}}
	ms := &Manifests{Apps: map[string]*Manifest{"payments/checkout": app}, Tenants: map[string]*Manifest{"payments": tenant}}
	entry := func(res []string) ([]byte, error) { return []byte(fmt.Sprint(res)), nil }
	clean := slices.Concat(app.Files, tenant.Files, []string{
		".paved/apps/payments/checkout.json", ".paved/tenants/payments.json",
		"catalog/all.yaml", "clusters/prod-eu-1/paved/kustomization.yaml",
		"clusters/prod-eu-1/flux-system/gotk-sync.yaml", "README.md",
	})
	good := map[string][]byte{"clusters/prod-eu-1/paved/kustomization.yaml": []byte("[apps/payments-checkout.yaml tenants/payments.yaml]")}
	for _, c := range []struct {
		name    string
		extra   []string
		entries map[string][]byte
		want    []string // kind file
	}{
		{name: "clean", entries: good},
		{
			name:    "unowned",
			extra:   []string{"clusters/prod-eu-1/paved/extra/crb.yaml", "tenants/prod-eu-1/payments/x.yaml", "catalog/payments", ".paved/notes.txt", "apps/prod-eu-1/payments/checkout/extra.yaml"},
			entries: good,
			want: []string{
				"unowned .paved/notes.txt", "unowned apps/prod-eu-1/payments/checkout/extra.yaml", "unowned catalog/payments",
				"unowned clusters/prod-eu-1/paved/extra/crb.yaml", "unowned tenants/prod-eu-1/payments/x.yaml",
			},
		},
		{
			name:    "missing manifest",
			extra:   []string{"apps/prod-eu-1/search/api/kustomization.yaml", "clusters/prod-eu-1/paved/apps/search-api.yaml"},
			entries: good,
			want:    []string{"missing-manifest apps/prod-eu-1/search/api/kustomization.yaml", "missing-manifest clusters/prod-eu-1/paved/apps/search-api.yaml"},
		},
		{
			name:    "entry edited",
			entries: map[string][]byte{"clusters/prod-eu-1/paved/kustomization.yaml": []byte("[apps/payments-checkout.yaml tenants/payments.yaml ../../flux-system]")},
			want:    []string{"entry-edited clusters/prod-eu-1/paved/kustomization.yaml"},
		},
		{
			name: "entry deleted",
			want: []string{"entry-edited clusters/prod-eu-1/paved/kustomization.yaml"},
		},
		{
			name:    "entry of a cluster without objects",
			extra:   []string{"clusters/dev-eu-1/paved/kustomization.yaml"},
			entries: map[string][]byte{"clusters/dev-eu-1/paved/kustomization.yaml": []byte("[]"), "clusters/prod-eu-1/paved/kustomization.yaml": good["clusters/prod-eu-1/paved/kustomization.yaml"]},
			want:    []string{"entry-edited clusters/dev-eu-1/paved/kustomization.yaml"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := slices.Concat(clean, c.extra)
			if c.entries == nil {
				files = slices.DeleteFunc(files, func(p string) bool { return p == "clusters/prod-eu-1/paved/kustomization.yaml" })
			}
			read := func(p string) ([]byte, error) {
				if !slices.Contains(files, p) {
					return nil, fs.ErrNotExist
				}
				return c.entries[p], nil
			}
			ps, err := Integrity(files, ms, read, entry)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, string(p.Kind)+" "+p.File)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("problems:\n%q\nwant:\n%q", got, c.want)
			}
		})
	}
}

// TestOwnedEntryOnly: the entry kustomization lists only the Flux
// objects a manifest owns, never a file pushed there by hand.
func TestOwnedEntryOnly(t *testing.T) {
	files := map[string]entry{
		"clusters/prod-eu-1/paved/apps/payments-checkout.yaml": {},
		"clusters/prod-eu-1/paved/extra/crb.yaml":              {hash: plumbing.ZeroHash},
	}
	got := entryKustomization(files, "prod-eu-1", map[string]bool{"clusters/prod-eu-1/paved/apps/payments-checkout.yaml": true})
	if want := []string{"apps/payments-checkout.yaml"}; !slices.Equal(got, want) {
		t.Errorf("entry lists %v, want %v", got, want)
	}
}
