package schema

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"cuelang.org/go/cue"

	"github.com/paved-dev/paved/internal/diag"
)

// PromotionOrder is the platform's environments in promotion order: each
// after the environment it takes its releases from (promotion.from), the
// environments of one depth by name. The first are those a commit writes.
func (p *Platform) PromotionOrder() []string {
	depth := map[string]int{}
	var at func(env string, seen int) int
	at = func(env string, seen int) int {
		if d, ok := depth[env]; ok {
			return d
		}
		from := p.Data.Environments[env].Promotion.From
		if from == "" || seen > len(p.Data.Environments) {
			return 0 // a cycle is a platform error (promotionErrors)
		}
		d := at(from, seen+1) + 1
		depth[env] = d
		return d
	}
	out := SortedKeys(p.Data.Environments)
	for _, e := range out {
		depth[e] = at(e, 0)
	}
	slices.SortStableFunc(out, func(a, b string) int { return depth[a] - depth[b] })
	return out
}

// promotionErrors are the platform's promotion settings that cannot work:
// a from that names no environment or itself, a chain that loops, an
// environment a commit writes that names a from, one promote writes that
// names none.
func (p *Platform) promotionErrors() diag.List {
	var l diag.List
	pos := func(env, field string) []diag.Position {
		if pp, ok := p.declPos(cue.ParsePath(fmt.Sprintf("platform.environments.%s.promotion.%s", env, field)).Selectors()); ok {
			return []diag.Position{pp}
		}
		return nil
	}
	for _, env := range SortedKeys(p.Data.Environments) {
		pr := p.Data.Environments[env].Promotion
		path := "platform.environments." + env + ".promotion"
		switch {
		case pr.Mode == PromoteAtCommit && pr.From != "":
			l.Add(path+".from", fmt.Sprintf("mode \"commit\" lands a release at commit: it takes none from %q (say mode \"auto\" or \"manual\", or drop from)", pr.From), pos(env, "from")...)
		case pr.Mode != PromoteAtCommit && pr.From == "":
			l.Add(path+".from", fmt.Sprintf("mode %q promotes a release from another environment: name it in from", pr.Mode), pos(env, "mode")...)
		case pr.From == env:
			l.Add(path+".from", "an environment cannot take its releases from itself", pos(env, "from")...)
		case pr.From != "":
			if _, ok := p.Data.Environments[pr.From]; !ok {
				l.Add(path+".from", fmt.Sprintf("unknown environment %q: known environments are %s", pr.From, strings.Join(SortedKeys(p.Data.Environments), ", ")), pos(env, "from")...)
				continue
			}
			// Follow the chain: it must end at an environment a commit
			// writes.
			seen := map[string]bool{env: true}
			for e := pr.From; e != ""; e = p.Data.Environments[e].Promotion.From {
				if seen[e] {
					l.Add(path+".from", fmt.Sprintf("the promotion chain from %s loops back through %s: it must start at an environment a commit writes", env, e), pos(env, "from")...)
					break
				}
				seen[e] = true
			}
		}
		if _, err := time.ParseDuration(pr.Soak); err != nil {
			l.Add(path+".soak", err.Error(), pos(env, "soak")...)
		}
	}
	return l
}

// EffectivePromotion is the promotion of app spec s into env: the
// platform's, narrowed by the app (manual, a longer soak).
func (p *Platform) EffectivePromotion(env string, s *Spec) Promotion {
	pr := p.Data.Environments[env].Promotion
	if s == nil {
		return pr
	}
	ap, ok := s.Promotion[env]
	if !ok {
		return pr
	}
	if ap.Manual {
		pr.Mode = PromoteManual
	}
	if ap.Soak != "" {
		a, err1 := time.ParseDuration(ap.Soak)
		b, err2 := time.ParseDuration(pr.Soak)
		if err1 == nil && (err2 != nil || a > b) {
			pr.Soak = ap.Soak
		}
	}
	return pr
}

// EnvironmentOf is the environment of cluster c, "" for none.
func (p *Platform) EnvironmentOf(c string) string {
	for env, e := range p.Data.Environments {
		if _, ok := e.Clusters[c]; ok {
			return env
		}
	}
	return ""
}

// InWindow reports whether t (UTC) falls in one of the windows; no
// windows: always.
func InWindow(ws []Window, t time.Time) bool {
	if len(ws) == 0 {
		return true
	}
	t = t.UTC()
	day := strings.ToLower(t.Weekday().String()[:3])
	minute := t.Hour()*60 + t.Minute()
	hm := func(s string) int {
		var h, m int
		fmt.Sscanf(s, "%d:%d", &h, &m)
		return h*60 + m
	}
	for _, w := range ws {
		if slices.Contains(w.Days, day) && minute >= hm(w.Start) && minute < hm(w.End) {
			return true
		}
	}
	return false
}
