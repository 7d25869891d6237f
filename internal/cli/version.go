package cli

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is set with -ldflags "-X github.com/paved-dev/paved/internal/cli.version=v1.2.3".
var version = ""

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
