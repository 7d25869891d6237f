// Package e2e is paved's end-to-end test against real Flux: a
// kube-apiserver and etcd (as controller-runtime's envtest runs them) and
// Flux's source-controller and kustomize-controller as local processes on
// 127.0.0.1 reconcile the fleet repository that `paved commit` writes,
// served over smart HTTP by git http-backend.
//
// The package lives in its own module so that paved's go.mod does not pull
// in Kubernetes. build.sh builds the four binaries (once per version, into a
// cache directory) and prints the environment the test reads; `make e2e`
// runs both. Without PAVED_E2E=1 the test skips.
package e2e
