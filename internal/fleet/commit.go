package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"path"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
	"sigs.k8s.io/yaml"

	"github.com/paved-dev/paved/internal/gitsource"
)

// Prepare makes the render a commit applies to a fleet revision, given
// that revision's checked ownership manifests: once per attempt, since a
// retry applies to a new tip (commit --changed renders the apps whose
// inputs differ from what the tip records). An error it returns is
// returned by Commit as a *PrepareError.
type Prepare func(ms *Manifests) (*Render, error)

// PrepareError is an error of Prepare: the render, not the fleet.
type PrepareError struct{ Err error }

func (e *PrepareError) Error() string { return e.Err.Error() }
func (e *PrepareError) Unwrap() error { return e.Err }

// Render is what a commit writes into the fleet.
type Render struct {
	// Message is the commit message.
	Message string
	// Files are every file render produced for the apps in scope: apps,
	// tenants, Flux Kustomizations and ownership manifests. The clusters'
	// entry kustomizations are recomputed from the fleet and ignored here.
	Files map[string][]byte
	// Apps are the apps rendered, Keep the unchanged apps not rendered
	// (--changed), Roots the run's PATHs in their sources and Adopt the
	// apps it may take over from another source: with the fleet's
	// manifests they decide the run's scope (NewPlan).
	Apps  []App
	Keep  []App
	Roots []Root
	Adopt []string
	// AllowMassDelete lets a commit remove more than half of the apps in
	// its scope, or a tenant.
	AllowMassDelete bool
	// AllowDatabaseDelete lets a commit delete stateful objects (a
	// CloudNativePG Cluster, a PersistentVolumeClaim, a Namespace the fleet
	// applies for an app in scope), and so their data.
	AllowDatabaseDelete bool
	// Built builds app directories' files (apps/<cluster>/<team>/<app>/)
	// as Flux would and returns the objects they apply: the delete guards
	// compare what Flux would apply before and after, patches included.
	Built func(files map[string][]byte) ([]BuiltObject, error)
	// Ancestry places the run's source revisions against the fleet's
	// (PlanInput.Ancestry): a run of an older revision writes nothing, one
	// whose revision cannot be placed is a *RevisionError.
	Ancestry func(source, a, b string) (bool, error)
	// TeamSources are the fleet platform's team bindings
	// (PlanInput.TeamSources).
	TeamSources map[string][]string
	// PlatformDigest is the PlatformDigest of the fleet platform the
	// render used ("" for none): a tip whose platform differs is a
	// *PlatformChangedError.
	PlatformDigest string
	// Entry renders clusters/<cluster>/paved/kustomization.yaml.
	Entry func(resources []string) ([]byte, error)
	// Catalog renders catalog/all.yaml, the Location of every catalog
	// entity file among files.
	Catalog func(files []string) ([]byte, error)
	// OverwriteForeignEdits replaces owned files edited by hand.
	OverwriteForeignEdits bool
}

// CommitOptions say where and how to commit.
type CommitOptions struct {
	URL, Branch string
	Author      object.Signature
	// MaxAttempts bounds push retries after a concurrent push (default 8).
	MaxAttempts int
	// Log receives one line per retry.
	Log io.Writer
	// CreateBranch lets a commit start Branch (as a new root commit) when
	// the fleet does not have it; without it a missing branch is a
	// *NoBranchError.
	CreateBranch bool
	// PushBranch, when set, is where the commit made on Branch's tip is
	// pushed instead of Branch: a new branch for a pull request. It is
	// never forced: a PushBranch the fleet already has refuses the push.
	PushBranch string
}

// Result is what a commit did.
type Result struct {
	Commit   string // "" when nothing changed
	Parent   string // the fleet tip it was made on
	Attempts int    // pushes tried
	// Stale are the run's sources the fleet holds a newer revision of:
	// the run wrote nothing.
	Stale     []Stale
	Written   int // files added or changed
	Deleted   int // files removed
	NoChanges bool
	Removed   []string   // apps pruned
	Adopted   []Adoption // apps taken over from another source
	// Orphaned are the stateful objects (BuiltObject.ID) the commit
	// removed from the fleet that Flux leaves in their clusters, with
	// their data, because they carry its prune protection
	// (kustomize.toolkit.fluxcd.io/prune: disabled): the explicit delete is
	// a person's. The Namespaces of removed tenants are among them. Pruned
	// are those Flux deletes, data and all: rendered before paved
	// protected them.
	Orphaned, Pruned []string
}

