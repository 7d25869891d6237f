package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/discover"
	"github.com/paved-dev/paved/internal/fleet"
)

// fleetPlatform is the platform a fleet revision holds (platform/),
// written out for the loader: what diff and commit render with. The
// platform team owns it; a source repository's own platform serves
// offline vet, lint and lsp only.
type fleetPlatform struct {
	dir    string // "" when the fleet holds none: the embedded default
	digest string // fleet.PlatformDigest
	files  map[string][]byte
	tmp    string
	// revision is the fleet commit it was read at.
	revision string
}

// close removes the written-out platform.
func (fp *fleetPlatform) close() {
	if fp != nil && fp.tmp != "" {
		os.RemoveAll(fp.tmp)
	}
}

// readFleetPlatform writes the platform snap holds into a temporary
// directory. A path that is not a plain relative path is refused.
func readFleetPlatform(snap *fleet.Snapshot) (*fleetPlatform, error) {
	fp := &fleetPlatform{files: map[string][]byte{}}
	d, err := fleet.PlatformDigest(snap.Paths, snap.ReadFile)
	if err != nil {
		return nil, err
	}
	fp.digest = d
	for _, p := range snap.Paths {
		if !fleet.IsPlatformFile(p) {
			continue
		}
		rel := strings.TrimPrefix(p, fleet.PlatformDir+"/")
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return nil, fmt.Errorf("%s: not a plain path inside %s/", p, fleet.PlatformDir)
		}
		data, err := snap.ReadFile(p)
		if err != nil {
			return nil, err
		}
		fp.files[rel] = data
	}
	if len(fp.files) == 0 {
		return fp, nil
	}
	if fp.tmp, err = os.MkdirTemp("", "paved-fleet-platform-"); err != nil {
		return nil, err
	}
	fp.dir = filepath.Join(fp.tmp, fleet.PlatformDir)
	for rel, data := range fp.files {
		f := filepath.Join(fp.dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			fp.close()
			return nil, err
		}
		if err := os.WriteFile(f, data, 0o644); err != nil {
			fp.close()
			return nil, err
		}
	}
	return fp, nil
}

// localPlatform is the platform directory a source run would use on its
// own: --platform, else a paved.platform above the first PATH ("" for
// none).
func localPlatform(e *env, flag string, args []string) string {
	if flag != "" {
		return flag
	}
	first := e.cwd
	if len(args) > 0 {
		first = absPath(e, args[0])
	}
	return discover.FindPlatform(first)
}

// differs reports whether the local platform directory holds other files
// than the fleet's platform (names and bytes, dot files aside).
func (fp *fleetPlatform) differs(local string) bool {
	if local == "" {
		return fp.dir != ""
	}
	seen := 0
	err := filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != local {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(local, p)
		want, ok := fp.files[filepath.ToSlash(rel)]
		if !ok {
			return errDiffers
		}
		data, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(data, want) {
			return errDiffers
		}
		seen++
		return nil
	})
	return err != nil || seen != len(fp.files)
}

var errDiffers = errors.New("differs")

// notePlatform says, when the source's own platform is not the fleet's,
// which one the run renders with.
func (fp *fleetPlatform) note(e *env, verb, local, fleetName, rev string) {
	if local == "" && fp.dir == "" || !fp.differs(local) {
		return
	}
	at := fleetName
	if rev != "" {
		at += "@" + rev[:min(12, len(rev))]
	}
	switch {
	case fp.dir == "":
		fmt.Fprintf(e.stderr, "note: %s renders with the fleet's platform, and %s holds none: the embedded default; %s is for offline vet, lint and lsp only\n", verb, at, diag.Rel(e.cwd, local))
	case local == "":
		fmt.Fprintf(e.stderr, "note: %s renders with the fleet's platform (%s/ at %s)\n", verb, fleet.PlatformDir, at)
	default:
		fmt.Fprintf(e.stderr, "note: %s differs from the fleet's platform (%s/ at %s): %s renders with the fleet's; the local one is for offline vet, lint and lsp only\n", diag.Rel(e.cwd, local), fleet.PlatformDir, at, verb)
	}
}

// fleetPlatformAt reads the platform of the fleet's branch; a branch that
// does not exist yet holds none (the embedded default).
func fleetPlatformAt(url, branch string) (*fleetPlatform, error) {
	snap, err := fleet.Read(context.Background(), url, branch)
	if errors.Is(err, fleet.ErrNoBranch) {
		return &fleetPlatform{}, nil
	}
	if err != nil {
		return nil, &exitError{code: ExitGit, err: err}
	}
	defer snap.Close()
	fp, err := readFleetPlatform(snap)
	if err != nil {
		return nil, &exitError{code: ExitGit, err: fmt.Errorf("fleet %s: %w", snap.Source, err)}
	}
	fp.revision = snap.Revision
	return fp, nil
}
