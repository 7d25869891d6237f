package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/paved-dev/paved/internal/cache"
	"github.com/paved-dev/paved/internal/synth"
)

// The benchmarks measure the analysis of one app in a synthetic monorepo
// (internal/synth, seed 1) of BENCH_APPS apps (default 1000): the server
// in-process, its index of the repository built, the platform loaded.
//
//	open    an app's buffer opened: read its files, validate it, check it
//	        against the repository's other apps, publish
//	change  a change to an open buffer (another image tag), the same
//	change/protocol  didChange to publishDiagnostics through the protocol
//	        (JSON-RPC over a pipe), no debounce
//	index/cold, index/warm  the index of the repository's apps, without
//	        and with the content-addressed cache
//
// Figures: NOTES in the closing note of issue 22.
func benchSizes(b *testing.B) []int {
	s := os.Getenv("BENCH_APPS")
	if s == "" {
		return []int{1000}
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("BENCH_APPS: not a list of app counts: %s", s)
		}
		out = append(out, n)
	}
	return out
}

// benchRepo generates a monorepo of n apps, removed when b ends.
func benchRepo(b *testing.B, n int) (string, []synth.App) {
	b.Helper()
	root, err := os.MkdirTemp("", fmt.Sprintf("paved-lsp-bench-%d-", n))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(root) })
	apps, err := synth.Generate(root, synth.Options{Apps: n, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	return root, apps
}

// benchServer runs a server on one end of a pipe, with a client on the
// other that records what is published; it returns once the index of
// root is built.
type benchClient struct {
	conn      jsonrpc2.Conn
	published chan protocol.PublishDiagnosticsParams
}

func startBench(b *testing.B, root string, c *cache.Cache) (*server, *benchClient) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := newServer(ctx, Options{Debounce: -1, Cache: c, Version: "bench"})
	sc, cc := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.serve(cancel, sc)
	}()
	bc := &benchClient{conn: jsonrpc2.NewConn(jsonrpc2.NewStream(cc)), published: make(chan protocol.PublishDiagnosticsParams, 1024)}
	bc.conn.Go(context.Background(), func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		if req.Method() == protocol.MethodTextDocumentPublishDiagnostics {
			var p protocol.PublishDiagnosticsParams
			if err := json.Unmarshal(req.Params(), &p); err == nil {
				bc.published <- p
			}
		}
		return reply(ctx, nil, nil)
	})
	b.Cleanup(func() {
		cancel()
		<-done
		bc.conn.Close()
	})
	var res protocol.InitializeResult
	if _, err := bc.conn.Call(context.Background(), protocol.MethodInitialize, &protocol.InitializeParams{WorkspaceFolders: []protocol.WorkspaceFolder{{URI: string(fileURI(root)), Name: "bench"}}}, &res); err != nil {
		b.Fatal(err)
	}
	return s, bc
}

// openBench opens the app in dir directly (no protocol) and analyses it.
func (s *server) openBench(dir string) {
	path := filepath.Join(dir, "app.cue")
	text, _ := os.ReadFile(path)
	s.mu.Lock()
	s.docs[path] = &document{path: path, text: text, version: 1}
	s.mu.Unlock()
	s.analyze(dir, false)
}

func (s *server) closeBench(dir string) {
	s.mu.Lock()
	delete(s.docs, filepath.Join(dir, "app.cue"))
	s.mu.Unlock()
	s.analyze(dir, false)
}

// waitIndex waits until every index is built.
func (s *server) waitIndex(b *testing.B) {
	s.mu.Lock()
	var ixs []*index
	for _, ix := range s.indexes {
		ixs = append(ixs, ix)
	}
	s.mu.Unlock()
	for _, ix := range ixs {
		select {
		case <-ix.ready:
		case <-time.After(10 * time.Minute):
			b.Fatal("the index was not built")
		}
	}
}