// ForeignEditError lists owned files edited since paved last wrote them.
type ForeignEditError struct{ Files []string }

func (e *ForeignEditError) Error() string {
	return fmt.Sprintf("%d files paved owns were edited by hand since its last commit (%s); re-run with --overwrite-foreign-edits to replace them",
		len(e.Files), strings.Join(e.Files[:min(5, len(e.Files))], ", "))
}

// Commit applies the render to the tip of the branch and pushes one
// commit, or none when nothing changes. A push rejected because the branch
// moved (judged by the remote ref, not the error text) is retried on the
// new tip with backoff and jitter; nothing is ever force-pushed.
func Commit(ctx context.Context, prepare Prepare, o CommitOptions) (*Result, error) {
	return commit(ctx, o, func(repo *git.Repository, tip *object.Commit) (*applied, error) {
		return apply(repo, tip, prepare)
	})
}

// commit is Commit's loop, for any way of applying a change to a tip
// (apply for apps, applyChange for CommitChange): open the branch, apply,
// push one commit, retry on a new tip.
func commit(ctx context.Context, o CommitOptions, apply func(*git.Repository, *object.Commit) (*applied, error)) (*Result, error) {
	shown := gitsource.SanitizeOrigin(o.URL)
	wrap := func(err error) error {
		var pr *PrepareError
		if errors.As(err, &pr) {
			return pr
		}
		var fe *ForeignEditError
		var me *ManifestError
		var pe *PlanError
		var md *MassDeleteError
		var dd *DatabaseDeleteError
		var re *RevisionError
		var pc *PlatformChangedError
		if errors.As(err, &fe) || errors.As(err, &me) || errors.As(err, &pe) || errors.As(err, &md) || errors.As(err, &dd) || errors.As(err, &re) || errors.As(err, &pc) {
			return err
		}
		if refused(err) {
			return err
		}
		msg := strings.ReplaceAll(err.Error(), o.URL, shown)
		return &Error{Fleet: shown, Err: errors.New(msg)}
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	auth, err := Auth(o.URL)
	if err != nil {
		return nil, wrap(err)
	}
	res := &Result{}
	for attempt := 1; ; attempt++ {
		res.Attempts = attempt
		repo, tip, err := openBranch(ctx, o.URL, o.Branch, auth)
		if err != nil {
			return nil, wrap(err)
		}
		if tip == nil && !o.CreateBranch {
			return nil, wrap(&NoBranchError{Fleet: shown, Branch: o.Branch})
		}
		a, err := apply(repo, tip)
		if err != nil {
			return nil, wrap(err)
		}
		if a.plan == nil {
			a.plan = &Plan{} // a change of files, not of apps
		}
		if len(a.plan.Stale) > 0 {
			res.Stale, res.NoChanges = a.plan.Stale, true
			if tip != nil {
				res.Parent = tip.Hash.String()
			}
			return res, nil
		}
		res.Written, res.Deleted = a.written, a.deleted
		res.Removed, res.Adopted = a.plan.Removed, a.plan.Adopted
		res.Orphaned, res.Pruned = a.orphaned, a.pruned
		treeHash, err := buildTree(repo.Storer, a.files)
		if err != nil {
			return nil, wrap(err)
		}
		var parents []plumbing.Hash
		if tip != nil {
			res.Parent = tip.Hash.String()
			parents = []plumbing.Hash{tip.Hash}
			if tip.TreeHash == treeHash {
				res.NoChanges = true
				return res, nil
			}
		}
		c := &object.Commit{Author: o.Author, Committer: o.Author, Message: withAdoptions(a.message, a.plan.Adopted), TreeHash: treeHash, ParentHashes: parents}
		obj := repo.Storer.NewEncodedObject()
		if err := c.Encode(obj); err != nil {
			return nil, wrap(err)
		}
		h, err := repo.Storer.SetEncodedObject(obj)
		if err != nil {
			return nil, wrap(err)
		}
		branch := plumbing.NewBranchReferenceName(o.Branch)
		if o.PushBranch != "" {
			// A proposal: a new branch on the tip, pushed once, no retry
			// (a moved Branch is for the pull request to show).
			pb := plumbing.NewBranchReferenceName(o.PushBranch)
			if err := repo.Storer.SetReference(plumbing.NewHashReference(pb, h)); err != nil {
				return nil, wrap(err)
			}
			if have, err := remoteTip(ctx, repo, pb, auth); err == nil && !have.IsZero() {
				return nil, wrap(fmt.Errorf("branch %s exists already: a pull request proposes this promotion", o.PushBranch))
			}
			spec := config.RefSpec(pb.String() + ":" + pb.String())
			if err := repo.PushContext(ctx, &git.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{spec}, Auth: auth}); err != nil {
				return nil, wrap(fmt.Errorf("push %s: %w", o.PushBranch, err))
			}
			res.Commit = h.String()
			return res, nil
		}
		if err := repo.Storer.SetReference(plumbing.NewHashReference(branch, h)); err != nil {
			return nil, wrap(err)
		}
		spec := config.RefSpec(branch.String() + ":" + branch.String())
		perr := repo.PushContext(ctx, &git.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{spec}, Auth: auth})
		if perr == nil || errors.Is(perr, git.NoErrAlreadyUpToDate) {
			res.Commit = h.String()
			return res, nil
		}
		// Decide by the remote ref: if it moved, someone else pushed first.
		// A concurrent push may still hold the ref's lock when ours is
		// refused, so an unmoved ref is read again a few times before the
		// refusal counts as one.
		var was plumbing.Hash
		if tip != nil {
			was = tip.Hash
		}
		var now plumbing.Hash
		for look := 0; ; look++ {
			var lerr error
			now, lerr = remoteTip(ctx, repo, branch, auth)
			if lerr != nil {
				return nil, wrap(fmt.Errorf("push failed (%v) and the remote cannot be read: %w", perr, lerr))
			}
			if now != was || look == 3 {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if now == h {
			res.Commit = h.String()
			return res, nil
		}
		if now == was {
			return nil, wrap(fmt.Errorf("push refused: %w", perr))
		}
		if attempt >= o.MaxAttempts {
			return nil, wrap(fmt.Errorf("%s kept moving: gave up after %d attempts", o.Branch, attempt))
		}
		d := backoff(attempt)
		if o.Log != nil {
			fmt.Fprintf(o.Log, "fleet %s moved to %s while committing; retrying on it in %s (attempt %d of %d)\n", o.Branch, now.String()[:12], d.Round(time.Millisecond), attempt+1, o.MaxAttempts)
		}
		select {
		case <-ctx.Done():
			return nil, wrap(ctx.Err())
		case <-time.After(d):
		}
	}
}

// backoff grows exponentially from 50 ms to 2 s, with full jitter so
// racing committers spread out.
func backoff(attempt int) time.Duration {
	base := min(50*time.Millisecond<<attempt, 2*time.Second)
	return base/2 + rand.N(base/2+1)
}

// openBranch clones the branch into memory (single branch, no work tree)
// and returns its tip commit, nil for an empty repository or a new branch.
func openBranch(ctx context.Context, url, branch string, auth transport.AuthMethod) (*git.Repository, *object.Commit, error) {
	repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{
		URL: url, Auth: auth, ReferenceName: plumbing.NewBranchReferenceName(branch), SingleBranch: true, Tags: git.NoTags,
	})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) || isNoBranch(err) {
		repo, err = git.Init(memory.NewStorage(), nil)
		if err != nil {
			return nil, nil, err
		}
		if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
			return nil, nil, err
		}
		return repo, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName(branch), true)
	if err != nil {
		return nil, nil, err
	}
	c, err := repo.CommitObject(ref.Hash())
	return repo, c, err
}

