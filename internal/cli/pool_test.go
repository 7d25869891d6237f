package cli

import (
	"path/filepath"
	"testing"

	"github.com/paved-dev/paved/internal/discover"

	"github.com/paved-dev/paved/schema"
)

// The pool lends the platform itself to whichever job asks while no other
// job holds it, a worker's own fork otherwise, never one CUE context to
// two jobs at once; a platform is replaced once its context registered
// forkBuilds app instances.
func TestPlatformPool(t *testing.T) {
	root, err := schema.LoadPlatform("")
	if err != nil {
		t.Fatal(err)
	}
	pp := newPlatformPool(root, 2)

	// One job at a time, on either worker: always root, no fork.
	for _, w := range []int{1, 0, 1} {
		p, release, err := pp.get(w)
		if err != nil || p != root {
			t.Fatalf("worker %d alone got %p (root %p), %v", w, p, root, err)
		}
		release()
	}
	if pp.forks[0] != nil || pp.forks[1] != nil {
		t.Fatal("forked with root free")
	}

	// Two jobs at once: the second gets its worker's fork, and keeps
	// reusing it.
	p0, release0, err := pp.get(0)
	if err != nil || p0 != root {
		t.Fatalf("first job got %p, %v", p0, err)
	}
	p1, release1, err := pp.get(1)
	if err != nil || p1 == root || p1 == nil {
		t.Fatalf("second job got %p (root %p), %v", p1, root, err)
	}
	if p1.Digest() != root.Digest() {
		t.Fatal("a fork differs from its platform")
	}
	release1()
	if again, release, _ := pp.get(1); again != p1 {
		t.Fatal("worker 1 did not reuse its fork")
	} else {
		release()
	}
	release0()

	// A platform whose context registered forkBuilds app instances is
	// replaced: root is lent no more, and a worker's fork is made anew.
	dir := t.TempDir()
	withImport := discover.App{Dir: dir, Files: []discover.File{{Path: filepath.Join(dir, "app.cue"), Data: []byte(
		"package app\n\nimport \"strings\"\n\napiVersion: \"paved.dev/v1alpha1\"\nname: strings.ToLower(\"API\")\nteam: \"search\"\nkind: \"worker\"\nimage: \"ghcr.io/acme/api:1.0.0\"\n")}}}
	register := func(p *schema.Platform) {
		t.Helper()
		for p.Builds() < forkBuilds {
			if _, diags := p.LoadApp(withImport); len(diags) > 0 {
				t.Fatal(diags)
			}
		}
	}
	register(root)
	p, release, err := pp.get(0)
	if err != nil || p == root || p == nil {
		t.Fatalf("a root that registered %d instances was lent (%p, %v)", root.Builds(), p, err)
	}
	release()
	if again, release, _ := pp.get(0); again != p {
		t.Fatal("worker 0 did not reuse its fork")
	} else {
		release()
	}
	register(p)
	if again, release, _ := pp.get(0); again == p || again == root {
		t.Fatal("a fork that registered forkBuilds instances was reused")
	} else {
		release()
	}
}
