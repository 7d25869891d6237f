package diff

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

// AppSummary says in words what changed in one app, in a team's tenant
// (App "") or in the fleet's own objects (Team and App "").
type AppSummary struct {
	Team, App string
	// Clusters are the clusters the app has objects in, on either side
	// (the catalog's pseudo-cluster aside).
	Clusters []string
	// Lines holds one line per kind of change, in a fixed order of kinds:
	// image, scaling, size, env, secrets, ingress, schedule, rollout,
	// databases, dependencies, dashboard, catalog entry, objects added or
	// removed; then, from the formats, policy findings and cost.
	Lines []Line
}

// Line is one kind of change and where it applies.
type Line struct {
	// Text says what changes: "image 1.4.2 → 1.5.0", "HPA max 12 → 15".
	// It holds names and keys, never a Secret's value.
	Text string
	// Clusters are the clusters where it applies (nil: where the text
	// says, as a cost per environment does).
	Clusters []string
}

// Name is team/app, "tenant team" or "fleet".
func (s AppSummary) Name() string {
	switch {
	case s.App != "":
		return s.Team + "/" + s.App
	case s.Team != "":
		return "tenant " + s.Team
	}
	return "fleet"
}

// Where says where a line applies, to be put before its text: "" when it
// applies in every cluster of the app (or says so itself), else the
// environments it covers whole and the clusters of the others
// ("prod", "dev, prod-eu-1").
func (s AppSummary) Where(l Line, envOf map[string]string) string {
	var in []string
	for _, c := range l.Clusters {
		if !pseudo(c) {
			in = append(in, c)
		}
	}
	if len(in) == 0 || slices.Equal(in, s.Clusters) {
		return ""
	}
	byEnv := map[string][]string{}
	var envs []string
	for _, c := range in {
		e := envOf[c]
		if _, ok := byEnv[e]; !ok {
			envs = append(envs, e)
		}
		byEnv[e] = append(byEnv[e], c)
	}
	slices.Sort(envs)
	var parts []string
	for _, e := range envs {
		all := 0
		for _, c := range s.Clusters {
			if envOf[c] == e {
				all++
			}
		}
		if e != "" && all == len(byEnv[e]) {
			parts = append(parts, e)
		} else {
			parts = append(parts, byEnv[e]...)
		}
	}
	return strings.Join(parts, ", ")
}

// summaryGroup is the apps whose summaries read the same, and the lines
// they share (each led by where it applies).
type summaryGroup struct {
	names []string
	lines []string
}

// groupSummaries merges the apps whose lines, where included, are the
// same: a change made alike on many apps (a platform change) is said
// once, naming them.
func groupSummaries(apps []AppSummary, envOf map[string]string) []summaryGroup {
	var out []summaryGroup
	at := map[string]int{}
	for _, a := range apps {
		var lines []string
		for _, l := range a.Lines {
			t := l.Text
			if w := a.Where(l, envOf); w != "" {
				t = w + " " + t
			}
			lines = append(lines, t)
		}
		k := strings.Join(lines, "\n")
		if i, ok := at[k]; ok {
			out[i].names = append(out[i].names, a.Name())
			continue
		}
		at[k] = len(out)
		out = append(out, summaryGroup{names: []string{a.Name()}, lines: lines})
	}
	return out
}

// title names the apps of a group: all of them, or the first few and a
// count when max > 0 and there are more.
func (g summaryGroup) title(max int) string {
	if max > 0 && len(g.names) > max {
		return strings.Join(g.names[:max], ", ") + fmt.Sprintf(" and %d more", len(g.names)-max)
	}
	return strings.Join(g.names, ", ")
}

// pseudo reports whether a cluster is a pseudo-cluster (the catalog's).
func pseudo(c string) bool { return strings.HasPrefix(c, "(") }

// factInput is one app's objects in one cluster, before and after.
type factInput struct {
	app           string
	before, after []render.Object
	sizes         map[string]schema.Size
}

// A fact says what changed of one kind in one app and cluster, in words,
// from the objects of both sides (the fleet holds no spec, so both sides
// are read alike). An absent workload before means a new app: the fact
// then says what there is, without an arrow.
type fact func(in factInput) []string

var facts = []fact{
	imageFact, scalingFact, sizeFact, envFact, secretFact, ingressFact,
	scheduleFact, rolloutFact, databaseFact, dependsOnFact, dashboardFact,
	catalogFact, objectsFact,
}

