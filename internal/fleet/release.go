package fleet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

// A release is what a commit renders for an app: its spec files (the
// inputs the team wrote), at a source revision, rendered into each
// environment. Environments move from one release to the next by
// promotion: the app's ownership manifest records, per environment, the
// release the fleet holds there (EnvRelease), and a release recorded for
// an environment that does not run it yet is pending there
// (.paved/pending/<team>/<app>/<env>.json, Pending), with the very files
// that were diffed and reviewed.

// EnvRelease is the release an environment of an app runs.
type EnvRelease struct {
	// Release identifies the release (ReleaseID of its inputs).
	Release string `json:"release"`
	// Revision is the source revision it was rendered from.
	Revision string `json:"revision,omitempty"`
	// SourceTime is when that source commit was made (RFC 3339): the
	// start of the release's lead time.
	SourceTime string `json:"sourceTime,omitempty"`
	// Image is the app's container image in the environment.
	Image string `json:"image,omitempty"`
	// Inputs are the release's spec files when they are not the
	// manifest's own (the environment runs an older release than the
	// one committed last).
	Inputs *ManifestInputs `json:"inputs,omitempty"`
	// Landed is when the fleet commit that wrote it was made (RFC 3339):
	// the start of its soak; "" when it landed before paved recorded
	// releases (it has run since then).
	Landed string `json:"landed"`
	// How it landed: "commit", "promote" or "rollback".
	Via string `json:"via"`
	// Hold stops promote and commit from moving the environment to
	// another release (set by rollback).
	Hold *Hold `json:"hold,omitempty"`
}

// Hold keeps an environment of an app on the release it was rolled back
// to, until a person releases it (rollback --release-hold) or the team
// commits a release it marks as the fix (Paved-Fixes in the source
// commit's message).
type Hold struct {
	// From is the release rolled back from.
	From   string `json:"from"`
	Reason string `json:"reason"`
	By     string `json:"by"`
	At     string `json:"at"`
}

// Pending is .paved/pending/<team>/<app>/<env>.json: a release recorded
// for an environment that does not run it yet, with the files promote
// writes, byte for byte.
type Pending struct {
	APIVersion  string          `json:"apiVersion"`
	Kind        string          `json:"kind"`
	Team        string          `json:"team"`
	App         string          `json:"app"`
	Environment string          `json:"environment"`
	Release     string          `json:"release"`
	Source      *ManifestSource `json:"source,omitempty"`
	SourceTime  string          `json:"sourceTime,omitempty"`
	Image       string          `json:"image,omitempty"`
	// Committed is when the commit that recorded it was made.
	Committed string          `json:"committed"`
	Inputs    *ManifestInputs `json:"inputs"`
	// Clusters are the environment's clusters the release renders into.
	Clusters []string `json:"clusters"`
	// Files are the fleet files of the release in those clusters, by
	// path: what promote writes.
	Files    map[string]string   `json:"files"`
	Requests map[string]Requests `json:"requests,omitempty"`
	// Manual and Soak are what the release's spec narrows of the
	// environment's promotion (promotion.<env>).
	Manual bool   `json:"manual,omitempty"`
	Soak   string `json:"soak,omitempty"`
}

// PendingPath is where the pending release of team/app in env lives.
func PendingPath(team, app, env string) string {
	return path.Join(".paved", "pending", team, app, env+".json")
}

// IsPending reports whether p is where a pending release lives, and
// whose.
func IsPending(p string) (team, app, env string, ok bool) {
	parts := strings.Split(p, "/")
	if len(parts) != 5 || parts[0] != ".paved" || parts[1] != "pending" || !strings.HasSuffix(parts[4], ".json") {
		return "", "", "", false
	}
	env = strings.TrimSuffix(parts[4], ".json")
	if !dnsLabel.MatchString(parts[2]) || !dnsLabel.MatchString(parts[3]) || !dnsLabel.MatchString(env) {
		return "", "", "", false
	}
	return parts[2], parts[3], env, true
}

var releaseRE = regexp.MustCompile(`^[0-9a-f]{12}$`)

