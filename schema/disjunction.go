package schema

import (
	"fmt"
	"slices"
	"strings"

	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"
)

// collapseDisjunctions reports each empty disjunction of err once. CUE
// reports a value that no branch of a disjunction admits as a header
// ("N errors in empty disjunction:") followed by one error per branch, at
// the same path; for a field with a default (port: *9090 | #Port) that is
// the value's conflict with the default and the real problem, two errors
// for one mistake (issue 28: several errors printed twice). The branches
// become:
//   - the errors of the branches that say more than a conflict (a bound,
//     a pattern, the platform's own check: unknown size): the conflicts
//     with the default, or with another literal, are not the problem;
//   - else, when every branch is the value's conflict with a literal, one
//     error listing them: `invalid value "x": must be one of "a", "b"`;
//   - else, when every branch is a conflict of kinds, one error naming
//     them: `conflicting values 5 and string (mismatched types int and
//     string)`.
//
// Anything else is left as CUE reports it. The header itself is dropped
// by fromCUE.
func collapseDisjunctions(err cueerrors.Error) cueerrors.Error {
	errs := cueerrors.Errors(err)
	var out cueerrors.Error
	for i := 0; i < len(errs); i++ {
		e := errs[i]
		out = cueerrors.Append(out, e)
		format, args := e.Msg()
		n, ok := 0, false
		if len(args) == 1 {
			n, ok = args[0].(int)
		}
		if format != "%d errors in empty disjunction:" || !ok {
			continue
		}
		// The branches: the n errors that follow, at the same path.
		j := i + 1
		for j < len(errs) && j <= i+n && slices.Equal(errs[j].Path(), e.Path()) {
			if format, _ := errs[j].Msg(); strings.HasSuffix(format, "errors in empty disjunction:") {
				break // a nested disjunction: left as it is
			}
			j++
		}
		for _, b := range collapseBranches(errs[i+1 : j]) {
			out = cueerrors.Append(out, b)
		}
		i = j - 1
	}
	return out
}

// collapseBranches is the errors to report of one empty disjunction's
// branch errors (collapseDisjunctions).
func collapseBranches(branches []cueerrors.Error) []cueerrors.Error {
	if len(branches) < 2 {
		return branches
	}
	const conflict, mismatch = "conflicting values %s and %s", "conflicting values %s and %s (mismatched types %s and %s)"
	var specific []cueerrors.Error
	literals, kinds := 0, 0
	for _, b := range branches {
		switch format, args := b.Msg(); {
		case format == conflict && len(args) == 2:
			literals++
		case format == mismatch && len(args) == 4:
			kinds++
		case strings.HasPrefix(format, "conflicting values "):
		default:
			specific = append(specific, b)
		}
	}
	if len(specific) > 0 {
		return specific
	}
	if literals != len(branches) && kinds != len(branches) {
		return branches
	}
	// The app's value is the side every branch shares; the others are
	// what the branches admit.
	side := func(b cueerrors.Error, i int) string {
		_, args := b.Msg()
		return fmt.Sprint(args[i])
	}
	value := -1
	for i := range 2 {
		v := side(branches[0], i)
		if !slices.ContainsFunc(branches, func(b cueerrors.Error) bool { return side(b, 0) != v && side(b, 1) != v }) {
			value = i
			break
		}
	}
	if value < 0 {
		return branches
	}
	v := side(branches[0], value)
	var others []string
	var valueKind string
	for _, b := range branches {
		other := 1
		if side(b, 0) != v {
			other = 0
		}
		o := side(b, other)
		if kinds > 0 {
			valueKind, o = side(b, 2+1-other), side(b, 2+other)
		}
		if !slices.Contains(others, o) {
			others = append(others, o)
		}
	}
	if kinds > 0 {
		k := strings.Join(others, " | ")
		return []cueerrors.Error{rewritten{branches[0], mismatch, []any{v, k, valueKind, k}}}
	}
	return []cueerrors.Error{rewritten{branches[0], "invalid value %s: must be one of %s", []any{v, strings.Join(others, ", ")}}}
}

// rewritten is a CUE error (its path and positions) with another
// message.
type rewritten struct {
	cueError
	format string
	args   []any
}

// cueError lets rewritten embed a cueerrors.Error and define Error.
type cueError = interface {
	Position() token.Pos
	InputPositions() []token.Pos
	Path() []string
	Msg() (string, []any)
}

func (r rewritten) Msg() (string, []any) { return r.format, r.args }
func (r rewritten) Error() string        { return fmt.Sprintf(r.format, r.args...) }
