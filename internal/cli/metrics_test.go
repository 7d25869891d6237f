package cli

import (
	"testing"
	"time"
)

// TestComputeMetrics checks the four delivery metrics on a constructed
// history whose figures are worked out by hand.
func TestComputeMetrics(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	at := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	ds := []deployment{
		{App: "a/x", Env: "dev", Release: "r1", Via: "commit", At: at(0), Source: at(-1)},
		{App: "a/x", Env: "staging", Release: "r1", Via: "promote", At: at(2), Source: at(-1)},
		{App: "a/x", Env: "dev", Release: "r2", Via: "commit", At: at(24), Source: at(22)},
		{App: "a/x", Env: "staging", Release: "r2", Via: "promote", At: at(25), Source: at(22)},
		{App: "a/x", Env: "staging", Release: "r1", Via: "rollback", At: at(25.5), Source: at(-1)},
		{App: "a/x", Env: "dev", Release: "r1", Via: "commit", At: at(26), Source: at(-1), Revert: true},
		{App: "a/x", Env: "dev", Release: "r3", Via: "commit", At: at(48), Source: at(47)},
		// Outside the window: counted for nothing, but a/y's deployment
		// before it is judged by it.
		{App: "b/y", Env: "dev", Release: "q1", Via: "commit", At: at(70), Source: at(69)},
		{App: "b/y", Env: "dev", Release: "q1b", Via: "rollback", At: at(80), Source: at(60)},
	}
	got := computeMetrics(ds, t0, at(72))
	want := map[string]deliveryMetrics{
		"a/x dev":     {Deployments: 4, PerDay: 1.33, LeadTimeSeconds: 3600, LeadTimes: 4, Failed: 1, ChangeFailureRate: 0.25, RestoreSeconds: 7200},
		"a/x staging": {Deployments: 3, PerDay: 1, LeadTimeSeconds: 3 * 3600, LeadTimes: 3, Failed: 1, ChangeFailureRate: 0.33, RestoreSeconds: 1800},
		"a dev":       {Deployments: 4, PerDay: 1.33, LeadTimeSeconds: 3600, LeadTimes: 4, Failed: 1, ChangeFailureRate: 0.25, RestoreSeconds: 7200},
		"b/y dev":     {Deployments: 1, PerDay: 0.33, LeadTimeSeconds: 3600, LeadTimes: 1, Failed: 1, ChangeFailureRate: 1, RestoreSeconds: 36000},
		"all dev":     {Deployments: 5, PerDay: 1.67, LeadTimeSeconds: 3600, LeadTimes: 5, Failed: 2, ChangeFailureRate: 0.4, RestoreSeconds: 7200},
		"all staging": {Deployments: 3, PerDay: 1, LeadTimeSeconds: 3 * 3600, LeadTimes: 3, Failed: 1, ChangeFailureRate: 0.33, RestoreSeconds: 1800},
	}
	seen := 0
	for _, m := range got {
		w, ok := want[m.Group+" "+m.Environment]
		if !ok {
			continue
		}
		seen++
		w.Group, w.Environment = m.Group, m.Environment
		if m != w {
			t.Errorf("%s %s:\n got %+v\nwant %+v", m.Group, m.Environment, m, w)
		}
	}
	if seen != len(want) {
		t.Errorf("got %d of the %d expected groups: %+v", seen, len(want), got)
	}
	// Groups come apps first, then teams, then all.
	if got[0].Group != "a/x" || got[len(got)-1].Group != "all" {
		t.Errorf("order: %+v", got)
	}
}
