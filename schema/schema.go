// Package schema loads the platform (a platform directory, which replaces
// the embedded example platform or says it extends it; the example when
// there is none) and validates app specs against #App.
// Its entry points are LoadPlatform and Platform.LoadApp; every problem is
// reported as a diag.List with the positions in the user's own files.
package schema

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"github.com/paved-dev/paved/blueprints"
	"github.com/paved-dev/paved/internal/cache"
	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/discover"
	"github.com/paved-dev/paved/internal/suggest"
)

// EmbeddedPrefix starts the file name of every embedded CUE file; positions
// in them are internal to paved and not shown to users.
const EmbeddedPrefix = "$paved/"

// Platform is the loaded platform: the CUE package (schema, blueprints and
// platform values) and its decoded values.
type Platform struct {
	ctx   *cue.Context
	val   cue.Value
	app   cue.Value // #App
	Data  PlatformData
	Dir   string   // the platform directory, "" for the embedded default
	Files []string // the platform directory's CUE files (absolute), sorted

	digest hash.Hash // over every CUE file compiled: name and content
	json   []byte    // the resolved platform value (JSON)
	sum    string
	// sources are the parsed platform files in compile order, so Fork can
	// compile them again in a new context.
	sources []source
	// builds counts the app instances built in ctx (see buildSpec); a
	// copy of the Platform shares ctx, and so the count.
	builds *atomic.Int64
	// bare is the platform of the embedded schema alone (bareDefaults),
	// compiled on first use; a copy of the Platform shares it.
	bare *bareValue
}

type bareValue struct {
	once sync.Once
	v    cue.Value
}

type source struct {
	name string
	data []byte
}

// Digest identifies the platform's inputs: every CUE file it was compiled
// from (paved's embedded files and the platform directory's, named relative
// to it, so the digest does not depend on where the directory lives).
func (p *Platform) Digest() string { return p.sum }

func (p *Platform) hashFile(name string, data []byte) {
	fmt.Fprintf(p.digest, "%s\x00%d\x00", name, len(data))
	p.digest.Write(data)
}

// JSON is the whole resolved platform (the CUE value platform, every
// default applied) as JSON: what policies read as data.paved.platform.
// Callers must not modify it.
func (p *Platform) JSON() []byte { return p.json }

// Extends reports whether the platform builds on the example platform
// (platform.extends: "example"), as the embedded default does.
func (p *Platform) Extends() bool { return p.Data.Extends == "example" }

// Context returns the CUE context the platform was built in; values built
// from it can be unified with the platform's.
func (p *Platform) Context() *cue.Context { return p.ctx }

// Value returns the platform package value (schema, blueprints, platform).
func (p *Platform) Value() cue.Value { return p.val }

