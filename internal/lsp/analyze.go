package lsp

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"cuelang.org/go/cue/parser"
	"go.lsp.dev/protocol"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/discover"
	"github.com/paved-dev/paved/schema"
)

// platformEntry is a loaded platform (or why it did not load).
type platformEntry struct {
	p        *schema.Platform // nil when it failed to load
	err      error
	policies *policyIDs
}

// forkBuilds is how many app instances a platform's CUE context may hold
// before it is replaced by a fresh fork (as the CLI's platformPool does):
// a long editing session must not grow the context for ever.
const forkBuilds = 64

// refork replaces the platform by a fresh fork once its context holds
// forkBuilds instances. Under analysisMu.
func (pe *platformEntry) refork() {
	if pe.p == nil || pe.p.Builds() < forkBuilds {
		return
	}
	if f, err := pe.p.Fork(); err == nil {
		pe.p = f
	}
}

// appState is what the server knows of one app directory with open
// buffers: the last analysis and what was published. Under analysisMu.
type appState struct {
	dir, platformDir, repo string
	// files is the content of every file of the last analysis (open
	// buffers over the files on disk), for positions.
	files map[string][]byte
	own   diag.List   // the app's own diagnostics: what vet reports for it
	app   *schema.App // the validated app, nil unless own is empty
	// good: every open buffer parsed in the last analysis, which a buffer
	// that does not parse (yet) keeps showing.
	good      bool
	published map[protocol.DocumentURI][]protocol.Diagnostic
}

// indexKey names the apps of one repository under one platform: the apps
// the fleet checks of an app in the repository see.
type indexKey struct{ repo, platform string }

// index holds the validated apps of a repository as they are on disk,
// built in the background. The apps open in the editor are taken from
// their buffers instead.
type index struct {
	key   indexKey
	ready chan struct{}
	mu    sync.Mutex
	apps  map[string]*schema.App // by directory; valid apps only
	// dirty are the app directories that changed on disk while the index
	// was being built: read again at its end.
	dirty map[string]bool
}

func (ix *index) isReady() bool {
	select {
	case <-ix.ready:
		return true
	default:
		return false
	}
}

// platformDir is the platform directory of the app in dir.
func (s *server) platformDir(dir string) string {
	if s.opts.Platform != "" {
		return s.opts.Platform
	}
	return discover.FindPlatform(dir)
}

// repoRoot is the repository the app in dir belongs to: the nearest
// directory above it holding .git, else the client's workspace folder
// holding it, else the app directory alone.
func (s *server) repoRoot(dir string) string {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	best := ""
	for _, r := range s.roots {
		if discover.Within(r, dir) && len(r) > len(best) {
			best = r
		}
	}
	if best != "" {
		return best
	}
	return dir
}

// platform returns the platform of dir, loading it on first use. Under
// analysisMu.
func (s *server) platform(dir string) *platformEntry {
	s.mu.Lock()
	pe := s.platforms[dir]
	s.mu.Unlock()
	if pe != nil {
		return pe
	}
	p, err := schema.LoadPlatform(dir)
	pe = &platformEntry{p: p, err: err}
	s.mu.Lock()
	s.platforms[dir] = pe
	s.mu.Unlock()
	return pe
}

