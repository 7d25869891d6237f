package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestResult is the outcome of one Rego test rule (test_*).
type TestResult struct {
	Package  string
	Name     string
	File     string
	Line     int
	Pass     bool
	Skip     bool
	Error    string
	Duration time.Duration
	Output   string
}

// Test runs the test_* rules of the platform's policy files (opa test
// semantics) against the same compiled bundle, data and capabilities lint
// uses. filter is a regular expression over test names ("" for all).
func (e *Engine) Test(ctx context.Context, filter string) ([]TestResult, error) {
	comp := ast.NewCompiler().
		WithCapabilities(hermetic()).
		WithEnablePrintStatements(true).
		WithStrict(true).
		WithDefaultRegoVersion(ast.RegoV1)
	ch, err := tester.NewRunner().
		SetCompiler(comp).
		SetStore(e.ce.Store()).
		SetModules(e.ce.Modules()).
		CapturePrintOutput(true).
		RaiseBuiltinErrors(true).
		Filter(filter).
		SetTimeout(30*time.Second).
		RunTests(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("running policy tests: %w", err)
	}
	var out []TestResult
	for r := range ch {
		tr := TestResult{
			Package: strings.TrimPrefix(r.Package, "data."), Name: r.Name, Pass: r.Pass(), Skip: r.Skip,
			Duration: r.Duration, Output: string(r.Output),
		}
		if r.Location != nil {
			tr.File, tr.Line = r.Location.File, r.Location.Row
		}
		if r.Error != nil {
			tr.Error = r.Error.Error()
			tr.Pass = false
		}
		if r.Fail {
			tr.Pass = false
		}
		out = append(out, tr)
	}
	slices.SortFunc(out, func(a, b TestResult) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	return out, nil
}