// LoadPlatform builds the platform package from the embedded schema and
// blueprints plus, when dir is not empty, the CUE files of dir, dir/schema
// and dir/blueprints (all package paved). Without dir the platform is the
// example; a platform directory replaces the example's data (environments,
// clusters, teams, sizes, prices, registries...) unless it says
// `platform: extends: "example"`, and keeps the defaults of the settings
// every platform shares.
func LoadPlatform(dir string) (*Platform, error) {
	var diags diag.List
	p := &Platform{ctx: cuecontext.New(), digest: sha256.New(), builds: new(atomic.Int64), bare: new(bareValue)}
	inst := build.NewContext().NewInstance(EmbeddedPrefix, nil)
	inst.PkgName = "paved"
	addEmbedded := func(name string, data []byte) {
		f, err := parser.ParseFile(name, data, parser.ParseComments)
		if err != nil {
			panic(fmt.Sprintf("embedded %s: %v", name, err))
		}
		if err := inst.AddSyntax(f); err != nil {
			panic(err)
		}
		p.hashFile(name, data)
		p.sources = append(p.sources, source{name, data})
	}
	addEmbeddedFS := func(fsys fs.FS, prefix string) {
		names, _ := fs.Glob(fsys, "*.cue")
		for _, n := range names {
			data, err := fs.ReadFile(fsys, n)
			if err != nil {
				panic(err) // embedded files are always readable
			}
			addEmbedded(EmbeddedPrefix+prefix+n, data)
		}
	}
	addEmbeddedFS(files, "schema/")
	addEmbeddedFS(blueprints.Files, "blueprints/")
	example, _ := fs.Sub(exampleFiles, "example")

	if dir == "" {
		addEmbeddedFS(example, "schema/example/")
	} else {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, diag.List{{Message: err.Error()}}
		}
		p.Dir = abs
		fi, err := os.Stat(abs)
		if err != nil || !fi.IsDir() {
			return nil, diag.List{{Message: fmt.Sprintf("platform directory %s: not a directory", dir), Positions: []diag.Position{{Filename: abs}}}}
		}
		for _, sub := range []string{"", "schema", "blueprints"} {
			d := filepath.Join(abs, sub)
			entries, err := os.ReadDir(d)
			if err != nil {
				continue
			}
			for _, e := range entries {
				if filepath.Ext(e.Name()) != ".cue" || e.IsDir() {
					continue
				}
				fp := filepath.Join(d, e.Name())
				if e.Type()&fs.ModeSymlink != 0 {
					if t, err := filepath.EvalSymlinks(fp); err != nil || !discover.Within(abs, t) {
						diags.Add("", "symbolic link leaves the platform directory", diag.Position{Filename: fp})
						continue
					}
				}
				data, d := discover.ReadFile(fp)
				if d != nil {
					diags = append(diags, *d)
					continue
				}
				f, err := parser.ParseFile(fp, data, parser.ParseComments)
				if err != nil {
					diags = append(diags, fromCUE(err, "", nil)...)
					continue
				}
				if f.PackageName() != "paved" {
					diags.Add("", fmt.Sprintf("platform files must be in package paved, not %q", f.PackageName()), position(f.Pos()))
					continue
				}
				if err := inst.AddSyntax(f); err != nil {
					diags = append(diags, fromCUE(err, "", nil)...)
					continue
				}
				p.Files = append(p.Files, fp)
				p.sources = append(p.sources, source{fp, data})
				rel, _ := filepath.Rel(abs, fp)
				p.hashFile(filepath.ToSlash(rel), data)
			}
		}
		if len(diags) > 0 {
			return nil, diags.Sanitize()
		}
	}
	p.val = p.ctx.BuildInstance(inst)
	if ext, err := p.val.LookupPath(cue.ParsePath("platform.extends")).String(); err == nil && ext == "example" && p.Dir != "" {
		// The directory builds on the example: compile again with it, in
		// a new context (the first build stays registered in its own).
		p.ctx = cuecontext.New()
		inst = build.NewContext().NewInstance(EmbeddedPrefix, nil)
		inst.PkgName = "paved"
		for _, s := range p.sources {
			f, err := parser.ParseFile(s.name, s.data, parser.ParseComments)
			if err != nil {
				return nil, fmt.Errorf("compiling the platform: %w", err)
			}
			if err := inst.AddSyntax(f); err != nil {
				return nil, fmt.Errorf("compiling the platform: %w", err)
			}
		}
		addEmbeddedFS(example, "schema/example/")
		p.val = p.ctx.BuildInstance(inst)
	}
	pv := p.val.LookupPath(cue.ParsePath("platform"))
	var err error
	if err = p.val.Err(); err != nil {
		// Every problem of the platform, not only the first its package
		// reports.
		err = cueerrors.Append(cueerrors.Promote(err, ""), cueerrors.Promote(pv.Validate(cue.Concrete(true), cue.All()), ""))
	} else {
		err = pv.Validate(cue.Concrete(true), cue.All())
	}
	if missing := checkData(pv); err != nil || len(missing) > 0 {
		return nil, p.platformErrors(err, missing)
	}
	if err := pv.Decode(&p.Data); err != nil {
		return nil, diag.List{{Path: "platform", Message: err.Error()}}
	}
	if l := p.promotionErrors(); len(l) > 0 {
		return nil, l.Sanitize()
	}
	js, err := pv.MarshalJSON()
	if err != nil {
		return nil, diag.List{{Path: "platform", Message: err.Error()}}
	}
	p.json = js
	p.app = p.val.LookupPath(cue.ParsePath("#App"))
	p.sum = "sha256:" + hex.EncodeToString(p.digest.Sum(nil))
	return p, nil
}

// CacheKey is the key under which c keeps the record (App.Record) of app
// a validated against p: the platform's digest, the app's directory and
// each file's name and bytes (the same for every command and paved lsp).
func (p *Platform) CacheKey(c *cache.Cache, a discover.App) string {
	parts := [][]byte{[]byte(p.Digest()), []byte(a.Dir)}
	for _, f := range a.Files {
		parts = append(parts, []byte(f.Path), f.Data)
	}
	return c.Key("app", parts...)
}

