package lsp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/paved-dev/paved/internal/cli"
)

// The protocol tests run the real server, `paved lsp`, as a subprocess:
// this test binary re-executed with PAVED_LSP_TEST_MAIN set runs paved's
// main instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("PAVED_LSP_TEST_MAIN") == "1" {
		os.Exit(cli.Main())
	}
	os.Exit(m.Run())
}

// pavedCmd is paved (this binary as paved) with args, in dir, with its
// own cache.
func pavedCmd(t testing.TB, dir string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PAVED_LSP_TEST_MAIN=1", "PAVED_CACHE_DIR="+cacheDir(t))
	return cmd
}

var (
	cacheOnce sync.Once
	cacheRoot string
)

func cacheDir(t testing.TB) string {
	cacheOnce.Do(func() {
		d, err := os.MkdirTemp("", "paved-lsp-cache-")
		if err != nil {
			t.Fatal(err)
		}
		cacheRoot = d
	})
	return cacheRoot
}

// client is an LSP client (go.lsp.dev/jsonrpc2) talking to `paved lsp`.
type client struct {
	t      testing.TB
	cmd    *exec.Cmd
	conn   jsonrpc2.Conn
	stderr *bytes.Buffer
	root   string

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every publish
	diags   map[protocol.DocumentURI][]protocol.Diagnostic
	counts  map[protocol.DocumentURI]int
	version int32
	// registrations are what the server registered with the client.
	registrations []protocol.Registration
}

type pipes struct {
	io.ReadCloser
	io.WriteCloser
}

func (p pipes) Close() error {
	err := p.WriteCloser.Close()
	if err2 := p.ReadCloser.Close(); err == nil {
		err = err2
	}
	return err
}

// startServer starts `paved lsp args...` in root and initializes it with
// root as its workspace folder.
func startServer(t testing.TB, root string, args ...string) *client {
	t.Helper()
	return startServerCaps(t, root, protocol.ClientCapabilities{}, args...)
}

// startServerCaps is startServer for a client with capabilities caps.
func startServerCaps(t testing.TB, root string, caps protocol.ClientCapabilities, args ...string) *client {
	t.Helper()
	cmd := pavedCmd(t, root, append([]string{"lsp", "--debounce", "20ms"}, args...)...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, cmd: cmd, stderr: &bytes.Buffer{}, root: root, changed: make(chan struct{}),
		diags: map[protocol.DocumentURI][]protocol.Diagnostic{}, counts: map[protocol.DocumentURI]int{}}
	cmd.Stderr = syncWriter{&c.mu, c.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.conn = jsonrpc2.NewConn(jsonrpc2.NewStream(pipes{out, in}))
	c.conn.Go(context.Background(), c.handle)
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
		}
		c.conn.Close()
		if t.Failed() {
			c.mu.Lock()
			t.Logf("paved lsp stderr:\n%s", c.stderr)
			c.mu.Unlock()
		}
	})
	var res protocol.InitializeResult
	c.call(protocol.MethodInitialize, &protocol.InitializeParams{
		ProcessID:        int32(os.Getpid()),
		Capabilities:     caps,
		WorkspaceFolders: []protocol.WorkspaceFolder{{URI: string(uri.File(root)), Name: "test"}},
	}, &res)
	c.notify(protocol.MethodInitialized, &protocol.InitializedParams{})
	return c
}

type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func (c *client) handle(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	if req.Method() == protocol.MethodTextDocumentPublishDiagnostics {
		var p protocol.PublishDiagnosticsParams
		if err := json.Unmarshal(req.Params(), &p); err != nil {
			c.t.Errorf("publishDiagnostics: %v", err)
			return nil
		}
		c.mu.Lock()
		c.diags[p.URI] = p.Diagnostics
		c.counts[p.URI]++
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
		return nil
	}
	if req.Method() == "client/registerCapability" {
		var p protocol.RegistrationParams
		if err := json.Unmarshal(req.Params(), &p); err != nil {
			c.t.Errorf("registerCapability: %v", err)
		}
		c.mu.Lock()
		c.registrations = append(c.registrations, p.Registrations...)
		c.mu.Unlock()
		return reply(ctx, nil, nil)
	}
	return reply(ctx, nil, jsonrpc2.NewError(jsonrpc2.MethodNotFound, req.Method()))
}