func BenchmarkLSP(b *testing.B) {
	for _, n := range benchSizes(b) {
		root, apps := benchRepo(b, n)
		c := cache.Open(b.TempDir(), "bench")
		b.Run(fmt.Sprintf("apps=%d/open", n), func(b *testing.B) {
			s, _ := startBench(b, root, c)
			s.openBench(filepath.Join(root, apps[0].Dir))
			s.waitIndex(b)
			s.closeBench(filepath.Join(root, apps[0].Dir))
			b.ResetTimer()
			for i := range b.N {
				dir := filepath.Join(root, apps[(i+1)%len(apps)].Dir)
				s.openBench(dir)
				b.StopTimer()
				s.closeBench(dir)
				b.StartTimer()
			}
		})
		b.Run(fmt.Sprintf("apps=%d/change", n), func(b *testing.B) {
			s, _ := startBench(b, root, c)
			dir := filepath.Join(root, apps[0].Dir)
			path := filepath.Join(dir, "app.cue")
			s.openBench(dir)
			s.waitIndex(b)
			orig, _ := os.ReadFile(path)
			b.ResetTimer()
			for i := range b.N {
				text := strings.Replace(string(orig), `:1.`, fmt.Sprintf(":%d.", 2+i%2), 1)
				s.mu.Lock()
				s.docs[path].text = []byte(text)
				s.mu.Unlock()
				s.analyze(dir, false)
			}
		})
		b.Run(fmt.Sprintf("apps=%d/change/protocol", n), func(b *testing.B) {
			s, bc := startBench(b, root, c)
			dir := filepath.Join(root, apps[0].Dir)
			path := filepath.Join(dir, "app.cue")
			orig, _ := os.ReadFile(path)
			u := fileURI(path)
			if err := bc.conn.Notify(context.Background(), protocol.MethodTextDocumentDidOpen, &protocol.DidOpenTextDocumentParams{
				TextDocument: protocol.TextDocumentItem{URI: u, Version: 1, Text: string(orig)}}); err != nil {
				b.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			s.waitIndex(b)
			b.ResetTimer()
			for i := range b.N {
				// Each change has an unknown field of its own name, so each
				// publishes (an unchanged result is not sent again).
				text := string(orig) + fmt.Sprintf("\nbench%d: true\n", i)
				if err := bc.conn.Notify(context.Background(), protocol.MethodTextDocumentDidChange, &protocol.DidChangeTextDocumentParams{
					TextDocument:   protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: u}, Version: int32(i + 2)},
					ContentChanges: []protocol.TextDocumentContentChangeEvent{{Text: text}},
				}); err != nil {
					b.Fatal(err)
				}
				want := fmt.Sprintf("bench%d: field not allowed", i)
				for p := range bc.published {
					if p.URI == u && len(p.Diagnostics) == 1 && p.Diagnostics[0].Message == want {
						break
					}
				}
			}
		})
		for _, warm := range []bool{false, true} {
			name := "cold"
			if warm {
				name = "warm"
			}
			b.Run(fmt.Sprintf("apps=%d/index/%s", n, name), func(b *testing.B) {
				s, _ := startBench(b, root, nil)
				dir := filepath.Join(root, apps[0].Dir)
				s.openBench(dir)
				s.waitIndex(b)
				s.mu.Lock()
				var ix *index
				for _, x := range s.indexes {
					ix = x
				}
				s.mu.Unlock()
				pe := s.platform(ix.key.platform)
				var bc *cache.Cache
				if warm {
					bc = cache.Open(b.TempDir(), "bench")
					s.opts.Cache = bc
					s.buildIndex(&index{key: ix.key, ready: make(chan struct{}), apps: ix.apps}, pe.p)
				}
				b.ResetTimer()
				for range b.N {
					s.buildIndex(&index{key: ix.key, ready: make(chan struct{}), apps: ix.apps}, pe.p)
				}
				b.StopTimer()
				s.opts.Cache = nil
			})
		}
	}
}