// platformChanged reacts to a saved or changed file of a loaded platform
// directory: the platform is loaded again and every open app analysed.
func (s *server) platformChanged(path string) bool {
	s.mu.Lock()
	hit := false
	for dir := range s.platforms {
		if dir != "" && discover.Within(dir, path) {
			delete(s.platforms, dir)
			for k := range s.indexes {
				if k.platform == dir {
					delete(s.indexes, k)
				}
			}
			hit = true
		}
	}
	var dirs []string
	if hit {
		for p := range s.docs {
			if d := filepath.Dir(p); !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
	}
	s.mu.Unlock()
	for _, d := range dirs {
		s.schedule(d, 0, true)
	}
	return hit
}

// parses reports whether every open buffer parses.
func parses(open map[string]document) bool {
	for _, d := range open {
		if _, err := parser.ParseFile(d.path, d.text); err != nil {
			return false
		}
	}
	return true
}

// analyze validates the app in dir, from its open buffers and its other
// files, and publishes its diagnostics: exactly what paved vet reports
// for it, plus the fleet checks against the other apps of its
// repository. force shows syntax errors even when a last good analysis
// exists.
func (s *server) analyze(dir string, force bool) {
	s.analysisMu.Lock()
	defer s.analysisMu.Unlock()
	if s.isClosing() {
		return
	}
	s.analyzeLocked(dir, force)
}

func (s *server) analyzeLocked(dir string, force bool) {
	open := s.openDocs(dir)
	st := s.apps[dir]
	if len(open) == 0 {
		// The app's last buffer closed: clear what was shown, and let the
		// index see the app as it is on disk.
		if st != nil {
			s.send(st, nil)
			delete(s.apps, dir)
			s.reindexLocked(dir)
		}
		return
	}
	ok := parses(open)
	if !ok && !force && st != nil && st.good {
		// Typing: keep the last good analysis; show the syntax error if
		// the buffer stays broken.
		s.scheduleIfIdle(dir, s.opts.ParseErrorDelay)
		return
	}
	da, readDiags := discover.ReadApp(dir)
	da.Files = slices.DeleteFunc(da.Files, func(f discover.File) bool { _, ok := open[f.Path]; return ok })
	readDiags = slices.DeleteFunc(readDiags, func(d diag.Diagnostic) bool {
		_, ok := open[first(d).Filename]
		return ok
	})
	for _, p := range sortedKeys(open) {
		d := open[p]
		if filepath.Ext(p) != ".cue" {
			continue
		}
		if bad := discover.CheckContent(p, d.text); bad != nil {
			readDiags = append(readDiags, *bad)
			continue
		}
		da.Files = append(da.Files, discover.File{Path: p, Data: d.text})
	}
	slices.SortFunc(da.Files, func(a, b discover.File) int { return strings.Compare(a.Path, b.Path) })
	if !slices.ContainsFunc(da.Files, func(f discover.File) bool { return filepath.Base(f.Path) == discover.AppFile }) {
		// Not an app directory (a platform file, a library): nothing to say.
		if st != nil {
			s.send(st, nil)
			delete(s.apps, dir)
		}
		return
	}
	if st == nil {
		st = &appState{dir: dir, platformDir: s.platformDir(dir), repo: s.repoRoot(dir), published: map[protocol.DocumentURI][]protocol.Diagnostic{}}
		s.apps[dir] = st
	}
	st.files = map[string][]byte{}
	for _, f := range da.Files {
		st.files[f.Path] = f.Data
	}
	st.good = ok
	st.app = nil
	pe := s.platform(st.platformDir)
	switch {
	case pe.err != nil:
		st.own = platformDiags(pe.err, dir)
	case len(readDiags) > 0:
		st.own = readDiags.Sanitize()
	default:
		st.app, st.own = pe.p.LoadApp(da)
		pe.refork()
	}
	if pe.p != nil && slices.ContainsFunc(da.Files, func(f discover.File) bool { return bytes.Contains(f.Data, []byte("exceptions")) }) {
		// The author works on exceptions: compile the policies, whose IDs
		// completion offers there.
		s.policies(pe)
	}
	s.publish(st)
	// The other open apps of the repository see this one in their fleet
	// checks.
	for _, o := range s.sortedApps() {
		if o != st && o.repo == st.repo && o.platformDir == st.platformDir {
			s.publish(o)
		}
	}
}

// scheduleIfIdle schedules a forced analysis of dir after delay unless
// one is pending (a newer change's).
func (s *server) scheduleIfIdle(dir string, delay time.Duration) {
	s.mu.Lock()
	pending := s.timers[dir] != nil
	s.mu.Unlock()
	if !pending {
		s.schedule(dir, delay, true)
	}
}

func (s *server) sortedApps() []*appState {
	var out []*appState
	for _, k := range sortedKeys(s.apps) {
		out = append(out, s.apps[k])
	}
	return out
}

// platformDiags are the diagnostics of a platform that did not load.
func platformDiags(err error, dir string) diag.List {
	var l diag.List
	if errors.As(err, &l) {
		return l
	}
	return diag.List{{Message: "platform: " + err.Error(), Positions: []diag.Position{{Filename: filepath.Join(dir, discover.AppFile)}}}}
}

func first(d diag.Diagnostic) diag.Position {
	if len(d.Positions) == 0 {
		return diag.Position{}
	}
	return d.Positions[0]
}

// publish sends the app's diagnostics: its own, and when it is valid the
// fleet checks' errors and warnings that concern it.
func (s *server) publish(st *appState) {
	all := slices.Clone(st.own)
	var warns diag.List
	if st.app != nil && len(st.own) == 0 {
		all, warns = s.fleetDiags(st)
	}
	out := map[protocol.DocumentURI][]protocol.Diagnostic{}
	for _, d := range all {
		u, ld := s.toLSP(st, d, protocol.DiagnosticSeverityError)
		out[u] = append(out[u], ld)
	}
	for _, d := range warns {
		u, ld := s.toLSP(st, d, protocol.DiagnosticSeverityWarning)
		out[u] = append(out[u], ld)
	}
	s.send(st, out)
}

// send publishes diags (by document) for the app, clearing what was
// published before and is no longer there; unchanged documents are not
// sent again.
func (s *server) send(st *appState, diags map[protocol.DocumentURI][]protocol.Diagnostic) {
	uris := map[protocol.DocumentURI]bool{}
	for u := range st.published {
		uris[u] = true
	}
	for u := range diags {
		uris[u] = true
	}
	for _, u := range sortedKeys(uris) {
		ds := diags[u]
		if ds == nil {
			ds = []protocol.Diagnostic{}
		}
		if prev, ok := st.published[u]; ok && reflect.DeepEqual(prev, ds) {
			continue
		}
		if _, ok := st.published[u]; !ok && len(ds) == 0 {
			continue
		}
		params := &protocol.PublishDiagnosticsParams{URI: u, Diagnostics: ds}
		if path, ok := uriPath(u); ok {
			if d, ok := s.doc(path); ok && d.version > 0 {
				params.Version = uint32(d.version)
			}
		}
		s.notify(protocol.MethodTextDocumentPublishDiagnostics, params)
		if len(ds) == 0 {
			delete(st.published, u)
		} else {
			st.published[u] = ds
		}
	}
}

// textOf is the text a position in file refers to.
func (s *server) textOf(st *appState, file string) []byte {
	if b, ok := st.files[file]; ok {
		return b
	}
	b, _ := s.readFile(file)
	return b
}

// toLSP places a diagnostic: at its first position in the app's own files
// (else at the start of app.cue), with every other position as related
// information. The message is what vet prints: "path: message".
func (s *server) toLSP(st *appState, d diag.Diagnostic, sev protocol.DiagnosticSeverity) (protocol.DocumentURI, protocol.Diagnostic) {
	at := slices.IndexFunc(d.Positions, func(p diag.Position) bool {
		_, ok := st.files[p.Filename]
		return ok
	})
	file := filepath.Join(st.dir, discover.AppFile)
	var rng protocol.Range
	if at >= 0 {
		p := d.Positions[at]
		file = p.Filename
		rng = lspRange(s.textOf(st, file), p.Line, p.Column)
	}
	ld := protocol.Diagnostic{Range: rng, Severity: sev, Source: "paved", Message: d.String()}
	for i, p := range d.Positions {
		if i == at || p.Filename == "" {
			continue
		}
		fi, err := os.Stat(p.Filename)
		if _, open := st.files[p.Filename]; !open && (err != nil || fi.IsDir()) {
			continue
		}
		ld.RelatedInformation = append(ld.RelatedInformation, protocol.DiagnosticRelatedInformation{
			Location: protocol.Location{URI: fileURI(p.Filename), Range: lspRange(s.textOf(st, p.Filename), p.Line, p.Column)},
			Message:  d.String(),
		})
	}
	return fileURI(file), ld
}

// fleetDiags are the fleet checks of the valid app st among the other
// apps of its repository (the index, with open apps as their buffers
// are): the errors with a position in the app, and, once the index is
// built, the warnings for dependencies no app of the repository is.
func (s *server) fleetDiags(st *appState) (errs, warns diag.List) {
	pe := s.platform(st.platformDir)
	if pe.p == nil {
		return nil, nil
	}
	ix := s.index(st.repo, st.platformDir, pe.p)
	apps := map[string]*schema.App{}
	ready := ix.isReady()
	if ready {
		ix.mu.Lock()
		for d, a := range ix.apps {
			apps[d] = a
		}
		ix.mu.Unlock()
	}
	for _, o := range s.sortedApps() {
		if o.repo != st.repo || o.platformDir != st.platformDir {
			continue
		}
		if o.app != nil && len(o.own) == 0 {
			apps[o.dir] = o.app
		} else {
			delete(apps, o.dir)
		}
	}
	list := make([]*schema.App, 0, len(apps))
	have := map[string]bool{}
	for _, d := range sortedKeys(apps) {
		list = append(list, apps[d])
		have[apps[d].Base.Team+"/"+apps[d].Base.Name] = true
	}
	for _, d := range schema.CheckFleet(pe.p, list) {
		if slices.ContainsFunc(d.Positions, func(p diag.Position) bool { return filepath.Dir(p.Filename) == st.dir }) {
			errs = append(errs, d)
		}
	}
	if ready && len(errs) == 0 {
		warns = schema.MissingDependenciesOf(st.app, have).Sanitize()
	}
	return errs, warns
}

// index returns the index of the repository's apps under the platform,
// starting to build it on first use.
func (s *server) index(repo, platformDir string, p *schema.Platform) *index {
	key := indexKey{repo, platformDir}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ix := s.indexes[key]; ix != nil {
		return ix
	}
	ix := &index{key: key, ready: make(chan struct{}), apps: map[string]*schema.App{}}
	s.indexes[key] = ix
	if s.closing {
		return ix
	}
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		defer s.recoverLog()
		s.buildIndex(ix, p)
	}()
	return ix
}

