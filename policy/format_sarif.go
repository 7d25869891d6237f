package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// SARIF 2.1.0, written for GitHub code scanning: one rule per policy with
// help text and security-severity, the app.cue line as the physical
// location, kind/namespace/name as the logical location, stable
// fingerprints, and waivers as suppressions.

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration map[string]any `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Suppressions        []sarifSuppress   `json:"suppressions,omitempty"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation struct {
		URI string `json:"uri"`
	} `json:"artifactLocation"`
	Region struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
	} `json:"region"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppress struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
}

// Fingerprint identifies a finding across runs: policy, app, cluster,
// object and path, not the message or line numbers (which move as app.cue
// is edited).
func (f *Finding) Fingerprint() string {
	h := sha256.New()
	obj := ""
	if f.Object != nil {
		obj = f.Object.String()
	}
	fmt.Fprintf(h, "%s\x00%s/%s\x00%s\x00%s\x00%s", f.Policy, f.Team, f.App, f.Cluster, obj, f.Path)
	if f.Object == nil && f.Path == "" {
		// Findings about an app as a whole (budgets, exceptions) differ
		// only by message.
		fmt.Fprintf(h, "\x00%s", f.Message)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func sarifLevel(s Severity) string {
	if s == Deny {
		return "error"
	}
	return "warning"
}

// FormatSARIF writes a SARIF 2.1.0 log. Every policy of the run is listed
// as a rule, so code scanning can close alerts for rules that pass.
func FormatSARIF(w io.Writer, r *Report, o FormatOptions) error {
	rules := usedChecks(r, true)
	index := map[string]int{}
	d := sarifDriver{Name: "paved", Version: o.Version, InformationURI: "https://github.com/paved-dev/paved", Rules: []sarifRule{}}
	for i, c := range rules {
		index[c.ID] = i
		title := c.Title
		if title == "" {
			title = c.ID
		}
		desc := c.Description
		if desc == "" {
			desc = title
		}
		help := fmt.Sprintf("%s\n\n%s", title, desc)
		md := fmt.Sprintf("**%s**\n\n%s", title, desc)
		if c.Remediation != "" {
			help += "\n\nFix: " + c.Remediation
			md += "\n\n**Fix:** " + c.Remediation
		}
		switch {
		case !c.Waivable:
			md += "\n\nThis policy cannot be waived."
		case c.NeedsApproval:
			md += "\n\nAn exception needs an approval from outside the team, recorded in the platform."
		}
		props := map[string]any{"tags": append([]string{"paved"}, c.Tags...), "precision": "very-high"}
		if c.SecuritySeverity != "" {
			props["security-severity"] = c.SecuritySeverity
		}
		d.Rules = append(d.Rules, sarifRule{
			ID: c.ID, Name: camel(c.ID),
			ShortDescription: sarifText{Text: title}, FullDescription: sarifText{Text: desc},
			Help:                 sarifText{Text: help, Markdown: md},
			DefaultConfiguration: map[string]any{"level": sarifLevel(c.Severity)},
			Properties:           props,
		})
	}
	run := sarifRun{Tool: sarifTool{Driver: d}, Results: []sarifResult{}}
	for _, f := range r.Findings {
		msg := f.Message
		if f.Object != nil {
			msg += fmt.Sprintf(" [%s", f.Object.String())
			if f.Cluster != "" {
				msg += " in " + f.Cluster
			}
			msg += "]"
		}
		res := sarifResult{
			RuleID: f.Policy, RuleIndex: index[f.Policy], Level: sarifLevel(f.Severity),
			Message:             sarifText{Text: msg},
			Locations:           []sarifLocation{{}},
			PartialFingerprints: map[string]string{"pavedFinding/v1": f.Fingerprint()},
		}
		loc := &res.Locations[0]
		if pos := f.anchor(); pos != nil {
			loc.PhysicalLocation = &sarifPhysical{}
			loc.PhysicalLocation.ArtifactLocation.URI = relPath(o.Cwd, pos.Filename)
			loc.PhysicalLocation.Region.StartLine = max(pos.Line, 1)
			loc.PhysicalLocation.Region.StartColumn = pos.Column
		}
		if f.Object != nil {
			fq := f.Object.Kind + "/" + f.Object.Namespace + "/" + f.Object.Name
			if f.Object.Namespace == "" {
				fq = f.Object.Kind + "/" + f.Object.Name
			}
			if f.Cluster != "" {
				fq = f.Cluster + "/" + fq
			}
			loc.LogicalLocations = []sarifLogical{{Name: f.Object.Name, FullyQualifiedName: fq, Kind: "resource"}}
		}
		props := map[string]any{}
		for k, v := range map[string]string{"cluster": f.Cluster, "environment": f.Environment, "renderedFile": f.File, "path": f.Path, "team": f.Team, "app": f.App} {
			if v != "" {
				props[k] = v
			}
		}
		if f.Line > 0 {
			props["renderedLine"] = f.Line
		}
		res.Properties = props
		if wv := f.Waiver; wv != nil && f.Waived() {
			who := "owner " + wv.Owner
			if wv.ApprovedBy != "" {
				who += ", approved by " + wv.ApprovedBy + " (" + wv.Approval + ")"
			}
			res.Suppressions = []sarifSuppress{{Kind: "external", Status: "accepted",
				Justification: fmt.Sprintf("%s (%s, until %s)", wv.Reason, who, wv.Expires)}}
		}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

// camel turns a policy ID into a SARIF rule name: no-latest-tag → NoLatestTag.
func camel(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '-' || r == '.' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
