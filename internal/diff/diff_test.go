package diff

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/paved-dev/paved/render"
)

func obj(apiVersion, kind, ns, name string, spec map[string]any) render.Object {
	md := map[string]any{"name": name}
	if ns != "" {
		md["namespace"] = ns
	}
	o := render.Object{"apiVersion": apiVersion, "kind": kind, "metadata": md}
	for k, v := range spec {
		o[k] = v
	}
	return o
}

func unit(cluster, team, app string, objs ...render.Object) render.Unit {
	u := render.Unit{Dir: fmt.Sprintf("apps/%s/%s/%s", cluster, team, app), Kind: render.UnitApp, Cluster: cluster, Team: team}
	for _, o := range objs {
		u.Objects = append(u.Objects, render.Built{Object: o, File: u.Dir + "/" + o.FileName()})
	}
	return u
}

func TestIdentityAndActions(t *testing.T) {
	before := []render.Unit{unit("c1", "t", "a",
		obj("autoscaling/v2beta2", "HorizontalPodAutoscaler", "t", "a", map[string]any{"spec": map[string]any{"maxReplicas": 3}}),
		obj("v1", "ConfigMap", "t", "gone", nil),
		obj("v1", "Namespace", "", "t", nil),
		obj("apps/v1", "Deployment", "t", "a", map[string]any{"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "a"}}}}),
		obj("v1", "ConfigMap", "t", "same", map[string]any{"metadata": map[string]any{"name": "same", "namespace": "t", "annotations": map[string]any{"paved.dev/source-revision": "1"}}}),
	)}
	after := []render.Unit{unit("c1", "t", "a",
		obj("autoscaling/v2", "HorizontalPodAutoscaler", "t", "a", map[string]any{"spec": map[string]any{"maxReplicas": 3}}),
		obj("v1", "ConfigMap", "t", "new", nil),
		obj("apps/v1", "Deployment", "t", "a", map[string]any{"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "b"}}}}),
		obj("v1", "ConfigMap", "t", "same", map[string]any{"metadata": map[string]any{"name": "same", "namespace": "t", "annotations": map[string]any{"paved.dev/source-revision": "2"}}}),
	)}
	rep, err := Compute(before, after)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Change{}
	for _, c := range rep.Changes {
		got[c.Key.String()] = c
	}
	if c := got["autoscaling/HorizontalPodAutoscaler t/a"]; c.Action != Changed || c.APIBefore != "autoscaling/v2beta2" || c.APIAfter != "autoscaling/v2" {
		t.Errorf("apiVersion change is not a change: %+v", c)
	}
	if got["ConfigMap t/gone"].Action != Deleted || got["ConfigMap t/new"].Action != Added {
		t.Errorf("added/deleted: %+v", got)
	}
	if c := got["Namespace t"]; c.Action != Deleted || len(c.Danger) == 0 {
		t.Errorf("a Namespace deletion must be in the danger zone: %+v", c)
	}
	if c := got["apps/Deployment t/a"]; len(c.Danger) == 0 || !strings.Contains(c.Danger[0], "spec.selector") {
		t.Errorf("a selector change must be flagged: %+v", c)
	}
	if !strings.Contains(got["apps/Deployment t/a"].Diff, "@@ -6,5 +6,5 @@ spec.selector.matchLabels.app\n") {
		t.Errorf("hunk header does not name the YAML path:\n%s", got["apps/Deployment t/a"].Diff)
	}
	if _, ok := got["ConfigMap t/same"]; ok || rep.Noise != 1 {
		t.Errorf("a provenance-only difference must be noise: noise %d, %+v", rep.Noise, got["ConfigMap t/same"])
	}
	if len(rep.Changes) != 5 {
		t.Errorf("%d changes, want 5", len(rep.Changes))
	}

	// An app that differs only in provenance (a new source revision
	// alone) is no change, and its objects are not counted as noise.
	rev := func(app, r string) render.Unit {
		return unit("c1", "t", app, obj("v1", "ConfigMap", "t", app, map[string]any{"metadata": map[string]any{"name": app, "namespace": "t", "annotations": map[string]any{"paved.dev/source-revision": r}}}))
	}
	rep, err = Compute([]render.Unit{rev("b", "1")}, []render.Unit{rev("b", "2")})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 0 || rep.Noise != 0 {
		t.Errorf("an app changed only in provenance: %d changes, noise %d; want none", len(rep.Changes), rep.Noise)
	}
}

func TestSecretsMasked(t *testing.T) {
	secret := func(v string) render.Object {
		return obj("v1", "Secret", "t", "s", map[string]any{"data": map[string]any{"password": v, "user": "YWRtaW4="}, "stringData": map[string]any{"token": v + "-tok"}})
	}
	rep, err := Compute([]render.Unit{unit("c", "t", "a", secret("c2VjcmV0MQ=="))}, []render.Unit{unit("c", "t", "a", secret("c2VjcmV0Mg=="))})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 1 {
		t.Fatalf("%d changes", len(rep.Changes))
	}
	d := rep.Changes[0].Diff
	for _, v := range []string{"c2VjcmV0MQ==", "c2VjcmV0Mg==", "YWRtaW4=", "-tok"} {
		if strings.Contains(d, v) {
			t.Fatalf("secret value %q in the diff:\n%s", v, d)
		}
	}
	if !strings.Contains(d, "+  password: '*** (masked, changed)'") || strings.Contains(d, "+  user:") {
		t.Errorf("the changed key must show as changed and the unchanged one must not:\n%s", d)
	}
	var buf bytes.Buffer
	if err := JSON(&buf, rep, Meta{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "c2VjcmV0") {
		t.Fatal("secret value in JSON output")
	}
}

// TestMarkdownBudget: 1,000 changed apps stay under the byte budget, the
// danger zone stays whole, and hostile content cannot break the layout.
func TestMarkdownBudget(t *testing.T) {
	var before, after []render.Unit
	for i := range 1000 {
		name := fmt.Sprintf("app-%04d", i)
		cm := func(v string) render.Object {
			return obj("v1", "ConfigMap", "t", name, map[string]any{"data": map[string]any{"v": v, "hostile": "```\n</details>\n| a | b |\n<script>"}})
		}
		objs := []render.Object{cm("1")}
		if i%20 == 0 { // 50 data-losing deletions among 1,000 changes
			objs = append(objs, obj("v1", "PersistentVolumeClaim", "t", name+"-data", nil))
		}
		before = append(before, unit("prod-eu-1", "t", name, objs...))
		// Each app's change its own (a change made alike on every app
		// would be shown once).
		after = append(after, unit("prod-eu-1", "t", name, cm(strings.Repeat(name, 20))))
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
	if buf.Len() > DefaultBudget {
		t.Errorf("comment is %d bytes, over the %d budget", buf.Len(), DefaultBudget)
	}
	if head, ok := HeadOf(out); !ok || head != "" {
		t.Error("comment does not start with the marker")
	}
	zone := out[strings.Index(out, "**Danger zone**"):]
	zone = zone[:strings.Index(zone, "\n\n")]
	if n := strings.Count(zone, "\n> - "); n != 50 {
		t.Errorf("danger zone truncated: %d of 50 PVC deletions shown", n)
	}
	if strings.Count(out, "<details>") != strings.Count(out, "</details>")-strings.Count(out, "</details>\n| a | b |") {
		t.Error("unbalanced details blocks")
	}
	if strings.Contains(out, "<script>") {
		t.Error("HTML from content escaped its code block")
	}
	if !strings.Contains(strings.ToLower(out), "not shown to stay within the comment size") {
		t.Error("omitted bodies are not summarized")
	}
}

// TestMarkdownHostile: backticks, </details>, pipes and HTML in content
// or messages cannot break the comment's layout.
func TestMarkdownHostile(t *testing.T) {
	cm := func(v string) render.Object {
		return obj("v1", "ConfigMap", "t", "a", map[string]any{"data": map[string]any{"v": v}})
	}
	rep, err := Compute([]render.Unit{unit("c", "t", "a", cm("1"))}, []render.Unit{unit("c", "t", "a", cm("````\n</details>\n| a | b |\n<script>x</script>"))})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Markdown(&buf, rep, MarkdownInput{Meta: Meta{Fleet: "f|<b>", Ref: "main"}, Source: "s`x", Budget: DefaultBudget}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "`````diff\n") {
		t.Errorf("fence does not outgrow the backticks in content:\n%s", out)
	}
	body := out[strings.Index(out, "`````diff\n"):]
	if strings.Count(out, "<details>") != 1 || strings.Count(body, "`````") != 2 {
		t.Errorf("layout broken:\n%s", out)
	}
	head := out[:strings.Index(out, "`````diff")]
	if strings.Contains(head, "<b>") || strings.Contains(head, "s`x") || strings.Contains(head, "f|") {
		t.Errorf("header not escaped:\n%s", head)
	}
}

func TestFence(t *testing.T) {
	for in, want := range map[string]string{"a": "```", "``": "```", "````": "`````"} {
		if got := fenceFor(in); got != want {
			t.Errorf("fenceFor(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDangerOfDatabasesAndCanaries: deleting a CloudNativePG Cluster (a
// database and its data) or a Flagger Canary (an app back to rolling) is
// danger; a Cluster of another group, or a changed database, is not.
func TestDangerOfDatabasesAndCanaries(t *testing.T) {
	db := obj("postgresql.cnpg.io/v1", "Cluster", "t", "a-main", map[string]any{"spec": map[string]any{"instances": 3}})
	before := []render.Unit{unit("c1", "t", "a",
		db,
		obj("postgresql.cnpg.io/v1", "Cluster", "t", "a-audit", map[string]any{"spec": map[string]any{"instances": 1}}),
		obj("flagger.app/v1beta1", "Canary", "t", "a", nil),
		obj("example.dev/v1", "Cluster", "t", "other", nil),
	)}
	after := []render.Unit{unit("c1", "t", "a",
		obj("postgresql.cnpg.io/v1", "Cluster", "t", "a-audit", map[string]any{"spec": map[string]any{"instances": 2}}),
	)}
	rep, err := Compute(before, after)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Change{}
	for _, c := range rep.Changes {
		got[c.Key.String()] = c
	}
	if c := got["postgresql.cnpg.io/Cluster t/a-main"]; c.Action != Deleted || len(c.Danger) != 1 || !strings.Contains(c.Danger[0], "--allow-database-delete") {
		t.Errorf("a deleted database must be danger: %+v", c)
	}
	if c := got["flagger.app/Canary t/a"]; c.Action != Deleted || len(c.Danger) != 1 || !strings.Contains(c.Danger[0], "back to rolling") {
		t.Errorf("a deleted Canary must be danger: %+v", c)
	}
	if c := got["example.dev/Cluster t/other"]; c.Action != Deleted || len(c.Danger) != 0 {
		t.Errorf("a Cluster of another group is not a database: %+v", c)
	}
	if c := got["postgresql.cnpg.io/Cluster t/a-audit"]; c.Action != Changed || len(c.Danger) != 0 {
		t.Errorf("a changed database is no danger: %+v", c)
	}
}