func (c *client) call(method string, params, result any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := c.conn.Call(ctx, method, params, result); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

// callErr is call for a request that may fail.
func (c *client) callErr(method string, params, result any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := c.conn.Call(ctx, method, params, result)
	return err
}

func (c *client) notify(method string, params any) {
	c.t.Helper()
	if err := c.conn.Notify(context.Background(), method, params); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

func (c *client) open(path string) protocol.DocumentURI {
	c.t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		c.t.Fatal(err)
	}
	u := uri.File(path)
	c.notify(protocol.MethodTextDocumentDidOpen, &protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{
		URI: u, LanguageID: "cue", Version: 1, Text: string(text),
	}})
	return u
}

func (c *client) change(u protocol.DocumentURI, text string) {
	c.t.Helper()
	c.mu.Lock()
	c.version++
	v := c.version + 1
	c.mu.Unlock()
	c.notify(protocol.MethodTextDocumentDidChange, &protocol.DidChangeTextDocumentParams{
		TextDocument:   protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: u}, Version: v},
		ContentChanges: []protocol.TextDocumentContentChangeEvent{{Text: text}},
	})
}

// count is how many times diagnostics were published for u.
func (c *client) count(u protocol.DocumentURI) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[u]
}

// waitDiags waits until the diagnostics published for u satisfy ok (and
// were published more than after times), and returns them.
func (c *client) waitDiags(u protocol.DocumentURI, after int, ok func([]protocol.Diagnostic) bool) []protocol.Diagnostic {
	c.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		c.mu.Lock()
		ds, n, ch := c.diags[u], c.counts[u], c.changed
		c.mu.Unlock()
		if n > after && ok(ds) {
			return ds
		}
		select {
		case <-ch:
		case <-deadline:
			c.t.Fatalf("timed out waiting for diagnostics of %s; last (%d published): %s", u, n, render(c.t, ds, nil))
		}
	}
}

// quiet asserts that nothing is published for u during d.
func (c *client) quiet(u protocol.DocumentURI, d time.Duration) {
	c.t.Helper()
	n := c.count(u)
	time.Sleep(d)
	if m := c.count(u); m != n {
		c.mu.Lock()
		ds := c.diags[u]
		c.mu.Unlock()
		c.t.Fatalf("diagnostics were published for %s: %s", u, render(c.t, ds, nil))
	}
}

// shutdown ends the session as a client does and requires exit code 0.
func (c *client) shutdown() {
	c.t.Helper()
	c.call(protocol.MethodShutdown, nil, nil)
	c.notify(protocol.MethodExit, nil)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			c.t.Fatalf("paved lsp after shutdown and exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		c.t.Fatal("paved lsp did not exit after shutdown and exit")
	}
}

// render writes diagnostics as paved vet prints them: "message:" then
// each position, the range's start first, as ./file:line:col relative to
// cwd (with texts for converting UTF-16 columns; nil reads the files).
func render(t testing.TB, ds []protocol.Diagnostic, cwdAndFile []string) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.Message + ":\n")
		if len(cwdAndFile) == 2 {
			fmt.Fprintf(&b, "    %s\n", vetPos(t, cwdAndFile[0], cwdAndFile[1], d.Range.Start))
		} else {
			fmt.Fprintf(&b, "    %d:%d\n", d.Range.Start.Line+1, d.Range.Start.Character+1)
		}
		for _, r := range d.RelatedInformation {
			path, _ := filepath.Abs(uri.URI(r.Location.URI).Filename())
			if len(cwdAndFile) == 2 {
				fmt.Fprintf(&b, "    %s\n", vetPos(t, cwdAndFile[0], path, r.Location.Range.Start))
			}
		}
	}
	return b.String()
}

// vetPos writes an LSP position in file as vet does: ./rel:line:col, the
// column in bytes.
func vetPos(t testing.TB, cwd, file string, p protocol.Position) string {
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(text), "\n")
	col := 0
	if int(p.Line) < len(lines) {
		units := 0
		for _, r := range lines[p.Line] {
			if units >= int(p.Character) {
				break
			}
			n := 1
			if r >= 0x10000 {
				n = 2
			}
			units += n
			col += len(string(r))
		}
	}
	rel, err := filepath.Rel(cwd, file)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("./%s:%d:%d", filepath.ToSlash(rel), p.Line+1, col+1)
}
