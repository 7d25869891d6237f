// Package lsp is paved's language server: the Language Server Protocol
// over one stream (stdin and stdout for `paved lsp`) for the .cue files of
// app directories. Its entry point is Serve.
//
// The transport and the protocol's types are go.lsp.dev/jsonrpc2 and
// go.lsp.dev/protocol; the server answers the methods it implements and
// "method not found" to the rest. What it knows comes from the packages
// paved vet uses: discover reads an app's files (the editor's unsaved
// buffers over the files on disk), schema loads the platform and validates
// the app, schema.CheckFleet checks it against the other apps of its
// repository, and schema.Platform.Explain documents the fields.
package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/paved-dev/paved/internal/cache"
)

// Options configure a server.
type Options struct {
	// Platform is the platform directory of every app (--platform,
	// absolute). Empty: each app's is found as every command finds it, a
	// paved.platform directory above the app, else the embedded default.
	Platform string
	// Version is paved's version, reported to the client.
	Version string
	// Cache holds validated apps: the other apps of a repository, which
	// the fleet checks read, are restored from it rather than evaluated.
	// Nil disables it.
	Cache *cache.Cache
	// Debounce is how long the analysis of a changed buffer waits for the
	// next change (default 150 ms; negative: none).
	Debounce time.Duration
	// ParseErrorDelay is how long a buffer that does not parse keeps the
	// last good analysis before its syntax errors are shown (default 2 s;
	// they show at once when the buffer is saved).
	ParseErrorDelay time.Duration
	// Log receives what the server cannot tell the client (stderr).
	Log io.Writer
}

// ErrNoShutdown is returned by Serve when the client ended the session
// without a shutdown request (the protocol's exit code 1).
var ErrNoShutdown = errors.New("the client ended the session without a shutdown request")

// Serve runs a language server on rwc until the client sends exit, the
// stream ends or ctx is cancelled.
func Serve(ctx context.Context, rwc io.ReadWriteCloser, opts Options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return newServer(ctx, opts).serve(cancel, rwc)
}

// serve runs s on rwc; cancel cancels s.ctx.
func (s *server) serve(cancel context.CancelFunc, rwc io.ReadWriteCloser) error {
	s.conn = jsonrpc2.NewConn(jsonrpc2.NewStream(rwc))
	s.conn.Go(s.ctx, s.handle)
	select {
	case <-s.conn.Done():
	case <-s.ctx.Done():
		s.conn.Close()
		<-s.conn.Done()
	}
	cancel()
	s.stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.shutdown {
		return ErrNoShutdown
	}
	return nil
}

type server struct {
	ctx  context.Context
	opts Options
	conn jsonrpc2.Conn

	// mu guards the fields below it.
	mu       sync.Mutex
	docs     map[string]*document // open documents by absolute path
	roots    []string             // the client's workspace folders
	timers   map[string]*time.Timer
	watch    bool // the client watches files for the server when asked
	shutdown bool
	closing  bool
	// platforms are the loaded platforms by directory ("" for the
	// embedded default); indexes the other apps of each repository.
	platforms map[string]*platformEntry
	indexes   map[indexKey]*index

	// analysisMu serializes analyses and everything else that uses a
	// platform's CUE context (a context must not be shared between
	// goroutines): hover, completion and code actions take it too. It
	// also orders the diagnostics published. Lock order: analysisMu,
	// then mu.
	analysisMu sync.Mutex
	apps       map[string]*appState // by app directory; under analysisMu

	background sync.WaitGroup
}

// document is an open buffer.
type document struct {
	path    string
	text    []byte
	version int32
}

