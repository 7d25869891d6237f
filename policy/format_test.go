package policy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/encoding/jsonschema"

	"github.com/paved-dev/paved/policy"
)

// brokenReport lints the examples with every Deployment broken in two
// ways, so the report has findings, positions and costs in every part.
func brokenReport(t *testing.T) *policy.Report {
	p := defaultPlatform(t)
	e := load(t, p)
	tree := renderExamples(t, p)
	breakDeployments(tree, "hostPID", "docker.io/library/nginx:1.27")
	rep, err := e.Lint(context.Background(), p, tree, policy.LintOptions{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestJSONMatchesSchema validates `lint -o json` against the documented
// schema (policy/lint-report.schema.json), read with CUE's JSON Schema
// decoder.
func TestJSONMatchesSchema(t *testing.T) {
	schemaJSON, err := os.ReadFile("lint-report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	ctx := cuecontext.New()
	sv := ctx.CompileBytes(schemaJSON, cue.Filename("lint-report.schema.json"))
	f, err := jsonschema.Extract(sv, &jsonschema.Config{Strict: true})
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	schema := ctx.BuildFile(f)
	if err := schema.Err(); err != nil {
		t.Fatal(err)
	}
	// The schema rejects what it must: a wrong severity, a missing field.
	for _, bad := range []string{`{}`, `{"apiVersion":"paved.dev/v1alpha1","kind":"LintReport","tool":{"name":"paved","version":"x"},"summary":{"apps":0,"clusters":0,"objects":0,"policies":0,"deny":0,"warn":0,"waived":0,"passed":true},"findings":[{"policy":"p","severity":"fatal","waived":false,"message":"m"}],"waivers":[],"costs":{"apps":[],"teams":[]},"policies":[]}`} {
		if schema.Unify(ctx.CompileString(bad)).Validate(cue.Concrete(true)) == nil {
			t.Fatalf("schema accepts %s", bad)
		}
	}
	rep := brokenReport(t)
	var buf bytes.Buffer
	if err := policy.FormatJSON(&buf, rep, policy.FormatOptions{Version: "test", Apps: 7, Clusters: 4}); err != nil {
		t.Fatal(err)
	}
	doc := ctx.CompileBytes(buf.Bytes(), cue.Filename("report.json"))
	if err := schema.Unify(doc).Validate(cue.Concrete(true)); err != nil {
		t.Fatalf("lint -o json does not match its schema: %v", err)
	}
	var out struct {
		Summary struct{ Deny, Waived int }
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Summary.Deny == 0 {
		t.Fatal("no denial in the report")
	}
}

// TestSARIFShape checks what GitHub code scanning needs from SARIF: one
// rule per policy with help and security-severity, a results array, a
// physical location with startLine >= 1 for every app finding, logical
// locations and stable, unique fingerprints.
func TestSARIFShape(t *testing.T) {
	rep := brokenReport(t)
	var buf bytes.Buffer
	if err := policy.FormatSARIF(&buf, rep, policy.FormatOptions{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID         string         `json:"id"`
						Help       map[string]any `json:"help"`
						Properties map[string]any `json:"properties"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Locations []struct {
					PhysicalLocation *struct {
						Region struct{ StartLine int } `json:"region"`
					} `json:"physicalLocation"`
					LogicalLocations []struct{ FullyQualifiedName string } `json:"logicalLocations"`
				} `json:"locations"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("version %q, %d runs", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	if len(run.Tool.Driver.Rules) != len(rep.Checks) {
		t.Errorf("%d rules, want one per policy (%d)", len(run.Tool.Driver.Rules), len(rep.Checks))
	}
	for _, r := range run.Tool.Driver.Rules {
		if r.Help["text"] == "" || r.Properties["security-severity"] == nil {
			t.Errorf("rule %s lacks help or security-severity", r.ID)
		}
	}
	seen := map[string]bool{}
	for _, res := range run.Results {
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("ruleIndex %d does not point at %s", res.RuleIndex, res.RuleID)
		}
		loc := res.Locations[0]
		if loc.PhysicalLocation == nil || loc.PhysicalLocation.Region.StartLine < 1 {
			t.Errorf("%s: no physical location with startLine >= 1", res.RuleID)
		}
		if len(loc.LogicalLocations) == 0 || strings.Count(loc.LogicalLocations[0].FullyQualifiedName, "/") < 2 {
			t.Errorf("%s: logical location %v is not cluster/kind/namespace/name", res.RuleID, loc.LogicalLocations)
		}
		fp := res.PartialFingerprints["pavedFinding/v1"]
		if fp == "" || seen[fp] {
			t.Errorf("%s: fingerprint %q missing or duplicated", res.RuleID, fp)
		}
		seen[fp] = true
	}
	// Fingerprints ignore line numbers: the same findings after an edit
	// that moves lines keep them.
	for i := range rep.Findings {
		if rep.Findings[i].Source != nil {
			rep.Findings[i].Source.Line += 3
		}
	}
	var again bytes.Buffer
	if err := policy.FormatSARIF(&again, rep, policy.FormatOptions{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	for fp := range seen {
		if !bytes.Contains(again.Bytes(), []byte(fp)) {
			t.Fatalf("fingerprint %s changed when lines moved", fp)
		}
	}
}

// TestJUnitWellFormed: valid XML, one testcase per policy and app with a
// stable name, failures for denials only.
func TestJUnitWellFormed(t *testing.T) {
	rep := brokenReport(t)
	var buf bytes.Buffer
	if err := policy.FormatJUnit(&buf, rep, policy.FormatOptions{}); err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &suites); err != nil {
		t.Fatal(err)
	}
	if suites.Failures == 0 || suites.Tests != len(suites.Suites)*len(rep.Checks) {
		t.Errorf("tests %d failures %d over %d suites and %d policies", suites.Tests, suites.Failures, len(suites.Suites), len(rep.Checks))
	}
	for _, s := range suites.Suites {
		for _, c := range s.Cases {
			if !strings.HasPrefix(c.Name, s.Name+" :: ") {
				t.Errorf("testcase %q not named <app> :: <policy>", c.Name)
			}
		}
	}
}

// TestGitHubEscaping: workflow command data and properties are escaped.
func TestGitHubEscaping(t *testing.T) {
	rep := &policy.Report{Findings: []policy.Finding{{Policy: "p", Severity: policy.Deny, Message: "50% bad\nsecond line", Team: "t", App: "a"}}}
	var buf bytes.Buffer
	if err := policy.FormatGitHub(&buf, rep, policy.FormatOptions{}); err != nil {
		t.Fatal(err)
	}
	if want := "::error title=paved p::50%25 bad%0Asecond line\n"; !strings.HasPrefix(buf.String(), want) {
		t.Errorf("got %q, want prefix %q", buf.String(), want)
	}
}
