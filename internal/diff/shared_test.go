package diff

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/paved-dev/paved/render"
)

// TestUnifiedMatchesDifflib: the diff text, written hunk by hunk to keep
// each hunk's edits, is what go-difflib's WriteUnifiedDiff writes, but
// for the YAML path after each hunk header.
func TestUnifiedMatchesDifflib(t *testing.T) {
	long := func(n int, change int) string {
		var b strings.Builder
		for i := range n {
			v := i
			if i == change {
				v = -i
			}
			fmt.Fprintf(&b, "k%d: %d\n", i, v)
		}
		return b.String()
	}
	for _, tc := range [][2]string{
		{"a: 1\nb: 2\n", "a: 1\nb: 3\n"},
		{"", "a: 1\n"},
		{"a: 1\n", ""},
		{long(40, 3), long(40, 30)},
		{long(40, -1), long(40, 20) + "extra: 1\n"},
		{"x:\n  - 1\n  - 2\n", "x:\n  - 2\n  - 1\n  - 3\n"},
	} {
		got, _, _, _ := unified("f.yaml", tc[0], tc[1])
		d := difflib.UnifiedDiff{A: difflib.SplitLines(tc[0]), B: difflib.SplitLines(tc[1]), FromFile: "a/f.yaml", ToFile: "b/f.yaml", Context: 3}
		if tc[0] == "" {
			d.A, d.FromFile = nil, "/dev/null"
		}
		if tc[1] == "" {
			d.B, d.ToFile = nil, "/dev/null"
		}
		want, err := difflib.GetUnifiedDiffString(d)
		if err != nil {
			t.Fatal(err)
		}
		var stripped []string
		for _, l := range strings.SplitAfter(got, "\n") {
			if strings.HasPrefix(l, "@@ ") {
				l = l[:strings.LastIndex(l, " @@")+3] + "\n"
			}
			stripped = append(stripped, l)
		}
		if s := strings.Join(stripped, ""); s != want {
			t.Errorf("diff of %q and %q:\n%s\nwant:\n%s", tc[0], tc[1], s, want)
		}
	}
}

// TestLinePaths: list items with a name are named by it, others by their
// index; a line inside a block scalar belongs to its key.
func TestLinePaths(t *testing.T) {
	doc := "spec:\n  containers:\n  - name: app\n    env:\n    - name: A\n      value: x\n  args:\n  - --a\n  - --b\ndata:\n  d.json: |\n    {\n      \"x\": 1\n    }\n"
	paths := linePaths(doc)
	for line, want := range map[int]string{
		1: "spec", 3: "spec.containers[name=app]", 5: "spec.containers[name=app].env[name=A]",
		6: "spec.containers[name=app].env[name=A].value", 9: "spec.args[1]", 13: "data.d.json", 14: "data.d.json",
	} {
		if got := pathAt(paths, line); got != want {
			t.Errorf("line %d: %q, want %q", line, got, want)
		}
	}
}

func TestChangedPart(t *testing.T) {
	for _, tc := range []struct{ a, b, from, to string }{
		{"1.4.2", "1.5.0", "1.4.2", "1.5.0"},
		{"ns=p,version=1.4.2,cluster=c1", "ns=p,version=1.5.0,cluster=c1", "version=1.4.2", "version=1.5.0"},
		{"a b c", "a x c", "b", "x"},
		{"a,b", "a,b,c", "", ",c"},
		{"é,ü,1", "é,ü,2", "1", "2"},
	} {
		from, to, _, _ := changedPart(tc.a, tc.b, ",;& ")
		if from != tc.from || to != tc.to {
			t.Errorf("changedPart(%q, %q) = %q, %q; want %q, %q", tc.a, tc.b, from, to, tc.from, tc.to)
		}
	}
}