func newServer(ctx context.Context, opts Options) *server {
	if opts.Debounce == 0 {
		opts.Debounce = 150 * time.Millisecond
	}
	if opts.ParseErrorDelay == 0 {
		opts.ParseErrorDelay = 2 * time.Second
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	return &server{
		ctx: ctx, opts: opts,
		docs: map[string]*document{}, timers: map[string]*time.Timer{},
		platforms: map[string]*platformEntry{}, indexes: map[indexKey]*index{},
		apps: map[string]*appState{},
	}
}

// stop ends background work: pending analyses are dropped, running ones
// and the indexing finish (indexing stops at the next app).
func (s *server) stop() {
	s.mu.Lock()
	s.closing = true
	for dir, t := range s.timers {
		if t.Stop() {
			s.background.Done() // its function will not run
		}
		delete(s.timers, dir)
	}
	s.mu.Unlock()
	s.background.Wait()
}

func (s *server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// goBackground runs f on its own goroutine unless the server is closing
// (then it reports false); stop waits for it.
func (s *server) goBackground(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		defer s.recoverLog()
		f()
	}()
	return true
}

// recoverLog turns a panic in background work into a log line: bad input
// must never take the editor's server down.
func (s *server) recoverLog() {
	if r := recover(); r != nil {
		fmt.Fprintf(s.opts.Log, "paved lsp: internal error: %v\n%s", r, debug.Stack())
	}
}

func (s *server) logf(format string, args ...any) {
	fmt.Fprintf(s.opts.Log, "paved lsp: "+format+"\n", args...)
}

// notify sends a notification to the client; a failure (the client went
// away) is logged.
func (s *server) notify(method string, params any) {
	if err := s.conn.Notify(s.ctx, method, params); err != nil && !s.isClosing() {
		s.logf("%s: %v", method, err)
	}
}

// handle answers one message. It runs on the connection's reading
// goroutine, one message at a time, in order; analyses run apart.
func (s *server) handle(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) (err error) {
	replied := false
	reply0 := reply
	reply = func(ctx context.Context, result any, err error) error {
		replied = true
		return reply0(ctx, result, err)
	}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(s.opts.Log, "paved lsp: internal error in %s: %v\n%s", req.Method(), r, debug.Stack())
			if !replied {
				err = reply(ctx, nil, jsonrpc2.NewError(jsonrpc2.InternalError, fmt.Sprintf("paved lsp: internal error: %v", r)))
			}
		}
		if err != nil {
			// An error here would close the connection: log it instead.
			s.logf("%s: %v", req.Method(), err)
			err = nil
		}
	}()
	_, isCall := req.(*jsonrpc2.Call)
	s.mu.Lock()
	down := s.shutdown
	s.mu.Unlock()
	if down && req.Method() != protocol.MethodExit {
		if isCall {
			return reply(ctx, nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "the server is shut down"))
		}
		return nil
	}
	decode := func(v any) bool {
		if err := json.Unmarshal(req.Params(), v); err != nil {
			_ = reply(ctx, nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, err.Error()))
			return false
		}
		return true
	}
	switch req.Method() {
	case protocol.MethodInitialize:
		var p protocol.InitializeParams
		if !decode(&p) {
			return nil
		}
		return reply(ctx, s.initialize(&p), nil)
	case protocol.MethodInitialized:
		s.mu.Lock()
		watch := s.watch
		s.mu.Unlock()
		if watch {
			// A request to the client: not from this goroutine, which
			// reads its answer.
			s.goBackground(s.registerWatchers)
		}
		return nil
	case "$/cancelRequest", "$/setTrace", "workspace/didChangeConfiguration":
		return nil
	case protocol.MethodShutdown:
		s.mu.Lock()
		s.shutdown = true
		s.mu.Unlock()
		return reply(ctx, nil, nil)
	case protocol.MethodExit:
		return s.conn.Close()
	case protocol.MethodTextDocumentDidOpen:
		var p protocol.DidOpenTextDocumentParams
		if decode(&p) {
			s.didOpen(&p)
		}
		return nil
	case protocol.MethodTextDocumentDidChange:
		var p protocol.DidChangeTextDocumentParams
		if decode(&p) {
			s.didChange(&p)
		}
		return nil
	case protocol.MethodTextDocumentDidSave:
		var p protocol.DidSaveTextDocumentParams
		if decode(&p) {
			s.didSave(&p)
		}
		return nil
	case protocol.MethodTextDocumentDidClose:
		var p protocol.DidCloseTextDocumentParams
		if decode(&p) {
			s.didClose(&p)
		}
		return nil
	case protocol.MethodWorkspaceDidChangeWatchedFiles:
		var p protocol.DidChangeWatchedFilesParams
		if decode(&p) {
			s.didChangeWatchedFiles(&p)
		}
		return nil
	case protocol.MethodTextDocumentHover:
		var p protocol.HoverParams
		if !decode(&p) {
			return nil
		}
		h := s.hover(&p)
		if h == nil {
			return reply(ctx, nil, nil)
		}
		return reply(ctx, h, nil)
	case protocol.MethodTextDocumentCompletion:
		var p protocol.CompletionParams
		if !decode(&p) {
			return nil
		}
		return reply(ctx, s.complete(&p), nil)
	case protocol.MethodTextDocumentCodeAction:
		var p protocol.CodeActionParams
		if !decode(&p) {
			return nil
		}
		return reply(ctx, s.codeActions(&p), nil)
	case protocol.MethodTextDocumentFormatting:
		var p protocol.DocumentFormattingParams
		if !decode(&p) {
			return nil
		}
		edits, err := s.format(&p)
		return reply(ctx, edits, err)
	}
	if isCall {
		return reply(ctx, nil, jsonrpc2.NewError(jsonrpc2.MethodNotFound, "paved lsp does not implement "+req.Method()))
	}
	return nil
}

