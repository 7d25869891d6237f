package cli

import (
	"testing"

	"github.com/paved-dev/paved/schema"
)

// The pool lends the platform itself to whichever job asks while no other
// job holds it, a worker's own fork otherwise, never one CUE context to
// two jobs at once; a platform is retired after forkUses jobs.
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

	// Root serves forkUses jobs, then workers fork.
	for pp.rootUses < forkUses {
		_, release, _ := pp.get(0)
		release()
	}
	p, release, err := pp.get(0)
	if err != nil || p == root {
		t.Fatalf("root served more than %d jobs", forkUses)
	}
	release()
}
