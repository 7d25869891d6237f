package lsp

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.lsp.dev/protocol"

	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/schema"
)

// policyIDs are the policies of a platform, for completion in
// exceptions: compiled once, in the background (about a second).
type policyIDs struct {
	done   chan struct{}
	checks []*policy.Check
}

// policyWait bounds how long a completion in exceptions waits for the
// policies to compile.
const policyWait = 5 * time.Second

// policies returns the platform's policy IDs, starting to compile them on
// first use. Under analysisMu; the wait is the caller's.
func (s *server) policies(pe *platformEntry) *policyIDs {
	if pe.policies != nil || pe.p == nil {
		return pe.policies
	}
	ids := &policyIDs{done: make(chan struct{})}
	pe.policies = ids
	p := pe.p
	// Shutdown waits for it: policy.Load removes the temporary directory
	// it compiles in when it returns.
	if !s.goBackground(func() {
		defer close(ids.done)
		e, err := policy.Load(s.ctx, policy.Options{Platform: p})
		if err != nil {
			s.logf("compiling the policies: %v", err)
			return
		}
		ids.checks = e.Checks()
	}) {
		close(ids.done)
	}
	return ids
}

// complete offers, at a label, the fields the schema declares there (for
// the app's kind, less those already set) and, at a value, what the
// platform knows: kinds, teams, sizes, environments, registries as an
// image prefix, policy IDs in exceptions, the repository's apps in
// dependsOn and calls, and a field's literal values (true and false...).
func (s *server) complete(p *protocol.CompletionParams) *protocol.CompletionList {
	list := &protocol.CompletionList{Items: []protocol.CompletionItem{}}
	path, text, ok := s.fileText(p.TextDocument.URI)
	if !ok || !s.isAppDir(filepath.Dir(path)) {
		return list
	}
	c, ok := cursorAt(text, offsetOf(text, p.Position))
	if !ok {
		return list
	}
	rng := protocol.Range{Start: lspPosition(text, c.start), End: lspPosition(text, c.end)}
	dir := filepath.Dir(path)
	var ids *policyIDs
	func() {
		s.analysisMu.Lock()
		defer s.analysisMu.Unlock()
		pe := s.platform(s.platformDir(dir))
		if pe.p == nil {
			return
		}
		kind := c.top["kind"]
		f, resolved := pe.p.Explain(kind, c.path.selectors())
		if resolved < len(c.path) {
			return
		}
		if !c.value || f.Struct {
			if c.value {
				c.present, c.hasColon = nil, false
			}
			list.Items = s.labelItems(pe, f, c, rng)
			return
		}
		if c.path.is("exceptions", "[]", "policy") {
			ids = s.policies(pe)
		} else {
			list.Items = s.valueItems(pe, f, c, dir, rng)
		}
	}()
	if ids != nil && c.value && c.path.is("exceptions", "[]", "policy") {
		select {
		case <-ids.done:
		case <-time.After(policyWait):
		case <-s.ctx.Done():
		}
		select {
		case <-ids.done:
			for _, ch := range ids.checks {
				if !ch.Waivable || ch.Input == policy.InputWaiver {
					continue
				}
				list.Items = append(list.Items, valueItem(c, rng, ch.ID, protocol.CompletionItemKindValue, ch.Title, ch.Description, false))
			}
		default:
			list.IsIncomplete = true
		}
	}
	return list
}

// labelItems are the fields that may be set at c.path.
func (s *server) labelItems(pe *platformEntry, f schema.Field, c cursor, rng protocol.Range) []protocol.CompletionItem {
	items := []protocol.CompletionItem{}
	add := func(name, detail, doc string, required bool) {
		if slices.Contains(c.present, name) {
			return
		}
		text := name
		if label := (elem{name: name}).String(); !c.inString {
			text = label
		}
		if !c.hasColon {
			text += ": "
		}
		sort := "1" + name
		if required {
			sort = "0" + name
		}
		items = append(items, protocol.CompletionItem{
			Label: name, Kind: protocol.CompletionItemKindField, Detail: detail,
			Documentation: markdown(doc), SortText: sort, FilterText: name,
			TextEdit: &protocol.TextEdit{Range: rng, NewText: text},
		})
	}
	if c.path.is("environments") {
		d := pe.p.Data
		for _, env := range schema.SortedKeys(d.Environments) {
			add(env, "environment: "+strings.Join(schema.SortedKeys(d.Environments[env].Clusters), ", "), "Overrides of "+env+".", false)
		}
		return items
	}
	for _, sub := range f.Fields {
		if sub.NotAllowed {
			continue
		}
		detail := sub.Constraint
		if sub.Struct {
			detail = "{...}"
		}
		if i := strings.IndexByte(detail, '\n'); i >= 0 {
			detail = detail[:i] + " ..."
		}
		doc := sub.Doc
		if sub.Default != "" {
			doc += "\n\nDefault: `" + sub.Default + "`"
		}
		if sub.Required {
			doc += "\n\nRequired."
		}
		add(sub.Name, detail, doc, sub.Required)
	}
	return items
}