// TestOneLine: a one-line change reads "path: from → to"; a long value
// shows the words that change, clipped; the same change of a long value
// in two clusters is one edit.
func TestOneLine(t *testing.T) {
	long := func(cluster, v string) string {
		return "      value: service.namespace=payments,service.version=" + v + ",deployment.environment.name=prod,k8s.cluster.name=" + cluster
	}
	e1 := edit{path: "env[name=X].value", removed: []string{long("prod-eu-1", "1.4.2")}, added: []string{long("prod-eu-1", "1.5.0")}}
	e2 := edit{path: "env[name=X].value", removed: []string{long("prod-us-1", "1.4.2")}, added: []string{long("prod-us-1", "1.5.0")}}
	if editKey(e1) != editKey(e2) {
		t.Error("the same change of a long value in two clusters is two edits")
	}
	if got, _, _ := oneLine(e1); got != "env[name=X].value: …service.version=1.4.2… → …service.version=1.5.0…" {
		t.Errorf("oneLine = %q", got)
	}
	short1 := edit{path: "p", removed: []string{"  p: a-1"}, added: []string{"  p: a-2"}}
	short2 := edit{path: "p", removed: []string{"  p: b-1"}, added: []string{"  p: b-2"}}
	if editKey(short1) == editKey(short2) {
		t.Error("two different short values are one edit")
	}
	for _, tc := range []struct {
		e          edit
		text, verb string
		ok         bool
	}{
		{edit{path: "metadata.labels.v", removed: []string{"    v: 1.4.2"}, added: []string{"    v: 1.5.0"}}, "metadata.labels.v: 1.4.2 → 1.5.0", "", true},
		{edit{path: "metadata.labels.team", added: []string{"    team: t"}}, "metadata.labels.team: t", "added", true},
		{edit{path: "args[1]", removed: []string{"  - --b"}}, "args[1]: --b", "removed", true},
		{edit{path: "metadata.labels.a", removed: []string{"    a: x"}, added: []string{"    b: x"}}, "", "", false},
		{edit{path: "spec", added: []string{"  x:", "    y: 1"}}, "", "", false},
	} {
		text, verb, ok := oneLine(tc.e)
		if text != tc.text || verb != tc.verb || ok != tc.ok {
			t.Errorf("oneLine(%v) = %q, %q, %v", tc.e, text, verb, ok)
		}
	}
}

// labelled is an object with the version label and a spec.
func labelled(kind, name, version string, spec map[string]any) render.Object {
	o := obj("v1", kind, "t", name, map[string]any{"spec": spec})
	o["metadata"].(map[string]any)["labels"] = map[string]any{"app.kubernetes.io/version": version, "z": "1"}
	return o
}

// TestCompact: the version label changed on every object of every
// cluster is one shared edit; an object changed only by shared edits is
// counted; an object with an edit of its own is listed with that hunk
// alone; the same object changed alike in two clusters is listed once;
// an object in the danger zone is listed whole.
func TestCompact(t *testing.T) {
	side := func(version string, max int) []render.Unit {
		var out []render.Unit
		for _, c := range []string{"c1", "c2", "c3"} {
			m := 6
			if c != "c1" {
				m = max
			}
			objects := []render.Object{
				labelled("ServiceAccount", "a", version, nil),
				labelled("Service", "a", version, map[string]any{"port": 80}),
				labelled("HorizontalPodAutoscaler", "a", version, map[string]any{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "maxReplicas": m}),
			}
			if c == "c3" {
				objects = append(objects, labelled("Service", "only", version, map[string]any{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "note": version}))
			}
			if version == "2" {
				objects = append(objects, labelled("ConfigMap", "new", version, nil))
			} else {
				objects = append(objects, obj("v1", "PersistentVolumeClaim", "t", "data", nil))
			}
			out = append(out, unit(c, "t", "a", objects...))
		}
		return out
	}
	rep, err := Compute(side("1", 12), side("2", 15))
	if err != nil {
		t.Fatal(err)
	}
	v := compact(rep)
	var shared []string
	for _, s := range v.shared {
		text, _, _ := oneLine(s.edit)
		shared = append(shared, text+" "+s.where(func(n string) string { return n }))
	}
	want := []string{
		`metadata.labels.app.kubernetes.io/version: "1" → "2" on 10 objects in c1, c2, c3`,
		"spec.maxReplicas: 12 → 15 on HorizontalPodAutoscaler t/a in c2, c3",
	}
	if !slices.Equal(shared, want) {
		t.Errorf("shared:\n%q\nwant\n%q", shared, want)
	}
	if v.counted != 9 {
		t.Errorf("%d objects counted, want 9 (the ServiceAccounts, Services and HPAs)", v.counted)
	}
	var listed []string
	for _, l := range v.listed {
		listed = append(listed, fmt.Sprintf("%s %s %v shared=%d", l.Key.String(), l.Action, l.clusters, l.sharedHunks))
	}
	wantListed := []string{
		"ConfigMap t/new added [c1 c2 c3]",
		"PersistentVolumeClaim t/data deleted [c1 c2 c3]",
		"Service t/only changed [c3] shared=1",
	}
	slices.Sort(listed)
	for i := range wantListed {
		wantListed[i] = strings.Replace(wantListed[i], "]", "] shared=0", 1)
	}
	wantListed[2] = "Service t/only changed [c3] shared=1"
	if !slices.Equal(listed, wantListed) {
		t.Errorf("listed:\n%q\nwant\n%q", listed, wantListed)
	}
	for _, l := range v.listed {
		if l.Key.Name == "only" && (strings.Contains(l.body, "app.kubernetes.io/version") || !strings.Contains(l.body, "-  note: \"1\"\n+  note: \"2\"\n")) {
			t.Errorf("the listed object shows the shared hunk or lacks its own:\n%s", l.body)
		}
		if strings.HasPrefix(l.body, "---") {
			t.Errorf("a listed body keeps its file header:\n%s", l.body)
		}
	}
}