// buildIndex validates every app of the repository that uses the
// platform, through the cache, in a fork of the platform (the editor's
// analyses keep the platform itself), then publishes the open apps'
// diagnostics again with the fleet checks complete.
func (s *server) buildIndex(ix *index, p *schema.Platform) {
	found, _ := discover.Apps([]string{ix.key.repo})
	fork, err := p.Fork()
	if err != nil {
		s.logf("indexing %s: %v", ix.key.repo, err)
		return
	}
	apps := map[string]*schema.App{}
	for _, a := range found {
		if s.isClosing() {
			return
		}
		if s.opts.Platform == "" && discover.FindPlatform(a.Dir) != ix.key.platform {
			continue
		}
		key := p.CacheKey(s.opts.Cache, a)
		if rec, ok := s.opts.Cache.Get(key); ok {
			if app, err := p.RestoreApp(a, rec); err == nil {
				apps[a.Dir] = app
				continue
			}
		}
		app, diags := fork.LoadApp(a)
		if app == nil || len(diags) > 0 {
			continue
		}
		apps[a.Dir] = app
		if rec, err := app.Record(); err == nil {
			s.opts.Cache.Put(key, rec)
		}
		if fork.Builds() >= forkBuilds {
			if f, err := p.Fork(); err == nil {
				fork = f
			}
		}
	}
	for {
		// What changed on disk meanwhile is read again; the index is
		// ready, under ix.mu, once nothing is left to read.
		ix.mu.Lock()
		dirty := ix.dirty
		ix.dirty = nil
		if len(dirty) == 0 {
			ix.apps = apps
			close(ix.ready)
			ix.mu.Unlock()
			break
		}
		ix.mu.Unlock()
		for _, dir := range sortedKeys(dirty) {
			delete(apps, dir)
			if s.opts.Platform != "" || discover.FindPlatform(dir) == ix.key.platform {
				if da, rd := discover.ReadApp(dir); len(rd) == 0 && len(da.Files) > 0 {
					if app, diags := fork.LoadApp(da); app != nil && len(diags) == 0 {
						apps[dir] = app
					}
				}
			}
		}
	}
	s.analysisMu.Lock()
	defer s.analysisMu.Unlock()
	s.mu.Lock()
	current := s.indexes[ix.key] == ix && !s.closing
	s.mu.Unlock()
	if !current {
		return
	}
	for _, st := range s.sortedApps() {
		if st.repo == ix.key.repo && st.platformDir == ix.key.platform {
			s.publish(st)
		}
	}
}

