package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"

	"github.com/paved-dev/paved/internal/cache"
	"github.com/paved-dev/paved/schema"
)

// PreviewLabel marks every object of a pull request's preview, and its
// Namespace: pr<N>. The team's applier admission policy admits the
// team's namespaces that carry it (and paved.dev/team).
const PreviewLabel = "paved.dev/preview"

// maxLabel is the length of a DNS-1123 label: a namespace, one part of a
// host.
const maxLabel = 63

// shortLabel is prefix+suffix when that fits a DNS label, else prefix cut
// short, a hash of key (so that two long names never meet) and suffix.
func shortLabel(prefix, suffix, key string) string {
	if len(prefix)+len(suffix) <= maxLabel {
		return prefix + suffix
	}
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])[:8]
	keep := maxLabel - len(suffix) - len(h) - 1
	return strings.TrimRight(prefix[:keep], "-") + "-" + h + suffix
}

// PreviewNamespace is the namespace of app team/app's preview of pull
// request pr: <team>-<app>-pr<N>, shortened with a hash of team/app past
// 63 characters (the -pr<N> stays).
func PreviewNamespace(team, app string, pr int) string {
	return shortLabel(team+"-"+app, "-pr"+strconv.Itoa(pr), team+"/"+app)
}

// PreviewHost is the host of app team/app's preview of pull request pr:
// <app>-pr<N>-<team>.<domain>, one DNS label below the previews' domain
// (one wildcard certificate covers every preview), shortened with a hash
// past 63 characters.
func PreviewHost(domain, team, app string, pr int) string {
	return shortLabel(app+"-pr"+strconv.Itoa(pr)+"-"+team, "", fmt.Sprintf("%s/%s#%d", team, app, pr)) + "." + domain
}

// PreviewFluxName is the name of a preview's Flux Kustomization (the
// app's objects, applied as the team's applier); its namespace's is
// PreviewFluxName + "-namespace" (applied as the controller: it creates
// the Namespace). The preview- prefix keeps them apart from the apps'
// (<team>-<app>), which a preview namespace could otherwise equal.
func PreviewFluxName(ns string) string { return "preview-" + ns }

// PreviewInput is what RenderPreviews needs.
type PreviewInput struct {
	Platform *schema.Platform
	// Apps are the pull request's apps: each gets a preview in every
	// preview cluster, unless its spec says preview.enabled: false.
	Apps []App
	PR   int
	// Image replaces the apps' image when not "" (the image CI just
	// pushed for the pull request).
	Image string
	Cache *cache.Cache
}

// Preview is one app's preview in one cluster.
type Preview struct {
	Team, App, Cluster, Environment string
	Namespace, Host, Image          string
	// Files are the preview's files in the fleet: its two directories and
	// its two Flux Kustomizations.
	Files []string
	// Requests are what it requests at its ceiling (its quota's basis);
	// MonthlyUSD its monthly cost as the budget policies estimate it.
	Requests   Requests
	MonthlyUSD float64
	// Databases: how its databases start (empty, sql, backup); "" when it
	// has none.
	Database string
}

// PreviewDirs are the fleet paths of a preview: its directory
// (<directory>/<cluster>/<namespace>) and the Flux Kustomizations' files
// in the cluster's preview entry point (<directory>/clusters/<cluster>).
func PreviewDirs(p *schema.Platform, cluster, ns string) (dir, entry string) {
	d := p.Data.Previews.Directory
	return path.Join(d, cluster, ns), path.Join(d, "clusters", cluster)
}