func (s *server) initialize(p *protocol.InitializeParams) *protocol.InitializeResult {
	var roots []string
	for _, f := range p.WorkspaceFolders {
		if path, ok := uriPath(protocol.DocumentURI(f.URI)); ok {
			roots = append(roots, path)
		}
	}
	if len(roots) == 0 {
		// A client without workspace folders (LSP before 3.6) names its
		// root the deprecated ways.
		//lint:ignore SA1019 the fallback for clients without workspace folders
		rootURI, rootPath := p.RootURI, p.RootPath
		if path, ok := uriPath(rootURI); ok {
			roots = append(roots, path)
		} else if rootPath != "" && filepath.IsAbs(rootPath) {
			roots = append(roots, filepath.Clean(rootPath))
		}
	}
	s.mu.Lock()
	s.roots = roots
	if w := p.Capabilities.Workspace; w != nil && w.DidChangeWatchedFiles != nil {
		s.watch = w.DidChangeWatchedFiles.DynamicRegistration
	}
	s.mu.Unlock()
	return &protocol.InitializeResult{
		Capabilities: protocol.ServerCapabilities{
			TextDocumentSync: &protocol.TextDocumentSyncOptions{
				OpenClose: true,
				Change:    protocol.TextDocumentSyncKindFull,
				Save:      &protocol.SaveOptions{},
			},
			HoverProvider:              true,
			CompletionProvider:         &protocol.CompletionOptions{TriggerCharacters: []string{`"`}},
			CodeActionProvider:         &protocol.CodeActionOptions{CodeActionKinds: []protocol.CodeActionKind{protocol.QuickFix}},
			DocumentFormattingProvider: true,
		},
		ServerInfo: &protocol.ServerInfo{Name: "paved", Version: s.opts.Version},
	}
}

// registerWatchers asks the client to report changes to .cue files: an
// app or a platform file changed outside the editor (a git checkout)
// changes the fleet checks of the open apps.
func (s *server) registerWatchers() {
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	_, err := s.conn.Call(ctx, "client/registerCapability", &protocol.RegistrationParams{Registrations: []protocol.Registration{{
		ID: "paved-cue-files", Method: protocol.MethodWorkspaceDidChangeWatchedFiles,
		RegisterOptions: protocol.DidChangeWatchedFilesRegistrationOptions{Watchers: []protocol.FileSystemWatcher{{GlobPattern: "**/*.cue"}}},
	}}}, nil)
	if err != nil && !s.isClosing() {
		s.logf("registering file watchers: %v", err)
	}
}

