// Package suggest finds the known name nearest to a mistyped one, for the
// "did you mean" of every diagnostic that names an unknown field or value
// (vet, lint and the language server alike). Its entry point is Nearest.
package suggest

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Nearest returns the candidate nearest to word by edit distance, when it
// is near enough to be what was meant: at most MaxDistance(word) edits
// away (a letter inserted, deleted, replaced, or two neighbours swapped).
// A candidate that differs only in case wins over any other. Ties go to
// the candidate that sorts first, so the answer never depends on the
// candidates' order. word itself is never suggested.
func Nearest(word string, candidates []string) (string, bool) {
	return NearestWithin(word, candidates, MaxDistance(word))
}

// NearestWithin is Nearest with an explicit bound on the distance.
func NearestWithin(word string, candidates []string, maxDist int) (string, bool) {
	best, bestD := "", maxDist+1
	sorted := slices.Clone(candidates)
	slices.Sort(sorted)
	for _, c := range sorted {
		if c == word || c == "" {
			continue
		}
		d := Distance(word, c)
		if strings.EqualFold(c, word) {
			d = 0
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best, best != ""
}

// MaxDistance is how many edits a suggestion for word may be away: one for
// a word of up to four letters, two up to eight, three beyond, so that a
// short word is not "corrected" into an unrelated one.
func MaxDistance(word string) int {
	n := utf8.RuneCountInString(word)
	switch {
	case n <= 4:
		return 1
	case n <= 8:
		return 2
	}
	return 3
}

// Distance is the optimal string alignment distance between a and b (by
// runes): the number of insertions, deletions, substitutions and swaps of
// two adjacent runes that turn a into b.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rows of the dynamic-programming matrix: i-2, i-1, i.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
