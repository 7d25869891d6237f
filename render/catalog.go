package render

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/paved-dev/paved/schema"
)

// The Backstage catalog paved writes into the fleet: a Component per app
// (catalog/<team>/<app>.yaml, owned by the app), a Group per team
// (catalog/<team>/_group.yaml, owned by the team's tenant: no app name can
// start with '_'), and one Location (catalog/all.yaml) listing every entity
// file, so a Backstage instance ingests the whole fleet from one URL. Like
// each cluster's entry kustomization, the Location belongs to the fleet: it
// is rebuilt from the files present.
const (
	// CatalogLocation is the path of the Location entity.
	CatalogLocation = "catalog/all.yaml"
	// CatalogCluster is the pseudo-cluster catalog changes are reported
	// under (clusters are DNS labels, so it names none).
	CatalogCluster = "(catalog)"
	backstageAPI   = "backstage.io/v1alpha1"
)

// CatalogComponentFile is where an app's Component lives.
func CatalogComponentFile(team, app string) string { return "catalog/" + team + "/" + app + ".yaml" }

// CatalogGroupFile is where a team's Group lives.
func CatalogGroupFile(team string) string { return "catalog/" + team + "/_group.yaml" }

// isCatalogEntity reports whether p is an entity file of the catalog (not
// the Location).
func isCatalogEntity(p string) bool {
	return strings.HasPrefix(p, "catalog/") && strings.HasSuffix(p, ".yaml") && p != CatalogLocation
}

// appLink is a link the catalog shows for an app, with where it applies.
type appLink struct{ url, title, icon string }

// catalogComponent is the Backstage Component of an app: type by kind,
// lifecycle, owner (the team's Group), system, dependencies, the source
// location and TechDocs (when the app directory has mkdocs.yml), the
// Kubernetes annotations the catalog's Kubernetes view finds the app's
// objects by (every object carries backstage.io/kubernetes-id), and links
// to its dashboards and ingress hosts after the app's own links.
func catalogComponent(p *schema.Platform, a *App, extra []appLink) Object {
	spec := a.Base
	ann := map[string]any{
		"backstage.io/kubernetes-id":        spec.Name,
		"backstage.io/kubernetes-namespace": spec.Team,
		"paved.dev/source":                  a.Source.ID,
	}
	if loc := sourceLocation(a.Source); loc != "" {
		ann["backstage.io/source-location"] = loc
		if a.Docs {
			ann["backstage.io/techdocs-ref"] = loc
		}
	}
	md := map[string]any{
		"name":        spec.Name,
		"namespace":   spec.Team,
		"title":       spec.Team + "/" + spec.Name,
		"annotations": ann,
	}
	if spec.Description != "" {
		md["description"] = spec.Description
	}
	if len(spec.Tags) > 0 {
		md["tags"] = toAny(spec.Tags)
	}
	var links []any
	for _, l := range spec.Links {
		m := map[string]any{"url": l.URL, "title": l.Title}
		if l.Icon != "" {
			m["icon"] = l.Icon
		}
		links = append(links, m)
	}
	for _, l := range extra {
		links = append(links, map[string]any{"url": l.url, "title": l.title, "icon": l.icon})
	}
	if len(links) > 0 {
		md["links"] = links
	}
	s := map[string]any{
		"type":      p.Data.Catalog.ComponentTypes[spec.Kind],
		"lifecycle": spec.Lifecycle,
		"owner":     "group:default/" + spec.Team,
	}
	if spec.System != "" {
		s["system"] = "system:default/" + spec.System
	}
	if deps := spec.CatalogDependencies(); len(deps) > 0 {
		refs := make([]any, len(deps))
		for i, d := range deps {
			refs[i] = "component:" + d
		}
		s["dependsOn"] = refs
	}
	return Object{"apiVersion": backstageAPI, "kind": "Component", "metadata": md, "spec": s}
}

