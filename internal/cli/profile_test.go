package cli

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// The hidden --cpuprofile and --memprofile flags write pprof profiles
// (gzip-compressed protobuf) of the run, relative paths against the
// working directory; an unwritable profile path is invalid input.
func TestProfiles(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	examples := filepath.Join(filepath.Dir(file), "..", "..", "examples")
	dir := t.TempDir()
	t.Setenv("PAVED_CACHE_DIR", "off")
	var stderr bytes.Buffer
	code := Run([]string{"vet", "-q", "--cpuprofile", "cpu.pprof", "--memprofile", "mem.pprof", examples},
		&env{stdout: io.Discard, stderr: &stderr, cwd: dir})
	if code != ExitOK {
		t.Fatalf("vet: exit %d\n%s", code, stderr.String())
	}
	for _, name := range []string{"cpu.pprof", "mem.pprof"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s is not a pprof profile: %v", name, err)
		}
		b, err := io.ReadAll(zr)
		f.Close()
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: empty or corrupt profile (%d bytes, %v)", name, len(b), err)
		}
	}
	stderr.Reset()
	code = Run([]string{"vet", "-q", "--cpuprofile", filepath.Join(dir, "no", "such", "dir", "cpu.pprof"), examples},
		&env{stdout: io.Discard, stderr: &stderr, cwd: dir})
	if code != ExitInvalid || !bytes.Contains(stderr.Bytes(), []byte("--cpuprofile")) {
		t.Fatalf("unwritable --cpuprofile: exit %d, want %d naming the flag\n%s", code, ExitInvalid, stderr.String())
	}
}
