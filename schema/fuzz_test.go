package schema

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/paved-dev/paved/internal/discover"
)

// FuzzLoadApp feeds arbitrary bytes to the spec loader as app.cue: it must
// return either a validated app or diagnostics, never panic, and every
// diagnostic must carry a position.
func FuzzLoadApp(f *testing.F) {
	seeds, _ := filepath.Glob("../examples/*/*/*.cue")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("package app\nname: \"x\nteam: {"))
	f.Add([]byte("package app\nimport \"strings\"\nname: strings.ToLower(\"A\")\n"))
	f.Add([]byte("package app\nenvironments: prod: replicas: {min: 9, max: 1}\n"))
	p, err := LoadPlatform("")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		app, diags := p.LoadApp(discover.App{Dir: dir, Files: []discover.File{{Path: filepath.Join(dir, "app.cue"), Data: data}}})
		if app == nil && len(diags) == 0 {
			t.Fatal("neither an app nor diagnostics")
		}
		for _, d := range diags {
			if len(d.Positions) == 0 {
				t.Errorf("diagnostic without a position: %s", d)
			}
		}
	})
}
