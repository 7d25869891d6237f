package schema

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/parser"

	"github.com/paved-dev/paved/internal/discover"
	"github.com/paved-dev/paved/internal/synth"
)

// sameAsInstance builds the files of one package both ways, as the
// instance CUE would build and as packageStruct's struct expression, and
// fails t if they differ. It reports whether packageStruct took them.
func sameAsInstance(t *testing.T, p *Platform, files []*ast.File) bool {
	t.Helper()
	s, ok := packageStruct(files)
	if !ok {
		return false
	}
	inst := build.NewContext().NewInstance("/app", nil)
	inst.PkgName = files[0].PackageName()
	for _, f := range files {
		if err := inst.AddSyntax(f); err != nil {
			t.Fatal(err)
		}
	}
	want := p.ctx.BuildInstance(inst)
	got := p.ctx.BuildExpr(s)
	if (want.Err() == nil) != (got.Err() == nil) {
		t.Fatalf("instance error %v, struct error %v", want.Err(), got.Err())
	}
	if want.Err() != nil {
		return true
	}
	if we, ge := want.Validate(), got.Validate(); (we == nil) != (ge == nil) || (we != nil && we.Error() != ge.Error()) {
		t.Fatalf("errors differ:\ninstance: %v\nstruct:   %v", we, ge)
	}
	// Unified with #App and validated, as LoadApp uses them.
	wu, gu := p.app.Unify(want), p.app.Unify(got)
	if we, ge := wu.Validate(), gu.Validate(); (we == nil) != (ge == nil) || (we != nil && we.Error() != ge.Error()) {
		t.Fatalf("validation differs:\ninstance: %v\nstruct:   %v", we, ge)
	}
	if w, g := fmt.Sprint(want), fmt.Sprint(got); w != g {
		t.Fatalf("values differ:\ninstance:\n%s\nstruct:\n%s", w, g)
	}
	if w, g := fmt.Sprint(wu), fmt.Sprint(gu); w != g {
		t.Fatalf("values with #App differ:\ninstance:\n%s\nstruct:\n%s", w, g)
	}
	return true
}