func isNoBranch(err error) bool {
	var nf git.NoMatchingRefSpecError
	return err != nil && (errors.As(err, &nf) || strings.Contains(err.Error(), "couldn't find remote ref"))
}

func remoteTip(ctx context.Context, repo *git.Repository, branch plumbing.ReferenceName, auth transport.AuthMethod) (plumbing.Hash, error) {
	rem, err := repo.Remote("origin")
	if err != nil {
		return plumbing.ZeroHash, err
	}
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: auth})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	for _, r := range refs {
		if r.Name() == branch {
			return r.Hash(), nil
		}
	}
	return plumbing.ZeroHash, nil
}

// CatalogLocation is the fleet's catalog Location, rebuilt by every commit.
const CatalogLocation = "catalog/all.yaml"

// withAdoptions adds a Render-Adopted trailer per adopted app to a
// commit message that ends with its trailers.
func withAdoptions(msg string, adopted []Adoption) string {
	if len(adopted) == 0 {
		return msg
	}
	var b strings.Builder
	b.WriteString(msg)
	if !strings.HasSuffix(msg, "\n") {
		b.WriteByte('\n')
	}
	for _, a := range adopted {
		b.WriteString(Trailer("Render-Adopted", a.String()))
	}
	return b.String()
}

// Trailer is the commit message trailer "key: value" and its newline. The
// value is always one line: a control character in it (a line feed, a
// carriage return, a Unicode line separator, an invalid byte) is
// percent-encoded, so that no value, whatever a source repository or a
// fleet manifest holds, can end the trailer and forge another one.
func Trailer(key, value string) string {
	var b strings.Builder
	b.WriteString(key)
	b.WriteString(": ")
	for _, r := range value {
		if controlRune(r) {
			for _, c := range []byte(string(r)) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
			continue
		}
		b.WriteRune(r)
	}
	b.WriteByte('\n')
	return b.String()
}

