package render_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

// pod is a workload's pod as NetworkPolicies see it.
type pod struct {
	app, namespace string
	// owner is the app a database belongs to ("" for an app's pod).
	owner  string
	labels labels.Set
	port   int32 // the app's HTTP port (5432 for a database), 0 for none
	// ip is an address outside the cluster's pods ("" for a pod): only
	// ipBlock peers select it.
	ip string
}

// TestNetworkPoliciesAdmitExactlyDeclaredEdges evaluates the rendered
// NetworkPolicies (apps and tenants, as Kubernetes does: a pod selected by
// a policy of a direction is isolated in it and admits only what a rule
// of such a policy admits; traffic needs the sender's egress and the
// receiver's ingress) between every pair of example workloads in every
// cluster: an app reaches another's HTTP port exactly when it lists it in
// calls and the callee accepts it (its own team's apps, and acceptsFrom),
// within its team and across teams, and no other pair talks (dependsOn,
// Flux's apply order, opens nothing). Render locality means neither side
// names the other's spec: the caller labels its own pods, the callee
// admits that label from the callers it accepts.
func TestNetworkPoliciesAdmitExactlyDeclaredEdges(t *testing.T) {
	checkDeclaredEdges(t, loadExamples(t), true)
}

// TestNetworkPoliciesRefuseUnacceptedCallers (issue 28): two apps that
// call each other across teams, each accepting the other, talk both ways
// (no dependsOn cycle, no Flux order); a caller of another team that the
// callee does not accept, and one accepted only as another app of its
// team, are refused; "*" accepts every caller.
func TestNetworkPoliciesRefuseUnacceptedCallers(t *testing.T) {
	in := loadApps(t, "testdata/calls", "", 5)
	refused := checkDeclaredEdges(t, in, false)
	if refused < 2 {
		t.Fatalf("%d calls refused for want of acceptance: the fixture must exercise an unaccepted caller", refused)
	}
}

// accepts reports whether callee admits calls from app (team/name).
func accepts(callee schema.Spec, app string) bool {
	team, _, _ := strings.Cut(app, "/")
	return team == callee.Team || slices.Contains(callee.AcceptsFrom, "*") || slices.Contains(callee.AcceptsFrom, team) || slices.Contains(callee.AcceptsFrom, app)
}

// checkDeclaredEdges evaluates the policies between every pair of the
// apps' workloads in every cluster against their calls and acceptsFrom,
// and returns how many declared calls the callee refuses.
func checkDeclaredEdges(t *testing.T, in render.Input, examples bool) int {
	t.Helper()
	tree, err := render.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string][]string{}
	specs := map[string]schema.Spec{}
	for _, a := range in.Apps {
		declared[a.Base.Team+"/"+a.Base.Name] = a.Base.CallIDs()
		specs[a.Base.Team+"/"+a.Base.Name] = a.Base
	}
	edges, crossTeam, primaries, refused := 0, 0, 0, 0
	for _, ct := range render.Clusters(in.Platform) {
		w := clusterWorld(t, tree, ct.Name)
		if len(w.apps) != len(in.Apps) {
			t.Fatalf("%s: %d workloads for %d apps", ct.Name, len(w.apps), len(in.Apps))
		}
		pods := append(append([]pod{}, w.apps...), w.primaries...)
		primaries += len(w.primaries)
		for _, from := range pods {
			for _, to := range pods {
				if from.app == to.app || to.port == 0 {
					continue
				}
				called := slices.Contains(declared[from.app], to.app)
				want := called && accepts(specs[to.app], from.app)
				if called && !want {
					refused++
				}
				got := w.reaches(from, to, to.port)
				if got != want {
					t.Errorf("%s: %s (%s) -> %s (%s):%d admitted %v, declared %v", ct.Name, from.app, from.labels["app.kubernetes.io/name"], to.app, to.labels["app.kubernetes.io/name"], to.port, got, want)
				}
				if want {
					edges++
					if from.namespace != to.namespace {
						crossTeam++
					}
				}
				// No other port of the callee is reachable.
				if w.reaches(from, to, to.port+1) {
					t.Errorf("%s: %s -> %s admitted on port %d", ct.Name, from.app, to.app, to.port+1)
				}
			}
		}
	}
	if edges == 0 || crossTeam == 0 {
		t.Fatalf("the apps exercised %d declared edges to web apps, %d across teams: want both", edges, crossTeam)
	}
	if examples && primaries == 0 {
		t.Fatal("the examples have no canary or blue-green app: the primary's pods were not exercised")
	}
	return refused
}

