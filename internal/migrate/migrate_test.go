package migrate

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"cuelang.org/go/cue/ast"

	"github.com/paved-dev/paved/internal/diag"
)

// renamePort is a synthetic v1alpha1 → v1alpha2 step: the app's port
// becomes httpPort, in every file of the app.
var renamePort = Step{
	From: "paved.dev/v1alpha1",
	To:   "paved.dev/v1alpha2",
	Rewrite: func(f *ast.File) error {
		if field := Field(f, "port"); field != nil {
			field.Label = ast.NewIdent("httpPort")
		}
		return nil
	},
}

// toAlpha3 is the step after it: v1alpha3 calls size tier.
var toAlpha3 = Step{
	From: "paved.dev/v1alpha2",
	To:   "paved.dev/v1alpha3",
	Rewrite: func(f *ast.File) error {
		if field := Field(f, "size"); field != nil {
			field.Label = ast.NewIdent("tier")
		}
		return nil
	},
}

const appCue = `// checkout serves the shop's checkout.
package app

apiVersion: "paved.dev/v1alpha1"
name:       "checkout"
team:       "payments"
kind:       "web"
image:      "ghcr.io/acme/checkout:1.4.2"

// The port the container listens on.
port: 8080 // HTTP
size: "small"
`

const prodCue = `package app

// prod answers on another port.
environments: prod: replicas: {min: 3, max: 12}
port: 9090
`

func TestStep(t *testing.T) {
	files := []File{{"app/app.cue", []byte(appCue)}, {"app/prod.cue", []byte(prodCue)}}
	res, err := Registry{renamePort}.App(files)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != "paved.dev/v1alpha1" || res.To != "paved.dev/v1alpha2" || len(res.Changed) != 2 {
		t.Fatalf("From %s, To %s, %d files changed; want v1alpha1 → v1alpha2, 2 files", res.From, res.To, len(res.Changed))
	}
	// cue fmt aligns size with the longer label.
	want := strings.NewReplacer(`"paved.dev/v1alpha1"`, `"paved.dev/v1alpha2"`, "\nport: 8080", "\nhttpPort: 8080", "\nsize: ", "\nsize:     ").Replace(appCue)
	if got := string(res.Changed[0].Data); got != want {
		t.Errorf("app.cue:\n%s\nwant (comments kept):\n%s", got, want)
	}
	if got, want := string(res.Changed[1].Data), strings.Replace(prodCue, "\nport: 9090", "\nhttpPort: 9090", 1); got != want {
		t.Errorf("prod.cue:\n%s\nwant:\n%s", got, want)
	}

	// Through both steps, whichever order the registry lists them in.
	res, err = Registry{toAlpha3, renamePort}.App(files)
	if err != nil {
		t.Fatal(err)
	}
	if res.To != "paved.dev/v1alpha3" || !strings.Contains(string(res.Changed[0].Data), "\ntier:     \"small\"\n") || !strings.Contains(string(res.Changed[0].Data), `apiVersion: "paved.dev/v1alpha3"`) {
		t.Errorf("two steps: To %s:\n%s", res.To, res.Changed[0].Data)
	}

	// At the newest apiVersion, and with no step: nothing changes.
	for _, r := range []Registry{Steps, {toAlpha3}} {
		res, err = r.App(files)
		if err != nil || res.To != res.From || len(res.Changed) != 0 {
			t.Errorf("no step applies: %+v, %v", res, err)
		}
	}
}

func TestErrors(t *testing.T) {
	broken := []File{{"app/app.cue", []byte(appCue)}, {"app/prod.cue", []byte("package app\n\nport: {\n")}}
	_, err := Registry{renamePort}.App(broken)
	var l diag.List
	if !errors.As(err, &l) || len(l) == 0 || l[0].Positions[0].Filename != "app/prod.cue" || l[0].Positions[0].Line == 0 {
		t.Fatalf("a syntax error: %v, want a diagnostic at app/prod.cue:line:col", err)
	}

	mixed := []File{{"app/app.cue", []byte(appCue)}, {"app/prod.cue", []byte("package app\n\napiVersion: \"paved.dev/v1alpha2\"\n")}}
	_, err = Registry{renamePort}.App(mixed)
	if !errors.As(err, &l) || !strings.Contains(fmt.Sprint(err), "app/app.cue:4:13") {
		t.Errorf("two apiVersions: %v", err)
	}

	failing := Step{From: renamePort.From, To: renamePort.To, Rewrite: func(*ast.File) error { return errors.New("cannot") }}
	if _, err := (Registry{failing}).App([]File{{"app/app.cue", []byte(appCue)}}); err == nil || !strings.Contains(err.Error(), "cannot") {
		t.Errorf("a failing step: %v", err)
	}
}