// reindex reads the app in dir from disk again (a file changed outside
// the editor) for the indexes that hold it, and analyses it and the open
// apps of its repository again.
func (s *server) reindex(dir string) {
	s.analysisMu.Lock()
	defer s.analysisMu.Unlock()
	if s.isClosing() {
		return
	}
	s.reindexLocked(dir)
	if len(s.openDocs(dir)) > 0 {
		s.analyzeLocked(dir, true)
		return
	}
	for _, st := range s.sortedApps() {
		if discover.Within(st.repo, dir) {
			s.publish(st)
		}
	}
}

// reindexLocked updates the indexes that cover dir with the app as it is
// on disk. Under analysisMu.
func (s *server) reindexLocked(dir string) {
	s.mu.Lock()
	var ixs []*index
	for _, ix := range s.indexes {
		if !discover.Within(ix.key.repo, dir) {
			continue
		}
		ix.mu.Lock()
		ready := ix.isReady()
		if !ready {
			if ix.dirty == nil {
				ix.dirty = map[string]bool{}
			}
			ix.dirty[dir] = true
		}
		ix.mu.Unlock()
		if ready {
			ixs = append(ixs, ix)
		}
	}
	s.mu.Unlock()
	for _, ix := range ixs {
		var app *schema.App
		if s.opts.Platform != "" || discover.FindPlatform(dir) == ix.key.platform {
			if da, rd := discover.ReadApp(dir); len(rd) == 0 && len(da.Files) > 0 {
				if pe := s.platform(ix.key.platform); pe.p != nil {
					var diags diag.List
					if app, diags = pe.p.LoadApp(da); len(diags) > 0 {
						app = nil
					}
					pe.refork()
				}
			}
		}
		ix.mu.Lock()
		if app != nil {
			ix.apps[dir] = app
		} else {
			delete(ix.apps, dir)
		}
		ix.mu.Unlock()
	}
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
