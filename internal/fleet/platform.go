package fleet

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// PlatformDir is the fleet directory that holds the platform (platform.cue,
// schema/, blueprints/, policies/, data/), changed by the platform team's
// pull requests. diff, commit, verify and rerender render with it, never
// with a source repository's own.
const PlatformDir = "platform"

// IsPlatformFile reports whether fleet path p is a file of the platform.
func IsPlatformFile(p string) bool { return strings.HasPrefix(p, PlatformDir+"/") }

// PlatformDigest digests the platform files among paths (their paths and
// contents, in path order): "" when the fleet holds no platform.
func PlatformDigest(paths []string, read func(string) ([]byte, error)) (string, error) {
	var ps []string
	for _, p := range paths {
		if IsPlatformFile(p) {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return "", nil
	}
	slices.Sort(ps)
	h := sha256.New()
	for _, p := range ps {
		data, err := read(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(data))
		h.Write(data)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// PlatformChangedError is a commit whose fleet platform changed between
// the render and the push (a platform pull request merged meanwhile): the
// render would not be the fleet's (exit code 4; re-run).
type PlatformChangedError struct{ Tip string }

func (e *PlatformChangedError) Error() string {
	return fmt.Sprintf("the fleet's platform (%s/) changed at %s while this run rendered with the one before: nothing was committed; re-run to render with the new platform", PlatformDir, short(e.Tip))
}