// TestCompactFormats: the comment and the terminal show a shared edit
// once and count the objects it explains; full shows every object.
func TestCompactFormats(t *testing.T) {
	before := clustered("t", "a", demoObjects("1.4.2", 12))
	after := clustered("t", "a", demoObjects("1.5.0", 15))
	rep, err := Compute(before, after)
	if err != nil {
		t.Fatal(err)
	}
	var md, mdFull, term, termFull bytes.Buffer
	in := MarkdownInput{Meta: Meta{Fleet: "f", Ref: "main"}, Source: "s", Budget: DefaultBudget}
	if err := Markdown(&md, rep, in); err != nil {
		t.Fatal(err)
	}
	in.Full = true
	if err := Markdown(&mdFull, rep, in); err != nil {
		t.Fatal(err)
	}
	if err := Terminal(&term, rep, TerminalInput{}); err != nil {
		t.Fatal(err)
	}
	if err := Terminal(&termFull, rep, TerminalInput{Full: true}); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		out        string
		has        []string
		hasNot     []string
		labelLines int
	}{
		"markdown": {md.String(), []string{
			"**t/a**\n- image 1.4.2 → 1.5.0\n- prod HPA max 12 → 15\n",
			"- `metadata.labels.app.kubernetes.io/version: 1.4.2 → 1.5.0` on 4 objects × 4 clusters\n",
			"- `spec.maxReplicas: 12 → 15` on `autoscaling/HorizontalPodAutoscaler t/a` in prod-eu-1, prod-us-1\n",
			"16 changed objects have no other change: counted, not listed",
		}, []string{"<details>"}, 0},
		"markdown full": {mdFull.String(), []string{"- prod HPA max 12 → 15\n", "#### Changes\n"}, nil, 16},
		"terminal": {term.String(), []string{
			"t/a\n  image 1.4.2 → 1.5.0\n  prod HPA max 12 → 15\n",
			"  metadata.labels.app.kubernetes.io/version: 1.4.2 → 1.5.0\n    on 4 objects × 4 clusters\n",
			"16 changed objects have no other change",
		}, []string{"\n~ "}, 0},
		"terminal full": {termFull.String(), []string{"  prod HPA max 12 → 15\n", "~ autoscaling/HorizontalPodAutoscaler t/a changed (prod-us-1)\n"}, nil, 16},
	} {
		for _, s := range tc.has {
			if !strings.Contains(tc.out, s) {
				t.Errorf("%s lacks %q:\n%s", name, s, tc.out)
			}
		}
		for _, s := range tc.hasNot {
			if strings.Contains(tc.out, s) {
				t.Errorf("%s has %q:\n%s", name, s, tc.out)
			}
		}
		if n := strings.Count(tc.out, "\n+    app.kubernetes.io/version: 1.5.0\n"); n != tc.labelLines {
			t.Errorf("%s shows the label's diff line %d times, want %d", name, n, tc.labelLines)
		}
	}
}

