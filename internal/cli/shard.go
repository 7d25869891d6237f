package cli

import (
	"fmt"
	"hash/fnv"
	"path"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paved-dev/paved/policy"
	"github.com/paved-dev/paved/render"
	"github.com/paved-dev/paved/schema"
)

// shard is --shard I/N: the part I of N of a whole-fleet check, so that a
// CI matrix spreads it over N runners. An app belongs to shard
// fnv-1a(team/app) mod N + 1: a pure function of its name and N, so adding
// an app never moves another between shards. Shard 1 also carries the
// checks over the whole fleet (tenants, the policies across apps,
// budgets; verify's files nobody owns, entry kustomizations and catalog
// location), and renders every app for them. The findings and problems of
// shards 1..N together are those of the unsharded run, each reported by
// exactly one shard.
type shard struct {
	i, n int // 1 <= i <= n; n == 0: not sharded
}

func (s *shard) register(c *cobra.Command) {
	c.Flags().Var(s, "shard", "check only part I of N of the fleet's apps (a CI matrix of N jobs, I = 1..N); shard 1 also runs the checks over the whole fleet")
}

func (s *shard) String() string {
	if s.n == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.i, s.n)
}

func (s *shard) Type() string { return "I/N" }

func (s *shard) Set(v string) error {
	a, b, ok := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return fmt.Errorf("want I/N with 1 <= I <= N, like 2/4")
	}
	s.i, s.n = i, n
	return nil
}

// on reports whether the run is sharded.
func (s *shard) on() bool { return s.n > 0 }

// fleet reports whether this shard runs the checks over the whole fleet.
func (s *shard) fleet() bool { return !s.on() || s.i == 1 }

// has reports whether app team/name belongs to this shard.
func (s *shard) has(team, name string) bool {
	if !s.on() {
		return true
	}
	return shardOf(team, name, s.n) == s.i
}

// shardOf is the shard (1..n) of app team/name.
func shardOf(team, name string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(team + "/" + name))
	return int(h.Sum32()%uint32(n)) + 1
}

// part is the policy.Part of this shard, nil when not sharded.
func (s *shard) part() *policy.Part {
	if !s.on() {
		return nil
	}
	return &policy.Part{
		Unit: func(u render.Unit) bool {
			if u.Kind == render.UnitApp {
				name := path.Base(u.Dir)
				if u.App != nil {
					name = u.App.Base.Name
				}
				return s.has(u.Team, name)
			}
			return s.fleet() // tenants
		},
		Fleet: s.fleet(),
		App:   s.has,
	}
}

// apps are the apps of this shard.
func (s *shard) apps(apps []*schema.App) []*schema.App {
	var out []*schema.App
	for _, a := range apps {
		if s.has(a.Base.Team, a.Base.Name) {
			out = append(out, a)
		}
	}
	return out
}

// only returns l with the given apps, every one selected.
func (l *loaded) only(apps []*schema.App) *loaded {
	out := *l
	out.apps, out.selected = apps, apps
	return &out
}
