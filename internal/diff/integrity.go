package diff

import (
	"fmt"
	"strings"
)

// IntegrityProblem is a file of the fleet paved did not write as it is
// (fleet.Integrity): a file under paved's directories no ownership
// manifest lists, a file of an app without its manifest, an entry
// kustomization edited by hand. Commit refuses a fleet that has one.
type IntegrityProblem struct {
	Kind    string `json:"kind"`
	File    string `json:"file"`
	App     string `json:"app,omitempty"`
	Message string `json:"message"`
}

// integrityAdvice is what to do about integrity problems.
const integrityAdvice = "commit refuses this fleet until they are removed, or restored by a platform-team commit"

// integrityTerminal writes the integrity problems for the terminal.
func integrityTerminal(ps []IntegrityProblem, paint func(string, ...any)) {
	if len(ps) == 0 {
		return
	}
	paint("\nintegrity: %d %s paved did not write as %s (%s):\n", len(ps), plural(len(ps), "file", "files"), plural(len(ps), "it is", "they are"), integrityAdvice)
	for _, p := range ps {
		paint("  %s: %s\n", p.File, p.Message)
	}
}

// integrityMarkdown writes the integrity problems as a warning block.
func integrityMarkdown(b *strings.Builder, ps []IntegrityProblem) {
	if len(ps) == 0 {
		return
	}
	fmt.Fprintf(b, "> [!WARNING]\n> **Fleet integrity**: %d %s paved did not write as %s; %s.\n",
		len(ps), plural(len(ps), "file", "files"), plural(len(ps), "it is", "they are"), integrityAdvice)
	for _, p := range ps {
		fmt.Fprintf(b, "> - `%s`: %s\n", code(p.File), esc(p.Message))
	}
	b.WriteString("\n")
}
