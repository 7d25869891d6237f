package suggest

import (
	"math/rand/v2"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"replica", "replicas", 1},
		{"identiy", "identity", 1},
		{"tracnig", "tracing", 1}, // a swap is one edit
		{"kitten", "sitting", 3},
		{"größe", "grösse", 2},
		{"ab", "ba", 1},
		{"ca", "abc", 3}, // optimal string alignment, not full Damerau
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Distance(c.b, c.a); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetry)", c.b, c.a, got, c.want)
		}
	}
}

func TestNearest(t *testing.T) {
	fields := []string{"apiVersion", "name", "team", "kind", "image", "port", "replicas", "size", "schedule", "observability"}
	teams := []string{"payments", "search", "identity"}
	for _, c := range []struct {
		word  string
		cands []string
		want  string
	}{
		{"replica", fields, "replicas"},
		{"Replicas", fields, "replicas"},
		{"shedule", fields, "schedule"},
		{"obsevability", fields, "observability"},
		{"identiy", teams, "identity"},
		{"paymnets", teams, "payments"},
		{"billing", teams, ""},
		{"qa", []string{"dev", "staging", "prod"}, ""},
		{"prd", []string{"dev", "staging", "prod"}, "prod"},
		{"name", fields, ""}, // the word itself is no suggestion
		{"sise", fields, "size"},
	} {
		got, ok := Nearest(c.word, c.cands)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("Nearest(%q) = %q, %v; want %q", c.word, got, ok, c.want)
		}
	}
}

// TestNearestOrderIndependent: ties are broken by name, never by the
// candidates' order.
func TestNearestOrderIndependent(t *testing.T) {
	cands := []string{"xs", "xl", "xm", "small", "medium"}
	want, _ := Nearest("xx", cands)
	if want != "xl" {
		t.Fatalf("Nearest(xx) = %q, want xl (the first of the ties)", want)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		r.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
		if got, _ := Nearest("xx", cands); got != want {
			t.Fatalf("Nearest(xx, %v) = %q, want %q", cands, got, want)
		}
	}
}
