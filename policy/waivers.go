package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/suggest"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

// WaiverStatus says whether a waiver is in force.
type WaiverStatus string

const (
	WaiverActive  WaiverStatus = "active"
	WaiverExpired WaiverStatus = "expired"
)

// Waiver is an app's exception: a policy waived in the open, with a
// reason, an owner and a last day.
type Waiver struct {
	Team string `json:"team"`
	App  string `json:"app"`
	schema.Exception
	Source diag.Position `json:"source"`
	Status WaiverStatus  `json:"status"`
	// Matched counts the findings the waiver covers.
	Matched int `json:"matched"`
}

const (
	idWaiverUnused   = "waiver-unused"
	idWaiverExpiring = "waiver-expiring"
)

// waiverChecks are the checks paved makes on exceptions themselves.
func waiverChecks() []*Check {
	return []*Check{{
		ID: idWaiverUnused, Severity: Warn, Input: InputWaiver, Builtin: true,
		Title:       "An exception must waive something",
		Description: "An exception that matches no finding hides nothing today but would silently waive a future violation; remove it.",
		Remediation: "Delete the exception from app.cue, or narrow its environment, cluster or object to what it is for.",
		Tags:        []string{"hygiene"}, SecuritySeverity: "1.0", Namespace: "paved.waivers", Rule: "warn_waiver_unused", File: BuiltinPrefix + "waivers",
	}, {
		ID: idWaiverExpiring, Severity: Warn, Input: InputWaiver, Builtin: true,
		Title:       "An exception about to expire needs a plan",
		Description: "When an exception expires its findings deny again; its owner should fix the cause or renew it before then.",
		Remediation: "Fix what the exception waives, or agree a new expiry date with the policy's owners.",
		Tags:        []string{"hygiene"}, SecuritySeverity: "1.0", Namespace: "paved.waivers", Rule: "warn_waiver_expiring", File: BuiltinPrefix + "waivers",
	}}
}

// collectWaivers reads every app's exceptions and rejects those naming an
// unknown or non-waivable policy.
func (e *Engine) collectWaivers(tree *render.Tree) ([]*Waiver, diag.List) {
	var out []*Waiver
	var diags diag.List
	seen := map[string]bool{}
	for _, u := range tree.Units {
		if u.App == nil {
			continue
		}
		a := u.App
		key := a.Base.Team + "/" + a.Base.Name
		if seen[key] {
			continue
		}
		seen[key] = true
		for i, x := range a.Base.Exceptions {
			at := fmt.Sprintf("exceptions[%d]", i)
			pos := a.Pos(at + ".policy")
			c := e.checks[x.Policy]
			switch {
			case c == nil:
				diags = append(diags, diag.Diagnostic{Path: at + ".policy", Message: fmt.Sprintf("unknown policy ID %q%s (paved policy list shows them all)", x.Policy, e.suggest(x.Policy)), Positions: []diag.Position{pos}})
				continue
			case c.Input == InputWaiver:
				diags = append(diags, diag.Diagnostic{Path: at + ".policy", Message: fmt.Sprintf("%s checks exceptions themselves and cannot be waived", x.Policy), Positions: []diag.Position{pos}})
				continue
			case !c.Waivable:
				diags = append(diags, diag.Diagnostic{Path: at + ".policy", Message: fmt.Sprintf("policy %s cannot be waived: the platform marks it not waivable (policy.notWaivable)", x.Policy), Positions: []diag.Position{pos}})
				continue
			}
			out = append(out, &Waiver{Team: a.Base.Team, App: a.Base.Name, Exception: x, Source: a.Pos(at)})
		}
	}
	return out, diags
}

// suggest names the closest known policy ID, if one is close (at most
// three edits away; ties go to the ID that sorts first).
func (e *Engine) suggest(id string) string {
	ids := make([]string, 0, len(e.checks))
	for k := range e.checks {
		ids = append(ids, k)
	}
	best, ok := suggest.NearestWithin(id, ids, 3)
	if !ok {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func (w *Waiver) matches(f *Finding) bool {
	if f.Team != w.Team || f.App != w.App || f.Policy != w.Policy {
		return false
	}
	if w.Environment != "" && f.Environment != w.Environment {
		return false
	}
	if w.Cluster != "" && f.Cluster != w.Cluster {
		return false
	}
	if w.Object != "" {
		if f.Object == nil || f.Object.Kind+"/"+f.Object.Name != w.Object {
			return false
		}
	}
	return true
}

// applyWaivers marks each finding covered by a waiver: an active waiver
// waives it; an expired one turns it into a denial that says so. It then
// appends findings for unused and soon-expiring waivers, and returns the
// waivers with their status.
func applyWaivers(findings []Finding, waivers []*Waiver, today time.Time, warnDays int, out *[]Finding) []Waiver {
	day := today.UTC().Format(time.DateOnly)
	for _, w := range waivers {
		w.Status = WaiverActive
		if w.Expires < day {
			w.Status = WaiverExpired
		}
	}
	chosenFor := map[int]*Waiver{}
	for i := range findings {
		f := &findings[i]
		var chosen *Waiver
		for _, w := range waivers {
			if w.matches(f) && (chosen == nil || chosen.Status == WaiverExpired && w.Status == WaiverActive) {
				chosen = w
			}
		}
		if chosen == nil {
			continue
		}
		chosen.Matched++
		chosenFor[i] = chosen
		if chosen.Status == WaiverExpired {
			f.Severity = Deny
			f.Message += fmt.Sprintf(" (the exception for %s expired on %s; owner %s)", chosen.Policy, chosen.Expires, chosen.Owner)
		}
	}
	for i, w := range chosenFor {
		cp := *w
		findings[i].Waiver = &cp
	}
	var list []Waiver
	for _, w := range waivers {
		pos := w.Source
		switch {
		case w.Matched == 0:
			msg := fmt.Sprintf("the exception for %s matches no finding of %s/%s", w.Policy, w.Team, w.App)
			if w.Status == WaiverExpired {
				msg += fmt.Sprintf(" (and it expired on %s)", w.Expires)
			}
			*out = append(*out, Finding{Policy: idWaiverUnused, Severity: Warn, Team: w.Team, App: w.App, Source: &pos, Message: msg + ": remove it"})
		case w.Status == WaiverActive:
			if exp, err := time.Parse(time.DateOnly, w.Expires); err == nil {
				left := int(exp.Sub(today.UTC().Truncate(24*time.Hour)).Hours() / 24)
				if left <= warnDays {
					*out = append(*out, Finding{Policy: idWaiverExpiring, Severity: Warn, Team: w.Team, App: w.App, Source: &pos,
						Message: fmt.Sprintf("the exception for %s expires on %s (%s); %s owns it", w.Policy, w.Expires, daysLeft(left), w.Owner)})
				}
			}
		}
		list = append(list, *w)
	}
	slices.SortStableFunc(list, func(a, b Waiver) int {
		if c := strings.Compare(a.Team+"/"+a.App, b.Team+"/"+b.App); c != 0 {
			return c
		}
		return a.Source.Line - b.Source.Line
	})
	return list
}

func daysLeft(n int) string {
	switch n {
	case 0:
		return "today is its last day"
	case 1:
		return "1 day left"
	}
	return fmt.Sprintf("%d days left", n)
}