// summarize builds the summary of every app, tenant and fleet part that
// has a change, reading each one's objects on both sides.
func summarize(rep *Report, before, after map[Key]entry, opt Options) []AppSummary {
	changed := map[owner]bool{}
	// Changed objects per owner and cluster: all of them, and those no
	// fact reads that have an edit of their own (not made on other
	// objects too, as the version label is).
	changes := map[owner]map[string][]Key{}
	unread := map[owner]map[string][]Key{}
	spread := editSpread(rep)
	note := func(m map[owner]map[string][]Key, c Change) {
		if m[c.owner] == nil {
			m[c.owner] = map[string][]Key{}
		}
		m[c.owner][c.Cluster] = append(m[c.owner][c.Cluster], c.Key)
	}
	for _, c := range rep.Changes {
		changed[c.owner] = true
		if c.Action != Changed {
			continue
		}
		note(changes, c)
		if c.owner.app != "" && !factRead(c.Key, c.owner.app) && slices.ContainsFunc(c.hunks, func(h hunk) bool {
			return slices.ContainsFunc(h.edits, func(e edit) bool { return spread[editKey(e)] < 2 })
		}) {
			note(unread, c)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	type objs map[string][]Key // cluster -> keys
	collect := func(idx map[Key]entry) map[owner]objs {
		out := map[owner]objs{}
		for k, e := range idx {
			o := ownerOf(k, e)
			if !changed[o] {
				continue
			}
			if out[o] == nil {
				out[o] = objs{}
			}
			out[o][k.Cluster] = append(out[o][k.Cluster], k)
		}
		return out
	}
	bo, ao := collect(before), collect(after)
	owners := make([]owner, 0, len(changed))
	for o := range changed {
		owners = append(owners, o)
	}
	slices.SortFunc(owners, func(x, y owner) int {
		if c := strings.Compare(x.team, y.team); c != 0 {
			return c
		}
		if (x.app == "") != (y.app == "") {
			if x.app == "" {
				return 1 // a team's apps, then its tenant
			}
			return -1
		}
		return strings.Compare(x.app, y.app)
	})
	var out []AppSummary
	for _, o := range owners {
		s := AppSummary{Team: o.team, App: o.app}
		clusters := map[string]bool{}
		for c := range bo[o] {
			clusters[c] = true
		}
		for c := range ao[o] {
			clusters[c] = true
		}
		sorted := slices.Sorted(maps.Keys(clusters))
		for _, c := range sorted {
			if !pseudo(c) {
				s.Clusters = append(s.Clusters, c)
			}
		}
		type phrase struct {
			fact int
			text string
		}
		where := map[phrase][]string{}
		var order []phrase
		add := func(p phrase, c string) {
			if _, ok := where[p]; !ok {
				order = append(order, p)
			}
			where[p] = append(where[p], c)
		}
		// A tenant (or the fleet's own objects) has no workload: only
		// its catalog group and its objects added or removed.
		fs := facts
		if o.app == "" {
			fs = []fact{catalogFact, objectsFact}
		}
		for _, c := range sorted {
			in := factInput{app: o.app, before: objectsOf(before, bo[o][c]), after: objectsOf(after, ao[o][c]), sizes: opt.Sizes}
			for i, f := range fs {
				for _, t := range f(in) {
					add(phrase{i, t}, c)
				}
			}
		}
		// Say which objects changed where no fact says it: every changed
		// object of a tenant, or of an app no fact says anything of, and
		// else the objects no fact reads that change in their own way.
		which := unread
		if len(order) == 0 || o.app == "" {
			which = changes
		}
		for _, c := range sorted {
			keys := which[o][c]
			if len(keys) == 0 {
				continue
			}
			slices.SortFunc(keys, compareKeys)
			names := make([]string, len(keys))
			for i, k := range keys {
				names[i] = k.Kind + " " + k.Name
			}
			add(phrase{len(fs), "changed " + strings.Join(names, ", ")}, c)
		}
		slices.SortStableFunc(order, func(x, y phrase) int { return x.fact - y.fact })
		for _, p := range order {
			s.Lines = append(s.Lines, Line{Text: p.text, Clusters: where[p]})
		}
		out = append(out, s)
	}
	return out
}

// factRead reports whether a fact reads objects of the key's kind (for
// the app's dashboard, that object).
func factRead(k Key, app string) bool {
	switch k.Group + "/" + k.Kind {
	case "apps/Deployment", "apps/StatefulSet", "apps/DaemonSet", "batch/CronJob", "batch/Job",
		"autoscaling/HorizontalPodAutoscaler", "networking.k8s.io/Ingress", "flagger.app/Canary",
		"postgresql.cnpg.io/Cluster", "kustomize.toolkit.fluxcd.io/Kustomization",
		"backstage.io/Component", "backstage.io/Group", "external-secrets.io/ExternalSecret", "/Secret":
		return true
	case "/ConfigMap":
		return k.Name == app+"-dashboard"
	}
	return false
}

func compareKeys(x, y Key) int {
	for _, p := range [][2]string{{x.Group, y.Group}, {x.Kind, y.Kind}, {x.Namespace, y.Namespace}, {x.Name, y.Name}} {
		if c := strings.Compare(p[0], p[1]); c != 0 {
			return c
		}
	}
	return 0
}

// objectsOf returns the objects of the keys, in key order.
func objectsOf(idx map[Key]entry, keys []Key) []render.Object {
	keys = slices.Clone(keys)
	slices.SortFunc(keys, compareKeys)
	out := make([]render.Object, len(keys))
	for i, k := range keys {
		out[i] = idx[k].obj
	}
	return out
}

// WithFindings returns the summaries with a line per app for its policy
// findings (waived ones aside) and for its monthly cost where it changed;
// an app with findings and no change gets a summary of its own.
func WithFindings(apps []AppSummary, lint *policy.Report, before, after policy.Costs) []AppSummary {
	out := slices.Clone(apps)
	find := func(team, app string) int {
		i := slices.IndexFunc(out, func(s AppSummary) bool { return s.Team == team && s.App == app })
		if i < 0 {
			out = append(out, AppSummary{Team: team, App: app})
			i = len(out) - 1
		}
		return i
	}
	for i := range out {
		out[i].Lines = slices.Clone(out[i].Lines)
	}
	if lint != nil {
		type tally struct {
			deny, warn   []string
			nDeny, nWarn int
			clusters     map[string]bool
		}
		per := map[owner]*tally{}
		var owners []owner
		for _, f := range lint.Findings {
			if f.Waived() {
				continue
			}
			o := owner{f.Team, f.App}
			t := per[o]
			if t == nil {
				t = &tally{clusters: map[string]bool{}}
				per[o] = t
				owners = append(owners, o)
			}
			if f.Cluster != "" {
				t.clusters[f.Cluster] = true
			}
			if f.Severity == policy.Deny {
				t.nDeny++
				if !slices.Contains(t.deny, f.Policy) {
					t.deny = append(t.deny, f.Policy)
				}
			} else {
				t.nWarn++
				if !slices.Contains(t.warn, f.Policy) {
					t.warn = append(t.warn, f.Policy)
				}
			}
		}
		for _, o := range owners {
			t := per[o]
			var parts []string
			if t.nDeny > 0 {
				parts = append(parts, fmt.Sprintf("%d deny (%s)", t.nDeny, strings.Join(t.deny, ", ")))
			}
			if t.nWarn > 0 {
				parts = append(parts, fmt.Sprintf("%d warn (%s)", t.nWarn, strings.Join(t.warn, ", ")))
			}
			i := find(o.team, o.app)
			out[i].Lines = append(out[i].Lines, Line{Text: "policy " + strings.Join(parts, ", "), Clusters: slices.Sorted(maps.Keys(t.clusters))})
		}
	}
	type envCost struct{ before, after float64 }
	costs := map[owner]map[string]*envCost{}
	var costOwners []owner
	addCost := func(c policy.Costs, after bool) {
		for _, a := range c.Apps {
			o := owner{a.Team, a.App}
			if costs[o] == nil {
				costs[o] = map[string]*envCost{}
				costOwners = append(costOwners, o)
			}
			for _, e := range a.Environments {
				v := costs[o][e.Environment]
				if v == nil {
					v = &envCost{}
					costs[o][e.Environment] = v
				}
				if after {
					v.after = e.MonthlyUSD
				} else {
					v.before = e.MonthlyUSD
				}
			}
		}
	}
	addCost(before, false)
	addCost(after, true)
	for _, o := range costOwners {
		var parts []string
		for _, env := range slices.Sorted(maps.Keys(costs[o])) {
			v := costs[o][env]
			if v.before == v.after {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s $%.2f → $%.2f (%s)", env, v.before, v.after, signedUSD(v.after-v.before)))
		}
		if len(parts) == 0 {
			continue
		}
		i := find(o.team, o.app)
		out[i].Lines = append(out[i].Lines, Line{Text: "monthly cost " + strings.Join(parts, ", ")})
	}
	return out
}

func signedUSD(d float64) string {
	if d < 0 {
		return fmt.Sprintf("−$%.2f", -d)
	}
	return fmt.Sprintf("+$%.2f", d)
}

// --- reading objects ---------------------------------------------------

// workload is the app's pod template: its kind, object and pod spec.
type workload struct {
	kind string
	obj  render.Object
	pod  map[string]any
}

// workloadOf finds the object that runs the app's pods.
func workloadOf(objs []render.Object) (workload, bool) {
	for _, kind := range []string{"Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job"} {
		for _, o := range objs {
			if o.Kind() != kind {
				continue
			}
			var pod any
			if kind == "CronJob" {
				pod = dig(o, "spec", "jobTemplate", "spec", "template", "spec")
			} else {
				pod = dig(o, "spec", "template", "spec")
			}
			m, _ := pod.(map[string]any)
			return workload{kind: kind, obj: o, pod: m}, true
		}
	}
	return workload{}, false
}

// container is what a fact reads of a container.
type container struct {
	name, image string
	env         []envVar
	requests    map[string]string
	limits      map[string]string
}

// envVar is an env entry: its name and either a plain value or a
// reference (valueFrom); secret says the reference is a Secret's key.
type envVar struct {
	name, value, ref string
	secret           bool
	// secretName is the Secret a secret reference reads.
	secretName string
}

func containersOf(objs []render.Object) []container {
	w, ok := workloadOf(objs)
	if !ok {
		return nil
	}
	list, _ := w.pod["containers"].([]any)
	var out []container
	for _, x := range list {
		m, _ := x.(map[string]any)
		if m == nil {
			continue
		}
		c := container{name: str(m["name"]), image: str(m["image"])}
		envs, _ := m["env"].([]any)
		for _, e := range envs {
			em, _ := e.(map[string]any)
			if em == nil {
				continue
			}
			v := envVar{name: str(em["name"]), value: str(em["value"])}
			if vf, ok := em["valueFrom"].(map[string]any); ok {
				if sk, ok := vf["secretKeyRef"].(map[string]any); ok {
					v.secret, v.secretName = true, str(sk["name"])
				}
				v.ref = jsonString(vf)
			}
			c.env = append(c.env, v)
		}
		res, _ := m["resources"].(map[string]any)
		c.requests, c.limits = quantities(res["requests"]), quantities(res["limits"])
		out = append(out, c)
	}
	return out
}

func quantities(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := map[string]string{}
	for k, q := range m {
		out[k] = str(q)
	}
	return out
}

func str(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	}
	return fmt.Sprint(v)
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func findContainer(cs []container, name string) (container, bool) {
	for _, c := range cs {
		if c.name == name {
			return c, true
		}
	}
	return container{}, false
}

// versionOf is the app's version label on its workload.
func versionOf(objs []render.Object) string {
	w, ok := workloadOf(objs)
	if !ok {
		return ""
	}
	return str(dig(w.obj, "metadata", "labels", "app.kubernetes.io/version"))
}

// first is the first object of the group and kind, or nil.
func first(objs []render.Object, group, kind string) render.Object {
	if l := byKind(objs, group, kind); len(l) > 0 {
		return l[0]
	}
	return nil
}

func byKind(objs []render.Object, group, kind string) []render.Object {
	var out []render.Object
	for _, o := range objs {
		if g, _ := o.GroupVersion(); g == group && o.Kind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// --- the facts ---------------------------------------------------------

// imageFact: each container's image, "image 1.4.2 → 1.5.0" (the
// repository said once when it does not change).
func imageFact(in factInput) []string {
	bc, ac := containersOf(in.before), containersOf(in.after)
	multi := len(bc) > 1 || len(ac) > 1
	var out []string
	for _, c := range ac {
		label := "image"
		if multi {
			label += " " + c.name
		}
		if len(bc) == 0 {
			out = append(out, label+" "+c.image)
			continue
		}
		p, ok := findContainer(bc, c.name)
		if !ok || p.image == c.image {
			continue
		}
		from, to := imageDelta(p.image, c.image)
		out = append(out, label+" "+from+" → "+to)
	}
	return out
}

// imageDelta shortens two image references for reading: the tags (and
// digests, to 12 hex digits) when the repository is the same, else both
// references.
func imageDelta(a, b string) (string, string) {
	ra, ta := splitImage(a)
	rb, tb := splitImage(b)
	if ra == rb && ta != tb && ta != "" && tb != "" {
		return ta, tb
	}
	return shortDigest(a), shortDigest(b)
}

// splitImage splits an image reference into its repository and its tag
// and digest ("1.5.0", "1.5.0@sha256:0123456789ab", "@sha256:…").
func splitImage(s string) (string, string) {
	repo, digest, _ := strings.Cut(s, "@")
	tag := ""
	if c := strings.LastIndex(repo, ":"); c > strings.LastIndex(repo, "/") {
		repo, tag = repo[:c], repo[c+1:]
	}
	if digest != "" {
		tag += "@" + shortDigest(digest)
	}
	return repo, tag
}

func shortDigest(s string) string {
	i := strings.Index(s, "sha256:")
	if i < 0 || len(s) < i+len("sha256:")+12 {
		return s
	}
	return s[:i+len("sha256:")+12]
}

// scaling is what runs how many pods: the HPA's bounds, or the
// workload's replicas.
type scaling struct {
	workload, hpa bool
	min, max      string
	replicas      string
}

func scalingOf(objs []render.Object) scaling {
	var s scaling
	w, ok := workloadOf(objs)
	if !ok {
		return s
	}
	s.workload = true
	if r := dig(w.obj, "spec", "replicas"); r != nil {
		s.replicas = str(r)
	}
	for _, o := range objs {
		if o.Kind() == "HorizontalPodAutoscaler" {
			s.hpa = true
			s.min, s.max = "1", str(dig(o, "spec", "maxReplicas"))
			if m := dig(o, "spec", "minReplicas"); m != nil {
				s.min = str(m)
			}
			break
		}
	}
	return s
}

// scalingFact: "HPA max 12 → 15", "replicas 2 → 3", an HPA added or
// removed.
func scalingFact(in factInput) []string {
	b, a := scalingOf(in.before), scalingOf(in.after)
	orOne := func(s string) string {
		if s == "" {
			return "1"
		}
		return s
	}
	switch {
	case !a.workload || a.kind() == "" && b.kind() == "":
		return nil
	case !b.workload && a.hpa:
		return []string{fmt.Sprintf("HPA min %s, max %s", a.min, a.max)}
	case !b.workload:
		return []string{"replicas " + orOne(a.replicas)}
	case b.hpa && a.hpa:
		var parts []string
		if b.min != a.min {
			parts = append(parts, "min "+b.min+" → "+a.min)
		}
		if b.max != a.max {
			parts = append(parts, "max "+b.max+" → "+a.max)
		}
		if len(parts) == 0 {
			return nil
		}
		return []string{"HPA " + strings.Join(parts, ", ")}
	case a.hpa:
		return []string{fmt.Sprintf("HPA added: min %s, max %s (was %s replicas)", a.min, a.max, orOne(b.replicas))}
	case b.hpa:
		return []string{fmt.Sprintf("HPA removed: %s replicas (was min %s, max %s)", orOne(a.replicas), b.min, b.max)}
	case b.replicas != a.replicas:
		return []string{"replicas " + orOne(b.replicas) + " → " + orOne(a.replicas)}
	}
	return nil
}

// kind is "" for a workload that neither scales nor runs, so that a Job
// without replicas says nothing.
func (s scaling) kind() string {
	if s.hpa || s.replicas != "" {
		return "scaled"
	}
	return ""
}

// sizeFact: the containers' resources, named by the platform's size
// classes when both sides are one ("size small → medium"), else the
// quantities that change.
func sizeFact(in factInput) []string {
	bc, ac := containersOf(in.before), containersOf(in.after)
	multi := len(bc) > 1 || len(ac) > 1
	var out []string
	for _, c := range ac {
		if len(bc) == 0 {
			if n := sizeName(c.requests, in.sizes); n != "" {
				if multi {
					n = c.name + " " + n
				}
				out = append(out, "size "+n)
			}
			continue
		}
		p, ok := findContainer(bc, c.name)
		if !ok {
			continue
		}
		if t := resourcesDelta(p.requests, p.limits, c.requests, c.limits, in.sizes); t != "" {
			if multi {
				t = c.name + " " + t
			}
			out = append(out, t)
		}
	}
	return out
}

// resourcesDelta says how requests and limits change ("" if they do not).
func resourcesDelta(breq, blim, areq, alim map[string]string, sizes map[string]schema.Size) string {
	if maps.Equal(breq, areq) && maps.Equal(blim, alim) {
		return ""
	}
	if bs, as := sizeName(breq, sizes), sizeName(areq, sizes); bs != "" && as != "" && bs != as {
		return "size " + bs + " → " + as
	}
	var parts []string
	if d := quantityDelta(breq, areq); d != "" {
		parts = append(parts, "requests "+d)
	}
	if d := quantityDelta(blim, alim); d != "" {
		parts = append(parts, "limits "+d)
	}
	return strings.Join(parts, "; ")
}

func quantityDelta(b, a map[string]string) string {
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if b[k] == a[k] {
			continue
		}
		parts = append(parts, k+" "+orNone(b[k])+" → "+orNone(a[k]))
	}
	return strings.Join(parts, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// sizeName is the size class whose requests these are ("" if none).
func sizeName(req map[string]string, sizes map[string]schema.Size) string {
	cpu, ok1 := milliCPU(req["cpu"])
	mem, ok2 := mebibytes(req["memory"])
	if !ok1 || !ok2 {
		return ""
	}
	for _, name := range slices.Sorted(maps.Keys(sizes)) {
		if s := sizes[name]; s.CPUMillicores == cpu && s.MemoryMiB == mem {
			return name
		}
	}
	return ""
}

func milliCPU(q string) (int, bool) {
	if n, ok := strings.CutSuffix(q, "m"); ok {
		v, err := strconv.Atoi(n)
		return v, err == nil
	}
	f, err := strconv.ParseFloat(q, 64)
	return int(f * 1000), err == nil && q != ""
}

func mebibytes(q string) (int, bool) {
	for suffix, factor := range map[string]int{"Mi": 1, "Gi": 1024} {
		if n, ok := strings.CutSuffix(q, suffix); ok {
			v, err := strconv.Atoi(n)
			return v * factor, err == nil
		}
	}
	return 0, false
}

// keyDelta says which names were added, removed and changed:
// "added A, B; removed C; changed D".
func keyDelta(added, removed, changed []string) string {
	var parts []string
	for _, p := range []struct {
		verb  string
		names []string
	}{{"added", added}, {"removed", removed}, {"changed", changed}} {
		if len(p.names) > 0 {
			slices.Sort(p.names)
			parts = append(parts, p.verb+" "+strings.Join(p.names, ", "))
		}
	}
	return strings.Join(parts, "; ")
}

// envNames lists the env entries of the containers, by name (prefixed
// with the container's when there are several), secret ones or not.
func envNames(cs []container, multi, secret bool) map[string]envVar {
	out := map[string]envVar{}
	for _, c := range cs {
		for _, e := range c.env {
			if e.secret != secret {
				continue
			}
			n := e.name
			if multi {
				n = c.name + "/" + n
			}
			out[n] = e
		}
	}
	return out
}

// envFact: plain env keys added, removed and changed, never values. A
// value that changes only by the app's version (OTEL_RESOURCE_ATTRIBUTES'
// service.version) follows the image and is not repeated.
func envFact(in factInput) []string {
	bc, ac := containersOf(in.before), containersOf(in.after)
	if len(bc) == 0 || len(ac) == 0 {
		return nil
	}
	multi := len(bc) > 1 || len(ac) > 1
	b, a := envNames(bc, multi, false), envNames(ac, multi, false)
	vb, va := versionOf(in.before), versionOf(in.after)
	var added, removed, changed []string
	for n, e := range a {
		p, ok := b[n]
		switch {
		case !ok:
			added = append(added, n)
		case p.ref != e.ref:
			changed = append(changed, n)
		case p.value != e.value:
			if vb == "" || va == "" || vb == va || strings.ReplaceAll(p.value, vb, va) != e.value {
				changed = append(changed, n)
			}
		}
	}
	for n := range b {
		if _, ok := a[n]; !ok {
			removed = append(removed, n)
		}
	}
	if d := keyDelta(added, removed, changed); d != "" {
		return []string{"env " + d}
	}
	return nil
}

// secretFact: the secret keys the app reads (env from a Secret) added,
// removed, and changed (another reference, or an ExternalSecret that
// fetches it differently); ExternalSecrets no env reads; the keys of any
// Secret object. Never a value: values are compared, not shown.
func secretFact(in factInput) []string {
	bc, ac := containersOf(in.before), containersOf(in.after)
	var out []string
	if len(bc) > 0 && len(ac) > 0 {
		multi := len(bc) > 1 || len(ac) > 1
		b, a := envNames(bc, multi, true), envNames(ac, multi, true)
		bx, ax := externalSecrets(in.before), externalSecrets(in.after)
		var added, removed, changed []string
		read := map[string]bool{}
		for n, e := range a {
			read[e.secretName] = true
			p, ok := b[n]
			switch {
			case !ok:
				added = append(added, n)
			case p.ref != e.ref || bx[p.secretName] != ax[e.secretName]:
				changed = append(changed, n)
			}
		}
		for n, e := range b {
			read[e.secretName] = true
			if _, ok := a[n]; !ok {
				removed = append(removed, n)
			}
		}
		for name, spec := range ax {
			if prev, ok := bx[name]; ok && prev != spec && !read[name] {
				changed = append(changed, "ExternalSecret "+name)
			}
		}
		if d := keyDelta(added, removed, changed); d != "" {
			out = append(out, "secrets "+d)
		}
	}
	// Secret objects: their keys.
	bs, as := secretKeys(in.before), secretKeys(in.after)
	for _, name := range slices.Sorted(maps.Keys(as)) {
		prev, ok := bs[name]
		if !ok {
			continue
		}
		var added, removed, changed []string
		for k, v := range as[name] {
			pv, ok := prev[k]
			switch {
			case !ok:
				added = append(added, k)
			case pv != v:
				changed = append(changed, k)
			}
		}
		for k := range prev {
			if _, ok := as[name][k]; !ok {
				removed = append(removed, k)
			}
		}
		if d := keyDelta(added, removed, changed); d != "" {
			out = append(out, "Secret "+name+" keys "+d)
		}
	}
	return out
}

// externalSecrets maps the Secret each ExternalSecret writes to its spec.
func externalSecrets(objs []render.Object) map[string]string {
	out := map[string]string{}
	for _, o := range byKind(objs, "external-secrets.io", "ExternalSecret") {
		target := str(dig(o, "spec", "target", "name"))
		if target == "" {
			target = o.Name()
		}
		out[target] = jsonString(dig(o, "spec"))
	}
	return out
}

// secretKeys maps each v1 Secret to its keys and a fingerprint of each
// value, for comparison only.
func secretKeys(objs []render.Object) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, o := range byKind(objs, "", "Secret") {
		keys := map[string]string{}
		for _, field := range []string{"data", "stringData"} {
			m, _ := o[field].(map[string]any)
			for k, v := range m {
				keys[k] = field + "\x00" + str(v)
			}
		}
		out[o.Name()] = keys
	}
	return out
}

// ingressFact: the hosts and paths the app's Ingresses route.
func ingressFact(in factInput) []string {
	b, a := routesOf(in.before), routesOf(in.after)
	switch {
	case slices.Equal(b, a):
		return nil
	case len(b) == 0:
		return []string{"ingress added " + strings.Join(a, ", ")}
	case len(a) == 0:
		return []string{"ingress removed " + strings.Join(b, ", ")}
	case len(b) == 1 && len(a) == 1:
		return []string{"ingress " + b[0] + " → " + a[0]}
	}
	added, removed := listDelta(b, a)
	return []string{"ingress " + keyDelta(added, removed, nil)}
}

// routesOf lists host+path of every Ingress rule, sorted.
func routesOf(objs []render.Object) []string {
	var out []string
	for _, o := range byKind(objs, "networking.k8s.io", "Ingress") {
		rules, _ := dig(o, "spec", "rules").([]any)
		for _, r := range rules {
			rm, _ := r.(map[string]any)
			host := str(rm["host"])
			paths, _ := dig(render.Object(rm), "http", "paths").([]any)
			for _, p := range paths {
				pm, _ := p.(map[string]any)
				out = append(out, host+str(pm["path"]))
			}
			if len(paths) == 0 {
				out = append(out, host)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// scheduleFact: a CronJob's schedule.
func scheduleFact(in factInput) []string {
	b, a := scheduleOf(in.before), scheduleOf(in.after)
	switch {
	case a == "" || a == b:
		return nil
	case b == "":
		return []string{fmt.Sprintf("schedule %q", a)}
	}
	return []string{fmt.Sprintf("schedule %q → %q", b, a)}
}

func scheduleOf(objs []render.Object) string {
	if o := first(objs, "batch", "CronJob"); o != nil {
		return str(dig(o, "spec", "schedule"))
	}
	return ""
}

// rollout is how a new version rolls out: "rolling" (the Deployment's
// own), "canary" or "blue-green" (a Flagger Canary), and the Canary's
// analysis settings.
type rollout struct {
	strategy string
	analysis map[string]string
}

var analysisFields = []string{"interval", "threshold", "maxWeight", "stepWeight", "iterations"}

func rolloutOf(objs []render.Object) rollout {
	w, ok := workloadOf(objs)
	if !ok || w.kind != "Deployment" {
		return rollout{}
	}
	o := first(objs, "flagger.app", "Canary")
	if o == nil {
		return rollout{strategy: "rolling"}
	}
	r := rollout{strategy: "canary", analysis: map[string]string{}}
	if dig(o, "spec", "analysis", "iterations") != nil {
		r.strategy = "blue-green"
	}
	for _, f := range analysisFields {
		if v := dig(o, "spec", "analysis", f); v != nil {
			r.analysis[f] = str(v)
		}
	}
	return r
}

// rolloutFact: "rollout rolling → canary", or a Canary's analysis
// settings ("rollout canary stepWeight 10 → 20").
func rolloutFact(in factInput) []string {
	b, a := rolloutOf(in.before), rolloutOf(in.after)
	switch {
	case a.strategy == "" || a.strategy == "rolling" && b.strategy == "":
		return nil
	case b.strategy == "":
		return []string{"rollout " + a.strategy}
	case b.strategy != a.strategy:
		return []string{"rollout " + b.strategy + " → " + a.strategy}
	}
	var parts []string
	for _, f := range analysisFields {
		if b.analysis[f] != a.analysis[f] {
			parts = append(parts, f+" "+orNone(b.analysis[f])+" → "+orNone(a.analysis[f]))
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return []string{"rollout " + a.strategy + " " + strings.Join(parts, ", ")}
}

// database is what a fact reads of a CloudNativePG Cluster.
type database struct {
	instances, storage, image string
	requests, limits          map[string]string
}

// databasesOf maps each of the app's databases (a CloudNativePG Cluster
// named <app>-<db>) to what it runs.
func databasesOf(app string, objs []render.Object) map[string]database {
	out := map[string]database{}
	for _, o := range byKind(objs, "postgresql.cnpg.io", "Cluster") {
		name := strings.TrimPrefix(o.Name(), app+"-")
		out[name] = database{
			instances: str(dig(o, "spec", "instances")),
			storage:   str(dig(o, "spec", "storage", "size")),
			image:     str(dig(o, "spec", "imageName")),
			requests:  quantities(dig(o, "spec", "resources", "requests")),
			limits:    quantities(dig(o, "spec", "resources", "limits")),
		}
	}
	return out
}

// databaseFact: a database added (its instances and storage), removed,
// or changed (instances, storage, version, size).
func databaseFact(in factInput) []string {
	b, a := databasesOf(in.app, in.before), databasesOf(in.app, in.after)
	var out []string
	for _, name := range slices.Sorted(maps.Keys(a)) {
		d := a[name]
		p, ok := b[name]
		if !ok {
			out = append(out, fmt.Sprintf("database %s added: %s instances, %s", name, orNone(d.instances), orNone(d.storage)))
			continue
		}
		var parts []string
		if p.instances != d.instances {
			parts = append(parts, "instances "+orNone(p.instances)+" → "+orNone(d.instances))
		}
		if p.storage != d.storage {
			parts = append(parts, "storage "+orNone(p.storage)+" → "+orNone(d.storage))
		}
		if p.image != d.image {
			from, to := imageDelta(p.image, d.image)
			parts = append(parts, "image "+from+" → "+to)
		}
		if r := resourcesDelta(p.requests, p.limits, d.requests, d.limits, in.sizes); r != "" {
			parts = append(parts, r)
		}
		if len(parts) > 0 {
			out = append(out, "database "+name+" "+strings.Join(parts, ", "))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[name]; !ok {
			out = append(out, "database "+name+" removed")
		}
	}
	return out
}

// listDelta returns the elements of after not in before (added) and of
// before not in after (removed), in their lists' order.
func listDelta(before, after []string) (added, removed []string) {
	for _, x := range after {
		if !slices.Contains(before, x) {
			added = append(added, x)
		}
	}
	for _, x := range before {
		if !slices.Contains(after, x) {
			removed = append(removed, x)
		}
	}
	return added, removed
}

// dependsOnFact: the apps the app's Flux Kustomization waits for (its
// dependsOn, the tenant aside), added or removed.
func dependsOnFact(in factInput) []string {
	b, okb := dependsOnOf(in.before)
	a, oka := dependsOnOf(in.after)
	if !okb || !oka {
		return nil
	}
	added, removed := listDelta(b, a)
	if d := keyDelta(added, removed, nil); d != "" {
		return []string{"dependsOn " + d}
	}
	return nil
}

func dependsOnOf(objs []render.Object) ([]string, bool) {
	o := first(objs, "kustomize.toolkit.fluxcd.io", "Kustomization")
	if o == nil {
		return nil, false
	}
	var out []string
	list, _ := dig(o, "spec", "dependsOn").([]any)
	for _, d := range list {
		dm, _ := d.(map[string]any)
		if n := str(dm["name"]); n != "" && !strings.HasPrefix(n, "tenant-") {
			out = append(out, n)
		}
	}
	return out, true
}

// dashboardFact: the app's Grafana dashboard (the ConfigMap
// <app>-dashboard) changed beyond its labels.
func dashboardFact(in factInput) []string {
	find := func(objs []render.Object) render.Object {
		for _, o := range byKind(objs, "", "ConfigMap") {
			if o.Name() == in.app+"-dashboard" {
				return o
			}
		}
		return nil
	}
	b, a := find(in.before), find(in.after)
	if b == nil || a == nil || reflect.DeepEqual(b["data"], a["data"]) {
		return nil
	}
	return []string{"dashboard changed"}
}

// catalogFact: the Backstage entity of an app (its Component) or of a
// team (its Group) added, removed, or the fields that changed.
func catalogFact(in factInput) []string {
	kind, what := "Component", "catalog entry"
	if in.app == "" {
		kind, what = "Group", "catalog group"
	}
	b, a := first(in.before, "backstage.io", kind), first(in.after, "backstage.io", kind)
	switch {
	case b == nil && a == nil:
		return nil
	case b == nil:
		return []string{what + " added"}
	case a == nil:
		return []string{what + " removed"}
	}
	var fields []string
	for _, part := range []string{"metadata", "spec"} {
		bm, _ := b[part].(map[string]any)
		am, _ := a[part].(map[string]any)
		keys := map[string]bool{}
		for k := range bm {
			keys[k] = true
		}
		for k := range am {
			keys[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			if !reflect.DeepEqual(bm[k], am[k]) {
				fields = append(fields, k)
			}
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return []string{what + ": " + strings.Join(fields, ", ") + " changed"}
}

// objectsFact: objects added and removed, by kind ("objects added
// Canary checkout, MetricTemplate ×2; removed Service checkout"), or the
// whole app (or tenant) added or removed in a cluster. The catalog has
// its own fact.
func objectsFact(in factInput) []string {
	ids := func(objs []render.Object) map[string]render.Object {
		out := map[string]render.Object{}
		for _, o := range objs {
			if g, _ := o.GroupVersion(); g == "backstage.io" {
				continue
			}
			out[o.ID()] = o
		}
		return out
	}
	b, a := ids(in.before), ids(in.after)
	what := "app"
	if in.app == "" {
		what = "tenant"
	}
	switch {
	case len(b) == 0 && len(a) == 0:
		return nil
	case len(b) == 0:
		return []string{fmt.Sprintf("%s added (%d objects)", what, len(a))}
	case len(a) == 0:
		return []string{fmt.Sprintf("%s removed (%d objects)", what, len(b))}
	}
	kinds := func(from, other map[string]render.Object) []string {
		count, name := map[string]int{}, map[string]string{}
		for id, o := range from {
			if _, ok := other[id]; !ok {
				count[o.Kind()]++
				name[o.Kind()] = o.Name()
			}
		}
		var out []string
		for _, k := range slices.Sorted(maps.Keys(count)) {
			if count[k] > 1 {
				out = append(out, fmt.Sprintf("%s ×%d", k, count[k]))
			} else {
				out = append(out, k+" "+name[k])
			}
		}
		return out
	}
	if d := keyDelta(kinds(a, b), kinds(b, a), nil); d != "" {
		return []string{"objects " + d}
	}
	return nil
}
