package policy

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	cpolicy "github.com/open-policy-agent/conftest/policy"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/schema"
)

// bundleFS is the built-in policy bundle.
//
//go:embed bundle
var bundleFS embed.FS

// BuiltinPrefix names built-in policy files in messages and documentation.
const BuiltinPrefix = "$paved/policy/"

// Severity is deny (fails lint) or warn (reported only).
type Severity string

const (
	Deny Severity = "deny"
	Warn Severity = "warn"
)

// Input says what a policy namespace is evaluated over.
type Input string

const (
	// InputObject: once per rendered object; input is the object.
	InputObject Input = "object"
	// InputUnit: once per kustomization directory; input is
	// {cluster, environment, objects}. Namespaces whose last element is
	// "fleet".
	InputUnit Input = "unit"
	// InputBudget: once per run; input is the cost report. Namespaces
	// whose last element is "budget".
	InputBudget Input = "budget"
	// InputAll: once over every rendered object of the run, for rules
	// across apps (two apps claiming one Ingress host); input is
	// {"units": [{dir, kind, cluster, environment, team, app, objects}]}.
	// Namespaces whose last element is "all".
	InputAll Input = "all"
	// InputWaiver: checks paved makes itself on the app's exceptions.
	InputWaiver Input = "waiver"
)

