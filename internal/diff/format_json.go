package diff

import (
	"encoding/json"
	"io"
)

// Meta describes the two sides of a diff.
type Meta struct {
	Fleet         string `json:"fleet"`
	FleetRevision string `json:"fleetRevision,omitempty"`
	Ref           string `json:"ref"`
	Version       string `json:"version"`
	// Sources are the source identities of the rendered apps; Adopted
	// the apps taken over from another source ("team/name from source
	// (path)").
	Sources []string `json:"sources,omitempty"`
	Adopted []string `json:"adopted,omitempty"`
	// Integrity are the fleet's integrity problems, sorted by file.
	Integrity []IntegrityProblem `json:"integrity,omitempty"`
	// Promotion says, per app whose environments do not all take the
	// change at commit, which change now and which wait for promotion
	// (or are held after a rollback): one line each.
	Promotion []string `json:"promotion,omitempty"`
}

type jsonSummary struct {
	Cluster string `json:"cluster"`
	Added   int    `json:"added"`
	Changed int    `json:"changed"`
	Deleted int    `json:"deleted"`
	Danger  int    `json:"danger"`
}

// JSON writes the report as one document: apiVersion paved.dev/v1alpha1,
// kind DiffReport; fields are only ever added within a version.
func JSON(w io.Writer, r *Report, m Meta) error {
	sums := []jsonSummary{}
	for _, s := range r.Summaries() {
		sums = append(sums, jsonSummary(s))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		APIVersion string        `json:"apiVersion"`
		Kind       string        `json:"kind"`
		Meta       Meta          `json:"meta"`
		Summary    []jsonSummary `json:"summary"`
		Changes    []Change      `json:"changes"`
		Noise      int           `json:"noise"`
	}{"paved.dev/v1alpha1", "DiffReport", m, sums, r.Changes, r.Noise})
}
