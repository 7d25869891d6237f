package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// result is one rule result before it is placed in the fleet.
type result struct {
	check   *Check
	msg     string
	path    []any
	object  map[string]any // InputUnit, InputAll: the object the result names
	cluster string         // InputAll: the cluster of that object
	team    string         // InputBudget
	app     string         // InputBudget
	outputs map[string]any // other keys the rule returned
}

// evalNamespace runs a namespace's prepared query over one input.
func (e *Engine) evalNamespace(ctx context.Context, ns *namespace, input ast.Value) ([]result, error) {
	rs, err := ns.query.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return nil, fmt.Errorf("evaluating %s: %w", ns.name, err)
	}
	if len(rs) == 0 {
		return nil, nil
	}
	var out []result
	for i, rule := range ns.rules {
		c := e.byRule[ns.name+"."+rule]
		vals, _ := rs[0].Bindings["r"+strconv.Itoa(i)].([]any)
		for _, v := range vals {
			r, err := toResult(c, v)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", ns.name, rule, err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// toResult reads a rule's value: a message string, or an object with msg
// and optional path, object, team and app (conftest's result shape).
func toResult(c *Check, v any) (result, error) {
	r := result{check: c}
	switch x := v.(type) {
	case string:
		r.msg = x
	case map[string]any:
		msg, ok := x["msg"].(string)
		if !ok {
			return r, fmt.Errorf("a result object needs a string msg, got %s", compact(x))
		}
		r.msg = msg
		for k, val := range x {
			switch k {
			case "msg", "_loc":
			case "path":
				p, ok := val.([]any)
				if !ok {
					return r, fmt.Errorf("path must be an array of keys and indexes, got %s", compact(val))
				}
				r.path = p
			case "object":
				o, ok := val.(map[string]any)
				if !ok {
					return r, fmt.Errorf("object must be an object with apiVersion, kind, namespace and name, got %s", compact(val))
				}
				r.object = o
			case "cluster":
				r.cluster, _ = val.(string)
			case "team":
				r.team, _ = val.(string)
			case "app":
				r.app, _ = val.(string)
			default:
				if r.outputs == nil {
					r.outputs = map[string]any{}
				}
				r.outputs[k] = val
			}
		}
	default:
		return r, fmt.Errorf("a rule must produce strings or objects with msg, got %s", compact(v))
	}
	return r, nil
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// job is one evaluation: a namespace over one input.
type job struct {
	ns    *namespace
	input any
	// where the results land
	slot int
	// also are more slots whose input equals this one's: they get the
	// same results.
	also []int
}

// runAll evaluates jobs on GOMAXPROCS workers, calling done (when not
// nil) after each. Each job's results land in
// its own slot, so the outcome does not depend on scheduling.
func (e *Engine) runAll(ctx context.Context, jobs []job, slots int, done func()) ([][]result, error) {
	out := make([][]result, slots)
	var mu sync.Mutex
	var firstErr error
	next := make(chan job)
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				v, err := ast.InterfaceToValue(j.input)
				var rs []result
				if err == nil {
					rs, err = e.evalNamespace(ctx, j.ns, v)
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				out[j.slot] = append(out[j.slot], rs...)
				for _, s := range j.also {
					out[s] = append(out[s], rs...)
				}
				mu.Unlock()
				if done != nil {
					done()
				}
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	return out, firstErr
}

// pathString renders a JSON path kubectl-style: spec.containers[0].image.
func pathString(p []any) string {
	var b strings.Builder
	for _, el := range p {
		if i, ok := pathIndex(el); ok {
			fmt.Fprintf(&b, "[%d]", i)
			continue
		}
		s := fmt.Sprint(el)
		if s == "" || strings.ContainsAny(s, ".[]\"") {
			fmt.Fprintf(&b, "[%q]", s)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

func pathIndex(el any) (int, bool) {
	switch x := el.(type) {
	case json.Number:
		i, err := x.Int64()
		return int(i), err == nil
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		return int(x), x == float64(int(x))
	}
	return 0, false
}
