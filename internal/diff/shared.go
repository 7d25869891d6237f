package diff

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// view is a report laid out for reading (the compact formats): an edit
// made identically on several changed objects is shown once, with where
// it applies; an object whose every edit is such a shared edit is
// counted, not listed; the other objects are listed with the hunks that
// hold an edit of their own, and an object changed identically in
// several clusters is listed once.
type view struct {
	shared []sharedEdit
	listed []listed
	// counted is the number of changed objects whose edits are all
	// shared.
	counted int
}

// sharedEdit is an edit found on several changed objects.
type sharedEdit struct {
	edit
	// on are the objects (each with its cluster) it is made on.
	on []Key
}

// listed is one object's change, in one or more clusters.
type listed struct {
	Change
	// clusters are those where the same object changes the same way.
	clusters []string
	// body is what to show: the hunks that hold an edit of this object
	// alone (the whole diff for an added or deleted object and for one in
	// the danger zone), without the file header.
	body string
	// sharedHunks counts the hunks left out, all of whose edits are
	// shared.
	sharedHunks int
}

// editKey identifies an edit across objects: its path and lines; a
// one-line value change by the part of the value that changes, so that
// "service.version=1.4.2 → 1.5.0" inside a value that also names the
// cluster is the same edit in every cluster.
func editKey(e edit) string {
	if v, ok := valueChange(e); ok {
		return e.path + "\x00" + v.key + "\x00" + v.from + "\x01" + v.to
	}
	return e.path + "\x00" + strings.Join(e.removed, "\n") + "\x01" + strings.Join(e.added, "\n")
}

// editSpread counts, for each edit, the objects it is made on, each
// counted once whatever the number of its clusters: an edit on several
// objects (the version label) is boilerplate of a change, one on a
// single object, even in every cluster, is that object's own.
func editSpread(r *Report) map[string]int {
	objects := map[string]map[Key]bool{}
	for _, c := range r.Changes {
		if c.Action != Changed {
			continue
		}
		id := c.Key
		id.Cluster = ""
		for _, h := range c.hunks {
			for _, e := range h.edits {
				k := editKey(e)
				if objects[k] == nil {
					objects[k] = map[Key]bool{}
				}
				objects[k][id] = true
			}
		}
	}
	out := make(map[string]int, len(objects))
	for k, ids := range objects {
		out[k] = len(ids)
	}
	return out
}

// compact lays the report out for reading.
func compact(r *Report) view {
	var v view
	seen := map[string][]int{} // edit key -> changes holding it
	first := map[string]edit{}
	var keys []string
	for i, c := range r.Changes {
		if c.Action != Changed {
			continue
		}
		for _, h := range c.hunks {
			for _, e := range h.edits {
				k := editKey(e)
				if _, ok := seen[k]; !ok {
					keys = append(keys, k)
					first[k] = e
				}
				if l := seen[k]; len(l) == 0 || l[len(l)-1] != i {
					seen[k] = append(l, i)
				}
			}
		}
	}
	isShared := func(e edit) bool { return len(seen[editKey(e)]) > 1 }
	for _, k := range keys {
		if len(seen[k]) < 2 {
			continue
		}
		s := sharedEdit{edit: first[k]}
		for _, i := range seen[k] {
			s.on = append(s.on, r.Changes[i].Key)
		}
		v.shared = append(v.shared, s)
	}
	slices.SortStableFunc(v.shared, func(a, b sharedEdit) int {
		if len(a.on) != len(b.on) {
			return len(b.on) - len(a.on)
		}
		return strings.Compare(a.path, b.path)
	})

	group := map[string]int{} // object (without cluster), action and body -> index in listed
	for _, c := range r.Changes {
		l := listed{Change: c}
		var body strings.Builder
		if c.Action == Changed && len(c.Danger) == 0 {
			for _, h := range c.hunks {
				own := slices.ContainsFunc(h.edits, func(e edit) bool { return !isShared(e) })
				if own {
					body.WriteString(h.text(&c))
				} else {
					l.sharedHunks++
				}
			}
			if body.Len() == 0 {
				v.counted++
				continue
			}
		} else {
			for _, h := range c.hunks {
				body.WriteString(h.text(&c))
			}
		}
		l.body = body.String()
		id := c.Key
		id.Cluster = ""
		gk := fmt.Sprintf("%s\x00%s\x00%s\x00%s", id, c.Action, strings.Join(c.Danger, "\x00"), l.body)
		if i, ok := group[gk]; ok {
			v.listed[i].clusters = append(v.listed[i].clusters, c.Cluster)
			continue
		}
		group[gk] = len(v.listed)
		l.clusters = []string{c.Cluster}
		v.listed = append(v.listed, l)
	}
	return v
}

// value is a one-line change of a value: the line's key, and the part of
// the value that changes (from → to), with before and after saying that
// the value goes on before or after that part; or a line added or
// removed.
type value struct {
	key, from, to  string
	before, after  bool
	added, removed bool
}

