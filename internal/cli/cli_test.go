package cli

import (
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"paved": func() { os.Exit(Main()) },
	})
}

// TestScripts runs the CLI scripts in testdata/script. PAVED_UPDATE=1
// rewrites the expected outputs in the scripts (review the diff!).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script"),
		UpdateScripts:       os.Getenv("PAVED_UPDATE") != "",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(e.WorkDir))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// gitserve ROOT: serve the bare repositories under ROOT over
			// smart HTTP (git http-backend) on 127.0.0.1 until the script
			// ends; sets GITURL to the server's base URL.
			"gitserve": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: gitserve ROOT")
				}
				gitPath, err := exec.LookPath("git")
				ts.Check(err)
				h := &cgi.Handler{
					Path: gitPath,
					Args: []string{"http-backend"},
					Env:  []string{"GIT_PROJECT_ROOT=" + ts.MkAbs(args[0]), "GIT_HTTP_EXPORT_ALL=1"},
				}
				srv := httptest.NewServer(h)
				ts.Defer(srv.Close)
				ts.Setenv("GITURL", srv.URL)
			},
			// mkfile SIZE NAME: a file of SIZE bytes of CUE comment text.
			"mkfile": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: mkfile SIZE NAME")
				}
				n, err := strconv.Atoi(args[0])
				ts.Check(err)
				b := make([]byte, n)
				for i := range b {
					b[i] = '/'
					if i%80 == 79 {
						b[i] = '\n'
					}
				}
				ts.Check(os.MkdirAll(filepath.Dir(ts.MkAbs(args[1])), 0o755))
				ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o644))
			},
		},
	})
}
