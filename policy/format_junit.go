package policy

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
)

// JUnit XML: one testsuite per app (and per tenant), one testcase per
// policy named "<team>/<app> :: <policy>", stable across runs. A denial
// fails the testcase; warnings and waived findings are listed in
// system-out and do not fail it.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Type    string `xml:"type,attr"`
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// FormatJUnit writes the report as JUnit XML.
func FormatJUnit(w io.Writer, r *Report, o FormatOptions) error {
	type key struct{ suite, policy string }
	lines := map[key][]string{}
	failed := map[key]int{}
	var suites []string
	suiteSeen := map[string]bool{}
	addSuite := func(s string) {
		if !suiteSeen[s] {
			suiteSeen[s] = true
			suites = append(suites, s)
		}
	}
	for _, c := range r.Costs.Apps {
		addSuite(c.Team + "/" + c.App)
	}
	for _, f := range r.Findings {
		s := f.Team + "/" + f.App
		if f.App == "" {
			s = "team " + f.Team
		}
		if f.Team == "" {
			s = "fleet"
		}
		addSuite(s)
		k := key{s, f.Policy}
		state := strings.ToUpper(string(f.Severity))
		if f.Waived() {
			state = "WAIVED"
		} else if f.Severity == Deny {
			failed[k]++
		}
		line := state + " " + f.Message
		if f.Object != nil {
			line += " [" + f.Object.String() + "]"
		}
		if f.Cluster != "" {
			line += " in " + f.Cluster
		}
		if pos := f.Source; pos != nil {
			line += fmt.Sprintf(" at %s:%d", relPath(o.Cwd, pos.Filename), pos.Line)
		}
		lines[k] = append(lines[k], line)
	}
	slices.Sort(suites)
	out := junitSuites{Name: "paved lint"}
	checks := usedChecks(r, true)
	for _, s := range suites {
		js := junitSuite{Name: s}
		for _, c := range checks {
			k := key{s, c.ID}
			tc := junitCase{Name: s + " :: " + c.ID, Classname: s}
			if n := failed[k]; n > 0 {
				tc.Failure = &junitFailure{Type: c.ID, Message: fmt.Sprintf("%d %s: %s", n, plural(n, "denial", "denials"), c.Title), Body: strings.Join(lines[k], "\n")}
				js.Failures++
			} else if len(lines[k]) > 0 {
				tc.SystemOut = strings.Join(lines[k], "\n")
			}
			js.Cases = append(js.Cases, tc)
			js.Tests++
		}
		out.Tests += js.Tests
		out.Failures += js.Failures
		out.Suites = append(out.Suites, js)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