// longValue is the length above which a changed value is also split at
// spaces into the words that change (a shorter one, a cron schedule, is
// not).
const longValue = 60

// valueChange reads an edit that changes, adds or removes one scalar
// line ("key: value" or "- value"): for a change of the same key, the
// part of the value that differs, widened to whole items of a list
// (split at commas, semicolons and ampersands, and, in a long value, at
// spaces).
func valueChange(e edit) (value, bool) {
	switch {
	case len(e.removed) == 1 && len(e.added) == 1:
		k1, v1, ok1 := splitLine(e.removed[0])
		k2, v2, ok2 := splitLine(e.added[0])
		if !ok1 || !ok2 || k1 != k2 || v1 == v2 {
			return value{}, false
		}
		seps := ",;&"
		if len(v1) > longValue || len(v2) > longValue {
			seps += " "
		}
		from, to, before, after := changedPart(v1, v2, seps)
		return value{key: k1, from: from, to: to, before: before, after: after}, true
	case len(e.removed) == 0 && len(e.added) == 1:
		k, v, ok := splitLine(e.added[0])
		return value{key: k, to: v, added: true}, ok
	case len(e.removed) == 1 && len(e.added) == 0:
		k, v, ok := splitLine(e.removed[0])
		return value{key: k, from: v, removed: true}, ok
	}
	return value{}, false
}

// splitLine splits a scalar YAML line into its key ("" for a list item)
// and value; a line that opens a mapping or a list is not one.
func splitLine(l string) (string, string, bool) {
	t := strings.TrimSpace(l)
	if rest, ok := strings.CutPrefix(t, "- "); ok {
		if strings.Contains(rest, ": ") || strings.HasSuffix(rest, ":") {
			return "", "", false // a list item that opens a mapping
		}
		return "-", rest, true
	}
	k, v, ok := strings.Cut(t, ": ")
	if !ok || v == "" || v == "|" || v == "|-" || v == ">" || v == ">-" {
		return "", "", false
	}
	return k, v, true
}

// changedPart trims the common start and end of two values, at
// boundaries of the items that seps separate, and says whether anything
// was trimmed at each end.
func changedPart(a, b, seps string) (string, string, bool, bool) {
	isSep := func(c byte) bool { return strings.IndexByte(seps, c) >= 0 }
	// boundary: position p of s is between two items (or at an end).
	boundary := func(s string, p int) bool {
		return p == 0 || p == len(s) || isSep(s[p]) || isSep(s[p-1])
	}
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	for p > 0 && !(boundary(a, p) && boundary(b, p)) {
		p--
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	for s > 0 && !(boundary(a, len(a)-s) && boundary(b, len(b)-s)) {
		s--
	}
	return a[p : len(a)-s], b[p : len(b)-s], p > 0, s > 0
}

// oneLine is an edit as one line to read ("metadata.labels.x: 1 → 2",
// "...: …service.version=1.4.2… → …service.version=1.5.0…"), when it is
// a one-line change of a value; the verb is "" or "added" / "removed".
func oneLine(e edit) (string, string, bool) {
	v, ok := valueChange(e)
	if !ok {
		return "", "", false
	}
	name := e.path
	if name == "" {
		name = v.key
	}
	clip := func(s string) string {
		if v.before {
			s = "…" + s
		}
		if v.after {
			s += "…"
		}
		return s
	}
	switch {
	case v.added:
		return name + ": " + v.to, "added", true
	case v.removed:
		return name + ": " + v.from, "removed", true
	}
	return name + ": " + clip(v.from) + " → " + clip(v.to), "", true
}

// where says which objects a shared edit is made on: "on 52 objects in 4
// clusters", "on 11 objects × 4 clusters", "on <object> in prod-eu-1,
// prod-us-1"; name formats an object's name for the output.
func (s sharedEdit) where(name func(string) string) string {
	objs, clusters := map[Key]bool{}, map[string]bool{}
	var one Key
	for _, k := range s.on {
		clusters[k.Cluster] = true
		k.Cluster = ""
		objs[k] = true
		one = k
	}
	in := "in " + clusterList(slices.Sorted(maps.Keys(clusters)))
	switch {
	case len(objs) == 1:
		return "on " + name(one.String()) + " " + in
	case len(s.on) == len(objs)*len(clusters) && len(clusters) > 1:
		return fmt.Sprintf("on %d objects × %d clusters", len(objs), len(clusters))
	}
	return fmt.Sprintf("on %d objects %s", len(s.on), in)
}

// lines returns the edit's lines as a diff body.
func (e edit) lines() string {
	var b strings.Builder
	for _, l := range e.removed {
		b.WriteString("-" + l + "\n")
	}
	for _, l := range e.added {
		b.WriteString("+" + l + "\n")
	}
	return b.String()
}