// ReleaseID identifies a release of team/app: a digest of its spec files
// (the platform and paved are not part of it: a platform change
// re-renders every release, it makes none).
func ReleaseID(team, app string, in *ManifestInputs) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s/%s\x00", team, app)
	if in != nil {
		for _, name := range slices.Sorted(maps.Keys(in.Files)) {
			fmt.Fprintf(h, "%s\x00%d\x00%s", name, len(in.Files[name]), in.Files[name])
		}
		fmt.Fprintf(h, "\x00docs=%t", in.Docs)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// ReadPending parses and checks the pending release at p: it must name
// the team, app and environment its path does, and hold only files of
// that app.
func ReadPending(p string, data []byte) (*Pending, error) {
	bad := func(format string, args ...any) error {
		return &ManifestError{Path: p, Reason: fmt.Sprintf(format, args...)}
	}
	team, app, env, ok := IsPending(p)
	if !ok {
		return nil, bad("not where paved keeps pending releases (.paved/pending/<team>/<app>/<env>.json)")
	}
	if len(data) > maxManifest {
		return nil, bad("larger than %d bytes", maxManifest)
	}
	var r Pending
	d := json.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&r); err != nil || d.More() {
		return nil, bad("does not parse as a pending release")
	}
	if r.APIVersion != "paved.dev/v1alpha1" || r.Kind != "PendingRelease" {
		return nil, bad("apiVersion %q, kind %q: want paved.dev/v1alpha1 PendingRelease", r.APIVersion, r.Kind)
	}
	if r.Team != team || r.App != app || r.Environment != env {
		return nil, bad("names %s/%s in %s, not what its path says", r.Team, r.App, r.Environment)
	}
	if !releaseRE.MatchString(r.Release) {
		return nil, bad("release %q is not a release id", r.Release)
	}
	if r.Inputs == nil || len(r.Inputs.Files) == 0 {
		return nil, bad("records no inputs")
	}
	for name := range r.Inputs.Files {
		if !inputName.MatchString(name) {
			return nil, bad("input %q is not the name of a CUE file", name)
		}
	}
	for f := range r.Files {
		parts := strings.Split(f, "/")
		if !ownFile(f, team, app) || len(parts) < 2 || !slices.Contains(r.Clusters, parts[1]) {
			return nil, bad("holds %q, which is not a file of app %s/%s in its clusters", f, team, app)
		}
	}
	if _, err := time.Parse(time.RFC3339, r.Committed); err != nil {
		return nil, bad("committed %q is not an RFC 3339 time", r.Committed)
	}
	return &r, nil
}

// EncodePending is the file of a pending release.
func EncodePending(r *Pending) []byte {
	r.APIVersion, r.Kind = "paved.dev/v1alpha1", "PendingRelease"
	data, _ := json.MarshalIndent(r, "", "  ")
	return append(data, '\n')
}

// checkEnvironments checks what an app manifest records per environment.
func (m *Manifest) checkEnvironments(bad func(string, ...any) error) error {
	for env, r := range m.Environments {
		if !dnsLabel.MatchString(env) {
			return bad("environments names %q, which is not a DNS-1123 label", env)
		}
		if r == nil || !releaseRE.MatchString(r.Release) {
			return bad("environments.%s: no release id", env)
		}
		if r.Revision != "" && !revisionRE.MatchString(r.Revision) {
			return bad("environments.%s: revision %q is not a full commit hash", env, r.Revision)
		}
		if _, err := time.Parse(time.RFC3339, r.Landed); r.Landed != "" && err != nil {
			return bad("environments.%s: landed %q is not an RFC 3339 time", env, r.Landed)
		}
		if r.Inputs != nil {
			for name := range r.Inputs.Files {
				if !inputName.MatchString(name) {
					return bad("environments.%s: input %q is not the name of a CUE file", env, name)
				}
			}
		}
	}
	return nil
}

// EnvInputs are the inputs of the release env runs: its own, else the
// manifest's.
func (m *Manifest) EnvInputs(env string) *ManifestInputs {
	if r := m.Environments[env]; r != nil && r.Inputs != nil {
		return r.Inputs
	}
	return m.Inputs
}

// EnvRelease is the release the fleet holds in env: the recorded one, or,
// for a manifest written before releases were recorded, its own inputs'
// when it has files there (clusters: the environment's).
func (m *Manifest) EnvRelease(env string, clusters []string) *EnvRelease {
	if r := m.Environments[env]; r != nil {
		return r
	}
	for _, c := range m.AppClusters() {
		if slices.Contains(clusters, c) {
			r := &EnvRelease{Release: ReleaseID(m.Team, m.App, m.Inputs), Via: "commit"}
			if m.Source != nil {
				r.Revision = m.Source.Revision
			}
			return r
		}
	}
	return nil
}

// Restage rewrites an app manifest (as render wrote it) with the given
// files and environments, keeping every other field as it is: its
// clusters and requests stay the render's, every cluster its newest
// release renders into (its team's tenants and quotas count them there,
// pending or not, as every source's render and verify do). Digests are
// those of files' contents.
func Restage(data []byte, files map[string][]byte, owned []string, envs map[string]*EnvRelease) ([]byte, error) {
	var doc struct {
		APIVersion   string                 `json:"apiVersion"`
		Kind         string                 `json:"kind"`
		App          string                 `json:"app,omitempty"`
		Team         string                 `json:"team"`
		Source       json.RawMessage        `json:"source,omitempty"`
		Paved        json.RawMessage        `json:"paved"`
		InputsDigest string                 `json:"inputsDigest,omitempty"`
		DependsOn    []string               `json:"dependsOn,omitempty"`
		Clusters     []string               `json:"clusters,omitempty"`
		Files        []string               `json:"files"`
		Digests      map[string]string      `json:"digests"`
		Inputs       json.RawMessage        `json:"inputs,omitempty"`
		Requests     map[string]Requests    `json:"requests,omitempty"`
		Environments map[string]*EnvRelease `json:"environments,omitempty"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	owned = slices.Sorted(slices.Values(owned))
	doc.Files, doc.Environments = owned, envs
	doc.Digests = make(map[string]string, len(owned))
	for _, f := range owned {
		sum := sha256.Sum256(files[f])
		doc.Digests[f] = "sha256:" + hex.EncodeToString(sum[:])
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
