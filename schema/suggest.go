package schema

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/suggest"
)

// Kinds are the app kinds, each with its blueprint.
var Kinds = []string{"web", "worker", "cron"}

// didYouMean is what a message gains when a known name is near the
// unknown one: labels bare, values quoted as CUE writes them.
func didYouMeanLabel(s string) string { return " (did you mean " + s + "?)" }
func didYouMeanValue(s string) string { return fmt.Sprintf(" (did you mean %q?)", s) }

// fieldNames are the string labels def declares, in order, less those
// the app may not set (a field whose value is an error for the app's
// kind, such as port for a worker).
func fieldNames(def cue.Value) []string {
	it, err := def.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	var out []string
	for it.Next() {
		sel := it.Selector()
		if sel.LabelType() != cue.StringLabel || it.Value().Err() != nil {
			continue
		}
		out = append(out, sel.Unquoted())
	}
	return out
}

// labelSelector writes a field name as it stands in a CUE path: bare when
// it is an identifier, quoted otherwise.
func labelSelector(name string) string { return cue.Str(name).String() }

// suggestValues adds "did you mean" to the errors that name an unknown
// team, size, kind or environment, with the fix, when a known one is
// near what the app wrote. raw is the app's own value.
func (p *Platform) suggestValues(diags diag.List, raw cue.Value) {
	for i := range diags {
		d := &diags[i]
		if d.Fix != nil {
			continue
		}
		sels := cue.ParsePath(d.Path).Selectors()
		if len(sels) == 0 {
			continue
		}
		last := sels[len(sels)-1]
		if last.LabelType() != cue.StringLabel {
			continue
		}
		var known []string
		switch name := last.Unquoted(); {
		case name == "team" && strings.HasPrefix(d.Message, "unknown team "):
			known = SortedKeys(p.Data.Teams)
		case name == "size" && strings.HasPrefix(d.Message, "unknown size "):
			known = SortedKeys(p.Data.Sizes)
		case name == "kind" && len(sels) == 1 && strings.HasPrefix(d.Message, "unknown kind "):
			known = Kinds
		case len(sels) == 2 && sels[0].String() == "environments" && strings.HasPrefix(d.Message, "unknown environment "):
			if s, ok := suggest.Nearest(name, SortedKeys(p.Data.Environments)); ok {
				d.Message += didYouMeanLabel(labelSelector(s))
				d.Fix = &diag.Fix{Kind: diag.RenameField, Text: labelSelector(s)}
			}
			continue
		default:
			continue
		}
		word, err := raw.LookupPath(cue.MakePath(sels...)).String()
		if err != nil {
			continue
		}
		if s, ok := suggest.Nearest(word, known); ok {
			d.Message += didYouMeanValue(s)
			d.Fix = &diag.Fix{Kind: diag.ReplaceValue, Text: strconv.Quote(s)}
		}
	}
}

// justificationFixes offers a justification stub where turning a default
// off lacks one: an empty string, which the schema still rejects, so the
// stub is a place to write the reason rather than a way around it.
func justificationFixes(diags diag.List) {
	for i := range diags {
		d := &diags[i]
		if d.Fix == nil && strings.HasSuffix(d.Path, "justification") && strings.HasPrefix(d.Message, "a justification is required") {
			d.Fix = &diag.Fix{Kind: diag.AddField, Text: `""`}
		}
	}
}

// below reports whether path lies below one of the roots (a field inside
// an unknown field).
func below(path string, roots []string) bool {
	for _, r := range roots {
		if len(path) > len(r) && strings.HasPrefix(path, r) && (path[len(r)] == '.' || path[len(r)] == '[') {
			return true
		}
	}
	return false
}

