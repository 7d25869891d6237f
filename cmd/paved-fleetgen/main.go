// Command paved-fleetgen writes a synthetic app monorepo for benchmarks
// (see internal/synth and BENCH.md):
//
//	paved-fleetgen -apps 1000 -seed 1 -out /tmp/fleet-1000
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/paved-dev/paved/internal/synth"
)

func main() {
	apps := flag.Int("apps", 100, "number of apps")
	seed := flag.Uint64("seed", 1, "random seed (same seed, same repo)")
	out := flag.String("out", "", "directory to write (must not exist)")
	today := flag.String("today", time.Now().UTC().Format(time.DateOnly), "day (YYYY-MM-DD) the generated exceptions are checked on: they end 60 days later")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: paved-fleetgen -apps N [-seed S] [-today YYYY-MM-DD] -out DIR")
		os.Exit(2)
	}
	if _, err := os.Stat(*out); err == nil {
		fmt.Fprintf(os.Stderr, "paved-fleetgen: %s already exists\n", *out)
		os.Exit(2)
	}
	if _, err := synth.Generate(*out, synth.Options{Apps: *apps, Seed: *seed, Today: *today}); err != nil {
		fmt.Fprintln(os.Stderr, "paved-fleetgen:", err)
		os.Exit(1)
	}
}
