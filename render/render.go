package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"cuelang.org/go/cue"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"

	"github.com/paved-dev/paved/internal/cache"
	"github.com/paved-dev/paved/internal/intern"
	"github.com/paved-dev/paved/internal/workpool"
	"github.com/paved-dev/paved/schema"
)

// Source says where an app's spec comes from; it is recorded in
// annotations and the ownership manifest.
type Source struct {
	// ID is the source identity (--source, else the normalised origin
	// URL: host/owner/name): the fleet's apps belong to their source.
	ID       string
	Repo     string // source repository URL, credentials stripped
	Revision string // commit the spec was read at ("" outside git)
	Path     string // app directory relative to the repository root
}

// App is an app to render with its source.
type App struct {
	*schema.App
	Source Source
	// Docs says the app's directory holds TechDocs (mkdocs.yml): its
	// catalog entry then carries backstage.io/techdocs-ref.
	Docs bool
	// preview, for a pull request's preview (RenderPreviews), replaces
	// the app's effective spec and host.
	preview *previewOverride
}

// Input is everything Render needs.
type Input struct {
	Platform *schema.Platform
	Apps     []App
	// Version is paved's version, recorded in ownership manifests and the
	// inputs digest.
	Version string

	// Workers is how many apps are evaluated at once; Fork(w) lends worker
	// w a platform to evaluate one job in (a CUE context no other job
	// uses) until release. With Workers below 2 or no Fork, apps are
	// evaluated one by one in Platform.
	Workers int
	Fork    func(worker int) (p *schema.Platform, release func(), err error)
	// Cache, when not nil, keeps blueprint evaluations by input digest.
	Cache *cache.Cache
	// OnApp, when not nil, is called after each app is evaluated (from the
	// worker goroutines), for progress.
	OnApp func()
	// Stage, when not nil, is called as each stage starts (evaluate,
	// build) and the func it returns as the stage ends, for --timings.
	Stage func(name string) func()
	// Use is what the caller does with the tree, and so what it keeps.
	Use Use
	// Fleet are the apps the fleet holds that this render does not
	// render and that stay after its change (commit, diff, verify and
	// rerender read them from the ownership manifests). A team's tenant
	// quota is the sum of all of its apps in the cluster, whichever source
	// renders them, so a render counts these beside its own, and renders
	// the team's tenant in each cluster where they are. Only the teams a
	// render touches need be given: the tenants of a team named here are
	// rendered in every cluster where it has an app after the change.
	// Without them (render --out, lint) a tenant counts the apps rendered.
	Fleet []FleetApp
}

// Use says what a caller does with a render's tree: write its files, read
// its built objects, or both.
type Use int

const (
	// WriteAndRead keeps every file and every object (commit: writes the
	// fleet and lints it).
	WriteAndRead Use = iota
	// ReadOnly renders for a caller that reads the built objects and
	// writes nothing (lint, diff): object files are not encoded up front
	// (Tree.File encodes one on demand) and no ownership manifests are
	// made. The built units are exactly those of a full render
	// (TestReadOnlyRender).
	ReadOnly
	// WriteOnly renders for a caller that writes the files and reads no
	// object (render --out): once an object's file is encoded the tree
	// keeps only its identity (apiVersion, kind, namespace, name), which
	// is all a plain directory's build reads, so a large fleet is not held
	// twice. Files are byte for byte those of a full render, and every
	// directory is built as in one (TestWriteOnlyRender); the units'
	// objects are those identities, except in directories kustomize
	// built, and carry no Patched paths.
	WriteOnly
)

func (in Input) stage(name string) func() {
	if in.Stage == nil {
		return func() {}
	}
	return in.Stage(name)
}

// Error is a render failure (exit code 3): a blueprint or build problem
// rather than invalid input.
type Error struct {
	Where string // app, cluster or directory concerned
	Err   error
}

