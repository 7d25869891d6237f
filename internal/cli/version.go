package cli

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/schema"
	"github.com/spf13/cobra"
	"golang.org/x/mod/semver"
)

// version and commit are set by the release build (.goreleaser.yaml) with
// -ldflags "-X github.com/paved-dev/paved/internal/cli.version=v1.2.3
// -X github.com/paved-dev/paved/internal/cli.commit=<sha>".
var version, commit = "", ""

// Version is paved's version: the linker-set version, else the module
// version from the build info, else "devel".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// FirstRelease is the release a build that is not one (devel, a snapshot)
// points workflows at: the oldest that has the Action and the image.
const FirstRelease = "v0.1.0"

// ReleaseTag is the release tag of this paved, vX.Y.Z, for the workflow
// paved init writes: this build's version when it is a release, else
// FirstRelease.
func ReleaseTag() string {
	v := Version()
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	if semver.IsValid(v) && semver.Prerelease(v) == "" && semver.Build(v) == "" && semver.Canonical(v) == v {
		return v
	}
	return FirstRelease
}

// checkPlatformVersion checks this paved against the platform's range of
// paved versions (platform.paved): an error (exit 2) at the platform's
// field when outside it, a warning when this is a devel build
// (schema.Platform.CheckVersion says why).
func checkPlatformVersion(p *schema.Platform) (diag.List, error) {
	warn, err := p.CheckVersion(Version())
	if err != nil || warn == nil {
		return nil, err
	}
	return diag.List{*warn}, nil
}

// loadCheckedPlatform loads the platform of dir, as schema.LoadPlatform
// does, checks this paved's version against it, and prints a version
// warning to stderr.
func loadCheckedPlatform(e *env, dir string) (*schema.Platform, error) {
	p, err := schema.LoadPlatform(dir)
	if err != nil {
		return nil, err
	}
	warn, err := checkPlatformVersion(p)
	if err != nil {
		return nil, err
	}
	if len(warn) > 0 {
		diag.PrintWarnings(e.stderr, warn, e.cwd)
	}
	return p, nil
}

// Commit is the git commit paved was built from: the linker-set one, else
// the vcs.revision the go command stamps into a build from a work tree
// (with "-dirty" when it had changes), else "".
func Commit() string {
	if commit != "" {
		return commit
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" && dirty {
		rev += "-dirty"
	}
	return rev
}

// components are the libraries whose versions `paved version` reports.
var components = []struct{ name, module string }{
	{"cue", "cuelang.org/go"},
	{"kustomize", "sigs.k8s.io/kustomize/api"},
	{"flux-kustomize", "github.com/fluxcd/pkg/kustomize"},
	{"opa", "github.com/open-policy-agent/opa"},
	{"conftest", "github.com/open-policy-agent/conftest"},
	{"go-git", "github.com/go-git/go-git/v5"},
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the versions of paved and the engines it embeds",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			deps := map[string]string{}
			goVersion := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				goVersion = bi.GoVersion
				for _, d := range bi.Deps {
					deps[d.Path] = d.Version
					if d.Replace != nil {
						deps[d.Path] = d.Replace.Version
					}
				}
			}
			fmt.Fprintf(e.stdout, "%-15s %s\n", "paved", Version())
			if c := Commit(); c != "" {
				fmt.Fprintf(e.stdout, "%-15s %s\n", "commit", c)
			}
			for _, comp := range components {
				v := deps[comp.module]
				if v == "" {
					v = "not linked"
				}
				fmt.Fprintf(e.stdout, "%-15s %s\n", comp.name, v)
			}
			fmt.Fprintf(e.stdout, "%-15s %s\n", "go", goVersion)
			return nil
		},
	}
}

// versionsLine lists the embedded engines' versions: ", cue v0.17.1, ...".
func versionsLine() string {
	deps := map[string]string{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			deps[d.Path] = d.Version
		}
	}
	var b strings.Builder
	for _, comp := range components {
		if v := deps[comp.module]; v != "" {
			fmt.Fprintf(&b, ", %s %s", comp.name, v)
		}
	}
	return b.String()
}
