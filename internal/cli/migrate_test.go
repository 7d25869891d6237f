package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cuelang.org/go/cue/ast"

	"github.com/paved-dev/paved/internal/migrate"
)

// TestMigrate runs paved migrate with a synthetic v1alpha1 → v1alpha2
// step (port becomes httpPort): --check reports and writes nothing (exit
// 1); without it the files are rewritten in place, comments kept, and a
// second run has nothing to do; CUE that does not parse is exit 2 at its
// file:line:col, and no app is written. paved's own registry is empty:
// the same apps have nothing to migrate.
func TestMigrate(t *testing.T) {
	t.Parallel()
	steps := migrate.Registry{{
		From: "paved.dev/v1alpha1",
		To:   "paved.dev/v1alpha2",
		Rewrite: func(f *ast.File) error {
			if field := migrate.Field(f, "port"); field != nil {
				field.Label = ast.NewIdent("httpPort")
			}
			return nil
		},
	}}
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string) string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	const checkout = "// checkout serves the checkout.\npackage app\n\napiVersion: \"paved.dev/v1alpha1\"\nname:       \"checkout\"\nteam:       \"payments\"\nkind:       \"web\"\nimage:      \"ghcr.io/acme/checkout:1.4.2\"\n\n// The port it listens on.\nport: 8080 // HTTP\n"
	const prod = "package app\n\n// prod listens elsewhere.\nport: 9090\n"
	write("shop/checkout/app.cue", checkout)
	write("shop/checkout/prod.cue", prod)
	write("shop/cart/app.cue", strings.Replace(checkout, "checkout", "cart", -1))
	run := func(registry migrate.Registry, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Run(args, &env{stdout: &out, stderr: &errb, cwd: dir, migrations: registry})
		return code, out.String(), errb.String()
	}

	// paved's own registry: nothing to migrate.
	if code, out, errs := run(nil, "migrate", "--check", "shop"); code != ExitOK || out != "nothing to migrate: 2 apps at the newest apiVersion\n" {
		t.Errorf("migrate --check with paved's steps: exit %d\n%s%s", code, out, errs)
	}

	code, out, errs := run(steps, "migrate", "--check", "shop")
	wantOut := "would migrate shop/cart/app.cue: paved.dev/v1alpha1 → paved.dev/v1alpha2\n" +
		"would migrate shop/checkout/app.cue: paved.dev/v1alpha1 → paved.dev/v1alpha2\n" +
		"would migrate shop/checkout/prod.cue: paved.dev/v1alpha1 → paved.dev/v1alpha2\n"
	if code != ExitChanges || out != wantOut {
		t.Errorf("migrate --check: exit %d, want 1\n%s%s\nwant:\n%s", code, out, errs, wantOut)
	}
	if read("shop/checkout/app.cue") != checkout {
		t.Errorf("migrate --check wrote app.cue")
	}

	// A file that does not parse: exit 2 at it, nothing written.
	write("shop/cart/prod.cue", "package app\n\nport: {\n")
	code, out, errs = run(steps, "migrate", "shop")
	if code != ExitInvalid || !strings.Contains(errs, filepath.Join("shop", "cart", "prod.cue")+":3:9") || out != "" {
		t.Errorf("migrate with a broken file: exit %d, want 2 at shop/cart/prod.cue:3:9\n%s%s", code, out, errs)
	}
	if read("shop/checkout/app.cue") != checkout {
		t.Errorf("migrate wrote checkout although cart does not parse")
	}
	if err := os.Remove(filepath.Join(dir, "shop/cart/prod.cue")); err != nil {
		t.Fatal(err)
	}

	code, out, errs = run(steps, "migrate", "shop")
	if code != ExitOK || out != strings.ReplaceAll(wantOut, "would migrate", "migrated") {
		t.Errorf("migrate: exit %d\n%s%s", code, out, errs)
	}
	want := strings.NewReplacer(`"paved.dev/v1alpha1"`, `"paved.dev/v1alpha2"`, "\nport: 8080", "\nhttpPort: 8080").Replace(checkout)
	if got := read("shop/checkout/app.cue"); got != want {
		t.Errorf("migrated app.cue:\n%s\nwant (comments kept):\n%s", got, want)
	}
	if got, want := read("shop/checkout/prod.cue"), strings.Replace(prod, "\nport:", "\nhttpPort:", 1); got != want {
		t.Errorf("migrated prod.cue:\n%s\nwant:\n%s", got, want)
	}
	if code, out, _ := run(steps, "migrate", "--check", "shop"); code != ExitOK || !strings.HasPrefix(out, "nothing to migrate") {
		t.Errorf("a second migrate --check: exit %d\n%s", code, out)
	}
}
