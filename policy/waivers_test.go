package policy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/discover"
	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

// TestWaiverLimits: an exception ends at most policy.waiverMaxDays (or its
// policy's waiverMaxDaysByPolicy) after the day it is checked, and one the
// platform says needs an approval names one the platform records for its
// team, app and policy, lasting as long, by an approver who is neither an
// owner of the team nor the exception's owner. Anything else is invalid
// input at the exception's expires or approval field.
func TestWaiverLimits(t *testing.T) {
	p := defaultPlatform(t)
	// Late in the day: limits count calendar days.
	now := time.Date(2026, 11, 22, 23, 30, 0, 0, time.UTC)
	settings := func(s *schema.PolicySettings) {
		s.WaiverMaxDays = 90
		s.WaiverMaxDaysByPolicy = map[string]int{"no-latest-tag": 30}
		s.WaiverApproval = schema.WaiverApproval{
			Approvers: []string{"security-leads@acme.dev", "payments-leads@acme.dev"},
			Policies:  []string{"allowed-registry"},
		}
		s.Approvals = map[string]schema.Approval{
			"SEC-1": {Team: "payments", App: "cart", Policy: "allowed-registry", Expires: "2027-01-31", ApprovedBy: "security-leads@acme.dev"},
			// The team's owner, written in other case.
			"SEC-2": {Team: "payments", App: "cart", Policy: "allowed-registry", Expires: "2027-01-31", ApprovedBy: "Payments-Leads@acme.dev"},
			"SEC-3": {Team: "payments", App: "orders", Policy: "allowed-registry", Expires: "2027-01-31", ApprovedBy: "security-leads@acme.dev"},
		}
	}
	for _, c := range []struct {
		name      string
		exception string
		edit      func(*schema.PolicySettings)
		want      string // a diagnostic's "path: message" holds it; "" none
		approver  string
	}{
		{name: "within the limit", exception: `policy: "privilege-escalation", expires: "2027-02-20"`},
		{name: "a day past the limit", exception: `policy: "privilege-escalation", expires: "2027-02-21"`,
			want: "exceptions[0].expires: the exception for privilege-escalation runs until 2027-02-21, longer than the 90 days the platform allows (policy.waiverMaxDays): the latest expires today (2026-11-22) is 2027-02-20"},
		{name: "a policy's own limit", exception: `policy: "no-latest-tag", expires: "2026-12-23"`,
			want: `the 30 days the platform allows (policy.waiverMaxDaysByPolicy."no-latest-tag"): the latest expires today (2026-11-22) is 2026-12-22`},
		{name: "no approval needed", exception: `policy: "no-latest-tag", expires: "2026-12-22"`},
		{name: "approval missing", exception: `policy: "allowed-registry", expires: "2027-01-31"`,
			want: "exceptions[0].approval: the exception for allowed-registry needs an approval from outside team payments"},
		{name: "approved", exception: `policy: "allowed-registry", expires: "2027-01-31", approval: "SEC-1"`, approver: "security-leads@acme.dev"},
		{name: "approved by the team's owner", exception: `policy: "allowed-registry", expires: "2027-01-31", approval: "SEC-2"`,
			want: `approval "SEC-2" is by Payments-Leads@acme.dev, an owner of team payments`},
		{name: "approved for another app", exception: `policy: "allowed-registry", expires: "2027-01-31", approval: "SEC-3"`,
			want: `approval "SEC-3" is for app payments/orders, not payments/cart`},
		{name: "approved for another policy", exception: `policy: "privilege-escalation", expires: "2027-01-31", approval: "SEC-1"`,
			want: `approval "SEC-1" approves an exception of allowed-registry, not of privilege-escalation`},
		{name: "longer than its approval", exception: `policy: "allowed-registry", expires: "2027-02-01", approval: "SEC-1"`,
			want: `the exception runs until 2027-02-01, after its approval "SEC-1" ends (2027-01-31)`},
		{name: "approved by the exception's owner", exception: `policy: "allowed-registry", expires: "2027-01-31", approval: "SEC-1"`,
			edit: func(s *schema.PolicySettings) {
				a := s.Approvals["SEC-1"]
				a.ApprovedBy = "jane@acme.dev"
				s.Approvals["SEC-1"] = a
				s.WaiverApproval.Approvers = append(s.WaiverApproval.Approvers, "jane@acme.dev")
			},
			want: `approval "SEC-1" is by jane@acme.dev, the exception's own owner`},
		{name: "approved by a group", exception: `policy: "allowed-registry", expires: "2027-01-31", approval: "SEC-1"`,
			edit: func(s *schema.PolicySettings) {
				a := s.Approvals["SEC-1"]
				a.ApprovedBy = "acme:security"
				s.Approvals["SEC-1"] = a
				s.WaiverApproval.Approvers = []string{"acme:security"}
			},
			approver: "acme:security"},
		{name: "approver no longer listed", exception: `policy: "allowed-registry", expires: "2027-01-31", approval: "SEC-1"`,
			edit: func(s *schema.PolicySettings) { s.WaiverApproval.Approvers = []string{"payments-leads@acme.dev"} },
			want: `approval "SEC-1" is by security-leads@acme.dev, who is not one of the platform's approvers`},
		{name: "every deny policy", exception: `policy: "no-latest-tag", expires: "2026-12-22"`,
			edit: func(s *schema.PolicySettings) { s.WaiverApproval.Severities = []string{"deny"} },
			want: "exceptions[0].approval: the exception for no-latest-tag needs an approval"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pp := *p
			settings(&pp.Data.Policy)
			if c.edit != nil {
				c.edit(&pp.Data.Policy)
			}
			e := load(t, &pp)
			src := `package app

apiVersion: "paved.dev/v1alpha1"
name:       "cart"
team:       "payments"
kind:       "worker"
image:      "ghcr.io/acme/cart:1.0.0"
exceptions: [{reason: "vendor image until the mirror lands", owner: "jane@acme.dev", ` + c.exception + `}]
`
			a, diags := p.LoadApp(discover.App{Dir: "/apps/cart", Files: []discover.File{{Path: "/apps/cart/app.cue", Data: []byte(src)}}})
			if len(diags) > 0 {
				t.Fatal(diags)
			}
			tree := &render.Tree{Units: []render.Unit{{Dir: "apps/dev-eu-1/payments/cart", Kind: render.UnitApp, Cluster: "dev-eu-1", Environment: "dev", Team: "payments", App: &render.App{App: a}}}}
			rep, err := e.Lint(context.Background(), &pp, tree, policy.LintOptions{Today: now})
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.Waivers) != 1 || rep.Waivers[0].ApprovedBy != c.approver {
					t.Fatalf("waivers %+v, want one approved by %q", rep.Waivers, c.approver)
				}
				return
			}
			var l diag.List
			if !errors.As(err, &l) {
				t.Fatalf("err %v, want invalid input holding %q", err, c.want)
			}
			for _, d := range l {
				if strings.Contains(d.String(), c.want) {
					if len(d.Positions) != 1 || d.Positions[0].Filename != "/apps/cart/app.cue" || d.Positions[0].Line != 8 {
						t.Errorf("%s: positions %v, want the exception's line", d, d.Positions)
					}
					return
				}
			}
			t.Fatalf("diagnostics\n%s\nhold no %q", l, c.want)
		})
	}
}