// RenderPreviews renders the pull request's previews: per app and
// preview cluster, the app as the cluster's environment renders it with
// one replica of the previews' size, a rolling update, the preview's
// host and image, its ExternalSecrets reading the previews' store and its
// databases as one instance started per the preview's database mode, in
// namespace <team>-<app>-pr<N>; beside it the namespace's objects (the
// Namespace, a ResourceQuota from what the preview requests, the
// LimitRange, the default deny, the owners' and the team applier's role
// bindings, the admission policies); and the two Flux Kustomizations
// that apply them, which pruning removes with the preview. dependsOn and
// calls name the apps of the preview cluster's own environment. The tree
// is built as Flux builds it (Tree.Units), for lint.
func RenderPreviews(in PreviewInput) (*Tree, []Preview, error) {
	p := in.Platform
	pv := p.Data.Previews
	tree := &Tree{Files: map[string][]byte{}, env: map[string]string{}, apps: map[string]*unitSource{}, previewDir: pv.Directory}
	targets := map[string]ClusterTarget{}
	for _, ct := range Clusters(p) {
		targets[ct.Name] = ct
	}
	jp := &jobPlatform{root: p, fork: func() (*schema.Platform, func(), error) { return p, func() {}, nil }}
	defaults := limitDefaults(p)
	var errs Errors
	var out []Preview
	apps := slices.Clone(in.Apps)
	slices.SortFunc(apps, func(a, b App) int {
		return strings.Compare(a.Base.Team+"/"+a.Base.Name, b.Base.Team+"/"+b.Base.Name)
	})
	for i := range apps {
		a := &apps[i]
		if a.Base.Preview != nil && !a.Base.Preview.Enabled {
			continue
		}
		for _, cluster := range pv.Clusters {
			ct, ok := targets[cluster]
			if !ok {
				errs = append(errs, &Error{Where: "previews", Err: fmt.Errorf("cluster %s is not a cluster of the platform", cluster)})
				continue
			}
			tree.env[cluster] = ct.Environment
			pr, err := renderPreview(in, jp, a, ct, tree, defaults)
			if err != nil {
				errs = append(errs, &Error{Where: fmt.Sprintf("preview of %s/%s in %s", a.Base.Team, a.Base.Name, cluster), Err: err})
				continue
			}
			out = append(out, *pr)
		}
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	if err := BuildAll(tree); err != nil {
		return nil, nil, err
	}
	return tree, out, nil
}

// previewDatabase is how app a's preview databases start: the app's
// preview.database, else the platform's.
func previewDatabase(p *schema.Platform, a *App) schema.PreviewDatabase {
	db := p.Data.Previews.Database
	if a.Base.Preview != nil && a.Base.Preview.Database != nil {
		own := *a.Base.Preview.Database
		if own.RestoreFrom == "" {
			own.RestoreFrom = db.RestoreFrom
		}
		db = own
	}
	return db
}

func renderPreview(in PreviewInput, jp *jobPlatform, a *App, ct ClusterTarget, tree *Tree, defaults containerDefaults) (*Preview, error) {
	p := in.Platform
	pv := p.Data.Previews
	team, name := a.Base.Team, a.Base.Name
	ns := PreviewNamespace(team, name, in.PR)
	size := pv.Size
	if a.Base.Preview != nil && a.Base.Preview.Size != "" {
		size = a.Base.Preview.Size
	}
	db := previewDatabase(p, a)
	// The app as the environment has it, narrowed to a preview.
	var app map[string]any
	d := json.NewDecoder(bytes.NewReader(a.Effective[ct.Environment]))
	d.UseNumber()
	if err := d.Decode(&app); err != nil {
		return nil, err
	}
	app["size"] = size
	if in.Image != "" {
		app["image"] = in.Image
	}
	if _, ok := app["replicas"]; ok {
		app["replicas"] = map[string]any{"min": 1, "max": 1}
	}
	if r, ok := app["rollout"].(map[string]any); ok {
		r["strategy"] = schema.RolloutRolling
		delete(r, "loadTest")
	}
	if dbs, ok := app["databases"].(map[string]any); ok {
		for _, v := range dbs {
			if m, ok := v.(map[string]any); ok {
				m["size"] = size
				m["instances"] = 1
			}
		}
	}
	js, err := json.Marshal(app)
	if err != nil {
		return nil, err
	}
	var spec schema.Spec
	if err := json.Unmarshal(js, &spec); err != nil {
		return nil, err
	}
	host := PreviewHost(pv.Domain, team, name, in.PR)
	pa := App{App: a.App, Source: a.Source, Docs: a.Docs, preview: &previewOverride{effective: js, host: host}}
	objs, err := renderApp(jp, in.Cache, pa, ct, spec, map[string]string{})
	if err != nil {
		return nil, err
	}
	label := "pr" + strconv.Itoa(in.PR)
	objs, err = previewObjects(p, objs, team, ns, label, db, ct.Name)
	if err != nil {
		return nil, err
	}
	dir, entry := PreviewDirs(p, ct.Name, ns)
	appDir, nsDir := path.Join(dir, "app"), path.Join(dir, "namespace")
	files, err := writeDir(tree, appDir, objs, spec.Patches)
	if err != nil {
		return nil, err
	}
	tree.apps[appDir] = &unitSource{app: &pa}
	req, err := requestsOf(tree, appDir, objs, spec.Patches, defaults)
	if err != nil {
		return nil, err
	}
	tenant, err := evalObjects(jp, in.Cache, "#Tenant", map[string]any{
		"team":        team,
		"cluster":     ct.Name,
		"environment": ct.Environment,
		"namespace":   ns,
		"preview":     map[string]any{"pr": in.PR, "app": name, "store": map[string]any{"kind": pv.SecretStore.Kind, "name": pv.SecretStore.Name}},
		"ownerRole":   p.Data.OwnerRoleIn(ct.Environment),
		"secretKeys":  p.SecretKeyPatterns(team),
		"quota":       tenantQuota(p, team, tenantUsage{sum: req, apps: 1}),
	})
	if err != nil {
		return nil, err
	}
	nsFiles, err := writeDir(tree, nsDir, tenant, nil)
	if err != nil {
		return nil, err
	}
	files = append(files, nsFiles...)
	labels := map[string]string{"paved.dev/team": team, "paved.dev/app": name, PreviewLabel: label}
	fname := PreviewFluxName(ns)
	// The namespace's objects apply as the controller (they create the
	// Namespace), once the team's tenant (its applier) is there.
	nsKS, err := fluxKustomization(p, ct.Environment, fname+"-namespace", "./"+nsDir, p.Data.Tenancy.ControllerServiceAccount, []string{schema.TenantFluxName(team)}, labels)
	if err != nil {
		return nil, err
	}
	deps := []string{fname + "-namespace"}
	for _, id := range spec.Dependencies() {
		t, n, _ := strings.Cut(id, "/")
		deps = append(deps, schema.AppFluxName(t, n)) // the environment's own apps
	}
	appKS, err := fluxKustomization(p, ct.Environment, fname, "./"+appDir, schema.TenantApplier(team), deps, labels)
	if err != nil {
		return nil, err
	}
	// When the preview goes, its Namespace goes with everything in it
	// (the namespace's Kustomization prunes it): the app's Kustomization
	// leaves its objects to that, since the team's applier loses its
	// rights there at the same time and could never finish deleting them.
	if spec, ok := appKS["spec"].(map[string]any); ok {
		spec["deletionPolicy"] = kustomizev1.DeletionPolicyOrphan
	}
	for _, k := range []struct {
		file string
		o    Object
	}{{path.Join(entry, fname+"-namespace.yaml"), nsKS}, {path.Join(entry, fname+".yaml"), appKS}} {
		if err := tree.addObject(k.file, k.o); err != nil {
			return nil, err
		}
		files = append(files, k.file)
	}
	slices.Sort(files)
	mode := ""
	if len(spec.Databases) > 0 {
		mode = db.Mode
	}
	// The cost as the budget policies estimate it: one replica, and one
	// instance and the storage of each database, at the platform's prices.
	prices := p.Data.Prices
	sizeCost := func(name string) float64 {
		sz := p.Data.Sizes[name]
		return float64(sz.CPUMillicores)/1000*prices.CPUCoreMonth + float64(sz.MemoryMiB)/1024*prices.MemoryGiBMonth
	}
	cost := sizeCost(spec.Size)
	for _, d := range spec.Databases {
		cost += sizeCost(d.Size) + float64(d.StorageGiB)*prices.StorageGiBMonth
	}
	return &Preview{
		Team: team, App: name, Cluster: ct.Name, Environment: ct.Environment,
		Namespace: ns, Host: previewHostOf(objs), Image: spec.Image,
		Files: files, Requests: req, MonthlyUSD: cost, Database: mode,
	}, nil
}

// previewOverride is what a preview changes in an app's render: its
// effective spec and its host.
type previewOverride struct {
	effective []byte
	host      string
}

// previewHostOf is the host of the preview's Ingress ("" for an app
// without one).
func previewHostOf(objs []Object) string {
	for _, o := range objs {
		if o.Kind() == "Ingress" {
			if rules, ok := dig(o, "spec", "rules").([]any); ok && len(rules) > 0 {
				if r, ok := rules[0].(map[string]any); ok {
					h, _ := r["host"].(string)
					return h
				}
			}
		}
	}
	return ""
}

// previewObjects moves an app's objects into the preview's namespace and
// marks them as the pull request's; its ExternalSecrets read the
// previews' store; its databases start per the preview's database mode,
// with no backups and no prune protection (a preview's data goes with
// it).
func previewObjects(p *schema.Platform, objs []Object, team, ns, label string, db schema.PreviewDatabase, cluster string) ([]Object, error) {
	pv := p.Data.Previews
	// The databases' backup credentials go with their backups.
	backupSecrets := map[string]bool{}
	for _, o := range objs {
		if g, _ := o.GroupVersion(); o.Kind() == "Cluster" && g == "postgresql.cnpg.io" {
			backupSecrets[o.Name()+"-backup"] = true
		}
	}
	var out []Object
	for _, o := range objs {
		md, _ := o["metadata"].(map[string]any)
		if md == nil {
			return nil, fmt.Errorf("object %s has no metadata", o.ID())
		}
		if o.Kind() == "ScheduledBackup" || o.Kind() == "ExternalSecret" && backupSecrets[o.Name()] {
			continue // a preview keeps no backups
		}
		if md["namespace"] == team {
			md["namespace"] = ns
		}
		labels, _ := md["labels"].(map[string]any)
		if labels == nil {
			labels = map[string]any{}
			md["labels"] = labels
		}
		labels[PreviewLabel] = label
		switch o.Kind() {
		case "ExternalSecret":
			if ref, ok := dig(o, "spec", "secretStoreRef").(map[string]any); ok {
				ref["kind"], ref["name"] = pv.SecretStore.Kind, pv.SecretStore.Name
			}
		case "Cluster":
			if g, _ := o.GroupVersion(); g != "postgresql.cnpg.io" {
				break
			}
			if ann, ok := md["annotations"].(map[string]any); ok {
				delete(ann, pruneKey)
				if len(ann) == 0 {
					delete(md, "annotations")
				}
			}
			spec, _ := o["spec"].(map[string]any)
			delete(spec, "backup")
			spec["instances"] = 1
			spec["enablePDB"] = false
			extra, err := previewBootstrap(p, spec, md["name"].(string), team, ns, label, db)
			if err != nil {
				return nil, err
			}
			out = append(out, extra...)
		}
		out = append(out, o)
	}
	return out, nil
}

// pruneKey is Flux's prune protection.
const pruneKey = "kustomize.toolkit.fluxcd.io/prune"

// previewBootstrap sets how a preview's database cluster cn starts, and
// returns the objects that needs (a restore's credentials).
func previewBootstrap(p *schema.Platform, spec map[string]any, cn, team, ns, label string, db schema.PreviewDatabase) ([]Object, error) {
	switch db.Mode {
	case "", "empty":
		spec["bootstrap"] = map[string]any{"initdb": map[string]any{"database": "app", "owner": "app"}}
	case "sql":
		sql := make([]any, len(db.SQL))
		for i, s := range db.SQL {
			sql[i] = s
		}
		spec["bootstrap"] = map[string]any{"initdb": map[string]any{"database": "app", "owner": "app", "postInitApplicationSQL": sql}}
	case "backup":
		b := p.Data.Databases.Backup
		if b.DestinationPath == "" || db.RestoreFrom == "" {
			return nil, fmt.Errorf("database mode backup needs databases.backup.destinationPath and previews.database.restoreFrom")
		}
		creds := cn + "-restore"
		store := map[string]any{
			// The path the source cluster's database archives to.
			"destinationPath": fmt.Sprintf("%s/%s/%s/%s", b.DestinationPath, db.RestoreFrom, team, cn),
			"s3Credentials": map[string]any{
				"accessKeyId":     map[string]any{"name": creds, "key": "ACCESS_KEY_ID"},
				"secretAccessKey": map[string]any{"name": creds, "key": "ACCESS_SECRET_KEY"},
			},
			"wal": map[string]any{"compression": "gzip"},
		}
		if b.EndpointURL != "" {
			store["endpointURL"] = b.EndpointURL
		}
		spec["bootstrap"] = map[string]any{"recovery": map[string]any{"source": "origin", "database": "app", "owner": "app"}}
		spec["externalClusters"] = []any{map[string]any{"name": "origin", "barmanObjectStore": store}}
		pv := p.Data.Previews
		// The bucket's credentials, from the previews' store: a key the
		// platform puts there for previews to restore with.
		es := Object{
			"apiVersion": "external-secrets.io/v1",
			"kind":       "ExternalSecret",
			"metadata":   map[string]any{"name": creds, "namespace": ns, "labels": map[string]any{"paved.dev/team": team, "app.kubernetes.io/managed-by": "paved", PreviewLabel: label}},
			"spec": map[string]any{
				"refreshInterval": "1h",
				"secretStoreRef":  map[string]any{"kind": pv.SecretStore.Kind, "name": pv.SecretStore.Name},
				"target":          map[string]any{"name": creds, "creationPolicy": "Owner"},
				"data": []any{
					map[string]any{"secretKey": "ACCESS_KEY_ID", "remoteRef": map[string]any{"key": b.Credentials.Key, "property": b.Credentials.AccessKeyIDProperty}},
					map[string]any{"secretKey": "ACCESS_SECRET_KEY", "remoteRef": map[string]any{"key": b.Credentials.Key, "property": b.Credentials.SecretAccessKeyProperty}},
				},
			},
		}
		return []Object{es}, nil
	default:
		return nil, fmt.Errorf("unknown preview database mode %q", db.Mode)
	}
	return nil, nil
}
