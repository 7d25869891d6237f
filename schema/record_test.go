package schema_test

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/paved-dev/paved/internal/discover"
	"github.com/paved-dev/paved/internal/synth"
	"github.com/paved-dev/paved/schema"
)

// TestRecordRestore: an app restored from its cache record equals the
// validated app (specs, effective JSON, files) and still answers
// positions in its own files, compiled on demand.
func TestRecordRestore(t *testing.T) {
	found, diags := discover.Apps([]string{"../examples"})
	if len(diags) > 0 || len(found) == 0 {
		t.Fatalf("examples: %v", diags)
	}
	p, err := schema.LoadPlatform("")
	if err != nil {
		t.Fatal(err)
	}
	fork, err := p.Fork()
	if err != nil {
		t.Fatal(err)
	}
	if fork.Digest() != p.Digest() || !reflect.DeepEqual(fork.Data, p.Data) {
		t.Fatal("a fork differs from its platform")
	}
	for _, da := range found {
		app, ds := p.LoadApp(da)
		if len(ds) > 0 {
			t.Fatal(ds)
		}
		rec, err := app.Record()
		if err != nil {
			t.Fatal(err)
		}
		got, err := fork.RestoreApp(da, rec)
		if err != nil {
			t.Fatal(err)
		}
		gotEnvs, err := got.Envs()
		if err != nil {
			t.Fatal(err)
		}
		appEnvs, _ := app.Envs()
		if !reflect.DeepEqual(got.Base, app.Base) || !reflect.DeepEqual(gotEnvs, appEnvs) ||
			!reflect.DeepEqual(got.Effective, app.Effective) || !reflect.DeepEqual(got.Files, app.Files) ||
			!reflect.DeepEqual(got.Data, app.Data) || got.Dir != app.Dir {
			t.Fatalf("%s: restored app differs", da.Dir)
		}
		for _, field := range []string{"image", "name", "environments.prod.size"} {
			want, okWant := app.FieldPos(field)
			have, okHave := got.FieldPos(field)
			if okWant != okHave || want != have {
				t.Errorf("%s %s: position %v %v after restore, want %v %v", filepath.Base(da.Dir), field, have, okHave, want, okWant)
			}
		}
	}
	// A record of the wrong shape is refused.
	if _, err := p.RestoreApp(found[0], []byte(`{"files":[],"envs":{}}`)); err == nil {
		t.Fatal("an empty record was restored")
	}
}

// BenchmarkRestoreApp restores the 100 apps of a synthetic fleet from
// their cache records, as a warm run restores every unchanged app.
func BenchmarkRestoreApp(b *testing.B) {
	root := b.TempDir()
	if _, err := synth.Generate(root, synth.Options{Apps: 100, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	p, err := schema.LoadPlatform(filepath.Join(root, "paved.platform"))
	if err != nil {
		b.Fatal(err)
	}
	found, diags := discover.Apps([]string{root})
	if len(diags) > 0 {
		b.Fatal(diags)
	}
	recs := make([][]byte, len(found))
	for i, da := range found {
		app, ds := p.LoadApp(da)
		if len(ds) > 0 {
			b.Fatal(ds)
		}
		if recs[i], err = app.Record(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i, da := range found {
			if _, err := p.RestoreApp(da, recs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