// Check is one policy rule: a conftest deny_/violation_/warn_ rule with
// its metadata.
type Check struct {
	ID          string   `json:"id"`
	Severity    Severity `json:"severity"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Remediation string   `json:"remediation,omitempty"`
	// SecuritySeverity is GitHub code scanning's 0.0-10.0 score.
	SecuritySeverity string   `json:"securitySeverity,omitempty"`
	Tags             []string `json:"tags,omitempty"`
	Namespace        string   `json:"namespace"`
	Rule             string   `json:"rule"`
	Input            Input    `json:"input"`
	File             string   `json:"file"`
	Line             int      `json:"line"`
	Builtin          bool     `json:"builtin"`
	Waivable         bool     `json:"waivable"`
	// NeedsApproval: the platform requires an approval from outside the
	// team for the policy's exceptions (policy.waiverApproval).
	NeedsApproval bool `json:"needsApproval,omitempty"`
}

var (
	warningRule = regexp.MustCompile(`^warn(_[a-zA-Z0-9]+)*$`)
	failureRule = regexp.MustCompile(`^(deny|violation)(_[a-zA-Z0-9]+)*$`)
	// lookalike catches rules meant as policy rules whose names conftest
	// would never evaluate (denyPrivileged, warning_x, deny_x-y...).
	lookalike = regexp.MustCompile(`^(?i)(deny|violation|warn)`)
)

// ruleID maps a rule name to the policy ID users see: the suffix after
// deny_/violation_/warn_, with '_' as '-'. A bare deny/warn rule is named
// after its namespace.
func ruleID(ns, rule string) string {
	_, suffix, ok := strings.Cut(rule, "_")
	if !ok {
		return strings.ReplaceAll(ns, "_", "-")
	}
	return strings.ReplaceAll(suffix, "_", "-")
}

// Engine holds the compiled bundle (built-in plus platform policies) and a
// query per namespace prepared once.
type Engine struct {
	ce       *cpolicy.Engine
	checks   map[string]*Check
	byRule   map[string]*Check // namespace.rule -> check
	spaces   []*namespace
	settings schema.PolicySettings
	// bundleSum and dataSum digest the policies and their data: with an
	// object's digest, the key of its cached results (resultcache.go).
	bundleSum, dataSum []byte
}

type namespace struct {
	name  string
	input Input
	rules []string
	query rego.PreparedEvalQuery
}

// Options configure Load.
type Options struct {
	// Platform supplies data.paved.platform and the policy settings; its
	// directory's policies/ and data/ are added to the built-in bundle.
	Platform *schema.Platform
}

// hermetic returns OPA's capabilities without the built-ins that reach
// the network, the environment, the clock or randomness: lint results
// depend only on the rendered objects, the policies and their data.
func hermetic() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	banned := map[string]bool{
		"http.send": true, "opa.runtime": true, "net.lookup_ip_addr": true,
		"time.now_ns": true, "rand.intn": true, "uuid.rfc4122": true,
		"trace": true, "io.jwt.decode_verify": true,
		"providers.aws.sign_req": true,
	}
	caps.Builtins = slices.DeleteFunc(slices.Clone(caps.Builtins), func(b *ast.Builtin) bool { return banned[b.Name] })
	caps.AllowNet = []string{}
	return caps
}

// Load compiles the built-in bundle and the platform's policies with
// conftest (Rego v1, strict, hermetic capabilities) and prepares one query
// per policy namespace. Invalid platform policies are reported as a
// diag.List.
func Load(ctx context.Context, opts Options) (*Engine, error) {
	tmp, err := os.MkdirTemp("", "paved-policy-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := materialize(tmp); err != nil {
		return nil, err
	}
	policyPaths := []string{tmp}
	var dataPaths []string
	if p := opts.Platform; p != nil && p.Dir != "" {
		if d := filepath.Join(p.Dir, "policies"); isDir(d) {
			policyPaths = append(policyPaths, d)
		}
		if d := filepath.Join(p.Dir, "data"); isDir(d) {
			dataPaths = append(dataPaths, d)
		}
	}
	ce, err := cpolicy.LoadWithData(policyPaths, dataPaths, cpolicy.CompilerOptions{
		Strict: true, RegoVersion: "v1", Capabilities: hermetic(),
	})
	if err != nil {
		return nil, loadError(err, tmp)
	}
	e := &Engine{ce: ce, checks: map[string]*Check{}, byRule: map[string]*Check{}}
	if opts.Platform != nil {
		e.settings = opts.Platform.Data.Policy
		data, err := platformData(opts.Platform)
		if err != nil {
			return nil, err
		}
		if err := writeData(ctx, ce.Store(), data); err != nil {
			return nil, err
		}
	}
	if err := e.index(ce, tmp); err != nil {
		return nil, err
	}
	if e.bundleSum, e.dataSum, err = bundleDigest(ctx, ce.Policies(), policyPaths, ce.Store()); err != nil {
		return nil, err
	}
	for _, ns := range e.spaces {
		q, err := rego.New(
			rego.Query(nsQuery(ns)),
			rego.Compiler(ce.Compiler()),
			rego.Store(ce.Store()),
			rego.Capabilities(hermetic()),
			rego.StrictBuiltinErrors(true),
		).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("preparing namespace %s: %w", ns.name, err)
		}
		ns.query = q
	}
	return e, nil
}

// nsQuery evaluates every rule of a namespace in one query: one array per
// rule, empty when the rule is undefined.
func nsQuery(ns *namespace) string {
	var b strings.Builder
	for i, r := range ns.rules {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "r%d := [m | some m in data.%s.%s]", i, ns.name, r)
	}
	return b.String()
}

func materialize(dir string) error {
	return fs.WalkDir(bundleFS, "bundle", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, "bundle"), "/")
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if !strings.HasSuffix(p, ".rego") {
			return nil
		}
		data, err := bundleFS.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	})
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// loadError turns a conftest/OPA load or compile error into diagnostics
// with file:line:col, naming built-in files by their embedded path.
func loadError(err error, tmp string) error {
	var aerrs ast.Errors
	if !errors.As(err, &aerrs) {
		var one *ast.Error
		if errors.As(err, &one) {
			aerrs = ast.Errors{one}
		}
	}
	if len(aerrs) == 0 {
		msg := strings.ReplaceAll(err.Error(), tmp+string(filepath.Separator), BuiltinPrefix)
		return diag.List{{Path: "policies", Message: msg}}
	}
	var l diag.List
	for _, e := range aerrs {
		d := diag.Diagnostic{Path: "policies", Message: e.Code + ": " + e.Message}
		if e.Location != nil {
			f := e.Location.File
			if rel, ok := strings.CutPrefix(f, tmp+string(filepath.Separator)); ok {
				f = BuiltinPrefix + filepath.ToSlash(rel)
			}
			d.Positions = []diag.Position{{Filename: f, Line: e.Location.Row, Column: e.Location.Col}}
		}
		l = append(l, d)
	}
	return l.Sanitize()
}

// index finds every policy rule, its metadata and its namespace, and
// rejects namespaces that define nothing conftest would evaluate.
func (e *Engine) index(ce *cpolicy.Engine, tmp string) error {
	imported := map[string]bool{}
	for _, m := range ce.Modules() {
		for _, imp := range m.Imports {
			if r, ok := imp.Path.Value.(ast.Ref); ok {
				imported[r.String()] = true
			}
		}
		// References to other packages count as uses too.
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if r.HasPrefix(ast.DefaultRootRef) {
				imported[r.String()] = true
			}
			return false
		})
	}
	spaces := map[string]*namespace{}
	var diags diag.List
	names := make([]string, 0, len(ce.Modules()))
	for n := range ce.Modules() {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, file := range names {
		m := ce.Modules()[file]
		builtin := strings.HasPrefix(file, tmp)
		shown := file
		if builtin {
			shown = BuiltinPrefix + filepath.ToSlash(strings.TrimPrefix(strings.TrimPrefix(file, tmp), string(filepath.Separator)))
		}
		if strings.HasSuffix(file, "_test.rego") {
			continue
		}
		nsName := strings.TrimPrefix(m.Package.Path.String(), "data.")
		policyRules := 0
		for _, r := range m.Rules {
			name := r.Head.Name.String()
			if name == "" && len(r.Head.Reference) > 0 {
				name = r.Head.Reference[0].String()
			}
			isPolicy := failureRule.MatchString(name) || warningRule.MatchString(name)
			if !isPolicy {
				if lookalike.MatchString(name) && name != "violations" {
					diags.Add("policies", fmt.Sprintf("rule %s in package %s is never evaluated: policy rules are named deny_<id>, violation_<id> or warn_<id>", name, nsName), rulePos(r, shown))
				}
				continue
			}
			policyRules++
			key := nsName + "." + name
			c := e.byRule[key]
			if c == nil {
				ns := spaces[nsName]
				if ns == nil {
					ns = &namespace{name: nsName, input: inputOf(nsName)}
					spaces[nsName] = ns
				}
				ns.rules = append(ns.rules, name)
				sev := Warn
				if failureRule.MatchString(name) {
					sev = Deny
				}
				c = &Check{
					ID: ruleID(nsName, name), Severity: sev, Namespace: nsName, Rule: name,
					Input: ns.input, File: shown, Line: r.Location.Row, Builtin: builtin, Waivable: true,
				}
				if prev, dup := e.checks[c.ID]; dup {
					diags.Add("policies", fmt.Sprintf("policy ID %s is defined twice: by %s.%s and %s.%s", c.ID, prev.Namespace, prev.Rule, nsName, name), rulePos(r, shown), diag.Position{Filename: prev.File, Line: prev.Line})
					continue
				}
				e.checks[c.ID] = c
				e.byRule[key] = c
			}
			// conftest's loader attaches each rule's METADATA to it.
			for _, a := range r.Annotations {
				c.applyMetadata(a)
			}
		}
		if policyRules == 0 && !builtin && !imported[m.Package.Path.String()] && !importedUnder(imported, m.Package.Path.String()) {
			diags.Add("policies", fmt.Sprintf("package %s defines no deny_, violation_ or warn_ rule and no other policy imports it, so it would never be evaluated", nsName), diag.Position{Filename: shown, Line: m.Package.Location.Row, Column: m.Package.Location.Col})
		}
	}
	for _, id := range e.settings.NotWaivable {
		if c := e.checks[id]; c != nil {
			c.Waivable = false
		} else {
			diags.Add("policy.notWaivable", fmt.Sprintf("unknown policy ID %q", id))
		}
	}
	diags = append(diags, e.indexApproval()...)
	if len(diags) > 0 {
		return diags.Sanitize()
	}
	for _, c := range waiverChecks() {
		e.checks[c.ID] = c
	}
	for _, n := range slices.Sorted(maps.Keys(spaces)) {
		ns := spaces[n]
		slices.Sort(ns.rules)
		e.spaces = append(e.spaces, ns)
	}
	return nil
}

func importedUnder(imported map[string]bool, pkg string) bool {
	for r := range imported {
		if strings.HasPrefix(r, pkg+".") || r == pkg {
			return true
		}
	}
	return false
}

func rulePos(r *ast.Rule, file string) diag.Position {
	if r.Location == nil {
		return diag.Position{Filename: file}
	}
	return diag.Position{Filename: file, Line: r.Location.Row, Column: r.Location.Col}
}

func inputOf(ns string) Input {
	last := ns[strings.LastIndex(ns, ".")+1:]
	switch last {
	case "fleet":
		return InputUnit
	case "budget":
		return InputBudget
	case "all":
		return InputAll
	}
	return InputObject
}

func (c *Check) applyMetadata(a *ast.Annotations) {
	if c.Title == "" {
		c.Title = strings.TrimSpace(a.Title)
	}
	if c.Description == "" {
		c.Description = strings.TrimSpace(a.Description)
	}
	if s, ok := a.Custom["remediation"].(string); ok && c.Remediation == "" {
		c.Remediation = strings.TrimSpace(s)
	}
	if s, ok := a.Custom["security-severity"]; ok && c.SecuritySeverity == "" {
		c.SecuritySeverity = fmt.Sprint(s)
	}
	if tags, ok := a.Custom["tags"].([]any); ok && c.Tags == nil {
		for _, t := range tags {
			c.Tags = append(c.Tags, fmt.Sprint(t))
		}
	}
}

// Checks returns every check, sorted by ID.
func (e *Engine) Checks() []*Check {
	out := make([]*Check, 0, len(e.checks))
	for _, id := range slices.Sorted(maps.Keys(e.checks)) {
		out = append(out, e.checks[id])
	}
	return out
}

// Check returns the check with the given ID, or nil.
func (e *Engine) Check(id string) *Check { return e.checks[id] }

// platformData is data.paved.platform: the whole resolved platform as
// JSON (schema.Platform.JSON: environments with their clusters, teams,
// sizes, prices, registries and every setting, defaults applied), plus
// secretStore.platformKeys, the secret store keys the platform's own
// objects read (the database backups' credentials), which no team owns.
// policy/platform-data.schema.json documents it.
func platformData(p *schema.Platform) (map[string]any, error) {
	var d map[string]any
	if err := util.UnmarshalJSON(p.JSON(), &d); err != nil {
		return nil, fmt.Errorf("decoding the platform: %w", err)
	}
	store, _ := d["secretStore"].(map[string]any)
	if store == nil {
		store = map[string]any{}
		d["secretStore"] = store
	}
	keys := []any{}
	for _, k := range p.PlatformSecretKeys() {
		keys = append(keys, k)
	}
	store["platformKeys"] = keys
	return d, nil
}

func writeData(ctx context.Context, st storage.Store, v map[string]any) error {
	val, err := ast.InterfaceToValue(v)
	if err != nil {
		return err
	}
	var js any
	if js, err = ast.JSON(val); err != nil {
		return err
	}
	return storage.Txn(ctx, st, storage.WriteParams, func(txn storage.Transaction) error {
		if err := storage.MakeDir(ctx, st, txn, storage.Path{"paved"}); err != nil {
			return err
		}
		return st.Write(ctx, txn, storage.AddOp, storage.Path{"paved", "platform"}, js)
	})
}
