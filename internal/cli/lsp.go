package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/lsp"
)

type lspOptions struct {
	platformFlag
	debounce time.Duration
}

func newLspCmd(e *env) *cobra.Command {
	o := &lspOptions{}
	c := &cobra.Command{
		Use:   "lsp",
		Short: "Language server for app.cue files (the Language Server Protocol over stdin and stdout)",
		Long: `lsp runs a language server for the .cue files of app directories, for an
editor to start (see the README for VS Code, Neovim and Helix). It speaks the
Language Server Protocol on stdin and stdout and logs to stderr.

  diagnostics   what paved vet reports, as you type (from the unsaved buffer
                and the app's other files), with the fleet checks against
                the other apps of the repository; a buffer that does not
                parse keeps the last good analysis until it is saved
  hover         a field's documentation, constraint, default, and its
                effective value in each environment
  completion    field names, kinds, teams, sizes, environments, registries,
                policy IDs in exceptions, apps in dependsOn
  code actions  "did you mean" fixes, missing required fields, a
                justification stub for a default turned off
  formatting    CUE's own formatter (cue fmt)

The platform is found as every command finds it: --platform, else a
paved.platform directory above the app, else the embedded default. It writes
nothing but the cache.

Exit codes: 0 after the client's shutdown and exit, 1 when the client exits
without a shutdown request, 2 invalid flags.`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return invalid("paved lsp takes no arguments (the editor sends the files)")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			in := e.stdin
			if in == nil {
				in = os.Stdin
			}
			err := lsp.Serve(ctx, stdio{in, e.stdout}, lsp.Options{
				Platform: o.path(e), Version: Version(), Cache: e.cacheDir(),
				Debounce: o.debounce, Log: e.stderr,
			})
			if errors.Is(err, lsp.ErrNoShutdown) {
				return &exitError{code: 1, err: err}
			}
			return err
		},
	}
	o.register(c)
	c.Flags().DurationVar(&o.debounce, "debounce", 150*time.Millisecond, "how long diagnostics wait after a change for the next one")
	return c
}

// stdio is the server's stream: stdin and stdout.
type stdio struct {
	io.Reader
	io.Writer
}

func (s stdio) Close() error {
	if c, ok := s.Reader.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
