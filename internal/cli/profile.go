package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// startProfiles starts the CPU profile of --cpuprofile. Profiles are for
// diagnosing slow runs (as `go test -cpuprofile`); they are hidden flags.
func (e *env) startProfiles() error {
	if e.cpuProfile == "" {
		return nil
	}
	f, err := os.Create(e.profilePath(e.cpuProfile))
	if err != nil {
		return invalid("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return invalid("--cpuprofile: %w", err)
	}
	e.cpuFile = f
	return nil
}

// stopProfiles ends the CPU profile and writes the heap profile of
// --memprofile.
func (e *env) stopProfiles() error {
	var errs []error
	if e.cpuFile != nil {
		pprof.StopCPUProfile()
		errs = append(errs, e.cpuFile.Close())
		e.cpuFile = nil
	}
	if e.memProfile != "" {
		f, err := os.Create(e.profilePath(e.memProfile))
		if err != nil {
			return invalid("--memprofile: %w", err)
		}
		runtime.GC()
		errs = append(errs, pprof.Lookup("allocs").WriteTo(f, 0), f.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	return nil
}

func (e *env) profilePath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(e.cwd, p)
}
