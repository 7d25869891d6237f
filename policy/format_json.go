package policy

import (
	"encoding/json"
	"io"

	"github.com/paved-dev/paved/schema"
)

// JSON report schema identifiers. The schema is documented in
// policy/lint-report.schema.json; fields are only ever added within a
// version.
const (
	ReportAPIVersion = "paved.dev/v1alpha1"
	ReportKind       = "LintReport"
)

type jsonReport struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Tool       jsonTool      `json:"tool"`
	Summary    jsonSummary   `json:"summary"`
	Findings   []jsonFinding `json:"findings"`
	Waivers    []jsonWaiver  `json:"waivers"`
	Costs      Costs         `json:"costs"`
	Policies   []jsonPolicy  `json:"policies"`
}

type jsonTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonSummary struct {
	Apps     int  `json:"apps"`
	Clusters int  `json:"clusters"`
	Objects  int  `json:"objects"`
	Policies int  `json:"policies"`
	Deny     int  `json:"deny"`
	Warn     int  `json:"warn"`
	Waived   int  `json:"waived"`
	Passed   bool `json:"passed"`
}

type jsonPos struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column,omitempty"`
}

type jsonFinding struct {
	Policy      string      `json:"policy"`
	Severity    Severity    `json:"severity"`
	Waived      bool        `json:"waived"`
	Message     string      `json:"message"`
	Team        string      `json:"team,omitempty"`
	App         string      `json:"app,omitempty"`
	Cluster     string      `json:"cluster,omitempty"`
	Environment string      `json:"environment,omitempty"`
	Object      *ObjectRef  `json:"object,omitempty"`
	Rendered    *jsonPos    `json:"rendered,omitempty"`
	Path        string      `json:"path,omitempty"`
	Source      *jsonPos    `json:"source,omitempty"`
	Waiver      *jsonWaiver `json:"waiver,omitempty"`
}

// jsonWaiver is a Waiver with its source position relative to the
// working directory.
type jsonWaiver struct {
	Team string `json:"team"`
	App  string `json:"app"`
	schema.Exception
	ApprovedBy string       `json:"approvedBy,omitempty"`
	Status     WaiverStatus `json:"status"`
	Matched    int          `json:"matched"`
	Source     jsonPos      `json:"source"`
}

type jsonPolicy struct {
	ID               string   `json:"id"`
	Severity         Severity `json:"severity"`
	Title            string   `json:"title"`
	Description      string   `json:"description"`
	Remediation      string   `json:"remediation,omitempty"`
	SecuritySeverity string   `json:"securitySeverity,omitempty"`
	Tags             []string `json:"tags"`
	Waivable         bool     `json:"waivable"`
	Builtin          bool     `json:"builtin"`
}

func toJSONWaiver(w *Waiver, cwd string) *jsonWaiver {
	return &jsonWaiver{
		Team: w.Team, App: w.App, Exception: w.Exception, ApprovedBy: w.ApprovedBy, Status: w.Status, Matched: w.Matched,
		Source: jsonPos{File: relPath(cwd, w.Source.Filename), Line: w.Source.Line, Column: w.Source.Column},
	}
}

// FormatJSON writes the report as one JSON document (schema:
// policy/lint-report.schema.json).
func FormatJSON(w io.Writer, r *Report, o FormatOptions) error {
	deny, warn, waived := r.Count()
	out := jsonReport{
		APIVersion: ReportAPIVersion, Kind: ReportKind,
		Tool:     jsonTool{Name: "paved", Version: o.Version},
		Summary:  jsonSummary{Apps: o.Apps, Clusters: o.Clusters, Objects: r.Objects, Policies: len(r.Checks), Deny: deny, Warn: warn, Waived: waived, Passed: deny == 0},
		Findings: []jsonFinding{}, Waivers: []jsonWaiver{}, Policies: []jsonPolicy{}, Costs: r.Costs,
	}
	if out.Costs.Apps == nil {
		out.Costs.Apps = []AppCost{}
	}
	if out.Costs.Teams == nil {
		out.Costs.Teams = []TeamCost{}
	}
	for _, f := range r.Findings {
		jf := jsonFinding{
			Policy: f.Policy, Severity: f.Severity, Waived: f.Waived(), Message: f.Message, Team: f.Team, App: f.App,
			Cluster: f.Cluster, Environment: f.Environment, Object: f.Object, Path: f.Path,
		}
		if f.File != "" {
			jf.Rendered = &jsonPos{File: f.File, Line: f.Line}
		}
		if f.Source != nil {
			jf.Source = &jsonPos{File: relPath(o.Cwd, f.Source.Filename), Line: f.Source.Line, Column: f.Source.Column}
		}
		if f.Waiver != nil {
			jf.Waiver = toJSONWaiver(f.Waiver, o.Cwd)
		}
		out.Findings = append(out.Findings, jf)
	}
	for i := range r.Waivers {
		out.Waivers = append(out.Waivers, *toJSONWaiver(&r.Waivers[i], o.Cwd))
	}
	for _, c := range usedChecks(r, true) {
		tags := c.Tags
		if tags == nil {
			tags = []string{}
		}
		out.Policies = append(out.Policies, jsonPolicy{
			ID: c.ID, Severity: c.Severity, Title: c.Title, Description: c.Description, Remediation: c.Remediation,
			SecuritySeverity: c.SecuritySeverity, Tags: tags, Waivable: c.Waivable, Builtin: c.Builtin,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}