// catalogGroup is the Backstage Group of a team, from the platform's team
// metadata.
func catalogGroup(p *schema.Platform, team string) Object {
	t := p.Data.Teams[team]
	md := map[string]any{
		"name":        team,
		"namespace":   "default",
		"description": fmt.Sprintf("Team %s (cost center %s), owner of its apps on the paved platform.", team, t.CostCenter),
		"annotations": map[string]any{"paved.dev/cost-center": t.CostCenter},
	}
	if t.DisplayName != "" {
		md["title"] = t.DisplayName
	}
	if t.Chat != "" {
		md["links"] = []any{map[string]any{"url": t.Chat, "title": "Chat", "icon": "chat"}}
	}
	profile := map[string]any{}
	if t.DisplayName != "" {
		profile["displayName"] = t.DisplayName
	}
	if t.Email != "" {
		profile["email"] = t.Email
	}
	s := map[string]any{"type": "team", "children": []any{}}
	if len(profile) > 0 {
		s["profile"] = profile
	}
	return Object{"apiVersion": backstageAPI, "kind": "Group", "metadata": md, "spec": s}
}

// CatalogLocationFile renders catalog/all.yaml: a Location whose targets
// are every entity file among files, relative to it, sorted.
func CatalogLocationFile(p *schema.Platform, files []string) ([]byte, error) {
	var targets []any
	for _, f := range slices.Sorted(slices.Values(files)) {
		if isCatalogEntity(f) {
			targets = append(targets, "./"+strings.TrimPrefix(f, "catalog/"))
		}
	}
	return objectYAML(Object{
		"apiVersion": backstageAPI,
		"kind":       "Location",
		"metadata": map[string]any{
			"name":        p.Data.Catalog.LocationName,
			"namespace":   "default",
			"description": "Every app and team paved rendered into this fleet.",
		},
		"spec": map[string]any{"targets": targets},
	})
}

// sourceLocation is the backstage.io/source-location of an app: its
// directory in its source repository, browsed at HEAD, for a source whose
// identity is a host/owner/name; "" for a local source.
func sourceLocation(src Source) string {
	id := src.ID
	host, _, _ := strings.Cut(id, "/")
	if id == "" || strings.HasPrefix(id, "/") || !strings.Contains(id, "/") || !strings.Contains(host, ".") {
		return ""
	}
	tree := "/tree/HEAD/"
	if strings.Contains(host, "gitlab") {
		tree = "/-/tree/HEAD/"
	}
	dir := ""
	if p := path.Clean(src.Path); p != "." && p != "" {
		dir = p + "/"
	}
	return "url:https://" + id + tree + dir
}

// appLinks are the catalog links of an app's rendered clusters: its
// dashboard in each cluster with a Grafana, and each distinct ingress
// URL, titled with where it serves.
func appLinks(a *App, clusters []ClusterTarget, objsByCluster map[string][]Object) []appLink {
	var out []appLink
	if a.Base.Observability.Dashboard.Enabled {
		for _, ct := range clusters {
			if ct.GrafanaURL != "" && objsByCluster[ct.Name] != nil {
				out = append(out, appLink{
					url:   ct.GrafanaURL + "/d/" + DashboardUID(a.Base.Team, a.Base.Name),
					title: "Dashboard (" + ct.Name + ")", icon: "dashboard",
				})
			}
		}
	}
	var urls []string
	where := map[string][]string{}
	for _, ct := range clusters {
		for _, o := range objsByCluster[ct.Name] {
			if o.Kind() != "Ingress" {
				continue
			}
			spec, _ := o["spec"].(map[string]any)
			rules, _ := spec["rules"].([]any)
			for _, r := range rules {
				rule, _ := r.(map[string]any)
				host, _ := rule["host"].(string)
				httpRule, _ := rule["http"].(map[string]any)
				paths, _ := httpRule["paths"].([]any)
				for _, pp := range paths {
					pm, _ := pp.(map[string]any)
					p, _ := pm["path"].(string)
					u := "https://" + host + p
					if _, ok := where[u]; !ok {
						urls = append(urls, u)
					}
					if !slices.Contains(where[u], ct.Name) {
						where[u] = append(where[u], ct.Name)
					}
				}
			}
		}
	}
	for _, u := range urls {
		out = append(out, appLink{url: u, title: strings.TrimPrefix(u, "https://") + " (" + strings.Join(where[u], ", ") + ")", icon: "web"})
	}
	return out
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
