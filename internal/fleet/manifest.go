package fleet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/paved-dev/paved/internal/gitsource"
	"github.com/paved-dev/paved/schema"
)

// Manifest is an ownership manifest: .paved/apps/<team>/<app>.json for an
// app, .paved/tenants/<team>.json for a team's tenant. Many sources (and
// people) write the fleet, so a manifest read from it is untrusted input:
// ReadManifest checks it before anything acts on it.
type Manifest struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	App        string          `json:"app"`
	Team       string          `json:"team"`
	Source     *ManifestSource `json:"source"`
	// DependsOn are the apps (team/app) the app depends on; manifests
	// written before paved recorded them have none.
	DependsOn []string `json:"dependsOn"`
	// InputsDigest digests what the app's render depends on (paved's
	// version, the platform, the app's files): commit --changed renders
	// an app whose digest differs.
	InputsDigest string            `json:"inputsDigest"`
	Clusters     []string          `json:"clusters"`
	Files        []string          `json:"files"`
	Digests      map[string]string `json:"digests"`
	// Inputs are the app's recorded inputs (nil in manifests written
	// before paved recorded them, and in tenant manifests).
	Inputs *ManifestInputs `json:"inputs"`
	// Requests are what the app counts against its tenant's quota, per
	// cluster (nil in manifests written before paved recorded them, and
	// in tenant manifests): the tenant of its team counts them when
	// another source's run renders it (render.FleetApp).
	Requests map[string]Requests `json:"requests"`
	// Environments are the releases the app's environments run (nil in
	// manifests written before paved recorded releases: every
	// environment runs the manifest's inputs).
	Environments map[string]*EnvRelease `json:"environments"`
}

// Requests are an app's share of its tenant's ResourceQuota in one cluster
// (render.Requests).
type Requests struct {
	CPUMillicores       int64 `json:"cpuMillicores"`
	MemoryMiB           int64 `json:"memoryMiB"`
	LimitsCPUMillicores int64 `json:"limitsCPUMillicores"`
	LimitsMemoryMiB     int64 `json:"limitsMemoryMiB"`
	StorageGiB          int64 `json:"storageGiB"`
}

// maxRequest bounds each recorded request (a millicore count of about a
// billion cores): a manifest is untrusted input, and a sum of them must
// not overflow.
const maxRequest = 1 << 40

// Clusters the app's files are in (apps/<cluster>/...), sorted: where its
// team needs a tenant.
func (m *Manifest) AppClusters() []string {
	var out []string
	for _, f := range m.Files {
		if parts := strings.Split(f, "/"); parts[0] == "apps" && len(parts) > 1 && !slices.Contains(out, parts[1]) {
			out = append(out, parts[1])
		}
	}
	slices.Sort(out)
	return out
}

// ManifestInputs are what an app was rendered from besides the platform
// and paved: its spec files by name, and whether its directory holds
// TechDocs. paved verify and rerender render the app again from them.
type ManifestInputs struct {
	Files map[string]string `json:"files"`
	Docs  bool              `json:"docs"`
}