// Fork compiles the platform again in a new CUE context. A CUE context
// must not be used by two goroutines at once, so every worker of a
// parallel stage evaluates in its own fork; a fork's values equal the
// original's.
func (p *Platform) Fork() (*Platform, error) {
	f := &Platform{ctx: cuecontext.New(), builds: new(atomic.Int64), bare: p.bare, Data: p.Data, Dir: p.Dir, Files: p.Files, sum: p.sum, sources: p.sources, json: p.json}
	inst := build.NewContext().NewInstance(EmbeddedPrefix, nil)
	inst.PkgName = "paved"
	for _, s := range p.sources {
		af, err := parser.ParseFile(s.name, s.data, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("forking the platform: %w", err)
		}
		if err := inst.AddSyntax(af); err != nil {
			return nil, fmt.Errorf("forking the platform: %w", err)
		}
	}
	f.val = f.ctx.BuildInstance(inst)
	if err := f.val.Err(); err != nil {
		return nil, fmt.Errorf("forking the platform: %w", err)
	}
	f.app = f.val.LookupPath(cue.ParsePath("#App"))
	return f, nil
}

// App is a validated app spec.
type App struct {
	Dir   string   // absolute
	Files []string // the spec's CUE files (absolute), sorted
	// Data is the exact bytes of each file, for input digests.
	Data map[string][]byte
	// Base is the spec with defaults, before environment overrides.
	Base Spec
	// envs is the effective spec per environment of the platform (Env).
	// An app restored from a cache record decodes the overridden
	// environments' specs (envRecs) on first use: most restored apps are
	// only context for the few a --changed run renders.
	envs    map[string]Spec
	envRecs map[string][]byte
	envOnce sync.Once
	envErr  error
	// Effective is the effective spec per environment as JSON, to hand to
	// blueprints.
	Effective map[string][]byte

	raw cue.Value // the app's own value, for positions
	// rawOnce compiles raw on first use when lazyRaw is set: a validated
	// app drops its CUE value, and one restored from a cache record never
	// had one.
	rawOnce sync.Once
	lazyRaw bool
	// plain marks the environments without overrides (the base spec).
	plain map[string]bool
}

// rawValue is the app's own CUE value, compiled on first use once the app
// is validated (or restored from a record). Positions are only needed for the apps a finding
// or an error points into, so most restored apps never compile.
func (a *App) rawValue() cue.Value {
	a.rawOnce.Do(func() {
		if !a.lazyRaw {
			return
		}
		inst := build.NewContext().NewInstance(a.Dir, nil)
		for _, f := range a.Files {
			af, err := parser.ParseFile(f, a.Data[f], parser.ParseComments)
			if err != nil {
				return // the files validated when the record was made
			}
			inst.PkgName = af.PackageName()
			_ = inst.AddSyntax(af)
		}
		a.raw = cuecontext.New().BuildInstance(inst)
	})
	return a.raw
}

// Env returns the app's effective spec in environment env (the zero Spec
// for an environment the platform does not have).
func (a *App) Env(env string) (Spec, error) {
	envs, err := a.Envs()
	return envs[env], err
}

// Envs returns the app's effective spec per environment of the platform.
// Callers must not modify the map.
func (a *App) Envs() (map[string]Spec, error) {
	a.envOnce.Do(func() {
		for env, b := range a.envRecs {
			var s Spec
			if err := json.Unmarshal(b, &s); err != nil {
				a.envErr = fmt.Errorf("app record of %s: environment %s: %w", a.Dir, env, err)
				return
			}
			a.envs[env] = s
		}
		a.envRecs = nil
	})
	return a.envs, a.envErr
}

// appRecord is the header of what a cache keeps of a validated app:
// everything but its CUE value, which is compiled again when a position
// is asked for. An environment without overrides shares the base spec, so
// only overridden environments are stored. The header (one line of JSON)
// is followed by the JSON blobs it gives the sizes of, unquoted: the base
// spec's effective JSON (empty when no environment is plain), then for each
// of Envs its spec and its effective JSON. A restore decodes the header only; the blobs are sliced out of
// the record, and an environment's spec is decoded when it is asked for.
type appRecord struct {
	Files []string `json:"files"`
	Base  Spec     `json:"base"`
	// Plain lists the environments that are the base spec; Envs the
	// others, sorted.
	Plain []string `json:"plain"`
	Envs  []string `json:"envs"`
	Sizes []int    `json:"sizes"`
}

// Record encodes the validated app for a cache (see RestoreApp).
func (a *App) Record() ([]byte, error) {
	r := appRecord{Files: a.Files, Base: a.Base, Plain: []string{}, Envs: []string{}}
	envs, err := a.Envs()
	if err != nil {
		return nil, err
	}
	var baseJSON []byte
	var blobs [][]byte
	for _, env := range SortedKeys(a.Effective) {
		js := a.Effective[env]
		if a.plain[env] {
			r.Plain = append(r.Plain, env)
			baseJSON = js
			continue
		}
		spec, err := json.Marshal(envs[env])
		if err != nil {
			return nil, err
		}
		r.Envs = append(r.Envs, env)
		blobs = append(blobs, spec, js)
	}
	blobs = append([][]byte{baseJSON}, blobs...)
	for _, b := range blobs {
		r.Sizes = append(r.Sizes, len(b))
	}
	head, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return slices.Concat(append([][]byte{head, []byte("\n")}, blobs...)...), nil
}

