package schema

import (
	"fmt"
	"strings"

	"cuelang.org/go/cue"
	"golang.org/x/mod/semver"

	"github.com/paved-dev/paved/internal/diag"
)

// CheckVersion checks paved's version against the range of versions the
// platform is written for (platform.paved, ">=0.1.0 <0.2.0"). A version
// outside the range is an error at the platform's paved field: the
// platform may use what this paved does not know, or rely on what it has
// changed, so paved refuses it rather than render it differently. A
// version that is not a release ("devel": go install from a branch, go
// run, the test binaries) is taken, with a warning at the same place: it
// cannot say which release it is closest to, and refusing it would stop
// every contributor's build on a platform with a range. A platform with no
// range takes any paved.
func (p *Platform) CheckVersion(version string) (warning *diag.Diagnostic, err error) {
	want := strings.TrimSpace(p.Data.Paved)
	if want == "" {
		return nil, nil
	}
	pos := p.versionPos()
	v := version
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	if !semver.IsValid(v) {
		return &diag.Diagnostic{
			Message:   fmt.Sprintf("platform.paved: the platform is written for paved %s; this paved is a %s build, which cannot tell: taking the platform as it is", want, version),
			Positions: []diag.Position{pos},
		}, nil
	}
	ok, err := inRange(v, want)
	if err != nil {
		return nil, diag.List{{Message: "platform.paved: " + err.Error(), Positions: []diag.Position{pos}}}
	}
	if !ok {
		return nil, diag.List{{
			Message: fmt.Sprintf("platform.paved: the platform is written for paved %s, and this is paved %s: install a paved in that range (the platform team changes the range when the platform is ready for another)",
				want, strings.TrimPrefix(v, "v")),
			Positions: []diag.Position{pos},
		}}
	}
	return nil, nil
}

// versionPos is where the platform declares its paved range.
func (p *Platform) versionPos() diag.Position {
	if pos, ok := p.declPos(cue.ParsePath("platform.paved").Selectors()); ok {
		return pos
	}
	return p.dirPosition()
}

// inRange reports whether the semver v satisfies every comparison of
// constraint (">=0.1.0 <0.2.0"; no operator is =). Versions are compared
// as semver, but a pre-release or snapshot of a release counts as that
// release against a bound that is not itself a pre-release: 0.2.0-rc.1
// has 0.2.0's changes, so it is outside <0.2.0 and inside >=0.2.0.
func inRange(v, constraint string) (bool, error) {
	fields := strings.Fields(constraint)
	if len(fields) == 0 {
		return false, fmt.Errorf("an empty version range")
	}
	for _, c := range fields {
		// The operator is the leading run of <, > and =.
		i := strings.IndexFunc(c, func(r rune) bool { return !strings.ContainsRune("<>=", r) })
		if i < 0 {
			i = len(c)
		}
		op, bound := c[:i], c[i:]
		if !strings.HasPrefix(bound, "v") {
			bound = "v" + bound
		}
		if !semver.IsValid(bound) {
			return false, fmt.Errorf("%q is not a comparison with a version such as >=0.1.0", c)
		}
		x := v
		if semver.Prerelease(bound) == "" {
			x = strings.TrimSuffix(semver.Canonical(v), semver.Prerelease(v))
		}
		cmp := semver.Compare(x, bound)
		var holds bool
		switch op {
		case ">=":
			holds = cmp >= 0
		case ">":
			holds = cmp > 0
		case "<=":
			holds = cmp <= 0
		case "<":
			holds = cmp < 0
		case "=", "":
			holds = cmp == 0
		default:
			return false, fmt.Errorf("%q: unknown comparison %q (>=, >, <=, <, =)", c, op)
		}
		if !holds {
			return false, nil
		}
	}
	return true, nil
}