// TestNetworkPoliciesAdmitExactlyDatabaseEdges evaluates the policies
// around every example database (a CloudNativePG Cluster's instance pods,
// labelled as the operator labels them) in every cluster: the owning
// app's pods (its Flagger primary's too) reach it on 5432 and nothing
// else of it; the operator reaches 5432 and 8000; the instances reach one
// another on both; Prometheus reaches only the exporter's 9187; every
// other app, every other database, the ingress controller and Prometheus
// reach neither 5432 nor 8000. The database's ingress is judged alone
// (a sender's egress cannot be relied on), the app's and the instances'
// egress as well.
func TestNetworkPoliciesAdmitExactlyDatabaseEdges(t *testing.T) {
	in := loadExamples(t)
	tree, err := render.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	p := in.Platform.Value()
	str := func(path string) string {
		s, err := p.LookupPath(cue.ParsePath(path)).String()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	strMap := func(path string) labels.Set {
		var m map[string]string
		if err := p.LookupPath(cue.ParsePath(path)).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	operator := pod{app: "(operator)", namespace: str("platform.databases.operator.namespace"), labels: strMap("platform.databases.operator.podLabels")}
	prometheus := pod{app: "(prometheus)", namespace: str("platform.monitoring.namespace"), labels: labels.Set{"app.kubernetes.io/name": "prometheus"}}
	ingress := pod{app: "(ingress)", namespace: str("platform.ingress.namespace"), labels: strMap("platform.ingress.podLabels")}
	checked := 0
	for _, ct := range render.Clusters(in.Platform) {
		w := clusterWorld(t, tree, ct.Name)
		others := append(append(append([]pod{}, w.apps...), w.primaries...), w.databases...)
		others = append(others, operator, prometheus, ingress)
		for _, db := range w.databases {
			checked++
			for _, from := range others {
				sameDB := from.app == db.app
				owner := from.owner == "" && from.app == db.owner
				for _, c := range []struct {
					port int32
					want bool
				}{
					{5432, owner || sameDB || from.app == operator.app},
					{8000, sameDB || from.app == operator.app},
					{9187, from.app == prometheus.app},
					{5433, false},
				} {
					// The database's own policy decides, whatever the
					// sender's egress (a pod paved does not render may
					// allow everything); paved's pods must also be let out.
					if got := admits(w.policies, w.nsLabels, from, db, c.port, true); got != c.want {
						t.Errorf("%s: %s (%s) -> database %s:%d admitted by its policy %v, want %v", ct.Name, from.app, from.labels["app.kubernetes.io/name"], db.app, c.port, got, c.want)
					}
					if c.want && (owner || sameDB) && !w.reaches(from, db, c.port) {
						t.Errorf("%s: %s (%s) may not leave for database %s:%d", ct.Name, from.app, from.labels["app.kubernetes.io/name"], db.app, c.port)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("the examples have no database")
	}
}

// world is one cluster's pods and NetworkPolicies as Kubernetes would
// see them: the apps' workloads; for each Flagger Canary the primary's
// pods, labelled as Flagger labels them (the selector label
// app.kubernetes.io/name gets the -primary suffix, the rest is copied);
// for each CloudNativePG Cluster an instance pod labelled as the
// operator labels it (cnpg.io/cluster, the recommended labels with the
// cluster as instance, the inherited metadata).
type world struct {
	apps, primaries, databases []pod
	policies                   []networkingv1.NetworkPolicy
	nsLabels                   map[string]labels.Set
}

func clusterWorld(t *testing.T, tree *render.Tree, cluster string) *world {
	t.Helper()
	w := &world{nsLabels: map[string]labels.Set{}}
	type canary struct{ app, target string }
	var canaries []canary
	for _, u := range tree.Units {
		if u.Cluster != cluster {
			continue
		}
		for _, b := range u.Objects {
			kind, _ := b.Object["kind"].(string)
			js, err := json.Marshal(b.Object)
			if err != nil {
				t.Fatal(err)
			}
			switch kind {
			case "NetworkPolicy":
				var np networkingv1.NetworkPolicy
				if err := json.Unmarshal(js, &np); err != nil {
					t.Fatal(err)
				}
				w.policies = append(w.policies, np)
			case "Namespace":
				var ns struct {
					Metadata metav1.ObjectMeta `json:"metadata"`
				}
				if err := json.Unmarshal(js, &ns); err != nil {
					t.Fatal(err)
				}
				l := labels.Set{"kubernetes.io/metadata.name": ns.Metadata.Name}
				for k, v := range ns.Metadata.Labels {
					l[k] = v
				}
				w.nsLabels[ns.Metadata.Name] = l
			case "Deployment", "CronJob":
				w.apps = append(w.apps, workloadPod(t, u.App.Base.Team+"/"+u.App.Base.Name, js))
			case "Canary":
				var cd struct {
					Spec struct {
						TargetRef struct{ Name string } `json:"targetRef"`
					} `json:"spec"`
				}
				if err := json.Unmarshal(js, &cd); err != nil {
					t.Fatal(err)
				}
				canaries = append(canaries, canary{u.App.Base.Team + "/" + u.App.Base.Name, cd.Spec.TargetRef.Name})
			case "Cluster":
				var c struct {
					Metadata metav1.ObjectMeta `json:"metadata"`
					Spec     struct {
						InheritedMetadata struct {
							Labels map[string]string `json:"labels"`
						} `json:"inheritedMetadata"`
					} `json:"spec"`
				}
				if err := json.Unmarshal(js, &c); err != nil {
					t.Fatal(err)
				}
				l := labels.Set{}
				for k, v := range c.Spec.InheritedMetadata.Labels {
					l[k] = v
				}
				for k, v := range map[string]string{
					"cnpg.io/cluster": c.Metadata.Name, "cnpg.io/podRole": "instance", "cnpg.io/instanceRole": "primary",
					"app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": c.Metadata.Name,
					"app.kubernetes.io/component": "database", "app.kubernetes.io/managed-by": "cloudnative-pg",
				} {
					l[k] = v
				}
				w.databases = append(w.databases, pod{
					app: c.Metadata.Namespace + "/" + c.Metadata.Name, owner: u.App.Base.Team + "/" + u.App.Base.Name,
					namespace: c.Metadata.Namespace, labels: l, port: 5432,
				})
			}
		}
	}
	for _, cd := range canaries {
		for _, a := range w.apps {
			if a.app != cd.app {
				continue
			}
			l := labels.Set{}
			for k, v := range a.labels {
				l[k] = v
			}
			l["app.kubernetes.io/name"] = cd.target + "-primary"
			w.primaries = append(w.primaries, pod{app: a.app, namespace: a.namespace, labels: l, port: a.port})
		}
	}
	return w
}

// reaches reports whether from may open a connection to to's port: to's
// ingress and from's egress both admit it.
func (w *world) reaches(from, to pod, port int32) bool {
	return admits(w.policies, w.nsLabels, from, to, port, true) && admits(w.policies, w.nsLabels, from, to, port, false)
}

// workloadPod reads the pod template of a Deployment or CronJob.
func workloadPod(t *testing.T, app string, js []byte) pod {
	var w struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
		Spec     struct {
			Template    podTemplate `json:"template"`
			JobTemplate struct {
				Spec struct {
					Template podTemplate `json:"template"`
				} `json:"spec"`
			} `json:"jobTemplate"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(js, &w); err != nil {
		t.Fatal(err)
	}
	tpl := w.Spec.Template
	if tpl.Metadata.Labels == nil {
		tpl = w.Spec.JobTemplate.Spec.Template
	}
	p := pod{app: app, namespace: w.Metadata.Namespace, labels: tpl.Metadata.Labels}
	for _, c := range tpl.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == "http" {
				p.port = cp.ContainerPort
			}
		}
	}
	return p
}

type podTemplate struct {
	Metadata metav1.ObjectMeta `json:"metadata"`
	Spec     struct {
		Containers []struct {
			Ports []struct {
				Name          string `json:"name"`
				ContainerPort int32  `json:"containerPort"`
			} `json:"ports"`
		} `json:"containers"`
	} `json:"spec"`
}

// admits reports whether the policies let from reach to on port in one
// direction: ingress at to (ingress true) or egress at from.
func admits(policies []networkingv1.NetworkPolicy, nsLabels map[string]labels.Set, from, to pod, port int32, ingress bool) bool {
	subject, peer := to, from
	dir := networkingv1.PolicyTypeIngress
	if !ingress {
		subject, peer, dir = from, to, networkingv1.PolicyTypeEgress
	}
	isolated := false
	for _, np := range policies {
		if np.Namespace != subject.namespace || !slices.Contains(np.Spec.PolicyTypes, dir) || !selects(&np.Spec.PodSelector, subject.labels) {
			continue
		}
		isolated = true
		if ingress {
			for _, r := range np.Spec.Ingress {
				if peersMatch(r.From, np.Namespace, nsLabels, peer) && portsMatch(r.Ports, port) {
					return true
				}
			}
		} else {
			for _, r := range np.Spec.Egress {
				if peersMatch(r.To, np.Namespace, nsLabels, peer) && portsMatch(r.Ports, port) {
					return true
				}
			}
		}
	}
	return !isolated
}

func selects(s *metav1.LabelSelector, l labels.Set) bool {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		panic(fmt.Sprintf("selector %v: %v", s, err))
	}
	return sel.Matches(l)
}

// peersMatch: an empty list admits every peer; a peer with a pod selector
// alone selects pods of the policy's namespace; with a namespace selector,
// pods of the selected namespaces; an ipBlock selects no pod here (pods
// have private addresses, which paved's blocks except).
func peersMatch(peers []networkingv1.NetworkPolicyPeer, policyNS string, nsLabels map[string]labels.Set, p pod) bool {
	if len(peers) == 0 {
		return true
	}
	for _, peer := range peers {
		if peer.IPBlock != nil || p.ip != "" {
			if peer.IPBlock != nil && p.ip != "" && inBlock(peer.IPBlock, p.ip) {
				return true
			}
			continue
		}
		nsOK := p.namespace == policyNS
		if peer.NamespaceSelector != nil {
			l := nsLabels[p.namespace]
			if l == nil {
				l = labels.Set{"kubernetes.io/metadata.name": p.namespace}
			}
			nsOK = selects(peer.NamespaceSelector, l)
		}
		podOK := peer.PodSelector == nil || selects(peer.PodSelector, p.labels)
		if nsOK && podOK {
			return true
		}
	}
	return false
}

// inBlock reports whether ip is in the block's CIDR and none of its
// exceptions.
func inBlock(b *networkingv1.IPBlock, ip string) bool {
	addr := netip.MustParseAddr(ip)
	if !netip.MustParsePrefix(b.CIDR).Contains(addr) {
		return false
	}
	for _, e := range b.Except {
		if netip.MustParsePrefix(e).Contains(addr) {
			return false
		}
	}
	return true
}

// TestNetworkPoliciesEgressExactlyDeclared (issue 28): nothing leaves an
// app's pods for what paved does not deploy unless the app declares it in
// egress. An address on the internet is reachable on a port exactly when
// the app declares a host outside the cluster on that port; an address in
// the private ranges never (the cluster's and the company's own); a
// Service's pods in another namespace exactly on the declared port.
func TestNetworkPoliciesEgressExactlyDeclared(t *testing.T) {
	in := loadExamples(t)
	tree, err := render.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	type decl struct {
		external map[int]bool
		services map[string]bool // <namespace>:<port>
	}
	declared := map[string]decl{}
	n := 0
	for _, a := range in.Apps {
		d := decl{external: map[int]bool{}, services: map[string]bool{}}
		for _, e := range a.Base.Egress {
			n++
			if e.Internal() {
				d.services[fmt.Sprintf("%s:%d", strings.Split(e.Host, ".")[1], e.Port)] = true
			} else {
				d.external[e.Port] = true
			}
		}
		declared[a.Base.Team+"/"+a.Base.Name] = d
	}
	if n == 0 {
		t.Fatal("no example declares an egress")
	}
	internet := pod{app: "(internet)", ip: "93.184.216.34"}
	private := pod{app: "(private)", ip: "10.20.30.40"}
	kafka := pod{app: "(kafka)", namespace: "search", labels: labels.Set{"app": "kafka"}}
	for _, ct := range render.Clusters(in.Platform) {
		w := clusterWorld(t, tree, ct.Name)
		for _, from := range w.apps {
			d := declared[from.app]
			for _, port := range []int32{443, 80, 9092} {
				if got, want := admits(w.policies, w.nsLabels, from, internet, port, false), d.external[int(port)]; got != want {
					t.Errorf("%s: %s -> the internet :%d let out %v, want %v", ct.Name, from.app, port, got, want)
				}
				if admits(w.policies, w.nsLabels, from, private, port, false) {
					t.Errorf("%s: %s -> a private address :%d let out", ct.Name, from.app, port)
				}
				if got, want := admits(w.policies, w.nsLabels, from, kafka, port, false), d.services[fmt.Sprintf("search:%d", port)]; got != want {
					t.Errorf("%s: %s -> a pod of namespace search :%d let out %v, want %v", ct.Name, from.app, port, got, want)
				}
			}
		}
	}
}

func portsMatch(ports []networkingv1.NetworkPolicyPort, port int32) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		if p.Port == nil || p.Port.IntValue() == int(port) {
			return true
		}
	}
	return false
}