// valueItems are the values the platform or the schema knows for the
// field at c.path.
func (s *server) valueItems(pe *platformEntry, f schema.Field, c cursor, dir string, rng protocol.Range) []protocol.CompletionItem {
	d := pe.p.Data
	p := c.path
	last := ""
	if len(p) > 0 && !p[len(p)-1].isIdx {
		last = p[len(p)-1].name
	}
	inEnv := len(p) == 3 && p.is("environments", "*", last)
	items := []protocol.CompletionItem{}
	str := func(v, detail, doc string) {
		items = append(items, valueItem(c, rng, v, protocol.CompletionItemKindEnumMember, detail, doc, false))
	}
	switch {
	case p.is("kind"):
		for _, k := range schema.Kinds {
			str(k, "blueprint "+k, kindDocs[k])
		}
	case p.is("team"):
		for _, t := range schema.SortedKeys(d.Teams) {
			team := d.Teams[t]
			str(t, fmt.Sprintf("budget $%.0f/month", team.MonthlyBudgetUSD), "Owners: "+strings.Join(team.Owners, ", ")+"\n\nCost center: "+team.CostCenter)
		}
	case p.is("size") || inEnv && last == "size":
		for _, k := range schema.SortedKeys(d.Sizes) {
			sz := d.Sizes[k]
			str(k, fmt.Sprintf("%dm CPU, %dMi memory", sz.CPUMillicores, sz.MemoryMiB),
				fmt.Sprintf("Requests %dm CPU and %dMi memory; limits %dm CPU and %dMi memory.", sz.CPUMillicores, sz.MemoryMiB, 2*sz.CPUMillicores, sz.MemoryMiB))
		}
	case p.is("image") || inEnv && last == "image":
		for _, r := range d.Registries {
			items = append(items, valueItem(c, rng, r, protocol.CompletionItemKindModule, "allowed registry", "Images must come from an allowed registry (the allowed-registry policy).", true))
		}
	case p.is("exceptions", "[]", "environment"):
		for _, e := range schema.SortedKeys(d.Environments) {
			str(e, "environment", "")
		}
	case p.is("exceptions", "[]", "cluster"):
		for _, cl := range clusters(d) {
			str(cl, "cluster", "")
		}
	case p.is("dependsOn", "[]"), p.is("calls", "[]"):
		team := c.top["team"]
		for _, id := range s.repoApps(dir) {
			if id == team+"/"+c.top["name"] {
				continue
			}
			ref := id
			if t, name, _ := strings.Cut(id, "/"); t == team {
				ref = name
			}
			str(ref, "app "+id, "")
		}
	default:
		for _, v := range f.Values {
			if u, err := strconv.Unquote(v); err == nil {
				str(u, "", "")
			} else if !c.inString {
				items = append(items, protocol.CompletionItem{
					Label: v, Kind: protocol.CompletionItemKindValue,
					TextEdit: &protocol.TextEdit{Range: rng, NewText: v},
				})
			}
		}
	}
	return items
}

var kindDocs = map[string]string{
	"web":    "An HTTP service: Deployment, Service, Ingress when asked, HPA, PDB.",
	"worker": "A long-running consumer: Deployment, HPA, PDB; no Service.",
	"cron":   "A scheduled job: CronJob; requires schedule.",
}

// valueItem completes the string value v at c: inside a string, the
// string's content (closing it when it is open); else the quoted string.
// A prefix (a registry) is left open for the rest of the image.
func valueItem(c cursor, rng protocol.Range, v string, kind protocol.CompletionItemKind, detail, doc string, prefix bool) protocol.CompletionItem {
	q := strconv.Quote(v)
	text := q
	if c.inString {
		text = q[1 : len(q)-1]
	}
	if prefix {
		text = strings.TrimSuffix(text, `"`)
	}
	return protocol.CompletionItem{
		Label: v, Kind: kind, Detail: detail, Documentation: markdown(doc), FilterText: v,
		TextEdit: &protocol.TextEdit{Range: rng, NewText: text},
	}
}

func markdown(s string) any {
	if s == "" {
		return nil
	}
	return protocol.MarkupContent{Kind: protocol.Markdown, Value: s}
}

// repoApps are the apps (team/name) of the repository of the app in dir,
// as far as the index and the open buffers know them. Under analysisMu.
func (s *server) repoApps(dir string) []string {
	repo := s.repoRoot(dir)
	have := map[string]bool{}
	s.mu.Lock()
	var ixs []*index
	for k, ix := range s.indexes {
		if k.repo == repo && ix.isReady() {
			ixs = append(ixs, ix)
		}
	}
	s.mu.Unlock()
	for _, ix := range ixs {
		ix.mu.Lock()
		for _, a := range ix.apps {
			have[a.Base.Team+"/"+a.Base.Name] = true
		}
		ix.mu.Unlock()
	}
	for _, st := range s.apps {
		if st.repo == repo && st.app != nil {
			have[st.app.Base.Team+"/"+st.app.Base.Name] = true
		}
	}
	return schema.SortedKeys(have)
}
