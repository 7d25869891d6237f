package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

// fluxState is what a cluster says of one Flux Kustomization: whether
// it is Ready, on which fleet revision it last applied, or why paved
// could not tell (Err).
type fluxState struct {
	Ready    bool
	Reason   string
	Revision string // the fleet commit (sha) of lastAppliedRevision
	Err      error
}

var kustomizationGVR = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}

// fluxReader reads Flux Kustomizations of clusters through kubeconfig
// contexts (kubeconfig: a file, else KUBECONFIG or ~/.kube/config), one
// client per context.
type fluxReader struct {
	kubeconfig string
	clients    map[string]dynamic.Interface
}

func newFluxReader(kubeconfig string) *fluxReader {
	return &fluxReader{kubeconfig: kubeconfig, clients: map[string]dynamic.Interface{}}
}

// get reads Kustomization namespace/name through context kctx.
func (r *fluxReader) get(kctx, namespace, name string) fluxState {
	c, ok := r.clients[kctx]
	if !ok {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if r.kubeconfig != "" {
			rules.ExplicitPath = r.kubeconfig
		}
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kctx}).ClientConfig()
		if err != nil {
			return fluxState{Err: fmt.Errorf("kubeconfig context %q: %w", kctx, err)}
		}
		cfg.Timeout = 15 * time.Second
		if c, err = dynamic.NewForConfig(cfg); err != nil {
			return fluxState{Err: fmt.Errorf("kubeconfig context %q: %w", kctx, err)}
		}
		r.clients[kctx] = c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	u, err := c.Resource(kustomizationGVR).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fluxState{Err: fmt.Errorf("reading Kustomization %s/%s (context %s): %w", namespace, name, kctx, err)}
	}
	return kustomizationState(u)
}

// kustomizationState reads a Kustomization's Ready condition and last
// applied revision (Flux writes "<branch>@sha1:<commit>").
func kustomizationState(u *unstructured.Unstructured) fluxState {
	var s fluxState
	rev, _, _ := unstructured.NestedString(u.Object, "status", "lastAppliedRevision")
	if i := strings.LastIndex(rev, ":"); i >= 0 {
		rev = rev[i+1:]
	}
	s.Revision = rev
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	s.Reason = "no Ready condition yet"
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != "Ready" {
			continue
		}
		s.Ready = m["status"] == "True"
		reason, _ := m["reason"].(string)
		msg, _ := m["message"].(string)
		s.Reason = strings.TrimSpace(reason + ": " + msg)
	}
	return s
}