// inputName is a recorded spec file's name: a CUE file of the app's
// directory.
var inputName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*\.cue$`)

// ManifestSource says where an app's spec came from.
type ManifestSource struct {
	// ID is the source identity; manifests written before paved recorded
	// it have the origin URL in Repo only.
	ID       string `json:"id"`
	Repo     string `json:"repo"`
	Revision string `json:"revision"`
	Path     string `json:"path"`
}

// ID is team/app of an app manifest.
func (m *Manifest) ID() string { return m.Team + "/" + m.App }

// SourceID is the source identity the manifest records: its ID, else the
// identity of its origin URL (manifests from before source identities),
// else the default source.
func (m *Manifest) SourceID() string {
	switch {
	case m.Source == nil:
		return gitsource.DefaultSource
	case m.Source.ID != "":
		return m.Source.ID
	}
	return gitsource.SourceID(m.Source.Repo)
}

// SourcePath is the app's directory in its source.
func (m *Manifest) SourcePath() string {
	if m.Source == nil {
		return ""
	}
	return m.Source.Path
}

// ManifestError is an ownership manifest paved refuses to act on (exit
// code 4): it does not parse, names another app than its file does, or
// lists a file outside its own app's (or tenant's) paths.
type ManifestError struct {
	Path   string // the manifest's path in the fleet
	Reason string
}

func (e *ManifestError) Error() string {
	return fmt.Sprintf("ownership manifest %s: %s: refusing to act on it (repair or remove it in the fleet repository)", e.Path, e.Reason)
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// safeFile accepts a file name paved renders: one path element of the
// characters Kubernetes names, kinds and versions use.
var safeFile = regexp.MustCompile(`^[a-z0-9][-a-z0-9._]*$`)

// maxManifest bounds what is parsed of one manifest (a 1,000-object app's
// manifest is about 200 KB).
const maxManifest = 8 << 20

// IsManifest reports whether p is where an ownership manifest lives.
func IsManifest(p string) bool {
	return (strings.HasPrefix(p, ".paved/apps/") || strings.HasPrefix(p, ".paved/tenants/")) && strings.HasSuffix(p, ".json")
}

// ReadManifest parses the manifest at fleet path p and checks it: an app
// manifest at .paved/apps/<team>/<app>.json must name that team and app
// and list only files of that app (apps/<cluster>/<team>/<app>/<file>,
// clusters/<cluster>/paved/apps/<team>-<app>.yaml,
// catalog/<team>/<app>.yaml); a tenant manifest at
// .paved/tenants/<team>.json only files of that team's tenant
// (tenants/<cluster>/<team>/<file>, clusters/<cluster>/paved/tenants/<team>.yaml,
// catalog/<team>/_group.yaml).
// Every digest names a listed file. Anything else is a *ManifestError.
func ReadManifest(p string, data []byte) (*Manifest, error) {
	bad := func(format string, args ...any) error {
		return &ManifestError{Path: p, Reason: fmt.Sprintf(format, args...)}
	}
	parts := strings.Split(p, "/")
	var team, app string
	switch {
	case len(parts) == 4 && parts[0] == ".paved" && parts[1] == "apps" && strings.HasSuffix(parts[3], ".json"):
		team, app = parts[2], strings.TrimSuffix(parts[3], ".json")
	case len(parts) == 3 && parts[0] == ".paved" && parts[1] == "tenants" && strings.HasSuffix(parts[2], ".json"):
		team = strings.TrimSuffix(parts[2], ".json")
	default:
		return nil, bad("not where paved keeps ownership manifests (.paved/apps/<team>/<app>.json, .paved/tenants/<team>.json)")
	}
	if !dnsLabel.MatchString(team) || (app != "" || parts[1] == "apps") && !dnsLabel.MatchString(app) {
		return nil, bad("its file name is not a team/app of DNS-1123 labels")
	}
	if len(data) > maxManifest {
		return nil, bad("larger than %d bytes", maxManifest)
	}
	var m Manifest
	d := json.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&m); err != nil {
		return nil, bad("does not parse: %v", err)
	}
	if d.More() {
		return nil, bad("does not parse: data after the manifest")
	}
	if m.APIVersion != "paved.dev/v1alpha1" || m.Kind != "Ownership" {
		return nil, bad("apiVersion %q, kind %q: want paved.dev/v1alpha1 Ownership", m.APIVersion, m.Kind)
	}
	if m.Team != team || m.App != app {
		return nil, bad("names %s, not the %s its file name says", describe(m.Team, m.App), describe(team, app))
	}
	if m.Source != nil {
		if sp := m.Source.Path; sp != "" && sp != "." && (path.IsAbs(sp) || path.Clean(sp) != sp || sp == ".." || strings.HasPrefix(sp, "../")) {
			return nil, bad("source path %q is not a clean relative path", sp)
		}
		if m.Source.ID != "" {
			if err := gitsource.CheckSourceID(m.Source.ID); err != nil {
				return nil, bad("source id: %v", err)
			}
		}
		// What a manifest records reaches commit messages, catalogs and
		// PR comments: one line of printable text, a commit hash.
		for field, v := range map[string]string{"repo": m.Source.Repo, "path": m.Source.Path} {
			if strings.IndexFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f || r == 0x2028 || r == 0x2029 }) >= 0 {
				return nil, bad("source %s holds control characters", field)
			}
		}
		if m.Source.Revision != "" && !revisionRE.MatchString(m.Source.Revision) {
			return nil, bad("source revision %q is not a full commit hash", m.Source.Revision)
		}
	}
	for _, dep := range m.DependsOn {
		t, a, ok := strings.Cut(dep, "/")
		if !ok || !dnsLabel.MatchString(t) || !dnsLabel.MatchString(a) {
			return nil, bad("dependsOn %q is not team/app", dep)
		}
	}
	if m.Inputs != nil {
		if app == "" {
			return nil, bad("a tenant has no inputs")
		}
		if len(m.Inputs.Files) == 0 {
			return nil, bad("records no input file")
		}
		for name := range m.Inputs.Files {
			if !inputName.MatchString(name) {
				return nil, bad("input %q is not the name of a CUE file", name)
			}
		}
	}
	if m.Requests != nil && app == "" {
		return nil, bad("a tenant records no requests")
	}
	for c, r := range m.Requests {
		if !dnsLabel.MatchString(c) {
			return nil, bad("requests name cluster %q, which is not a DNS-1123 label", c)
		}
		for _, v := range []int64{r.CPUMillicores, r.MemoryMiB, r.LimitsCPUMillicores, r.LimitsMemoryMiB, r.StorageGiB} {
			if v < 0 || v > maxRequest {
				return nil, bad("requests in cluster %s: %d is out of range (0 to %d)", c, v, int64(maxRequest))
			}
		}
	}
	for _, c := range m.Clusters {
		if !dnsLabel.MatchString(c) {
			return nil, bad("clusters names %q, which is not a DNS-1123 label", c)
		}
	}
	if m.Environments != nil && app == "" {
		return nil, bad("a tenant records no environments")
	}
	if err := m.checkEnvironments(bad); err != nil {
		return nil, err
	}
	listed := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		if !ownFile(f, team, app) {
			return nil, bad("lists %q, which is not a file of %s", f, describe(team, app))
		}
		if listed[f] {
			return nil, bad("lists %q twice", f)
		}
		listed[f] = true
	}
	for f, sum := range m.Digests {
		if !listed[f] {
			return nil, bad("has a digest for %q, which it does not list", f)
		}
		if !strings.HasPrefix(sum, "sha256:") {
			return nil, bad("the digest of %q is not sha256:<hex>", f)
		}
	}
	return &m, nil
}

func describe(team, app string) string {
	if app == "" {
		return "the tenant of team " + team
	}
	return "app " + team + "/" + app
}

// ownFile reports whether f is a path of app team/app (app "" for the
// team's tenant) in the fleet layout.
func ownFile(f, team, app string) bool {
	parts := strings.Split(f, "/")
	if len(parts) == 3 && parts[0] == "catalog" {
		// catalog/<team>/<app>.yaml; the tenant's Group: catalog/<team>/_group.yaml.
		return parts[1] == team && (app == "" && parts[2] == "_group.yaml" || app != "" && parts[2] == app+".yaml")
	}
	clusterOK := len(parts) > 1 && dnsLabel.MatchString(parts[1])
	if app == "" {
		switch {
		case len(parts) == 4 && parts[0] == "tenants":
			return clusterOK && parts[2] == team && safeFile.MatchString(parts[3])
		case len(parts) == 5 && parts[0] == "clusters":
			return clusterOK && parts[2] == "paved" && parts[3] == "tenants" && parts[4] == team+".yaml"
		}
		return false
	}
	if t, a, _, ok := IsPending(f); ok {
		return t == team && a == app
	}
	switch {
	case len(parts) == 5 && parts[0] == "apps":
		return clusterOK && parts[2] == team && parts[3] == app && safeFile.MatchString(parts[4])
	case len(parts) == 5 && parts[0] == "clusters":
		return clusterOK && parts[2] == "paved" && parts[3] == "apps" && parts[4] == schema.AppFluxName(team, app)+".yaml"
	}
	return false
}

// TenantCluster is the cluster of a file of a team's tenant, "" for the
// team's catalog Group, which every cluster shares.
func TenantCluster(f string) string {
	if strings.HasPrefix(f, "catalog/") {
		return ""
	}
	if parts := strings.Split(f, "/"); len(parts) > 1 {
		return parts[1]
	}
	return ""
}

// Manifests are the ownership manifests of a fleet revision, checked.
type Manifests struct {
	Apps    map[string]*Manifest // by team/app
	Tenants map[string]*Manifest // by team
	// Sources are the source records, by source identity.
	Sources map[string]*SourceRecord
	// Read reads a file of the fleet revision the manifests are of (nil
	// where the caller has no such revision).
	Read func(p string) ([]byte, bool) `json:"-"`
}

// SourceRecord is .paved/sources/<digest>.json: the newest revision of a
// source the fleet holds a render of. It outlives the source's apps, so
// that a late run of an older revision cannot bring back an app the
// newer one removed.
type SourceRecord struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Source     string `json:"source"`
	Revision   string `json:"revision"`
}

// SourceRecordPath is where the fleet records source id's revision: a
// digest of the identity names the file, since an identity is any
// printable text.
func SourceRecordPath(id string) string {
	sum := sha256.Sum256([]byte(id))
	return ".paved/sources/" + hex.EncodeToString(sum[:10]) + ".json"
}

// IsSourceRecord reports whether p is where a source record lives.
func IsSourceRecord(p string) bool {
	return strings.HasPrefix(p, ".paved/sources/") && strings.HasSuffix(p, ".json") && strings.Count(p, "/") == 2
}

var revisionRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// ReadSourceRecord parses and checks the source record at p: it must
// name a valid identity whose digest is its file name, and a full commit
// hash. Anything else is a *ManifestError.
func ReadSourceRecord(p string, data []byte) (*SourceRecord, error) {
	bad := func(format string, args ...any) error {
		return &ManifestError{Path: p, Reason: fmt.Sprintf(format, args...)}
	}
	if len(data) > 64<<10 {
		return nil, bad("larger than %d bytes", 64<<10)
	}
	var r SourceRecord
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&r); err != nil || d.More() {
		return nil, bad("does not parse as a source record")
	}
	if r.APIVersion != "paved.dev/v1alpha1" || r.Kind != "SourceRecord" {
		return nil, bad("apiVersion %q, kind %q: want paved.dev/v1alpha1 SourceRecord", r.APIVersion, r.Kind)
	}
	if err := gitsource.CheckSourceID(r.Source); err != nil {
		return nil, bad("source: %v", err)
	}
	if SourceRecordPath(r.Source) != p {
		return nil, bad("records source %s, whose record is %s", r.Source, SourceRecordPath(r.Source))
	}
	if !revisionRE.MatchString(r.Revision) {
		return nil, bad("revision %q is not a full commit hash", r.Revision)
	}
	return &r, nil
}

// EncodeSourceRecord is the file of a source record.
func EncodeSourceRecord(source, revision string) []byte {
	data, _ := json.MarshalIndent(SourceRecord{APIVersion: "paved.dev/v1alpha1", Kind: "SourceRecord", Source: source, Revision: revision}, "", "  ")
	return append(data, '\n')
}

// ReadManifests reads and checks every ownership manifest among paths:
// read returns a file's content. The first manifest refused is returned as
// a *ManifestError, in path order.
func ReadManifests(paths []string, read func(string) ([]byte, error)) (*Manifests, error) {
	out := &Manifests{Apps: map[string]*Manifest{}, Tenants: map[string]*Manifest{}, Sources: map[string]*SourceRecord{}}
	out.Read = func(p string) ([]byte, bool) {
		b, err := read(p)
		return b, err == nil
	}
	var ms []string
	for _, p := range paths {
		if IsManifest(p) || IsSourceRecord(p) {
			ms = append(ms, p)
		}
	}
	slices.Sort(ms)
	for _, p := range ms {
		data, err := read(p)
		if err != nil {
			return nil, err
		}
		if IsSourceRecord(p) {
			r, err := ReadSourceRecord(p, data)
			if err != nil {
				return nil, err
			}
			out.Sources[r.Source] = r
			continue
		}
		m, err := ReadManifest(p, data)
		if err != nil {
			return nil, err
		}
		if m.App == "" {
			out.Tenants[m.Team] = m
		} else {
			out.Apps[m.ID()] = m
		}
	}
	return out, nil
}
