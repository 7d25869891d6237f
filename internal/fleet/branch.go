package fleet

import (
	"errors"
	"fmt"
)

// NoBranchError is a commit to a branch the fleet does not have (exit
// code 4): a typo must not start a new root branch holding one source's
// apps. CommitOptions.CreateBranch starts it.
type NoBranchError struct{ Fleet, Branch string }

func (e *NoBranchError) Error() string {
	return fmt.Sprintf("branch %s does not exist in %s; use --create-branch to start it", e.Branch, e.Fleet)
}

// refused reports whether err is a refusal of the fleet as it is
// (integrity problems, a path clash, a missing branch): Commit returns it
// as it is, not as a git failure.
func refused(err error) bool {
	var ie *IntegrityError
	var ce *ClashError
	var nb *NoBranchError
	return errors.As(err, &ie) || errors.As(err, &ce) || errors.As(err, &nb)
}
