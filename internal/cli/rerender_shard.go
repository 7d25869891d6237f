package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/paved-dev/paved/internal/fleet"
	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

// A sharded rerender: each of N jobs renders and lints its shard of the
// fleet's apps (rerender --shard I/N --out-bundle F) and writes what it
// rendered to a bundle; one job merges the N bundles into the single
// commit (rerender --merge F...), byte for byte the commit of an
// unsharded rerender of the same fleet revision.

// bundleVersion names the bundle format.
const bundleVersion = "paved-rerender-bundle v1"

// rerenderBundle is one shard's render.
type rerenderBundle struct {
	Format string `json:"format"`
	Shard  string `json:"shard"` // I/N
	// Revision is the fleet commit the shard read, Manifests the digest
	// of its ownership manifests and Platform the fleet platform's digest:
	// the merge commits only onto the very fleet every shard rendered.
	Revision  string `json:"revision"`
	Manifests string `json:"manifests"`
	Platform  string `json:"platform"`
	// Files are the shard's rendered files: its apps' (their manifests
	// list them), and in shard 1 every file no app owns (tenants, the
	// catalog's).
	Files    map[string][]byte `json:"files"`
	Apps     []fleet.App       `json:"apps"`
	Problems []verifyProblem   `json:"problems,omitempty"`
}

