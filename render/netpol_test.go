package render_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/paved-dev/paved/render"
)

// pod is a workload's pod as NetworkPolicies see it.
type pod struct {
	app, namespace string
	labels         labels.Set
	port           int32 // the app's HTTP port, 0 for none
}

// TestNetworkPoliciesAdmitExactlyDeclaredEdges evaluates the rendered
// NetworkPolicies (apps and tenants, as Kubernetes does: a pod selected by
// a policy of a direction is isolated in it and admits only what a rule
// of such a policy admits; traffic needs the sender's egress and the
// receiver's ingress) between every pair of example workloads in every
// cluster: an app reaches another's HTTP port exactly when it lists it in
// dependsOn, within its team and across teams, and no other pair talks.
// Render locality means neither side names the other's spec: the caller
// labels its own pods, the callee admits that label.
func TestNetworkPoliciesAdmitExactlyDeclaredEdges(t *testing.T) {
	in := loadExamples(t)
	tree, err := render.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string][]string{}
	for _, a := range in.Apps {
		declared[a.Base.Team+"/"+a.Base.Name] = a.Base.Dependencies()
	}
	edges, crossTeam := 0, 0
	for _, ct := range render.Clusters(in.Platform) {
		var pods []pod
		var policies []networkingv1.NetworkPolicy
		nsLabels := map[string]labels.Set{}
		for _, u := range tree.Units {
			if u.Cluster != ct.Name {
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
					policies = append(policies, np)
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
					nsLabels[ns.Metadata.Name] = l
				case "Deployment", "CronJob":
					pods = append(pods, workloadPod(t, u.App.Base.Team+"/"+u.App.Base.Name, js))
				}
			}
		}
		if len(pods) != len(in.Apps) {
			t.Fatalf("%s: %d workloads for %d apps", ct.Name, len(pods), len(in.Apps))
		}
		for _, from := range pods {
			for _, to := range pods {
				if from.app == to.app || to.port == 0 {
					continue
				}
				want := slices.Contains(declared[from.app], to.app)
				got := admits(policies, nsLabels, from, to, to.port, true) && admits(policies, nsLabels, from, to, to.port, false)
				if got != want {
					t.Errorf("%s: %s -> %s:%d admitted %v, declared %v", ct.Name, from.app, to.app, to.port, got, want)
				}
				if want {
					edges++
					if from.namespace != to.namespace {
						crossTeam++
					}
				}
				// No other port of the callee is reachable.
				if admits(policies, nsLabels, from, to, to.port+1, true) && admits(policies, nsLabels, from, to, to.port+1, false) {
					t.Errorf("%s: %s -> %s admitted on port %d", ct.Name, from.app, to.app, to.port+1)
				}
			}
		}
	}
	if edges == 0 || crossTeam == 0 {
		t.Fatalf("the examples exercised %d declared edges to web apps, %d across teams: want both", edges, crossTeam)
	}
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
		if peer.IPBlock != nil {
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