// TestSharedHostile: a value shared by several objects, whatever it
// holds, stays inside its code span; a multi-line one inside its fence.
func TestSharedHostile(t *testing.T) {
	for _, v := range []string{"`x`", "</details><script>", "a``b", "<!-- paved:diff v1 -->", "@org/team *b* _i_ [l](u) | x"} {
		cm := func(s string) render.Object {
			return obj("v1", "ConfigMap", "t", "a", map[string]any{"data": map[string]any{"v": s, "m": s + "\n" + s}})
		}
		var before, after []render.Unit
		for _, c := range []string{"c1", "c2"} {
			before = append(before, unit(c, "t", "a", cm("1")))
			after = append(after, unit(c, "t", "a", cm(v)))
		}
		rep, err := Compute(before, after)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Markdown(&buf, rep, MarkdownInput{Meta: Meta{Fleet: "f", Ref: "main"}, Source: "s", Budget: DefaultBudget}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		checkSharedList(t, out)
		if strings.Count(out, "<details><summary>") != 1 || strings.Count(out, "\n</details>\n") != 1 {
			t.Errorf("%q: the multi-line shared edit is not one details block:\n%s", v, out)
		}
	}
}

// checkSharedList checks that each line of the shared list is a code
// span that closes, then where the edit applies, and returns how many
// lines it checked.
func checkSharedList(t *testing.T, out string) int {
	t.Helper()
	i := strings.Index(out, "#### Changes made on several objects, shown once\n")
	if i < 0 {
		return 0
	}
	checked := 0
	for _, l := range strings.Split(out[i:], "\n")[1:] {
		if !strings.HasPrefix(l, "- ") {
			break
		}
		checked++
		rest := l[2:]
		n := len(rest) - len(strings.TrimLeft(rest, "`"))
		if n == 0 {
			t.Fatalf("shared line without a code span: %q", l)
		}
		fence := strings.Repeat("`", n)
		body := rest[n:]
		end := -1
		for j := 0; j+n <= len(body); j++ {
			if body[j:j+n] == fence && (j+n == len(body) || body[j+n] != '`') && (j == 0 || body[j-1] != '`') {
				end = j
				break
			}
		}
		if end < 0 {
			t.Fatalf("code span never closes: %q", l)
		}
		after := body[end+n:]
		if !strings.HasPrefix(after, " on ") && !strings.HasPrefix(after, " added on ") && !strings.HasPrefix(after, " removed on ") {
			t.Fatalf("code span closes early: %q", l)
		}
	}
	return checked
}

// FuzzSharedMarkdown: the same change in two clusters is shown once;
// whatever the values hold, each shared line is one code span that
// closes before saying where it applies.
func FuzzSharedMarkdown(f *testing.F) {
	f.Add("1", "`x`")
	f.Add("a``b", "</details>")
	f.Add("` `", "``` ```")
	f.Fuzz(func(t *testing.T, before, after string) {
		cm := func(v string) render.Object {
			return obj("v1", "ConfigMap", "t", "a", map[string]any{"data": map[string]any{"v": v}})
		}
		var b, a []render.Unit
		for _, c := range []string{"c1", "c2"} {
			b = append(b, unit(c, "t", "a", cm(before)))
			a = append(a, unit(c, "t", "a", cm(after)))
		}
		rep, err := Compute(b, a)
		if err != nil {
			t.Skip(err)
		}
		var buf bytes.Buffer
		if err := Markdown(&buf, rep, MarkdownInput{Meta: Meta{Fleet: "f", Ref: "main"}, Source: "s", Budget: DefaultBudget}); err != nil {
			t.Fatal(err)
		}
		// A one-line value changed alike in both clusters is in the
		// shared list (a multi-line one is a block of its own).
		if n := checkSharedList(t, buf.String()); n == 0 && len(rep.Changes) > 0 && !strings.ContainsAny(before+after, "\n\r") {
			t.Fatalf("%q → %q: the change in two clusters is not in the shared list:\n%s", before, after, buf.String())
		}
	})
}

// TestEditsByNode (issue 28): a run of changed lines that touches several
// YAML nodes is one edit per node, each under its own path. go-difflib
// reports an env entry added before a changed image as one run; the env
// entry was filed under the image's path.
func TestEditsByNode(t *testing.T) {
	const head = "spec:\n  containers:\n  - env:\n    - name: A\n      value: x\n"
	for _, tc := range []struct {
		name          string
		before, after string
		want          []string // path: -removed +added, per edit
	}{{
		name:   "env entry added before a changed image",
		before: head + "    image: app:1\n    name: app\n",
		after:  head + "    - name: B\n      value: y\n    image: app:2\n    name: app\n",
		want: []string{
			"spec.containers[name=app].env[name=B]: +[    - name: B       value: y]",
			"spec.containers[name=app].image: -[    image: app:1] +[    image: app:2]",
		},
	}, {
		name:   "env entry removed before a changed image",
		before: head + "    - name: B\n      value: y\n    image: app:1\n    name: app\n",
		after:  head + "    image: app:2\n    name: app\n",
		want: []string{
			"spec.containers[name=app].env[name=B]: -[    - name: B       value: y]",
			"spec.containers[name=app].image: -[    image: app:1] +[    image: app:2]",
		},
	}, {
		name:   "env entry added alone",
		before: head + "    image: app:1\n    name: app\n",
		after:  head + "    - name: B\n      value: y\n    image: app:1\n    name: app\n",
		want:   []string{"spec.containers[name=app].env[name=B]: +[    - name: B       value: y]"},
	}, {
		name:   "one node's lines replaced: one edit",
		before: "data:\n  a: |\n    one\n    two\n",
		after:  "data:\n  a: |\n    three\n",
		want:   []string{"data.a: -[    one     two] +[    three]"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			_, hunks, _, _ := unified("f.yaml", tc.before, tc.after)
			var got []string
			for _, h := range hunks {
				for _, e := range h.edits {
					s := e.path + ":"
					if len(e.removed) > 0 {
						s += " -[" + strings.Join(e.removed, " ") + "]"
					}
					if len(e.added) > 0 {
						s += " +[" + strings.Join(e.added, " ") + "]"
					}
					got = append(got, s)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("edits:\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
