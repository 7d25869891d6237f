package policy

import (
	"fmt"
	"maps"
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
	// ApprovedBy is who approved the exception (its approval's approvedBy).
	ApprovedBy string        `json:"approvedBy,omitempty"`
	Source     diag.Position `json:"source"`
	Status     WaiverStatus  `json:"status"`
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

// collectWaivers reads every app's exceptions and rejects, as invalid
// input, those naming an unknown or non-waivable policy, those running
// longer than the platform allows after today, and those without the
// approval from outside the team the platform requires (or whose approval
// does not fit them). p supplies the teams' owners.
func (e *Engine) collectWaivers(p *schema.Platform, tree *render.Tree, today time.Time) ([]*Waiver, diag.List) {
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
			var bad diag.List
			if msg := e.lifetime(x, today); msg != "" {
				bad.Add(at+".expires", msg, a.Pos(at+".expires"))
			}
			approvedBy, problems := e.approval(p, a.Base.Team, a.Base.Name, x, c)
			for _, msg := range problems {
				bad.Add(at+".approval", msg, a.Pos(at+".approval"))
			}
			if len(bad) > 0 {
				diags = append(diags, bad...)
				continue
			}
			out = append(out, &Waiver{Team: a.Base.Team, App: a.Base.Name, Exception: x, ApprovedBy: approvedBy, Source: a.Pos(at)})
		}
	}
	return out, diags
}

// maxDays is the longest an exception of policy id may run, in days after
// the day it is checked, and the setting that says so.
func (e *Engine) maxDays(id string) (int, string) {
	if n, ok := e.settings.WaiverMaxDaysByPolicy[id]; ok {
		return n, fmt.Sprintf("policy.waiverMaxDaysByPolicy.%q", id)
	}
	return e.settings.WaiverMaxDays, "policy.waiverMaxDays"
}

// lifetime says why x runs longer than the platform allows after today,
// or "" when it does not. Without a limit (an engine loaded without a
// platform) any date is allowed.
func (e *Engine) lifetime(x schema.Exception, today time.Time) string {
	n, setting := e.maxDays(x.Policy)
	if n <= 0 {
		return ""
	}
	day := today.UTC().Format(time.DateOnly)
	d, _ := time.Parse(time.DateOnly, day)
	latest := d.AddDate(0, 0, n).Format(time.DateOnly)
	if x.Expires <= latest {
		return ""
	}
	return fmt.Sprintf("the exception for %s runs until %s, longer than the %d %s the platform allows (%s): the latest expires today (%s) is %s; renew it nearer the time",
		x.Policy, x.Expires, n, plural(n, "day", "days"), setting, day, latest)
}

// approval checks the approval an exception of policy c needs, or names:
// it must be recorded in the platform (policy.approvals), be for this
// team, app and policy, last at least as long as the exception, and be
// given by one of the platform's approvers who is neither an owner of the
// team nor the exception's owner. It returns the approver, or why the
// exception is refused.
func (e *Engine) approval(p *schema.Platform, team, app string, x schema.Exception, c *Check) (string, []string) {
	s := e.settings
	if x.Approval == "" {
		if !c.NeedsApproval {
			return "", nil
		}
		return "", []string{fmt.Sprintf("the exception for %s needs an approval from outside team %s (the platform's policy.waiverApproval): ask one of the platform's approvers (%s) to record one in the platform's policy.approvals, and name it here in approval",
			x.Policy, team, orNone(s.WaiverApproval.Approvers))}
	}
	ap, ok := s.Approvals[x.Approval]
	if !ok {
		msg := fmt.Sprintf("no approval %q in the platform's policy.approvals: approvals live in the platform the fleet holds, and only the platform team writes them", x.Approval)
		if ids := approvalsFor(s.Approvals, team, app, x.Policy); len(ids) > 0 {
			msg += fmt.Sprintf(" (it holds %s for %s/%s %s)", strings.Join(ids, ", "), team, app, x.Policy)
		}
		return "", []string{msg}
	}
	var problems []string
	if ap.Team != team || ap.App != app {
		problems = append(problems, fmt.Sprintf("approval %q is for app %s/%s, not %s/%s", x.Approval, ap.Team, ap.App, team, app))
	}
	if ap.Policy != x.Policy {
		problems = append(problems, fmt.Sprintf("approval %q approves an exception of %s, not of %s", x.Approval, ap.Policy, x.Policy))
	}
	if x.Expires > ap.Expires {
		problems = append(problems, fmt.Sprintf("the exception runs until %s, after its approval %q ends (%s): end it by then, or ask for a new approval", x.Expires, x.Approval, ap.Expires))
	}
	switch {
	case !containsFold(s.WaiverApproval.Approvers, ap.ApprovedBy):
		problems = append(problems, fmt.Sprintf("approval %q is by %s, who is not one of the platform's approvers (policy.waiverApproval.approvers: %s)", x.Approval, ap.ApprovedBy, orNone(s.WaiverApproval.Approvers)))
	case p != nil && containsFold(p.Data.Teams[team].Owners, ap.ApprovedBy):
		problems = append(problems, fmt.Sprintf("approval %q is by %s, an owner of team %s: a team cannot approve its own exceptions; ask an approver outside the team", x.Approval, ap.ApprovedBy, team))
	case strings.EqualFold(ap.ApprovedBy, x.Owner):
		problems = append(problems, fmt.Sprintf("approval %q is by %s, the exception's own owner: nobody approves their own exception", x.Approval, ap.ApprovedBy))
	}
	if len(problems) > 0 {
		return "", problems
	}
	return ap.ApprovedBy, nil
}

// approvalsFor lists, sorted, the IDs of the approvals for one app's
// exceptions of one policy.
func approvalsFor(all map[string]schema.Approval, team, app, policy string) []string {
	var ids []string
	for id, ap := range all {
		if ap.Team == team && ap.App == app && ap.Policy == policy {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// indexApproval marks the checks whose exceptions need an approval
// (policy.waiverApproval) and reports the waiver settings' policy IDs that
// name no policy, and approvals required where nobody can give them.
func (e *Engine) indexApproval() diag.List {
	var diags diag.List
	s := e.settings
	for _, id := range slices.Sorted(maps.Keys(s.WaiverMaxDaysByPolicy)) {
		if e.checks[id] == nil {
			diags.Add("policy.waiverMaxDaysByPolicy", fmt.Sprintf("unknown policy ID %q%s", id, e.suggest(id)))
		}
	}
	for _, id := range s.WaiverApproval.Policies {
		if c := e.checks[id]; c != nil {
			c.NeedsApproval = true
		} else {
			diags.Add("policy.waiverApproval.policies", fmt.Sprintf("unknown policy ID %q%s", id, e.suggest(id)))
		}
	}
	for _, c := range e.checks {
		if slices.Contains(s.WaiverApproval.Severities, string(c.Severity)) {
			c.NeedsApproval = true
		}
	}
	if len(s.WaiverApproval.Approvers) == 0 && (len(s.WaiverApproval.Policies) > 0 || len(s.WaiverApproval.Severities) > 0) {
		diags.Add("policy.waiverApproval.approvers", "no approvers, so the exceptions that need an approval could never have one: list who approves, or mark those policies not waivable (policy.notWaivable)")
	}
	return diags
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
// waivers with their status. judge, when not nil, says which waivers
// this run reports on (LintOptions.Part): the others waive, but are
// neither listed nor reported unused or expiring here.
func applyWaivers(findings []Finding, waivers []*Waiver, today time.Time, warnDays int, out *[]Finding, judge func(*Waiver) bool) []Waiver {
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
		if judge != nil && !judge(w) {
			continue
		}
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