func parseFiles(t *testing.T, srcs ...string) []*ast.File {
	t.Helper()
	var files []*ast.File
	for i, src := range srcs {
		f, err := parser.ParseFile(fmt.Sprintf("/app/f%d.cue", i), src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// A package is built as an expression exactly when that means the same,
// and then it builds to the same value, in the same order, with the same
// errors, as the instance: every example app, a generated fleet's apps, and
// the shapes packageStruct declines.
func TestPackageStruct(t *testing.T) {
	p, err := LoadPlatform("")
	if err != nil {
		t.Fatal(err)
	}
	synthRoot := filepath.Join(t.TempDir(), "synth")
	if _, err := synth.Generate(synthRoot, synth.Options{Apps: 60, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	found, diags := discover.Apps([]string{"../examples", synthRoot})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	multi := 0
	for _, a := range found {
		var srcs []string
		for _, f := range a.Files {
			srcs = append(srcs, string(f.Data))
		}
		if len(srcs) > 1 {
			multi++
		}
		if !sameAsInstance(t, p, parseFiles(t, srcs...)) {
			t.Errorf("%s: not built as a struct", a.Dir)
		}
	}
	if len(found) < 60 || multi == 0 {
		t.Fatalf("%d apps, %d of several files: the corpus is too small", len(found), multi)
	}

	for _, tc := range []struct {
		name  string
		srcs  []string
		plain bool
	}{
		{"overrides in a second file", []string{"package app\nsize: \"small\"\nenv: A: \"1\"\n", "package app\nenvironments: prod: {size: \"medium\", env: A: \"2\"}\nenv: B: \"3\"\n"}, true},
		{"a name both files declare, resolved in its own", []string{"package app\nname: \"x\"\n", "package app\nenv: {name: \"y\", N: name}\n"}, true},
		{"let in one file", []string{"package app\nlet n = \"x\"\nname: n\n"}, true},
		{"alias in one file", []string{"package app\nN=name: \"x\"\nteam: N\n"}, true},
		{"reference across files", []string{"package app\nname: _n\n", "package app\n_n: \"x\"\nteam: name\n"}, false},
		{"reference across files in a label", []string{"package app\n_k: \"A\"\n", "package app\nenv: (_k): \"1\"\n"}, false},
		{"embedded struct", []string{"package app\n{name: \"x\"}\n"}, true},
		{"embedded struct in a field", []string{"package app\nenv: {{A: \"1\"}, B: \"2\"}\n"}, true},
		{"definition", []string{"package app\n#E: {LOG_LEVEL: string}\nenv: #E & {LOG_LEVEL: \"info\", OTHER: \"1\"}\n"}, false},
		{"embedded definition", []string{"package app\n#D: {name: string}\n#D\nname: \"x\"\n", "package app\nteam: \"y\"\n"}, false},
		{"hidden definition", []string{"package app\n_#P: 8080\nport: _#P\n"}, false},
		{"close", []string{"package app\nenv: close({A: \"1\"})\n"}, false},
		{"conflict across files", []string{"package app\nname: \"x\"\n", "package app\nname: \"y\"\n"}, true},
		{"import", []string{"package app\nimport \"strings\"\nname: strings.ToLower(\"X\")\n"}, false},
		{"let in two files", []string{"package app\nlet n = \"x\"\nname: n\n", "package app\nlet n = \"y\"\nteam: n\n"}, false},
		{"alias in two files", []string{"package app\nN=name: \"x\"\n", "package app\nteam: \"y\"\n"}, false},
		{"file attribute", []string{"package app\n@extern(embed)\nname: \"x\"\n"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sameAsInstance(t, p, parseFiles(t, tc.srcs...)); got != tc.plain {
				t.Fatalf("built as a struct: %v, want %v", got, tc.plain)
			}
		})
	}
}

// A context registers an app's instance only when its spec cannot be a
// struct; the pool replaces a platform by its count (forkBuilds).
func TestBuildsCounted(t *testing.T) {
	p, err := LoadPlatform("")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../examples/payments/checkout/app.cue")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	load := func(data []byte) {
		t.Helper()
		if _, diags := p.LoadApp(discover.App{Dir: dir, Files: []discover.File{{Path: filepath.Join(dir, "app.cue"), Data: data}}}); len(diags) > 0 {
			t.Fatal(diags)
		}
	}
	load(src)
	if n := p.Builds(); n != 0 {
		t.Fatalf("an import-free spec registered %d instances", n)
	}
	withImport := bytes.Replace(src, []byte("package app\n"), []byte("package app\n\nimport \"strings\"\n\n_x: strings.ToLower(\"X\")\n"), 1)
	load(withImport)
	if n := p.Builds(); n != 1 {
		t.Fatalf("a spec with an import registered %d instances, want 1", n)
	}
}

// FuzzPackageStruct builds two files of one package both ways: whenever
// packageStruct takes them, the struct must mean what the instance means.
func FuzzPackageStruct(f *testing.F) {
	f.Add("package app\nname: _n\n", "package app\n_n: \"x\"\n")
	f.Add("package app\nlet n = 1\nport: n\n", "package app\n")
	f.Add("package app\nenvironments: prod: replicas: {min: 3}\n", "package app\nreplicas: max: 2\n")
	f.Add("package app\n#X: {a: int}\nenv: #X & {a: 1}\n", "package app\n[string]: _\n")
	f.Add("package app\n#D: {name: string}\n#D\nname: \"x\"\n", "package app\nteam: \"y\"\n")
	f.Add("package app\nclose({name: \"x\"})\n", "package app\nsize: \"xs\"\n")
	p, err := LoadPlatform("")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var files []*ast.File
		for i, src := range []string{a, b} {
			af, err := parser.ParseFile(fmt.Sprintf("/app/f%d.cue", i), src, parser.ParseComments)
			if err != nil || af.PackageName() != "app" {
				return
			}
			files = append(files, af)
		}
		sameAsInstance(t, p, files)
	})
}