// RestoreApp rebuilds a validated app from its Record and the files it was
// made from (da, which must hold the same bytes: the cache key covers
// them). It fails when the record does not fit the platform's
// environments.
func (p *Platform) RestoreApp(da discover.App, rec []byte) (*App, error) {
	head, blobs, ok := bytes.Cut(rec, []byte("\n"))
	var r appRecord
	if !ok {
		return nil, fmt.Errorf("app record of %s has no header", da.Dir)
	}
	if err := json.Unmarshal(head, &r); err != nil {
		return nil, fmt.Errorf("decoding the app record of %s: %w", da.Dir, err)
	}
	if len(r.Sizes) != 1+2*len(r.Envs) {
		return nil, fmt.Errorf("app record of %s does not fit its header", da.Dir)
	}
	parts := make([][]byte, len(r.Sizes))
	for i, n := range r.Sizes {
		if n < 0 || n > len(blobs) {
			return nil, fmt.Errorf("app record of %s does not fit its header", da.Dir)
		}
		parts[i], blobs = blobs[:n:n], blobs[n:]
	}
	if len(blobs) != 0 || len(r.Plain) > 0 && len(parts[0]) == 0 {
		return nil, fmt.Errorf("app record of %s does not fit its header", da.Dir)
	}
	app := &App{Dir: da.Dir, Files: r.Files, Data: map[string][]byte{}, Base: r.Base, envs: map[string]Spec{},
		envRecs: map[string][]byte{}, Effective: map[string][]byte{}, plain: map[string]bool{}, lazyRaw: true}
	for _, f := range da.Files {
		if slices.Contains(r.Files, f.Path) {
			app.Data[f.Path] = f.Data
		}
	}
	for _, env := range r.Plain {
		app.envs[env], app.Effective[env], app.plain[env] = r.Base, parts[0], true
	}
	for i, env := range r.Envs {
		if _, dup := app.Effective[env]; dup {
			return nil, fmt.Errorf("app record of %s names environment %s twice", da.Dir, env)
		}
		app.envRecs[env], app.Effective[env] = parts[1+2*i], parts[2+2*i]
	}
	for _, env := range SortedKeys(p.Data.Environments) {
		if _, ok := app.Effective[env]; !ok {
			return nil, fmt.Errorf("app record of %s lacks environment %s", da.Dir, env)
		}
	}
	if len(app.Effective) != len(p.Data.Environments) || len(app.Data) != len(r.Files) {
		return nil, fmt.Errorf("app record of %s does not fit its directory and platform", da.Dir)
	}
	return app, nil
}

// Pos returns the position of the field at the CUE path p (such as
// "dependsOn[1]") in the app's own files, falling back to its nearest
// ancestor and finally to the start of app.cue.
func (a *App) Pos(p string) diag.Position {
	return fallbackPos(a.rawValue(), p, a.Dir)
}

// FieldPos returns the position of the field at CUE path p (such as
// "image", "env.LOG_LEVEL" or "environments.prod.size") when the app's own
// files set it.
func (a *App) FieldPos(p string) (diag.Position, bool) {
	cp := cue.ParsePath(p)
	if cp.Err() != nil {
		return diag.Position{}, false
	}
	v := a.rawValue().LookupPath(cp)
	if !v.Exists() {
		return diag.Position{}, false
	}
	pos := position(v.Pos())
	return pos, pos.Filename != ""
}

