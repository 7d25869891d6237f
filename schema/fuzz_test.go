package schema

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"testing"
	"unicode/utf8"

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

// FuzzRestoreApp feeds arbitrary bytes to RestoreApp as a cache record (the
// cache checks an entry's sha256, so this is a record paved wrote wrongly,
// or a format change): it must restore an app or return an error, never
// panic, and a restored app's environments must decode or report why.
func FuzzRestoreApp(f *testing.F) {
	p, err := LoadPlatform("")
	if err != nil {
		f.Fatal(err)
	}
	found, diags := discover.Apps([]string{"../examples"})
	if len(diags) > 0 || len(found) == 0 {
		f.Fatalf("examples: %v", diags)
	}
	da := found[0]
	app, ds := p.LoadApp(da)
	if len(ds) > 0 {
		f.Fatal(ds)
	}
	rec, err := app.Record()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rec)
	f.Add(rec[:len(rec)/2])
	f.Add([]byte(`{"files":[],"sizes":[-1]}` + "\n"))
	f.Add([]byte(`{"files":[],"envs":["prod","prod"],"sizes":[0,0,0,0,0]}` + "\n"))
	f.Fuzz(func(t *testing.T, rec []byte) {
		a, err := p.RestoreApp(da, rec)
		if err != nil {
			return
		}
		if _, err := a.Envs(); err != nil {
			return
		}
		for env := range p.Data.Environments {
			if _, ok := a.Effective[env]; !ok {
				t.Fatalf("restored without environment %s", env)
			}
		}
	})
}

// FuzzGlobRegexp: the admission policy's regular expression for a secret
// grant matches exactly the keys path.Match (vet's and lint's check)
// matches.
func FuzzGlobRegexp(f *testing.F) {
	for _, s := range [][2]string{
		{"shared/geoip", "shared/geoip"},
		{"shared/*", "shared/a/b"},
		{"shared/*", "shared/ab"},
		{"team-?/x", "team-a/x"},
		{"[a-c]/k", "b/k"},
		{"[^a]/k", "//k"},
		{`a\*b`, "a*b"},
		{"a.b+c", "aXb+c"},
		{"[", "["},
		{"x[]", "x"},
		{`\`, `\`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, glob, key string) {
		if !utf8.ValidString(glob) || !utf8.ValidString(key) {
			t.Skip("CUE strings (grants, keys) are UTF-8")
		}
		want, err := path.Match(glob, key)
		if err != nil {
			want = false
		}
		re, err := regexp.Compile(GlobRegexp(glob))
		if err != nil {
			t.Fatalf("GlobRegexp(%q) = %q: %v", glob, GlobRegexp(glob), err)
		}
		if got := re.MatchString(key); got != want {
			t.Fatalf("GlobRegexp(%q) = %q matches %q: %v; path.Match: %v", glob, GlobRegexp(glob), key, got, want)
		}
	})
}