func controlRune(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError
}

// applied is the fleet's new file list and what apply did.
type applied struct {
	files            map[string]entry
	plan             *Plan
	message          string
	written, deleted int
	// orphaned and pruned are the stateful objects the commit removes
	// from the fleet (Result.Orphaned, Result.Pruned).
	orphaned, pruned []string
}

// apply computes the fleet's new file list: the tip's files with the
// render's owned paths written and the pruned ones removed. Only the apps
// in the run's scope (NewPlan) are touched; the manifests of the tip are
// checked before anything acts on them.
func apply(repo *git.Repository, tip *object.Commit, prepare Prepare) (*applied, error) {
	var tree *object.Tree
	if tip != nil {
		var err error
		if tree, err = tip.Tree(); err != nil {
			return nil, err
		}
	}
	files, err := flatten(tree)
	if err != nil {
		return nil, err
	}
	read := func(p string) ([]byte, bool) {
		e, ok := files[p]
		if !ok {
			return nil, false
		}
		b, err := readBlob(repo.Storer, e.hash)
		return b, err == nil
	}
	fleetManifests, err := ReadManifests(slices.Collect(maps.Keys(files)), func(p string) ([]byte, error) {
		return readBlob(repo.Storer, files[p].hash)
	})
	if err != nil {
		return nil, err
	}
	r, err := prepare(fleetManifests)
	if err != nil {
		return nil, &PrepareError{Err: err}
	}
	pd, err := PlatformDigest(slices.Collect(maps.Keys(files)), func(p string) ([]byte, error) {
		return readBlob(repo.Storer, files[p].hash)
	})
	if err != nil {
		return nil, err
	}
	if pd != r.PlatformDigest {
		var at string
		if tip != nil {
			at = tip.Hash.String()
		}
		return nil, &PlatformChangedError{Tip: at}
	}
	plan, err := NewPlan(PlanInput{Fleet: fleetManifests, Apps: r.Apps, Keep: r.Keep, Roots: r.Roots, Adopt: r.Adopt, TeamSources: r.TeamSources, Ancestry: r.Ancestry})
	if err != nil {
		return nil, err
	}
	if len(plan.Stale) > 0 {
		return &applied{plan: plan}, nil
	}
	if err := checkIntegrity(repo, files, fleetManifests, r); err != nil {
		return nil, err
	}
	if err := plan.MassDelete(); err != nil && !r.AllowMassDelete {
		return nil, err
	}
	ours := map[string]*Manifest{} // team/app -> rendered manifest
	// The teams whose tenants to reconcile: every team the render has a
	// tenant of (a platform change moves a quota without changing an
	// app), and the teams of the apps written or removed below.
	teams := map[string]bool{}
	for p, data := range r.Files {
		switch {
		case strings.HasPrefix(p, ".paved/apps/"):
			m, err := ReadManifest(p, data)
			if err != nil {
				return nil, fmt.Errorf("rendered %w", err)
			}
			ours[m.ID()] = m
		case strings.HasPrefix(p, ".paved/tenants/"):
			teams[strings.TrimSuffix(strings.TrimPrefix(p, ".paved/tenants/"), ".json")] = true
		}
	}
	a := &applied{files: files, plan: plan, message: r.Message}
	remove := map[string]bool{}
	keepApp := map[string]bool{} // apps whose fleet files stay
	var foreign []string
	for _, id := range sortedKeys(fleetManifests.Apps) {
		if !plan.Owns(id) {
			continue
		}
		fm, om := fleetManifests.Apps[id], ours[id]
		edited := editedFiles(fm, read)
		if om != nil && len(edited) == 0 && fm.SourceID() == om.SourceID() && maps.Equal(fm.Requests, om.Requests) && sameRender(fm, om, read, r.Files) {
			// The fleet already holds this render of this source but for
			// its revision: leave the app as it is, so a new source commit
			// alone rewrites nothing. (A manifest that records other
			// requests, or none, is rewritten: other sources' renders of
			// the team's tenants read them.)
			keepApp[id] = true
			continue
		}
		teams[fm.Team] = true
		foreign = append(foreign, edited...)
		for _, f := range fm.Files {
			remove[f] = true
		}
		remove[".paved/apps/"+id+".json"] = true
	}
	if len(foreign) > 0 && !r.OverwriteForeignEdits {
		slices.Sort(foreign)
		return nil, &ForeignEditError{Files: foreign}
	}
	// Write the render's files, except those of apps left alone.
	write := map[string][]byte{}
	for id, m := range ours {
		if keepApp[id] {
			continue
		}
		teams[m.Team] = true
		for _, f := range m.Files {
			write[f] = r.Files[f]
		}
		write[".paved/apps/"+id+".json"] = r.Files[".paved/apps/"+id+".json"]
	}
	if r.Built != nil {
		gone, shrunk, touched, err := deletedObjects(remove, write, read, r.Built)
		if err != nil {
			return nil, err
		}
		var stateful []string
		for _, o := range gone {
			if o.Stateful {
				stateful = append(stateful, o.ID)
				// What becomes of it in the cluster, said after the
				// commit: Flux leaves a protected object (the explicit
				// delete is a person's), prunes any other.
				if o.PruneProtected {
					a.orphaned = append(a.orphaned, o.ID)
				} else {
					a.pruned = append(a.pruned, o.ID)
				}
			}
		}
		if len(stateful) > 0 && !r.AllowDatabaseDelete {
			return nil, &DatabaseDeleteError{Databases: stateful}
		}
		// The objects of the apps that stay in scope: those built of the
		// directories rewritten, one per object file of the apps left
		// alone.
		scope := touched
		for id := range keepApp {
			if m := fleetManifests.Apps[id]; m != nil && plan.Owns(id) {
				for _, f := range m.Files {
					if strings.HasPrefix(f, "apps/") && path.Base(f) != "kustomization.yaml" {
						scope++
					}
				}
			}
		}
		if 2*shrunk > scope && !r.AllowMassDelete {
			return nil, &MassDeleteError{Objects: shrunk, ScopeObjects: scope}
		}
	}
	for p := range remove {
		if _, ok := write[p]; !ok {
			if _, ok := files[p]; ok {
				delete(files, p)
				a.deleted++
			}
		}
	}
	for p, data := range write {
		if err := put(repo, files, p, data, &a.written); err != nil {
			return nil, err
		}
	}
	if err := tenants(repo, files, read, r, fleetManifests, plan, teams, &a.written, &a.deleted); err != nil {
		return nil, err
	}
	// A removed tenant's Namespace: Flux leaves it when it is protected
	// (and with it whatever else it holds, such as a database left
	// behind), deletes it, and everything in it, when it is not.
	for _, t := range plan.DeletedTenants {
		data, ok := read(path.Join("tenants", t.Cluster, t.Team, "core_v1_namespace_"+t.Team+".yaml"))
		if !ok {
			continue
		}
		id := fmt.Sprintf("Namespace %s in %s", t.Team, t.Cluster)
		if PruneProtected(data) {
			a.orphaned = append(a.orphaned, id)
		} else {
			a.pruned = append(a.pruned, id)
		}
	}
	// The newest revision of each source the fleet holds a render of.
	for _, src := range sortedKeys(plan.Revisions) {
		if err := put(repo, files, SourceRecordPath(src), EncodeSourceRecord(src, plan.Revisions[src]), &a.written); err != nil {
			return nil, err
		}
	}
	// The catalog's Location lists the entity files now present.
	var catalog []string
	for p := range files {
		if strings.HasPrefix(p, "catalog/") && p != CatalogLocation {
			catalog = append(catalog, p)
		}
	}
	if len(catalog) == 0 {
		if _, ok := files[CatalogLocation]; ok {
			delete(files, CatalogLocation)
			a.deleted++
		}
	} else if r.Catalog != nil {
		data, err := r.Catalog(catalog)
		if err != nil {
			return nil, err
		}
		if err := put(repo, files, CatalogLocation, data, &a.written); err != nil {
			return nil, err
		}
	}
	// Each cluster's entry point lists the Flux objects now present.
	owned := ownedAfter(fleetManifests, r.Files)
	clusters := map[string]bool{}
	for p := range files {
		if c, ok := clusterOf(p); ok {
			clusters[c] = true
		}
	}
	for c := range clusters {
		kp := path.Join("clusters", c, "paved", "kustomization.yaml")
		res := entryKustomization(files, c, owned)
		if len(res) == 0 {
			if _, ok := files[kp]; ok {
				delete(files, kp)
				a.deleted++
			}
			continue
		}
		data, err := r.Entry(res)
		if err != nil {
			return nil, err
		}
		if err := put(repo, files, kp, data, &a.written); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// tenants rewrites the tenants of the teams touched. A tenant belongs to
// the fleet, not to one source: in every cluster where the team has an
// app after the change, from any source (Plan.Tenants), its tenant stays
// (the render's, else the fleet's); elsewhere it is removed. The team's
// tenant manifest lists what remains.
func tenants(repo *git.Repository, files map[string]entry, read func(string) ([]byte, bool), r *Render, fleet *Manifests, plan *Plan, teams map[string]bool, written, deleted *int) error {
	for _, team := range sortedKeys(teams) {
		mp := ".paved/tenants/" + team + ".json"
		old := fleet.Tenants[team]
		if old == nil {
			old = &Manifest{}
		}
		if edited := editedFiles(old, read); len(edited) > 0 && !r.OverwriteForeignEdits {
			slices.Sort(edited)
			return &ForeignEditError{Files: edited}
		}
		var ours Manifest
		if data, ok := r.Files[mp]; ok {
			if err := json.Unmarshal(data, &ours); err != nil {
				return err
			}
		}
		keep := map[string][]byte{}
		for _, f := range ours.Files {
			if plan.TenantKeeps(team, f) {
				keep[f] = r.Files[f]
			}
		}
		covered := map[string]bool{} // clusters ("" the Group) the render covers
		for f := range keep {
			covered[TenantCluster(f)] = true
		}
		for _, f := range old.Files {
			if plan.TenantKeeps(team, f) && !covered[TenantCluster(f)] {
				if data, ok := read(f); ok {
					keep[f] = data
				}
			}
		}
		for _, f := range old.Files {
			if _, ok := keep[f]; !ok {
				if _, ok := files[f]; ok {
					delete(files, f)
					*deleted++
				}
			}
		}
		exact := len(keep) == len(ours.Files) && len(keep) > 0
		for _, f := range ours.Files {
			if _, ok := keep[f]; !ok {
				exact = false
			}
		}
		if exact {
			// Exactly the render's tenants: its manifest as rendered.
			if err := put(repo, files, mp, r.Files[mp], written); err != nil {
				return err
			}
			for f, data := range keep {
				if err := put(repo, files, f, data, written); err != nil {
					return err
				}
			}
			continue
		}
		if len(keep) == 0 {
			if _, ok := files[mp]; ok {
				delete(files, mp)
				*deleted++
			}
			continue
		}
		list := make([]string, 0, len(keep))
		digests := map[string]string{}
		for f, data := range keep {
			list = append(list, f)
			sum := sha256.Sum256(data)
			digests[f] = "sha256:" + hex.EncodeToString(sum[:])
			if err := put(repo, files, f, data, written); err != nil {
				return err
			}
		}
		slices.Sort(list)
		var m map[string]any
		base := r.Files[mp]
		if base == nil {
			base, _ = read(mp)
		}
		if err := json.Unmarshal(base, &m); err != nil {
			return fmt.Errorf("%s: %w", mp, err)
		}
		m["files"], m["digests"] = list, digests
		data, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		if err := put(repo, files, mp, append(data, '\n'), written); err != nil {
			return err
		}
	}
	return nil
}

// sameRender reports whether the fleet holds exactly the files the render
// writes for an app, apart from the source-revision annotation. It compares
// content, not inputs: an app's objects also depend on other apps (a new
// dependent opens its network policy).
func sameRender(fm, om *Manifest, read func(string) ([]byte, bool), ours map[string][]byte) bool {
	if !slices.Equal(slices.Sorted(slices.Values(fm.Files)), slices.Sorted(slices.Values(om.Files))) {
		return false
	}
	// The releases the environments run, and their holds, but for the
	// revision (a new source commit alone rewrites nothing).
	if len(fm.Environments) != len(om.Environments) {
		return false
	}
	for env, a := range fm.Environments {
		b := om.Environments[env]
		if b == nil {
			return false
		}
		x, y := *a, *b
		x.Revision, y.Revision, x.SourceTime, y.SourceTime = "", "", "", ""
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	for _, f := range om.Files {
		have, ok := read(f)
		if !ok || stripRevision(have) != stripRevision(ours[f]) {
			return false
		}
	}
	return true
}

// stripRevision drops the paved.dev/source-revision annotation line.
func stripRevision(b []byte) string {
	lines := strings.Split(string(b), "\n")
	out := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), "paved.dev/source-revision: ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// editedFiles lists the files of a manifest whose content is not what
// paved wrote (changed or deleted by hand).
func editedFiles(m *Manifest, read func(string) ([]byte, bool)) []string {
	var out []string
	for f, want := range m.Digests {
		data, ok := read(f)
		if !ok {
			out = append(out, f+" (deleted)")
			continue
		}
		sum := sha256.Sum256(data)
		if "sha256:"+hex.EncodeToString(sum[:]) != want {
			out = append(out, f)
		}
	}
	return out
}

// put writes data at p unless it is already there.
func put(repo *git.Repository, files map[string]entry, p string, data []byte, written *int) error {
	h := plumbing.ComputeHash(plumbing.BlobObject, data)
	if e, ok := files[p]; ok && e.hash == h {
		return nil
	}
	if _, err := writeBlob(repo.Storer, data); err != nil {
		return err
	}
	files[p] = entry{mode: filemode.Regular, hash: h}
	*written++
	return nil
}

// PruneProtected reports whether an object's file carries Flux's prune
// protection, kustomize.toolkit.fluxcd.io/prune: disabled, as a label or
// an annotation (in any case, as kustomize-controller reads it).
func PruneProtected(data []byte) bool {
	var o struct {
		Metadata struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(data, &o); err != nil {
		return false
	}
	const key = "kustomize.toolkit.fluxcd.io/prune"
	return strings.EqualFold(o.Metadata.Labels[key], "disabled") || strings.EqualFold(o.Metadata.Annotations[key], "disabled")
}

// DatabaseDeleteError stops a commit that would delete stateful objects
// (a CloudNativePG Cluster with its volumes and data, a
// PersistentVolumeClaim, a Namespace) unless --allow-database-delete.
type DatabaseDeleteError struct {
	// Databases are "<group>/<Kind> namespace/name in cluster", sorted.
	Databases []string
}

func (e *DatabaseDeleteError) Error() string {
	return fmt.Sprintf("this commit would delete %d stateful %s as Flux applies the fleet, patches included (%s), and %s: if this is intended, re-run with --allow-database-delete",
		len(e.Databases), plural(len(e.Databases), "object", "objects"), list(e.Databases), plural(len(e.Databases), "its data", "their data"))
}

// BuiltObject is an object an app directory applies, as Flux builds it.
type BuiltObject struct {
	// ID is "<group>/<Kind> <namespace>/<name> in <cluster>".
	ID string
	// Stateful objects lose data when deleted: CloudNativePG Clusters,
	// PersistentVolumeClaims, Namespaces.
	Stateful bool
	// PruneProtected objects carry kustomize.toolkit.fluxcd.io/prune:
	// disabled: Flux never deletes them.
	PruneProtected bool
}

// deletedObjects lists the objects that the app directories the commit
// rewrites or removes apply now and will not apply after it, both sides
// built as Flux builds them (so a patch that deletes or renames an object
// deletes it like a removed file). Of those, shrunk are the objects that
// rewritten directories lose, of the before objects they applied: a
// removed app is judged by the plan's count of apps, an app that stays by
// what it still applies.
func deletedObjects(remove map[string]bool, write map[string][]byte, read func(string) ([]byte, bool), build func(map[string][]byte) ([]BuiltObject, error)) (gone []BuiltObject, shrunk, before int, err error) {
	written := map[string]bool{}
	for p := range write {
		written[path.Dir(p)] = true
	}
	was := [2]map[string][]byte{{}, {}} // [0] removed directories, [1] rewritten ones
	now := map[string][]byte{}
	for p := range remove {
		if strings.HasPrefix(p, "apps/") {
			if data, ok := read(p); ok {
				k := 0
				if written[path.Dir(p)] {
					k = 1
				}
				was[k][p] = data
			}
		}
	}
	if len(was[0])+len(was[1]) == 0 {
		return nil, 0, 0, nil
	}
	rewritten := map[string]bool{}
	for p := range was[1] {
		rewritten[path.Dir(p)] = true
	}
	for p, data := range write {
		if rewritten[path.Dir(p)] {
			now[p] = data // only what is compared: new apps are not built
		}
	}
	after := map[string]bool{}
	if len(was[1]) > 0 {
		nowObjs, err := build(now)
		if err != nil {
			return nil, 0, 0, err
		}
		for _, o := range nowObjs {
			after[o.ID] = true
		}
	}
	for k := range was {
		if len(was[k]) == 0 {
			continue
		}
		objs, err := build(was[k])
		if err != nil {
			return nil, 0, 0, fmt.Errorf("what the fleet holds does not build: %w", err)
		}
		if k == 1 {
			before = len(objs)
		}
		for _, o := range objs {
			if !after[o.ID] {
				gone = append(gone, o)
				if k == 1 {
					shrunk++
				}
			}
		}
	}
	slices.SortFunc(gone, func(a, b BuiltObject) int { return strings.Compare(a.ID, b.ID) })
	return slices.CompactFunc(gone, func(a, b BuiltObject) bool { return a.ID == b.ID }), shrunk, before, nil
}
