package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/paved-dev/paved/internal/fleet"
	"github.com/paved-dev/paved/render"
)

// tenantFleet is what a render needs of the fleet for its tenants
// (render.Input.Fleet): a team's ResourceQuota in a cluster counts all of
// its apps there, whichever source renders them, so a run that renders
// some of a team's apps (or removes some) is given the team's other apps
// that stay after it, with the requests their ownership manifests record.
// rendered are the apps the run renders (team/name), keep those --changed
// keeps as the fleet holds them, roots its PATHs (nil: it removes
// nothing, as verify and rerender).
func tenantFleet(ms *fleet.Manifests, rendered map[string]string, keep []fleet.App, roots []fleet.Root) []render.FleetApp {
	if ms == nil {
		return nil
	}
	ids := map[string]bool{}
	teams := map[string]bool{}
	for id, team := range rendered {
		ids[id] = true
		teams[team] = true
	}
	staying, removed := fleet.Unrendered(ms, ids, keep, roots)
	for _, m := range removed {
		teams[m.Team] = true
	}
	var out []render.FleetApp
	for _, m := range staying {
		if !teams[m.Team] {
			continue
		}
		fa := render.FleetApp{Team: m.Team, Name: m.App, Clusters: m.AppClusters()}
		if m.Requests != nil {
			fa.Requests = map[string]render.Requests{}
			for c, r := range m.Requests {
				fa.Requests[c] = render.Requests(r)
			}
		}
		out = append(out, fa)
	}
	return out
}

// tenantFleetKey identifies what tenantFleet gave a render: a render for
// another fleet tip is reused only when it is the same.
func tenantFleetKey(apps []render.FleetApp) string {
	b, _ := json.Marshal(apps) // maps marshal with sorted keys
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// renderedIDs are the apps a render of l renders: team/name to team.
func renderedIDs(l *loaded) map[string]string {
	out := make(map[string]string, len(l.apps))
	for _, a := range l.apps {
		out[a.Base.Team+"/"+a.Base.Name] = a.Base.Team
	}
	return out
}
