package policy

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
)

// Formats are the lint output formats, each written by one Format*
// function.
var Formats = []string{"text", "json", "sarif", "github", "junit"}

// FormatOptions are what every output format needs besides the report.
type FormatOptions struct {
	// Cwd makes source positions relative, as users and CI annotate them.
	Cwd string
	// Version is paved's version, for tool metadata.
	Version string
	// Apps and Clusters count what was linted, for summaries.
	Apps, Clusters int
}

// Write writes the report in the named format.
func Write(w io.Writer, format string, r *Report, o FormatOptions) error {
	switch format {
	case "text":
		return FormatText(w, r, o)
	case "json":
		return FormatJSON(w, r, o)
	case "sarif":
		return FormatSARIF(w, r, o)
	case "github":
		return FormatGitHub(w, r, o)
	case "junit":
		return FormatJUnit(w, r, o)
	}
	return fmt.Errorf("unknown output format %q (one of %v)", format, Formats)
}

// relPath makes an absolute source file name relative to cwd, with
// forward slashes; other names are returned as they are.
func relPath(cwd, name string) string {
	if name == "" || !filepath.IsAbs(name) || cwd == "" {
		return filepath.ToSlash(name)
	}
	if rel, err := filepath.Rel(cwd, name); err == nil {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(name)
}

// usedChecks are the checks that produced at least one finding, plus
// every check when all is set; sorted by ID.
func usedChecks(r *Report, all bool) []*Check {
	used := map[string]bool{}
	for _, f := range r.Findings {
		used[f.Policy] = true
	}
	var out []*Check
	for _, c := range r.Checks {
		if all || used[c.ID] {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *Check) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}