func (s *server) didOpen(p *protocol.DidOpenTextDocumentParams) {
	path, ok := uriPath(p.TextDocument.URI)
	if !ok {
		return
	}
	s.mu.Lock()
	s.docs[path] = &document{path: path, text: []byte(p.TextDocument.Text), version: p.TextDocument.Version}
	s.mu.Unlock()
	s.schedule(filepath.Dir(path), 0, false)
}

func (s *server) didChange(p *protocol.DidChangeTextDocumentParams) {
	path, ok := uriPath(p.TextDocument.URI)
	if !ok || len(p.ContentChanges) == 0 {
		return
	}
	s.mu.Lock()
	d := s.docs[path]
	if d == nil {
		d = &document{path: path}
		s.docs[path] = d
	}
	// Full synchronization (what initialize asks for): the last change
	// holds the whole text.
	d.text = []byte(p.ContentChanges[len(p.ContentChanges)-1].Text)
	d.version = p.TextDocument.Version
	s.mu.Unlock()
	s.schedule(filepath.Dir(path), s.opts.Debounce, false)
}

func (s *server) didSave(p *protocol.DidSaveTextDocumentParams) {
	path, ok := uriPath(p.TextDocument.URI)
	if !ok {
		return
	}
	if s.platformChanged(path) {
		return
	}
	s.schedule(filepath.Dir(path), 0, true)
}

func (s *server) didClose(p *protocol.DidCloseTextDocumentParams) {
	path, ok := uriPath(p.TextDocument.URI)
	if !ok {
		return
	}
	s.mu.Lock()
	delete(s.docs, path)
	s.mu.Unlock()
	s.schedule(filepath.Dir(path), 0, true)
}

func (s *server) didChangeWatchedFiles(p *protocol.DidChangeWatchedFilesParams) {
	dirs := map[string]bool{}
	for _, c := range p.Changes {
		path, ok := uriPath(protocol.DocumentURI(c.URI))
		if !ok || filepath.Ext(path) != ".cue" {
			continue
		}
		if s.platformChanged(path) {
			continue
		}
		dirs[filepath.Dir(path)] = true
	}
	for dir := range dirs {
		s.goBackground(func() { s.reindex(dir) })
	}
}

// schedule analyses the app in dir after delay (a later call for the same
// app replaces a pending one). force shows syntax errors at once.
func (s *server) schedule(dir string, delay time.Duration, force bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	if t := s.timers[dir]; t != nil {
		if t.Stop() {
			s.background.Done() // its function will not run
		}
		delete(s.timers, dir)
	}
	if delay <= 0 {
		s.background.Add(1)
		go func() {
			defer s.background.Done()
			defer s.recoverLog()
			s.analyze(dir, force)
		}()
		return
	}
	s.background.Add(1)
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		defer s.background.Done()
		defer s.recoverLog()
		s.mu.Lock()
		current := s.timers[dir] == t
		if current {
			delete(s.timers, dir)
		}
		s.mu.Unlock()
		if current {
			s.analyze(dir, force)
		}
	})
	s.timers[dir] = t
}

// openDocs returns a snapshot of the open documents in dir.
func (s *server) openDocs(dir string) map[string]document {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]document{}
	for p, d := range s.docs {
		if filepath.Dir(p) == dir {
			out[p] = *d
		}
	}
	return out
}

// doc returns a snapshot of the open document at path.
func (s *server) doc(path string) (document, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[path]
	if !ok {
		return document{}, false
	}
	return *d, true
}

// readFile is the text of path: the open buffer, else the file on disk.
func (s *server) readFile(path string) ([]byte, bool) {
	if d, ok := s.doc(path); ok {
		return d.text, true
	}
	b, err := os.ReadFile(path)
	return b, err == nil
}
