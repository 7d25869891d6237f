package lsp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/paved-dev/paved/internal/discover"
	"github.com/paved-dev/paved/schema"
)

// fileText is the text of the document at u: the open buffer, else the
// file on disk.
func (s *server) fileText(u protocol.DocumentURI) (string, []byte, bool) {
	path, ok := uriPath(u)
	if !ok {
		return "", nil, false
	}
	text, ok := s.readFile(path)
	return path, text, ok
}

// isAppDir reports whether dir holds an app: an app.cue open or on disk.
func (s *server) isAppDir(dir string) bool {
	_, ok := s.readFile(filepath.Join(dir, discover.AppFile))
	return ok
}

// hover documents the field under the cursor: its documentation,
// constraint and default (what paved explain says, for the app's kind),
// the values the platform knows for it, and its effective value in each
// environment when the spec is valid.
func (s *server) hover(p *protocol.HoverParams) *protocol.Hover {
	path, text, ok := s.fileText(p.TextDocument.URI)
	if !ok || !s.isAppDir(filepath.Dir(path)) {
		return nil
	}
	fp, top, start, end, ok := hoverAt(text, offsetOf(text, p.Position))
	if !ok || len(fp) == 0 {
		return nil
	}
	dir := filepath.Dir(path)
	s.analysisMu.Lock()
	defer s.analysisMu.Unlock()
	pe := s.platform(s.platformDir(dir))
	if pe.p == nil {
		return nil
	}
	f, resolved := pe.p.Explain(top["kind"], fp.selectors())
	if resolved < len(fp) {
		return nil // an unknown field: its diagnostic says so
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**", fp)
	switch {
	case f.NotAllowed:
		fmt.Fprintf(&b, " — not allowed for kind %s", top["kind"])
	case f.Required:
		b.WriteString(" — required")
	case f.Optional:
		b.WriteString(" — optional")
	}
	b.WriteString("\n\n")
	if f.Doc != "" {
		b.WriteString(f.Doc + "\n\n")
	}
	if f.Constraint != "" {
		if strings.Contains(f.Constraint, "\n") || len(f.Constraint) > 60 {
			fmt.Fprintf(&b, "Constraint:\n```cue\n%s\n```\n\n", f.Constraint)
		} else {
			fmt.Fprintf(&b, "Constraint: `%s`\n\n", f.Constraint)
		}
	}
	if f.Default != "" {
		fmt.Fprintf(&b, "Default: `%s`\n\n", f.Default)
	}
	if known := platformValues(pe.p.Data, fp); len(known) > 0 {
		fmt.Fprintf(&b, "Known to the platform: %s\n\n", strings.Join(known, ", "))
	}
	var st *appState
	if a := s.apps[dir]; a != nil && a.app != nil && bytes.Equal(a.files[path], text) {
		st = a
	}
	if st == nil {
		b.WriteString("_The effective value per environment shows when the spec is valid._\n")
	} else if rows := effective(st.app, fp); len(rows) > 0 {
		b.WriteString("| environment | effective value |\n|---|---|\n")
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s | `%s` |\n", r[0], strings.ReplaceAll(r[1], "|", `\|`))
		}
	}
	rng := protocol.Range{Start: lspPosition(text, start), End: lspPosition(text, end)}
	return &protocol.Hover{
		Contents: protocol.MarkupContent{Kind: protocol.Markdown, Value: strings.TrimSpace(b.String())},
		Range:    &rng,
	}
}

// platformValues names what the platform knows for the field at p.
func platformValues(d schema.PlatformData, p path) []string {
	last := ""
	if len(p) > 0 && !p[len(p)-1].isIdx {
		last = p[len(p)-1].name
	}
	inEnv := len(p) == 3 && p.is("environments", "*", last)
	switch {
	case p.is("team"):
		return schema.SortedKeys(d.Teams)
	case p.is("kind"):
		return schema.Kinds
	case p.is("size") || inEnv && last == "size":
		var out []string
		for _, k := range schema.SortedKeys(d.Sizes) {
			out = append(out, fmt.Sprintf("%s (%dm CPU, %dMi memory)", k, d.Sizes[k].CPUMillicores, d.Sizes[k].MemoryMiB))
		}
		return out
	case p.is("environments") || p.is("environments", "*") || p.is("exceptions", "[]", "environment"):
		return schema.SortedKeys(d.Environments)
	case p.is("image") || inEnv && last == "image":
		return d.Registries
	case p.is("exceptions", "[]", "cluster"):
		return clusters(d)
	}
	return nil
}

func clusters(d schema.PlatformData) []string {
	var out []string
	for _, e := range schema.SortedKeys(d.Environments) {
		out = append(out, schema.SortedKeys(d.Environments[e].Clusters)...)
	}
	return out
}

// effective is the value at p of the app's effective spec in each
// environment (only the one an environments.<env> path names), as
// compact JSON.
func effective(a *schema.App, p path) [][2]string {
	envs := schema.SortedKeys(a.Effective)
	if len(p) >= 2 && !p[0].isIdx && p[0].name == "environments" && !p[1].isIdx {
		envs, p = []string{p[1].name}, p[2:]
	}
	var rows [][2]string
	for _, env := range envs {
		js, ok := a.Effective[env]
		if !ok {
			continue
		}
		var v any
		if err := json.Unmarshal(js, &v); err != nil {
			continue
		}
		v, ok = lookupJSON(v, p)
		if !ok {
			rows = append(rows, [2]string{env, "(not set)"})
			continue
		}
		out, err := json.Marshal(v)
		if err != nil {
			continue
		}
		s := string(out)
		if len(s) > 120 {
			s = s[:117] + "..."
		}
		rows = append(rows, [2]string{env, s})
	}
	return rows
}

func lookupJSON(v any, p path) (any, bool) {
	for _, e := range p {
		switch x := v.(type) {
		case map[string]any:
			if e.isIdx {
				return nil, false
			}
			var ok bool
			if v, ok = x[e.name]; !ok {
				return nil, false
			}
		case []any:
			if !e.isIdx || e.index >= len(x) {
				return nil, false
			}
			v = x[e.index]
		default:
			return nil, false
		}
	}
	return v, true
}