// LoadApp parses and validates one app directory against #App, and
// resolves its spec for every environment. All problems are returned.
func (p *Platform) LoadApp(da discover.App) (*App, diag.List) {
	var diags diag.List
	app := &App{Dir: da.Dir, Data: map[string][]byte{}}
	var parsed []*ast.File
	pkg, pkgKnown := "", false
	data := map[string][]byte{}
	for _, f := range da.Files {
		data[f.Path] = f.Data
		af, err := parser.ParseFile(f.Path, f.Data, parser.ParseComments)
		if err != nil {
			diags = append(diags, fromCUE(err, "", nil)...)
			continue
		}
		if filepath.Base(f.Path) == discover.AppFile {
			pkg, pkgKnown = af.PackageName(), true
		}
		parsed = append(parsed, af)
	}
	if len(diags) > 0 {
		return nil, diags.Sanitize()
	}
	if !pkgKnown {
		return nil, diag.List{{Message: "no app.cue in the app directory", Positions: []diag.Position{{Filename: da.Dir}}}}
	}
	inst := build.NewContext().NewInstance(da.Dir, nil)
	inst.PkgName = pkg
	for _, af := range parsed {
		if af.PackageName() != pkg {
			continue // another package in the same directory
		}
		for imp := range af.ImportSpecs() {
			ip := strings.Trim(imp.Path.Value, `"`)
			if strings.Contains(strings.SplitN(ip, "/", 2)[0], ".") {
				diags.Add("", fmt.Sprintf("import %q: app specs may only import CUE's standard library", ip), position(imp.Pos()))
			}
		}
		if err := inst.AddSyntax(af); err != nil {
			diags = append(diags, fromCUE(err, "", nil)...)
		}
		app.Files = append(app.Files, af.Filename)
		app.Data[af.Filename] = data[af.Filename]
	}
	if len(diags) > 0 {
		return nil, diags.Sanitize()
	}
	raw := p.buildSpec(inst)
	if err := raw.Err(); err != nil {
		return nil, fromCUE(err, da.Dir, nil).Sanitize()
	}
	app.raw = raw

	// Validate: unify with #App, report every error, then every field #App
	// does not allow (CUE reports those only when nothing else is wrong).
	u := p.app.Unify(raw)
	if err := u.Validate(cue.Concrete(true), cue.All()); err != nil {
		diags = append(diags, fromCUE(err, da.Dir, &raw)...)
	}
	shape := p.app
	if k := raw.LookupPath(cue.ParsePath("kind")); k.Exists() {
		if ks, err := k.String(); err == nil && (ks == "web" || ks == "worker" || ks == "cron") {
			shape = p.app.FillPath(cue.ParsePath("kind"), ks)
		}
	}
	unknown := unknownFields(shape, raw, nil)
	diags = append(diags, unknown...)
	diags = append(diags, literalSecrets(raw)...)
	diags = append(diags, p.missingRequired(shape, raw, raw, nil, da.Dir)...)
	if len(diags) > 0 {
		diags = dropBelowUnknown(dropEchoes(dedupPaths(diags)), unknown)
		p.suggestValues(diags, raw)
		justificationFixes(diags)
		return nil, diags.Sanitize()
	}
	if err := u.Decode(&app.Base); err != nil {
		return nil, diag.List{{Message: fmt.Sprintf("decoding the spec: %v", err), Positions: []diag.Position{app.Pos("")}}}
	}

	base, err := u.MarshalJSON()
	if err != nil {
		return nil, diag.List{{Message: fmt.Sprintf("encoding the spec: %v", err), Positions: []diag.Position{app.Pos("")}}}
	}

	// Resolve every environment: the app's own values (without defaults)
	// overridden by environments.<env>, then unified with #App. An
	// environment without overrides is the base spec.
	own, err := toMap(raw)
	if err != nil {
		own, _ = toMap(u)
	}
	overrides, _ := own["environments"].(map[string]any)
	delete(own, "environments")
	if d := p.productionHost(app, own, overrides); len(d) > 0 {
		return nil, d
	}
	app.envs = map[string]Spec{}
	app.Effective = map[string][]byte{}
	app.plain = map[string]bool{}
	for _, env := range SortedKeys(p.Data.Environments) {
		if _, ok := overrides[env]; !ok {
			app.envs[env] = app.Base
			app.Effective[env] = base
			app.plain[env] = true
			continue
		}
		merged := merge(own, asMap(overrides[env]))
		js, err := json.Marshal(merged)
		if err != nil {
			return nil, diag.List{{Message: err.Error()}}
		}
		ov, err := p.CompileExpr("", js)
		if err != nil {
			return nil, diag.List{{Path: "environments." + env, Message: fmt.Sprintf("compiling the environment's spec: %v", err), Positions: []diag.Position{app.Pos("environments." + env)}}}
		}
		ev := p.app.Unify(ov)
		if err := ev.Validate(cue.Concrete(true), cue.All()); err != nil {
			for _, d := range fromCUE(err, "", nil) {
				ovPath := "environments." + env + "." + d.Path
				if _, ok := lookup(overrides, append([]string{env}, strings.Split(d.Path, ".")...)); ok {
					d.Path = ovPath
					d.Positions = []diag.Position{app.Pos(ovPath)}
				} else {
					d.Message += " (in environment " + env + ")"
					d.Positions = []diag.Position{app.Pos(d.Path), app.Pos("environments." + env)}
				}
				diags = append(diags, d)
			}
			continue
		}
		var s Spec
		if err := ev.Decode(&s); err != nil {
			return nil, diag.List{{Message: err.Error()}}
		}
		out, err := ev.MarshalJSON()
		if err != nil {
			return nil, diag.List{{Message: err.Error()}}
		}
		app.envs[env] = s
		app.Effective[env] = out
	}
	if len(diags) > 0 {
		p.suggestValues(diags, raw)
		return nil, diags.Sanitize()
	}
	// Drop the CUE value: it keeps the whole CUE context of this load
	// alive (the platform fork and everything it evaluated). Positions are
	// compiled again, from the files, for the few apps that need them.
	app.raw, app.lazyRaw = cue.Value{}, true
	return app, nil
}