// TestWaiverSettings: the waiver settings name known policies, and an
// approval the platform requires has someone to give it; "policy list"
// marks the policies whose exceptions need one.
func TestWaiverSettings(t *testing.T) {
	p := defaultPlatform(t)
	for _, c := range []struct {
		edit func(*schema.PolicySettings)
		want string
	}{
		{func(s *schema.PolicySettings) { s.WaiverMaxDaysByPolicy = map[string]int{"no-latest-tags": 7} },
			`policy.waiverMaxDaysByPolicy: unknown policy ID "no-latest-tags" (did you mean "no-latest-tag"?)`},
		{func(s *schema.PolicySettings) {
			s.WaiverApproval = schema.WaiverApproval{Approvers: []string{"security-leads@acme.dev"}, Policies: []string{"allowed-registri"}}
		}, `policy.waiverApproval.policies: unknown policy ID "allowed-registri"`},
		{func(s *schema.PolicySettings) { s.WaiverApproval = schema.WaiverApproval{Severities: []string{"warn"}} },
			"policy.waiverApproval.approvers: no approvers"},
	} {
		pp := *p
		c.edit(&pp.Data.Policy)
		_, err := policy.Load(context.Background(), policy.Options{Platform: &pp})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err %v, want %q", err, c.want)
		}
	}
	pp := *p
	pp.Data.Policy.WaiverApproval = schema.WaiverApproval{Approvers: []string{"security-leads@acme.dev"}, Policies: []string{"no-latest-tag"}, Severities: []string{"warn"}}
	e := load(t, &pp)
	for id, want := range map[string]string{"no-latest-tag": "with approval", "allowed-registry": "yes", "privileged": "no", "waiver-unused": "no"} {
		if got := e.Check(id).Waivability(); got != want {
			t.Errorf("%s: waivable %q, want %q", id, got, want)
		}
	}
	for _, c := range e.Checks() {
		if c.Severity == policy.Warn && c.Input != policy.InputWaiver && !c.NeedsApproval {
			t.Errorf("%s (warn) does not need an approval", c.ID)
		}
	}
}
