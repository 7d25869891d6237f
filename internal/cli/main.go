// Package cli implements the paved command line: one file per command, each
// built by a constructor with its own options; Main maps results to exit
// codes and prints diagnostics once.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/internal/cache"
	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/memtune"
	"github.com/paved-dev/paved/internal/migrate"
	"github.com/paved-dev/paved/render"
)

// Exit codes, as documented in `paved --help`.
const (
	ExitOK      = 0 // success, no changes
	ExitChanges = 1 // changes found (diff) or policy denials (lint)
	ExitInvalid = 2 // invalid input: spec, platform, flags
	ExitRender  = 3 // render error
	ExitGit     = 4 // git, network or API error
)

// exitError carries an exit code and the error to print.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func invalid(format string, args ...any) error {
	return &exitError{code: ExitInvalid, err: fmt.Errorf(format, args...)}
}

// env is what commands read and write besides their flags.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	cwd            string
	// quiet (--quiet) drops progress and success summaries; timings
	// (--timings) prints each stage's duration to stderr.
	quiet, timings bool
	// isTerminal and ci say whether stderr is a terminal and whether CI
	// is set: a progress bar is drawn only on a terminal outside CI.
	isTerminal, ci bool
	stages         *stageTimer
	// noCache (--no-cache) turns the content-addressed cache off; cache
	// is opened on first use.
	noCache   bool
	cache     *cache.Cache
	cacheOnce sync.Once
	// background is work a command started alongside its main path
	// (compiling policies while apps load): Run waits for it, so a
	// command that fails early does not exit while it still holds
	// temporary files.
	background sync.WaitGroup
	// cpuProfile and memProfile (--cpuprofile, --memprofile; hidden) are
	// files a run writes pprof profiles to, for reports of slow runs.
	cpuProfile, memProfile string
	cpuFile                *os.File
	// migrations are the steps paved migrate runs: migrate.Steps unless
	// a test sets its own.
	migrations migrate.Registry
}

// cacheDir returns the content-addressed cache, or nil (a disabled cache)
// with --no-cache or when no cache directory is usable.
func (e *env) cacheDir() *cache.Cache {
	e.cacheOnce.Do(func() {
		if !e.noCache {
			e.cache = cache.Open("", Version())
		}
	})
	return e.cache
}

// workers is how many goroutines a parallel stage uses: PAVED_WORKERS,
// else GOMAXPROCS.
func (e *env) workers() int {
	if n, err := strconv.Atoi(os.Getenv("PAVED_WORKERS")); err == nil && n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// Main runs paved with os.Args and returns the exit code.
func Main() int {
	memtune.Start()
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "paved:", err)
		return ExitInvalid
	}
	return Run(os.Args[1:], &env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, cwd: cwd,
		isTerminal: isatty.IsTerminal(os.Stderr.Fd()),
		ci:         os.Getenv("CI") != "" && os.Getenv("CI") != "false",
	})
}

// Run runs paved with args and returns the exit code.
func Run(args []string, e *env) int {
	root := newRootCmd(e)
	root.SetArgs(args)
	// Made before any stage can run: stages end on several goroutines.
	e.stages = &stageTimer{start: time.Now()}
	err := root.Execute()
	e.background.Wait()
	if perr := e.stopProfiles(); perr != nil && err == nil {
		err = perr
	}
	code := report(e, err)
	e.printTimings()
	// The cache trims itself at most once a day, after a command that
	// used it (an empty Do: a command that never opened it leaves it
	// closed).
	e.cacheOnce.Do(func() {})
	e.cache.Trim(time.Now())
	return code
}

// report prints err once and returns its exit code.
func report(e *env, err error) int {
	if err == nil {
		return ExitOK
	}
	var l diag.List
	var re render.Errors
	var xe *exitError
	switch {
	case errors.As(err, &l):
		diag.Print(e.stderr, l, e.cwd)
		return ExitInvalid
	case errors.As(err, &re):
		for _, x := range re {
			fmt.Fprintf(e.stderr, "render: %s\n", x)
		}
		return ExitRender
	case errors.As(err, &xe):
		if xe.err != nil && xe.err.Error() != "" {
			fmt.Fprintln(e.stderr, "paved:", xe.err)
		}
		return xe.code
	}
	fmt.Fprintln(e.stderr, "paved:", err)
	return ExitRender
}

const rootLong = `paved validates CUE app specs against the platform's schemas, renders them
into a Flux fleet repository layout with logging, tracing, metrics, security
and budget defaults baked in, and lints the result.

Exit codes:
  0  ok / no changes
  1  changes found (diff) or policy denials (lint)
  2  invalid input: spec, platform or flags
  3  render error
  4  git, network or API error`

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "paved",
		Short:         "Render CUE app specs into a Flux fleet repository, with guardrails",
		Long:          rootLong,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolVarP(&e.quiet, "quiet", "q", false, "no progress bar and no success summary of vet and render (results, findings, diffs, commits and errors are still printed)")
	root.PersistentFlags().BoolVar(&e.noCache, "no-cache", false, "do not read or write the content-addressed cache (PAVED_CACHE_DIR, else the user cache directory)")
	root.PersistentFlags().BoolVar(&e.timings, "timings", false, "print the duration of each stage (load, render, build, lint, ...) to stderr")
	root.PersistentFlags().StringVar(&e.cpuProfile, "cpuprofile", "", "write a CPU profile (pprof) of the run to this file")
	root.PersistentFlags().StringVar(&e.memProfile, "memprofile", "", "write a heap profile (pprof) at the end of the run to this file")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	_ = root.PersistentFlags().MarkHidden("memprofile")
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return e.startProfiles() }
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: ExitInvalid, err: fmt.Errorf("%w (run '%s --help' for usage)", err, c.CommandPath())}
	})
	root.AddCommand(
		newVetCmd(e),
		newRenderCmd(e),
		newLintCmd(e),
		newDiffCmd(e),
		newCommitCmd(e),
		newVerifyCmd(e),
		newRerenderCmd(e),
		newPromoteCmd(e),
		newRollbackCmd(e),
		newStatusCmd(e),
		newMetricsCmd(e),
		newPlatformCmd(e),
		newCommentCmd(e),
		newPreviewCmd(e),
		newPolicyCmd(e),
		newExplainCmd(e),
		newLspCmd(e),
		newInitCmd(e),
		newVersionCmd(e),
		newMigrateCmd(e),
	)
	invalidArgs(root)
	return root
}

// invalidArgs makes a wrong number of arguments invalid input (exit 2,
// with a usage hint), as SetFlagErrorFunc makes a bad flag: cobra's Args
// validators return plain errors, which would be render errors (exit 3).
func invalidArgs(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			err := check(cmd, args)
			var ee *exitError
			if err == nil || errors.As(err, &ee) {
				return err
			}
			return &exitError{code: ExitInvalid, err: fmt.Errorf("%w (run '%s --help' for usage)", err, cmd.CommandPath())}
		}
	}
	for _, sub := range c.Commands() {
		invalidArgs(sub)
	}
}

// platformFlag is the --platform flag every command that loads apps shares.
type platformFlag struct{ dir string }

func (p *platformFlag) register(c *cobra.Command) {
	c.Flags().StringVar(&p.dir, "platform", "", "platform directory (default: a paved.platform directory above the apps, else the embedded default platform)")
}

// path is the platform directory, a relative --platform resolved against
// the working directory ("" for none): --changed compares it with git
// paths, which needs it absolute.
func (p *platformFlag) path(e *env) string {
	if p.dir == "" || filepath.IsAbs(p.dir) {
		return p.dir
	}
	return filepath.Join(e.cwd, p.dir)
}