// productionHost reports each environment that is not production and
// sets the app's production host (ingress.host) as its own: published
// there too, one name would be claimed by two environments (render
// publishes <name>.<team>.<cluster domain> where an environment sets none).
func (p *Platform) productionHost(app *App, own, overrides map[string]any) diag.List {
	host, _ := lookup(own, []string{"ingress", "host"})
	if host == nil {
		return nil
	}
	var l diag.List
	for _, env := range SortedKeys(overrides) {
		e, ok := p.Data.Environments[env]
		if !ok || e.Production {
			continue
		}
		if h, _ := lookup(overrides, []string{env, "ingress", "host"}); h == host {
			f := "environments." + env + ".ingress.host"
			l.Add(f, fmt.Sprintf("%v is the production host (ingress.host), published only where the platform marks the environment production; leave %s out to publish %s.%s.<cluster domain> in %s, or name another host",
				host, f, app.Base.Name, app.Base.Team, env), app.Pos(f))
		}
	}
	return l
}

// unknownFields reports every field of v (the app's own value) that def
// does not allow, recursing into structs.
func unknownFields(def, v cue.Value, path []string) diag.List {
	var diags diag.List
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	var present, known []string
	if def.Exists() {
		present = fieldNames(v)
		known = slices.DeleteFunc(fieldNames(def), func(n string) bool { return slices.Contains(present, n) })
	}
	for it.Next() {
		sel := it.Selector()
		label := sel.String()
		p := append(slices.Clone(path), label)
		if def.Exists() && !allows(def, sel) {
			d := diag.Diagnostic{
				Path:      strings.Join(p, "."),
				Message:   notAllowedMessage(p),
				Positions: []diag.Position{position(it.Value().Pos())},
			}
			if d.Message == "field not allowed" && sel.LabelType() == cue.StringLabel {
				if s, ok := suggest.Nearest(sel.Unquoted(), known); ok {
					d.Message += didYouMeanLabel(labelSelector(s))
					d.Fix = &diag.Fix{Kind: diag.RenameField, Text: labelSelector(s)}
				}
			}
			diags = append(diags, d)
			continue
		}
		sub, ok := childOf(def, sel)
		if !ok {
			continue
		}
		if it.Value().IncompleteKind() == cue.StructKind {
			diags = append(diags, unknownFields(sub, it.Value(), p)...)
		}
	}
	return diags
}

// allows reports whether def admits a field sel. A struct with declared
// fields admits exactly those (the root #App evaluates to an error while
// its required fields are open, and then Value.Allows admits anything);
// a struct with only pattern constraints (env, secrets) asks CUE.
func allows(def cue.Value, sel cue.Selector) bool {
	it, err := def.Fields(cue.Optional(true))
	if err != nil {
		return def.Allows(sel)
	}
	declared := false
	for it.Next() {
		s := it.Selector()
		if s.LabelType() != cue.StringLabel {
			continue
		}
		declared = true
		if s.Unquoted() == sel.Unquoted() {
			return true
		}
	}
	if !declared {
		return def.Allows(sel)
	}
	return false
}

// notAllowedMessage explains a field #App does not allow at path p.
func notAllowedMessage(p []string) string {
	if len(p) >= 2 && (p[len(p)-2] == "env" || p[len(p)-2] == "secrets") {
		return "invalid environment variable name: must match [A-Za-z_][A-Za-z0-9_]* and not be one the platform manages (OTEL_*, PAVED_*, LOG_FORMAT)"
	}
	return "field not allowed"
}