func (e *Error) Error() string { return e.Where + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errors is every render failure of a run.
type Errors []*Error

func (e Errors) Error() string {
	var b strings.Builder
	for i, x := range e {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(x.Error())
	}
	return b.String()
}

// ownership is the .paved/apps/<team>/<app>.json manifest, and (without
// app, source, digest and clusters) the .paved/tenants/<team>.json one.
type ownership struct {
	APIVersion   string         `json:"apiVersion"`
	Kind         string         `json:"kind"`
	App          string         `json:"app,omitempty"`
	Team         string         `json:"team"`
	Source       *ownershipSrc  `json:"source,omitempty"`
	Paved        map[string]any `json:"paved"`
	InputsDigest string         `json:"inputsDigest,omitempty"`
	// DependsOn are the apps (team/name) the app depends on: diff and
	// commit check them, and what others still need, against the fleet.
	DependsOn []string `json:"dependsOn,omitempty"`
	Clusters  []string `json:"clusters,omitempty"`
	Files     []string `json:"files"`
	// Digests are the sha256 of each file as paved wrote it, so commit
	// can tell a hand edit from its own output.
	Digests map[string]string `json:"digests"`
	// Inputs are what the app was rendered from, besides the platform and
	// paved: its spec files and whether its directory holds TechDocs.
	// paved verify and rerender render it again from them.
	Inputs *ownershipInputs `json:"inputs,omitempty"`
	// Requests are what the app counts against its tenant's quota in
	// each cluster: a render of another source's app of the team counts
	// them from here (Input.Fleet).
	Requests map[string]Requests `json:"requests,omitempty"`
}

// ownershipInputs are an app's recorded inputs.
type ownershipInputs struct {
	// Files are the spec's files by name (their directory's base names).
	Files map[string]string `json:"files"`
	Docs  bool              `json:"docs,omitempty"`
}

type ownershipSrc struct {
	ID       string `json:"id"`
	Repo     string `json:"repo,omitempty"`
	Revision string `json:"revision,omitempty"`
	Path     string `json:"path"`
}

// ClusterTarget is one cluster of one environment.
type ClusterTarget struct {
	Name        string
	Environment string
	schema.Cluster
}

// Clusters returns every cluster of the platform, sorted by name.
func Clusters(p *schema.Platform) []ClusterTarget {
	var out []ClusterTarget
	for _, env := range schema.SortedKeys(p.Data.Environments) {
		e := p.Data.Environments[env]
		for _, c := range schema.SortedKeys(e.Clusters) {
			out = append(out, ClusterTarget{Name: c, Environment: env, Cluster: e.Clusters[c]})
		}
	}
	slices.SortFunc(out, func(a, b ClusterTarget) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Render renders every app into every cluster of the platform, with the
// tenants and Flux Kustomizations they need, builds every kustomization
// directory as Flux would, and returns the tree. On failure it returns
// Errors and no tree.
//
// Apps are evaluated in parallel (Input.Workers goroutines, each with its
// own platform fork) and merged in sorted order, so the tree does not
// depend on scheduling.
func Render(in Input) (*Tree, error) {
	var errs Errors
	if in.Use < WriteAndRead || in.Use > WriteOnly {
		return nil, fmt.Errorf("render: unknown use %d", in.Use)
	}
	var shared *intern.Table[any]
	if in.Use != WriteOnly { // a write-only tree drops the objects: nothing to share
		shared = newObjectTable()
	}
	var files *fileTable
	if in.Use != ReadOnly { // a read-only tree encodes no file up front
		files = newFileTable()
	}
	tree := &Tree{env: map[string]string{}, apps: map[string]*unitSource{}, use: in.Use, shared: shared, files: files}
	apps := slices.Clone(in.Apps)
	slices.SortFunc(apps, func(a, b App) int {
		return strings.Compare(a.Base.Team+"/"+a.Base.Name, b.Base.Team+"/"+b.Base.Name)
	})
	clusters := Clusters(in.Platform)
	for _, ct := range clusters {
		tree.env[ct.Name] = ct.Environment
	}
	fluxKS := map[string][]string{} // cluster -> entry resources
	teamsByCluster := map[string]map[string]bool{}
	usage := map[string]map[string]*tenantUsage{} // cluster -> team -> what it runs
	use := func(cluster, team string) *tenantUsage {
		if teamsByCluster[cluster] == nil {
			teamsByCluster[cluster] = map[string]bool{}
			usage[cluster] = map[string]*tenantUsage{}
		}
		teamsByCluster[cluster][team] = true
		if usage[cluster][team] == nil {
			usage[cluster][team] = &tenantUsage{}
		}
		return usage[cluster][team]
	}

	stop := in.stage("evaluate")
	workers, fork := in.workers()
	job := func(w int) *jobPlatform {
		return &jobPlatform{root: in.Platform, fork: func() (*schema.Platform, func(), error) { return fork(w) }}
	}
	parts := make([]*appPart, len(apps))
	forkErrs := make([]error, workers)
	workpool.Run(len(apps), workers, func(w, i int) {
		p := job(w)
		defer p.release()
		parts[i] = renderAppAll(in, p, &apps[i], clusters, shared, files)
		if p.err != nil {
			forkErrs[w] = p.err
		}
		if in.OnApp != nil {
			in.OnApp()
		}
	})
	for _, err := range forkErrs {
		if err != nil {
			return nil, Errors{{Where: "platform", Err: err}}
		}
	}
	for i, part := range parts {
		if part == nil {
			continue
		}
		errs = append(errs, part.errs...)
		tree.merge(part.tree)
		for _, k := range part.fluxKS {
			fluxKS[k.cluster] = append(fluxKS[k.cluster], k.entry)
			u := use(k.cluster, apps[i].Base.Team)
			u.sum = u.sum.Add(part.requests[k.cluster])
			u.apps++
		}
	}
	// The fleet's other apps of the teams the render touches: their
	// tenants count them too.
	for _, fa := range sortedFleet(in.Fleet) {
		if _, ok := in.Platform.Data.Teams[fa.Team]; !ok {
			continue // a team the platform dropped: its tenants stay as the fleet holds them
		}
		for _, c := range fa.Clusters {
			if _, ok := tree.env[c]; !ok {
				continue // a cluster the platform no longer has
			}
			u := use(c, fa.Team)
			u.apps++
			if r, ok := fa.Requests[c]; ok {
				u.sum = u.sum.Add(r)
			} else {
				u.unrecorded++
			}
		}
	}

	// Tenants: every team with an app in a cluster gets its namespace there.
	type tenantJob struct {
		cluster, team string
		part          *Tree
		files         []string
		err           *Error
	}
	var jobs []*tenantJob
	for _, ct := range clusters {
		for _, team := range schema.SortedKeys(teamsByCluster[ct.Name]) {
			jobs = append(jobs, &tenantJob{cluster: ct.Name, team: team, part: &Tree{use: in.Use, shared: shared, files: files}})
		}
	}
	workpool.Run(len(jobs), workers, func(w, i int) {
		j := jobs[i]
		p := job(w)
		defer p.release()
		objs, err := renderTenant(p, in.Cache, j.team, j.cluster, *usage[j.cluster][j.team])
		if p.err != nil {
			j.err = &Error{Where: "platform", Err: p.err}
			return
		}
		if err != nil {
			j.err = &Error{Where: fmt.Sprintf("tenant %s in %s", j.team, j.cluster), Err: err}
			return
		}
		dir := path.Join("tenants", j.cluster, j.team)
		if j.files, err = writeDir(j.part, dir, objs, nil); err != nil {
			j.err = &Error{Where: dir, Err: err}
		}
	})
	tenantFiles := map[string][]string{}
	for _, j := range jobs {
		if j.err != nil {
			errs = append(errs, j.err)
			continue
		}
		tree.merge(j.part)
		ksFile := path.Join("clusters", j.cluster, "paved", "tenants", j.team+".yaml")
		ks, err := fluxKustomization(in.Platform, tree.env[j.cluster], schema.TenantFluxName(j.team), "./"+path.Join("tenants", j.cluster, j.team), in.Platform.Data.Tenancy.ControllerServiceAccount, nil, map[string]string{"paved.dev/team": j.team})
		if err == nil {
			err = tree.addObject(ksFile, ks)
		}
		if err != nil {
			errs = append(errs, &Error{Where: ksFile, Err: err})
			continue
		}
		fluxKS[j.cluster] = append(fluxKS[j.cluster], "tenants/"+j.team+".yaml")
		tenantFiles[j.team] = append(tenantFiles[j.team], append(j.files, ksFile)...)
	}
	for _, team := range schema.SortedKeys(tenantFiles) {
		// The team's catalog Group goes with its tenant.
		gf := CatalogGroupFile(team)
		if err := tree.addObject(gf, catalogGroup(in.Platform, team)); err != nil {
			errs = append(errs, &Error{Where: gf, Err: err})
			continue
		}
		tenantFiles[team] = append(tenantFiles[team], gf)
	}
	for _, team := range schema.SortedKeys(tenantFiles) {
		if in.Use == ReadOnly {
			break
		}
		files := tenantFiles[team]
		slices.Sort(files)
		b, err := canonicalJSON(ownership{
			APIVersion: "paved.dev/v1alpha1",
			Kind:       "Ownership",
			Team:       team,
			Paved:      map[string]any{"version": in.Version},
			Files:      files,
			Digests:    digests(tree, files),
		})
		if err != nil {
			errs = append(errs, &Error{Where: "tenant " + team, Err: err})
			continue
		}
		tree.add(path.Join(".paved", "tenants", team+".json"), b)
	}
	for _, c := range schema.SortedKeys(fluxKS) {
		res := fluxKS[c]
		slices.Sort(res)
		b, err := kustomizationFile(res, nil)
		if err != nil {
			errs = append(errs, &Error{Where: c, Err: err})
			continue
		}
		tree.add(path.Join("clusters", c, "paved", "kustomization.yaml"), b)
	}
	if loc, err := CatalogLocationFile(in.Platform, tree.Paths()); err != nil {
		errs = append(errs, &Error{Where: CatalogLocation, Err: err})
	} else if len(tenantFiles) > 0 {
		tree.add(CatalogLocation, loc)
	}
	stop()
	tree.shared, tree.files = nil, nil // the tables hold every part they shared: let them go
	if len(errs) > 0 {
		return nil, errs
	}
	stop = in.stage("build")
	defer stop()
	if err := BuildAll(tree); err != nil {
		return nil, err
	}
	return tree, nil
}

// appPart is one app's share of the tree, rendered by one worker.
type appPart struct {
	tree   *Tree
	fluxKS []entryRef
	errs   Errors
	// requests per cluster: what the app counts against its tenant's
	// quota.
	requests map[string]Requests
}

type entryRef struct{ cluster, entry string }

// workers returns how many goroutines render and the platform each uses.
func (in Input) workers() (int, func(int) (*schema.Platform, func(), error)) {
	if in.Workers < 2 || in.Fork == nil {
		return 1, func(int) (*schema.Platform, func(), error) { return in.Platform, func() {}, nil }
	}
	return in.Workers, in.Fork
}

// renderAppAll renders one app into every cluster: its directories, its
// Flux Kustomizations and its ownership manifest.
func renderAppAll(in Input, p *jobPlatform, a *App, clusters []ClusterTarget, shared *intern.Table[any], files *fileTable) *appPart {
	part := &appPart{tree: &Tree{apps: map[string]*unitSource{}, use: in.Use, shared: shared, files: files}, requests: map[string]Requests{}}
	tree := part.tree
	defaults := limitDefaults(p.root)
	var owned, rendered []string
	objsByCluster := map[string][]Object{}
	dashboards := map[string]string{} // environment -> the app's dashboard, alike in its clusters
	for _, ct := range clusters {
		spec, err := a.Env(ct.Environment)
		var objs []Object
		if err == nil {
			objs, err = renderApp(p, in.Cache, *a, ct, spec, dashboards)
		}
		if err != nil {
			part.errs = append(part.errs, &Error{Where: fmt.Sprintf("%s/%s in %s", a.Base.Team, a.Base.Name, ct.Name), Err: err})
			continue
		}
		objsByCluster[ct.Name] = objs
		dir := path.Join("apps", ct.Name, spec.Team, spec.Name)
		files, err := writeDir(tree, dir, objs, spec.Patches)
		if err != nil {
			part.errs = append(part.errs, &Error{Where: dir, Err: err})
			continue
		}
		owned = append(owned, files...)
		tree.apps[dir] = &unitSource{app: a}
		if part.requests[ct.Name], err = requestsOf(tree, dir, objs, spec.Patches, defaults); err != nil {
			part.errs = append(part.errs, &Error{Where: dir, Err: err})
			continue
		}
		ksFile := path.Join("clusters", ct.Name, "paved", "apps", schema.AppFluxName(spec.Team, spec.Name)+".yaml")
		deps := []string{schema.TenantFluxName(spec.Team)}
		for _, id := range spec.Dependencies() {
			team, name, _ := strings.Cut(id, "/")
			deps = append(deps, schema.AppFluxName(team, name))
		}
		ks, err := fluxKustomization(p.root, ct.Environment, schema.AppFluxName(spec.Team, spec.Name), "./"+dir, schema.TenantApplier(spec.Team), deps, map[string]string{
			"paved.dev/team": spec.Team, "paved.dev/app": spec.Name,
		})
		if err == nil {
			err = tree.addObject(ksFile, ks)
		}
		if err != nil {
			part.errs = append(part.errs, &Error{Where: ksFile, Err: err})
			continue
		}
		owned = append(owned, ksFile)
		part.fluxKS = append(part.fluxKS, entryRef{ct.Name, "apps/" + path.Base(ksFile)})
		rendered = append(rendered, ct.Name)
	}
	// The app's catalog entry: once, for every cluster.
	catFile := CatalogComponentFile(a.Base.Team, a.Base.Name)
	if err := tree.addObject(catFile, catalogComponent(p.root, a, appLinks(a, clusters, objsByCluster))); err != nil {
		part.errs = append(part.errs, &Error{Where: catFile, Err: err})
		return part
	}
	owned = append(owned, catFile)
	if in.Use == ReadOnly {
		return part
	}
	slices.Sort(owned)
	own := ownership{
		APIVersion:   "paved.dev/v1alpha1",
		Kind:         "Ownership",
		App:          a.Base.Name,
		Team:         a.Base.Team,
		Source:       &ownershipSrc{ID: a.Source.ID, Repo: a.Source.Repo, Revision: a.Source.Revision, Path: a.Source.Path},
		DependsOn:    a.Base.Dependencies(),
		Paved:        map[string]any{"version": in.Version},
		InputsDigest: digestApp(in.Version, p.root.Digest(), *a),
		Clusters:     rendered,
		Files:        owned,
		Digests:      digests(tree, owned),
		Inputs:       &ownershipInputs{Files: map[string]string{}, Docs: a.Docs},
		Requests:     part.requests,
	}
	for _, f := range a.Files {
		own.Inputs.Files[path.Base(filepath.ToSlash(f))] = string(a.Data[f])
	}
	b, err := canonicalJSON(own)
	if err != nil {
		part.errs = append(part.errs, &Error{Where: a.Base.Team + "/" + a.Base.Name, Err: err})
		return part
	}
	tree.add(path.Join(".paved", "apps", a.Base.Team, a.Base.Name+".json"), b)
	return part
}

// digests maps each file to the sha256 of its content in the tree.
func digests(tree *Tree, files []string) map[string]string {
	out := make(map[string]string, len(files))
	for _, f := range files {
		sum := sha256.Sum256(tree.Files[f])
		out[f] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return out
}

// renderApp evaluates the app's blueprint for one cluster. dashboards
// holds the app's dashboard per environment, built by the first cluster
// of each.
func renderApp(p *jobPlatform, c *cache.Cache, a App, ct ClusterTarget, spec schema.Spec, dashboards map[string]string) ([]Object, error) {
	ratio := p.root.Data.Environments[ct.Environment].TracingSampleRatio
	if spec.Observability.Tracing.SampleRatio != nil {
		ratio = *spec.Observability.Tracing.SampleRatio
	}
	// Render locality: an app's objects depend on the names of the apps
	// it depends on, never on their specs.
	type dep struct {
		Team string `json:"team"`
		Name string `json:"name"`
	}
	calls := []dep{}
	for _, id := range spec.CallIDs() {
		team, name, _ := strings.Cut(id, "/")
		calls = append(calls, dep{Team: team, Name: name})
	}
	podRegex, deployment := workloadNames(spec)
	effective := a.Effective[ct.Environment]
	if a.preview != nil {
		effective = a.preview.effective
	}
	input := map[string]any{
		"app": json.RawMessage(effective),
		"cluster": map[string]any{
			"name":         ct.Name,
			"environment":  ct.Environment,
			"region":       ct.Region,
			"otlpEndpoint": ct.OTLPEndpoint,
			"ingressClass": ct.IngressClass,
			"domain":       ct.Domain,
			"certIssuer":   ct.CertIssuer,
		},
		"version":     VersionLabel(spec.Image),
		"sampleRatio": ratio,
		"calls":       calls,
		"pods":        map[string]any{"regex": podRegex, "deployment": deployment},
		"source":      map[string]any{"path": a.Source.Path},
	}
	if spec.Ingress != nil {
		input["host"] = IngressHost(p.root, a.Base, spec, ct)
		if a.preview != nil {
			input["host"] = a.preview.host
		}
	}
	objs, err := evalObjects(p, c, "blueprint."+spec.Kind, input)
	if err != nil {
		return nil, err
	}
	if spec.Observability.Dashboard.Enabled {
		js, ok := dashboards[ct.Environment]
		if !ok {
			b, err := dashboardJSON(p.root, spec)
			if err != nil {
				return nil, err
			}
			js = string(b)
			dashboards[ct.Environment] = js
		}
		if err := fillDashboard(spec, objs, js); err != nil {
			return nil, err
		}
	}
	if a.Source.Revision == "" {
		return objs, nil
	}
	for _, o := range objs {
		stampRevision(o, a.Source.Revision)
	}
	return objs, nil
}

// IngressHost is the host a web app's Ingress publishes in a cluster
// (spec is the app's spec in the cluster's environment, base its base
// spec). The base spec's ingress.host is the production host: published
// in the environments the platform marks production. Every other
// environment publishes its own ingress.host when it sets one
// (environments.<env>.ingress.host; vet refuses the production host
// there), else <name>.<team>.<cluster domain>, as does an app without a
// host everywhere. So dev, staging and prod never claim one name, which
// external-dns and cert-manager would fight over.
func IngressHost(p *schema.Platform, base, spec schema.Spec, ct ClusterTarget) string {
	derived := spec.Name + "." + spec.Team + "." + ct.Domain
	if spec.Ingress == nil || spec.Ingress.Host == "" {
		return derived
	}
	host := spec.Ingress.Host
	if p.Data.Environments[ct.Environment].Production {
		return host
	}
	if base.Ingress == nil || base.Ingress.Host != host {
		return host // the environment's own
	}
	return derived
}

// workloadNames are the names the app's alerts and dashboard select its
// pods by: a regex matching its pods (those of its Deployment's
// ReplicaSets, and of Flagger's primary for a progressive rollout, or of
// its CronJob's Jobs) and the Deployment whose pods serve (Flagger's
// primary for a progressive app; "" for a cron job).
func workloadNames(spec schema.Spec) (podRegex, deployment string) {
	switch {
	case spec.Kind == "cron":
		return spec.Name + "-[0-9]+-[a-z0-9]{5}", ""
	case spec.Rollout.Progressive():
		return spec.Name + "(-primary)?-[a-z0-9]+-[a-z0-9]{5}", spec.Name + "-primary"
	}
	return spec.Name + "-[a-z0-9]+-[a-z0-9]{5}", spec.Name
}

// stampRevision adds the paved.dev/source-revision annotation to an object
// whose blueprint marked it with paved.dev/source-path. The revision is
// kept out of the blueprint's input so that an unchanged app evaluates to
// the same objects (and hits the cache) at every commit.
func stampRevision(o Object, rev string) {
	md, _ := o["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	if _, ok := ann["paved.dev/source-path"]; ok {
		ann["paved.dev/source-revision"] = rev
	}
}

// requestsOf is what an app counts against its tenant's quota in one
// cluster, from its objects as Flux applies them: a directory with
// patches is built first (a patch may change resources), the others are
// their objects. A directory that does not build counts its objects as
// rendered: BuildAll reports the failure, once.
func requestsOf(tree *Tree, dir string, objs []Object, patches []schema.Patch, d containerDefaults) (Requests, error) {
	if len(patches) > 0 {
		u, errs, err := buildDir(tree, dir, false, func() (filesys.FileSystem, error) {
			return nil, fmt.Errorf("%s reaches outside its directory", dir)
		})
		if err == nil && len(errs) == 0 {
			objs = objs[:0:0]
			for _, b := range u.Objects {
				objs = append(objs, b.Object)
			}
		}
	}
	return appRequests(objs, d)
}

func renderTenant(p *jobPlatform, c *cache.Cache, team, cluster string, u tenantUsage) ([]Object, error) {
	env := ""
	for e, E := range p.root.Data.Environments {
		if _, ok := E.Clusters[cluster]; ok {
			env = e
		}
	}
	input := map[string]any{
		"team":        team,
		"cluster":     cluster,
		"environment": env,
		"ownerRole":   p.root.Data.OwnerRoleIn(env),
		"secretKeys":  p.root.SecretKeyPatterns(team),
		"quota":       tenantQuota(p.root, team, u),
	}
	return evalObjects(p, c, "#Tenant", input)
}

// jobPlatform is the platform of one job of a parallel stage: root's
// decoded data and digest (every fork shares them) and, taken from the
// worker on the job's first cache miss, a platform whose CUE context the
// job may use. A job whose evaluations all come from the cache takes none,
// so a warm run forks nothing (a fork costs about 20 ms).
type jobPlatform struct {
	root *schema.Platform
	fork func() (*schema.Platform, func(), error)
	cue  *schema.Platform
	done func()
	err  error
}

// evaluator returns the job's platform for CUE evaluation.
func (p *jobPlatform) evaluator() (*schema.Platform, error) {
	if p.cue == nil && p.err == nil {
		p.cue, p.done, p.err = p.fork()
	}
	return p.cue, p.err
}

// release returns the platform the job took, if any.
func (p *jobPlatform) release() {
	if p.done != nil {
		p.done()
	}
}

// evalObjects fills a blueprint's input and returns its objects. The
// objects' JSON is cached under the digest of the platform, the blueprint
// and the input: the evaluation is a pure function of those.
func evalObjects(jp *jobPlatform, c *cache.Cache, bp string, input map[string]any) ([]Object, error) {
	js, err := json.Marshal(input)
	if err != nil {
		return nil, err
	}
	key := c.Key("eval", []byte(jp.root.Digest()), []byte(bp), js)
	b, hit := c.Get(key)
	if !hit {
		p, err := jp.evaluator()
		if err != nil {
			return nil, err
		}
		iv, err := p.CompileExpr("", js)
		if err != nil {
			return nil, err
		}
		v := p.Value().LookupPath(cue.ParsePath(bp)).FillPath(cue.ParsePath("in"), iv)
		objs := v.LookupPath(cue.ParsePath("objects"))
		if err := objs.Validate(cue.Concrete(true)); err != nil {
			return nil, fmt.Errorf("blueprint %s: %w", bp, err)
		}
		b, err = objs.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("blueprint %s: %w", bp, err)
		}
	}
	var out []Object
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		return nil, err
	}
	if !hit {
		c.Put(key, b)
	}
	return out, nil
}

// writeDir writes one file per object plus kustomization.yaml into dir and
// returns the paths written.
func writeDir(tree *Tree, dir string, objs []Object, patches []schema.Patch) ([]string, error) {
	var files, resources []string
	seen := map[string]string{}
	for _, o := range objs {
		name := o.FileName()
		if !safeName(name) {
			return nil, fmt.Errorf("object %s: unsafe file name %q", o.ID(), name)
		}
		if prev, ok := seen[name]; ok {
			return nil, fmt.Errorf("objects %s and %s map to the same file %s", prev, o.ID(), name)
		}
		seen[name] = o.ID()
		p := path.Join(dir, name)
		if err := tree.addObject(p, o); err != nil {
			return nil, fmt.Errorf("object %s: %w", o.ID(), err)
		}
		files = append(files, p)
		resources = append(resources, name)
	}
	slices.Sort(resources)
	b, err := kustomizationFile(resources, patches)
	if err != nil {
		return nil, err
	}
	kp := path.Join(dir, "kustomization.yaml")
	tree.add(kp, b)
	return append(files, kp), nil
}

// safeName accepts a single path element made of the characters Kubernetes
// names, kinds and versions use.
func safeName(n string) bool {
	if n == "" || n == "." || n == ".." || strings.HasPrefix(n, ".") {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return false
		}
	}
	return true
}

// EntryKustomization renders a cluster's clusters/<cluster>/paved
// kustomization.yaml listing its Flux objects.
func EntryKustomization(resources []string) ([]byte, error) {
	return kustomizationFile(resources, nil)
}

// kustomizationFile renders a kustomization.yaml with the kustomize API types.
func kustomizationFile(resources []string, patches []schema.Patch) ([]byte, error) {
	k := kusttypes.Kustomization{
		TypeMeta:  kusttypes.TypeMeta{APIVersion: kusttypes.KustomizationVersion, Kind: kusttypes.KustomizationKind},
		Resources: resources,
	}
	for _, p := range patches {
		kp := kusttypes.Patch{Patch: p.Patch}
		if t := p.Target; t != nil {
			kp.Target = &kusttypes.Selector{
				ResId:              resIDSelector(t),
				LabelSelector:      t.LabelSelector,
				AnnotationSelector: t.AnnotationSelector,
			}
		}
		k.Patches = append(k.Patches, kp)
	}
	return canonicalYAML(k)
}

// fluxKustomization renders a Flux Kustomization of environment env with
// the kustomize-controller v1 API types: the platform's flux settings, the
// environment's interval, retry interval and timeout. With the platform's
// tenancy.impersonate, it applies as serviceAccount (in its own
// namespace, the Flux namespace): a team's applier for an app, the
// controller's own account for a tenant.
func fluxKustomization(p *schema.Platform, env, name, dir, serviceAccount string, dependsOn []string, labels map[string]string) (Object, error) {
	f := p.Data.Flux
	ef := p.Data.Environments[env].Flux
	dur := func(s string) (metav1.Duration, error) {
		d, err := time.ParseDuration(s)
		return metav1.Duration{Duration: d}, err
	}
	interval, err := dur(ef.Interval)
	if err != nil {
		return nil, err
	}
	retry, err := dur(ef.RetryInterval)
	if err != nil {
		return nil, err
	}
	timeout, err := dur(ef.Timeout)
	if err != nil {
		return nil, err
	}
	l := map[string]string{"app.kubernetes.io/managed-by": "paved"}
	for k, v := range labels {
		l[k] = v
	}
	ks := kustomizev1.Kustomization{
		TypeMeta:   metav1.TypeMeta{APIVersion: kustomizev1.GroupVersion.String(), Kind: kustomizev1.KustomizationKind},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.SourceRef.Namespace, Labels: l},
		Spec: kustomizev1.KustomizationSpec{
			Interval:      interval,
			RetryInterval: &retry,
			Timeout:       &timeout,
			Path:          dir,
			Prune:         f.Prune,
			Wait:          f.Wait,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{
				Kind:      f.SourceRef.Kind,
				Name:      f.SourceRef.Name,
				Namespace: f.SourceRef.Namespace,
			},
		},
	}
	if p.Data.Tenancy.Impersonate {
		ks.Spec.ServiceAccountName = serviceAccount
	}
	for _, d := range dependsOn {
		ks.Spec.DependsOn = append(ks.Spec.DependsOn, meta.DependencyReference{Name: d})
	}
	if f.Decryption != nil {
		ks.Spec.Decryption = &kustomizev1.Decryption{
			Provider:  f.Decryption.Provider,
			SecretRef: &meta.LocalObjectReference{Name: f.Decryption.SecretRef.Name},
		}
	}
	// Drop the zero status and creationTimestamp the API types carry.
	js, err := json.Marshal(ks)
	if err != nil {
		return nil, err
	}
	o, err := decodeJSONObject(js)
	if err != nil {
		return nil, err
	}
	delete(o, "status")
	if md, ok := o["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return o, nil
}

// VersionLabel derives the app.kubernetes.io/version label value from an
// image reference: its tag, or sha256-<12 hex> for a digest-only image.
func VersionLabel(image string) string {
	ref, digest, _ := strings.Cut(image, "@")
	last := ref[strings.LastIndex(ref, "/")+1:]
	if _, tag, ok := strings.Cut(last, ":"); ok && tag != "" {
		if len(tag) > 63 {
			tag = tag[:63]
		}
		return strings.TrimRight(strings.TrimLeft(tag, "._-"), "._-")
	}
	if h, ok := strings.CutPrefix(digest, "sha256:"); ok && len(h) >= 12 {
		return "sha256-" + h[:12]
	}
	return "unknown"
}

// InputsDigestOf is the inputs digest of an app, as its ownership
// manifest records it (paved's version, the platform, the app's CUE files
// by path and content, whether it has TechDocs), from its directory's
// files before the app is loaded: commit --changed decides from it which
// apps to load at all.
func InputsDigestOf(version string, p *schema.Platform, files map[string][]byte, docs bool) string {
	return digestFiles(version, p.Digest(), slices.Sorted(maps.Keys(files)), files, docs)
}

// digestApp is the inputs digest of an app: paved's version, the platform
// and the app's files (names and contents).
func digestApp(version, platform string, a App) string {
	return digestFiles(version, platform, a.Files, a.Data, a.Docs)
}

func digestFiles(version, platform string, names []string, data map[string][]byte, docs bool) string {
	h := sha256.New()
	fmt.Fprintf(h, "paved %s\x00platform %s\x00", version, platform)
	for _, f := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", path.Base(f), len(data[f]))
		h.Write(data[f])
	}
	if docs {
		h.Write([]byte("docs\x00")) // the catalog entry's TechDocs
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func resIDSelector(t *schema.PatchTarget) resid.ResId {
	return resid.ResId{
		Gvk:       resid.Gvk{Group: t.Group, Version: t.Version, Kind: t.Kind},
		Name:      t.Name,
		Namespace: t.Namespace,
	}
}