// dropBelowUnknown removes the diagnostics of fields inside a field the
// app may not set: `replica: {min: 2, max: 4}` is one mistake, reported
// once at replica (CUE reports each field of it as not allowed too), and
// so is `health: {enabled: false}` in a worker (not also the missing
// justification of probes a worker does not have).
func dropBelowUnknown(diags diag.List, unknown diag.List) diag.List {
	var roots []string
	for _, u := range unknown {
		roots = append(roots, u.Path)
	}
	for _, d := range diags {
		if strings.Contains(d.Message, " is only allowed for kind ") || strings.Contains(d.Message, " is not allowed for kind ") {
			roots = append(roots, d.Path)
		}
	}
	if len(roots) == 0 {
		return diags
	}
	return slices.DeleteFunc(diags, func(d diag.Diagnostic) bool { return below(d.Path, roots) })
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// placeholder is the value a fix adds for the missing required field
// name (schema value v) of an app in appDir: what `paved init` would
// write where there is one, else the field's default or only value, else
// an empty value of its type for the author to fill in.
func (p *Platform) placeholder(name string, v, raw cue.Value, appDir string, top bool) string {
	str := func(path string) string {
		s, _ := raw.LookupPath(cue.ParsePath(path)).String()
		return s
	}
	if top {
		appName := str("name")
		if appName == "" {
			appName = filepath.Base(appDir)
			if !dnsLabel.MatchString(appName) {
				appName = "my-app"
			}
		}
		team := str("team")
		if team == "" && len(p.Data.Teams) > 0 {
			team = SortedKeys(p.Data.Teams)[0]
		}
		switch name {
		case "name":
			return strconv.Quote(appName)
		case "team":
			return strconv.Quote(team)
		case "kind":
			return `"web"`
		case "image":
			if len(p.Data.Registries) > 0 {
				return strconv.Quote(fmt.Sprintf("%s%s/%s:0.1.0", p.Data.Registries[0], team, appName))
			}
		case "port":
			return "8080"
		case "schedule":
			return `"@daily"`
		}
	}
	if d, ok := v.Default(); ok && d.IsConcrete() {
		if s, ok := cueLiteral(d); ok {
			return s
		}
	}
	if v.IsConcrete() {
		if s, ok := cueLiteral(v); ok {
			return s
		}
	}
	switch v.IncompleteKind() {
	case cue.StringKind:
		return `""`
	case cue.IntKind, cue.NumberKind, cue.FloatKind:
		return "0"
	case cue.BoolKind:
		return "false"
	case cue.ListKind:
		return "[]"
	case cue.StructKind:
		return "{}"
	}
	return `""`
}

// cueLiteral writes a concrete scalar as CUE.
func cueLiteral(v cue.Value) (string, bool) {
	switch v.Kind() {
	case cue.StringKind, cue.IntKind, cue.FloatKind, cue.NumberKind, cue.BoolKind:
		b, err := v.MarshalJSON()
		if err != nil {
			return "", false
		}
		return string(b), true
	}
	return "", false
}

// dropEchoes removes what CUE reports again about a missing required
// field that a schema comprehension reads (team, in the platform checks of
// #App): "required field missing: team" and "key value of dynamic field
// must be concrete, found _|_(required field missing: team)", without a
// path, when missingRequired reports the field itself.
func dropEchoes(diags diag.List) diag.List {
	missing := map[string]bool{}
	for _, d := range diags {
		if strings.HasPrefix(d.Message, "field is required") {
			missing[d.Path] = true
		}
	}
	return slices.DeleteFunc(diags, func(d diag.Diagnostic) bool {
		if d.Path != "" {
			return false
		}
		i := strings.Index(d.Message, "required field missing: ")
		if i < 0 {
			return false
		}
		field := strings.TrimSuffix(d.Message[i+len("required field missing: "):], ")")
		return missing[field] && (i == 0 || strings.HasPrefix(d.Message, "key value of dynamic field must be concrete"))
	})
}

// childOf is the schema of field sel of def: a declared field (regular,
// optional or required, which LookupPath does not find), else what a
// pattern of def admits (an environment's overrides, an env var), else
// for an index the list's element.
func childOf(def cue.Value, sel cue.Selector) (cue.Value, bool) {
	v, _, ok := child(def, sel)
	return v, ok
}