// missingRequired reports every required field of shape (#App with the
// app's kind filled in, so kind-dependent requirements apply) that raw, the
// app's own value, does not set, each with a fix that adds it; it recurses
// into the structs and lists raw has. CUE reports these only when nothing
// else is wrong. root is the app's whole value.
func (p *Platform) missingRequired(shape, raw, root cue.Value, path []cue.Selector, appDir string) diag.List {
	var diags diag.List
	switch raw.IncompleteKind() {
	case cue.StructKind:
		it, err := shape.Fields(cue.Optional(true))
		if err != nil {
			return nil
		}
		for it.Next() {
			sel := it.Selector()
			if sel.LabelType() != cue.StringLabel {
				continue
			}
			name := cue.Str(sel.Unquoted())
			sub := append(slices.Clone(path), name)
			rv := raw.LookupPath(cue.MakePath(name))
			if !rv.Exists() {
				if it.FieldType()&cue.RequiredConstraint != 0 {
					pos := structPos(raw, appDir)
					if _, hinted := requiredHints[sel.Unquoted()]; hinted && len(path) == 0 {
						pos = fallbackPos(raw, "kind", appDir)
					}
					diags = append(diags, diag.Diagnostic{
						Path:      cue.MakePath(sub...).String(),
						Message:   requiredMessage(sel.Unquoted()),
						Positions: []diag.Position{pos},
						Fix:       &diag.Fix{Kind: diag.AddField, Text: p.placeholder(sel.Unquoted(), it.Value(), root, appDir, len(path) == 0)},
					})
				}
				continue
			}
			diags = append(diags, p.missingRequired(it.Value(), rv, root, sub, appDir)...)
		}
	case cue.ListKind:
		elem := shape.LookupPath(cue.MakePath(cue.AnyIndex))
		it, err := raw.List()
		if err != nil || !elem.Exists() {
			return nil
		}
		for i := 0; it.Next(); i++ {
			diags = append(diags, p.missingRequired(elem, it.Value(), root, append(slices.Clone(path), cue.Index(i)), appDir)...)
		}
	}
	return diags
}

// structPos is the position of a struct value, or the start of app.cue
// (for the app's whole value, built as one struct expression whose braces
// are paved's own: compile.go).
func structPos(v cue.Value, appDir string) diag.Position {
	if pp := position(v.Pos()); pp.Filename != "" && !strings.HasPrefix(pp.Filename, EmbeddedPrefix) {
		return pp
	}
	return diag.Position{Filename: filepath.Join(appDir, discover.AppFile), Line: 1, Column: 1}
}

var requiredHints = map[string]string{
	"port":     "field is required for kind web",
	"schedule": "field is required for kind cron",
}

func requiredMessage(label string) string {
	if h, ok := requiredHints[label]; ok {
		return h
	}
	return "field is required but not present"
}

// dedupPaths removes repeated diagnostics: the same path and message twice
// (keeping the first one's positions and any one's fix),
// CUE's generic "field not allowed" or "field is required but not present"
// where a more specific message exists for the same path.
func dedupPaths(l diag.List) diag.List {
	generic := map[string]bool{"field not allowed": true, "field is required but not present": true}
	specific := map[string]bool{}
	for _, d := range l {
		if !generic[d.Message] {
			specific[d.Path] = true
		}
	}
	seen := map[string]int{} // index in out
	var out diag.List
	for _, d := range l {
		k := d.Path + "\x00" + d.Message
		if i, ok := seen[k]; ok {
			if out[i].Fix == nil {
				out[i].Fix = d.Fix // CUE's report first, paved's fix
			}
			continue
		}
		if generic[d.Message] && specific[d.Path] {
			continue
		}
		seen[k] = len(out)
		out = append(out, d)
	}
	return out
}

// fromCUE converts CUE errors into diagnostics. Paths lose the leading
// #App; positions inside paved's embedded files are dropped; when no
// position is left, the position of the path in raw (the app's own value)
// is used.
func fromCUE(err error, appDir string, raw *cue.Value) diag.List {
	var out diag.List
	for _, e := range cueerrors.Errors(cueerrors.Sanitize(collapseDisjunctions(cueerrors.Promote(err, "")))) {
		sel := e.Path()
		if len(sel) > 0 && (sel[0] == "#App" || sel[0] == "platform" && raw != nil) {
			sel = sel[1:]
		}
		pth := strings.Join(sel, ".")
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		if strings.HasSuffix(msg, "errors in empty disjunction:") {
			continue // the branches are reported one by one
		}
		var ps []diag.Position
		for _, tp := range append(e.InputPositions(), e.Position()) {
			if pp := position(tp); pp.Filename != "" && !strings.HasPrefix(pp.Filename, EmbeddedPrefix) {
				ps = append(ps, pp)
			}
		}
		if appDir != "" {
			// The app's own files first.
			sort.SliceStable(ps, func(i, j int) bool {
				return discover.Within(appDir, ps[i].Filename) && !discover.Within(appDir, ps[j].Filename)
			})
		}
		if len(ps) == 0 && raw != nil {
			ps = []diag.Position{fallbackPos(*raw, pth, appDir)}
		}
		out = append(out, diag.Diagnostic{Path: pth, Message: explain(sel, msg), Positions: ps})
	}
	return out
}

