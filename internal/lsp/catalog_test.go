package lsp_test

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"go.lsp.dev/protocol"
)

// TestErrorCatalogSameAsVet: every app of vet's error catalog
// (testdata/script/vet_error_catalog.txtar, one kind of mistake each),
// opened in the editor, gets the diagnostics paved vet prints for it: the
// same messages at the same positions, in the same order.
func TestErrorCatalogSameAsVet(t *testing.T) {
	ar, err := txtar.ParseFile(filepath.Join("..", "..", "testdata", "script", "vet_error_catalog.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	var apps []string
	for _, f := range ar.Files {
		if !strings.HasPrefix(f.Name, "apps/") {
			continue
		}
		write(t, filepath.Join(root, f.Name), string(f.Data))
		if filepath.Base(f.Name) == "app.cue" {
			apps = append(apps, filepath.Join(root, f.Name))
		}
	}
	sort.Strings(apps)
	if len(apps) != 26 {
		t.Fatalf("the catalog has %d apps, want 26", len(apps))
	}

	cmd := pavedCmd(t, root, "vet", "./apps")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("paved vet of the catalog succeeded")
	}

	c := startServer(t, root)
	var got strings.Builder
	for _, app := range apps {
		u := c.open(app)
		ds := c.waitDiags(u, 0, func(ds []protocol.Diagnostic) bool { return len(ds) > 0 })
		got.WriteString(render(t, ds, []string{root, app}))
	}
	c.shutdown()
	if got.String() != stderr.String() {
		t.Errorf("the editor's diagnostics differ from paved vet's.\neditor:\n%s\nvet:\n%s", got.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "./apps/26-bad-owner/app.cue:8:84") {
		t.Errorf("vet's output lacks the last app's error:\n%s", stderr.String())
	}
}