// manifestsDigest digests a fleet's ownership manifests.
func manifestsDigest(ms *fleet.Manifests) string {
	b, err := json.Marshal(ms) // maps marshal with sorted keys
	if err != nil {
		panic(fmt.Sprintf("manifests do not marshal: %v", err)) // a field that cannot be digested
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// rerenderShard is the render step of a sharded rerender: it renders and
// lints shard s of the fleet at url's branch with its platform fp and
// writes the bundle to out. Nothing is written on a denial or an error.
func rerenderShard(e *env, url, branch string, fp *fleetPlatform, s *shard, today time.Time, out string) error {
	snap, err := fleet.Read(context.Background(), url, branch)
	if err != nil {
		return &exitError{code: ExitGit, err: fmt.Errorf("rerender: %w", err)}
	}
	defer snap.Close()
	if snap.Revision != fp.revision {
		return &exitError{code: ExitGit, err: fmt.Errorf("rerender: %s moved while it was read: run again", branch)}
	}
	ms, err := fleet.ReadManifests(snap.Paths, snap.ReadFile)
	if err != nil {
		return fleetFailure(nil, "rerender", err)
	}
	var scope *verifyScope
	if !s.fleet() {
		scope = shardScope(ms, s)
	} // shard 1 renders every app: the checks over the whole fleet need them
	rec, err := renderRecordedWith(e, ms, fp, scope, true)
	if err != nil {
		return err
	}
	rec.fp = nil // the caller's
	defer rec.close()
	rec.l.part = s.part()
	rep, err := rec.lint(e, today)
	if err != nil {
		return err
	}
	if deny, _, _ := rep.Count(); deny > 0 {
		_ = policy.FormatText(e.stderr, rep, policy.FormatOptions{Cwd: e.cwd, Apps: len(rec.l.apps), Clusters: len(render.Clusters(rec.l.platform))})
		return &exitError{code: ExitChanges, err: fmt.Errorf("rerender: %d policy %s: nothing written", deny, plural(deny, "denial", "denials"))}
	}
	b := rerenderBundle{Format: bundleVersion, Shard: s.String(), Revision: snap.Revision, Manifests: manifestsDigest(ms), Platform: fp.digest, Files: map[string][]byte{}}
	// Every rendered file some app's manifest lists is that app's.
	owner := map[string]string{}
	for p, data := range rec.tree.Files {
		if id, ok := strings.CutPrefix(p, ".paved/apps/"); ok {
			id = strings.TrimSuffix(id, ".json")
			owner[p] = id
			if m, err := fleet.ReadManifest(p, data); err == nil {
				for _, f := range m.Files {
					owner[f] = id
				}
			}
		}
	}
	for p, data := range rec.tree.Files {
		if strings.HasPrefix(p, "clusters/") && filepath.Base(p) == "kustomization.yaml" {
			continue // recomputed from the fleet by the commit
		}
		if id, ok := owner[p]; ok {
			team, app, _ := strings.Cut(id, "/")
			if !s.has(team, app) {
				continue
			}
		} else if !s.fleet() {
			continue
		}
		b.Files[p] = data
	}
	for _, a := range planApps(rec.in) {
		if s.has(a.Team, a.Name) {
			b.Apps = append(b.Apps, a)
		}
	}
	for _, p := range rec.problems {
		team, app, _ := strings.Cut(p.App, "/")
		if s.has(team, app) {
			b.Problems = append(b.Problems, p)
		}
	}
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	if err := writeAtomic(out, data); err != nil {
		return fmt.Errorf("rerender: writing the bundle: %w", err)
	}
	fmt.Fprintf(e.stdout, "rendered shard %s: %d %s, %d files, to %s\n", b.Shard, len(b.Apps), plural(len(b.Apps), "app", "apps"), len(b.Files), out)
	return nil
}

// writeAtomic writes data to file through a temporary file and a rename.
func writeAtomic(file string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(file), ".paved-bundle-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), file)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// readBundles reads the bundles of shards 1..N of one render: every shard
// once, the same fleet revision, manifests and platform.
func readBundles(files []string) ([]*rerenderBundle, error) {
	var bs []*rerenderBundle
	seen := map[string]string{}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, invalid("rerender --merge: %v", err)
		}
		var b rerenderBundle
		if err := json.Unmarshal(data, &b); err != nil || b.Format != bundleVersion {
			return nil, invalid("rerender --merge: %s is not a bundle rerender --shard wrote", f)
		}
		var s shard
		if err := s.Set(b.Shard); err != nil {
			return nil, invalid("rerender --merge: %s: shard %q: %v", f, b.Shard, err)
		}
		if prev, dup := seen[b.Shard]; dup {
			return nil, invalid("rerender --merge: %s and %s are both shard %s", prev, f, b.Shard)
		}
		seen[b.Shard] = f
		if n == 0 {
			n = s.n
		}
		if s.n != n || len(bs) > 0 && (b.Revision != bs[0].Revision || b.Manifests != bs[0].Manifests || b.Platform != bs[0].Platform) {
			return nil, invalid("rerender --merge: %s is a shard of another render than %s (fleet revision, platform or shard count differ): run every shard on one revision", f, files[0])
		}
		bs = append(bs, &b)
	}
	if len(bs) == 0 || len(bs) != n {
		return nil, invalid("rerender --merge: %d of %d shards' bundles given", len(bs), n)
	}
	return bs, nil
}

// mergeBundles is what the merged render commits: every shard's files and
// apps (in the order an unsharded render lists them) and problems.
func mergeBundles(bs []*rerenderBundle) (map[string][]byte, []fleet.App, []verifyProblem, error) {
	files := map[string][]byte{}
	var apps []fleet.App
	var problems []verifyProblem
	for _, b := range bs {
		for p, data := range b.Files {
			if _, dup := files[p]; dup {
				return nil, nil, nil, invalid("rerender --merge: two shards rendered %s", p)
			}
			files[p] = data
		}
		apps = append(apps, b.Apps...)
		problems = append(problems, b.Problems...)
	}
	// An unsharded render lists its apps by their directories, team/app.
	slices.SortFunc(apps, func(a, b fleet.App) int { return strings.Compare(a.Team+"/"+a.Name, b.Team+"/"+b.Name) })
	slices.SortFunc(problems, func(a, b verifyProblem) int { return strings.Compare(a.File, b.File) })
	return files, apps, problems, nil
}

// mergePrepare is the prepare function of the merge's commit: the
// bundles' render, refused when the fleet's manifests are no longer those
// the shards rendered from.
func mergePrepare(bs []*rerenderBundle, p *schema.Platform, fp *fleetPlatform, message string, allowDBDelete bool) (func(ms *fleet.Manifests) (*fleet.Render, error), []verifyProblem, error) {
	files, apps, problems, err := mergeBundles(bs)
	if err != nil {
		return nil, nil, err
	}
	return func(ms *fleet.Manifests) (*fleet.Render, error) {
		if manifestsDigest(ms) != bs[0].Manifests {
			return nil, &exitError{code: ExitGit, err: fmt.Errorf("rerender --merge: the fleet changed since the shards rendered it (at %s): run the shards again", bs[0].Revision[:min(12, len(bs[0].Revision))])}
		}
		msg := rerenderMessage(message, len(apps), fp)
		return &fleet.Render{
			Message:             msg,
			Files:               maps.Clone(files),
			Apps:                apps,
			AllowDatabaseDelete: allowDBDelete,
			Built:               builtObjects,
			PlatformDigest:      fp.digest,
			Entry:               render.EntryKustomization,
			Catalog:             func(files []string) ([]byte, error) { return render.CatalogLocationFile(p, files) },
		}, nil
	}, problems, nil
}

// rerenderMessage is rerender's commit message for n apps.
func rerenderMessage(msg string, n int, fp *fleetPlatform) string {
	if msg == "" {
		at := "the embedded default"
		if fp.dir != "" {
			at = fleet.PlatformDir + "/ at " + fp.revision[:min(12, len(fp.revision))]
		}
		msg = fmt.Sprintf("rerender: %d %s with the fleet's platform (%s)", n, plural(n, "app", "apps"), at)
	}
	msg += "\n\n" + fleet.Trailer("Render-Tool", "paved "+Version())
	if fp.digest != "" {
		msg += fleet.Trailer("Render-Platform", fp.digest)
	}
	return msg
}