// platformPositions gives each diagnostic without a position the position
// in the platform directory of the deepest existing prefix of its path, so
// that an error the schema raises (such as a reserved team name) names the
// platform file:line:col that declared the value.
func (p *Platform) platformPositions(l diag.List) diag.List {
	if p.Dir == "" {
		return l
	}
	for i, d := range l {
		if len(d.Positions) > 0 || d.Path == "" {
			continue
		}
		if pp, ok := p.declPos(cue.ParsePath(d.Path).Selectors()); ok {
			l[i].Positions = []diag.Position{pp}
		}
	}
	return l
}

func position(p token.Pos) diag.Position {
	if !p.IsValid() {
		return diag.Position{}
	}
	return diag.Position{Filename: p.Filename(), Line: p.Line(), Column: p.Column()}
}

// fallbackPos finds the position of the deepest existing prefix of pth in
// v; the start of app.cue when none exists.
func fallbackPos(v cue.Value, pth string, appDir string) diag.Position {
	sels := cue.ParsePath(pth).Selectors()
	for n := len(sels); n > 0; n-- {
		fv := v.LookupPath(cue.MakePath(sels[:n]...))
		if fv.Exists() {
			if pp := position(fv.Pos()); pp.Filename != "" {
				return pp
			}
		}
	}
	return diag.Position{Filename: filepath.Join(appDir, discover.AppFile), Line: 1, Column: 1}
}

// explain rewrites CUE's regular-expression bound messages into what the
// field must be, and never repeats a value under secrets.
func explain(sel []string, msg string) string {
	if isSecretPath(sel) && !strings.Contains(msg, " is set from database ") {
		// (That message, paved's own, names the variable, not its value.)
		return "must be a secret reference of the form team/app#key: secret values never belong in a spec"
	}
	i := strings.Index(msg, " (out of bound =~")
	if i < 0 {
		i = strings.Index(msg, " (out of bound !~")
	}
	if i < 0 {
		i = strings.Index(msg, " (does not satisfy ")
	}
	if i < 0 {
		return msg
	}
	if want := describe(sel); want != "" {
		return msg[:i] + ": must be " + want
	}
	return msg
}

func isSecretPath(sel []string) bool {
	n := len(sel)
	return n >= 2 && sel[n-2] == "secrets"
}

// describe says in words what the pattern on the field at sel requires.
func describe(sel []string) string {
	if len(sel) == 0 {
		return ""
	}
	last := sel[len(sel)-1]
	parent := ""
	if len(sel) > 1 {
		parent = sel[len(sel)-2]
	}
	switch {
	case parent == "dependsOn":
		return "an app name of the same team or team/name, each a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)"
	case last == "name" || last == "team" || last == "size" || last == "environment" || last == "cluster":
		return "a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)"
	case parent == "tags" || last == "lifecycle" || last == "icon":
		return "a catalog word (lower-case letters and digits, words joined by '-', at most 63 characters)"
	case last == "url" || last == "grafanaURL" || last == "chat":
		return "an http or https URL"
	case last == "image":
		return "an image reference with a tag or a digest (registry/repository:tag or @sha256:...)"
	case last == "schedule":
		return "a cron expression with five fields (minute hour day-of-month month day-of-week) or a macro such as @hourly"
	case last == "liveness" || last == "readiness" || last == "path" && parent != "":
		return "an absolute URL path starting with /"
	case last == "host":
		return "a DNS host name"
	case last == "owner":
		return "an e-mail address"
	case last == "justification" || last == "reason":
		return "a written explanation (at least 10 characters)"
	case last == "policy":
		return "a policy ID (lower-case letters, digits, '-' and '.')"
	case last == "expires":
		return "a calendar date YYYY-MM-DD"
	case last == "object":
		return "Kind/name"
	case last == "patch":
		return "a non-empty patch"
	}
	return ""
}

func toMap(v cue.Value) (map[string]any, error) {
	b, err := v.MarshalJSON()
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// merge returns base with over applied: structs merge field by field,
// everything else (scalars, lists) is replaced.
func merge(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = merge(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func lookup(m map[string]any, p []string) (any, bool) {
	var cur any = m
	for _, k := range p {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = mm[k]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// SortedKeys returns the keys of m in order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
