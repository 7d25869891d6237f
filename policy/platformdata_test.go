package policy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/encoding/jsonschema"

	"github.com/paved-dev/paved/schema"
)

const platformSchemaFile = "platform-data.schema.json"

// TestPlatformDataSchema: platform-data.schema.json documents
// data.paved.platform. It is generated from #Platform (every field, its doc
// comment, whether it is always there) plus what paved adds; PAVED_UPDATE=1
// rewrites it. The data the engine writes for the example platform, and
// for a platform directory of its own, match it.
func TestPlatformDataSchema(t *testing.T) {
	p, err := schema.LoadPlatform("")
	if err != nil {
		t.Fatal(err)
	}
	gen := docSchema(p.Value().LookupPath(cue.ParsePath("#Platform")))
	gen["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	gen["$id"] = "https://paved.dev/schemas/platform-data/v1alpha1.json"
	gen["title"] = "data.paved.platform: the resolved platform, as Rego policies see it"
	gen["description"] = "The platform in force (the platform directory's, or the embedded example), every default applied, as JSON: " +
		"#Platform in schema/platform.cue, plus secretStore.platformKeys. Generated from #Platform; do not edit (PAVED_UPDATE=1 go test ./policy -run TestPlatformDataSchema)."
	store := gen["properties"].(map[string]any)["secretStore"].(map[string]any)
	store["properties"].(map[string]any)["platformKeys"] = map[string]any{
		"type":        "array",
		"items":       map[string]any{"type": "string"},
		"description": "platformKeys are the secret store keys the platform's own objects read (the database backups' credentials): no team's part of the store, and allowed to every team's ExternalSecrets. Added by paved.",
	}
	store["required"] = append(store["required"].([]string), "platformKeys")
	slices.Sort(store["required"].([]string))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(gen); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("PAVED_UPDATE") != "" {
		if err := os.WriteFile(platformSchemaFile, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(platformSchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, buf.Bytes()) {
		t.Fatalf("policy/%s is stale: run PAVED_UPDATE=1 go test ./policy -run TestPlatformDataSchema and review the diff", platformSchemaFile)
	}

	ctx := cuecontext.New()
	f, err := jsonschema.Extract(ctx.CompileBytes(have, cue.Filename(platformSchemaFile)), &jsonschema.Config{Strict: true})
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	sv := ctx.BuildFile(f)
	if err := sv.Err(); err != nil {
		t.Fatal(err)
	}
	own := t.TempDir()
	if err := os.WriteFile(filepath.Join(own, "platform.cue"), []byte(ownPlatform), 0o644); err != nil {
		t.Fatal(err)
	}
	po, err := schema.LoadPlatform(own)
	if err != nil {
		t.Fatal(err)
	}
	for _, pl := range []*schema.Platform{p, po} {
		d, err := platformData(pl)
		if err != nil {
			t.Fatal(err)
		}
		js, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := sv.Unify(ctx.CompileBytes(js)).Validate(cue.Concrete(true)); err != nil {
			t.Errorf("data.paved.platform of %q does not match the schema: %v", pl.Dir, err)
		}
		for _, k := range []string{"environments", "teams", "sizes", "prices", "registries", "flux", "policy", "dashboards"} {
			if _, ok := d[k]; !ok {
				t.Errorf("data.paved.platform of %q lacks %s", pl.Dir, k)
			}
		}
	}
	// The schema rejects what it must.
	if sv.Unify(ctx.CompileString(`{"environments": {"dev": {"clusters": {"a": {"domain": 1}}}}}`)).Validate() == nil {
		t.Error("the schema accepts a numeric cluster domain")
	}
}

// ownPlatform replaces the example: no team, cluster or registry of acme.
const ownPlatform = `package paved

platform: {
	environments: prod: {
		tracingSampleRatio: 0.2
		rollout: {interval: "1m", threshold: 5, stepWeight: 10, maxWeight: 50, iterations: 10, requestSuccessRateMin: 99, requestDurationMaxMs: 500}
		databases: {instances: 2, backups: false}
		clusters: "lon-1": {region: "eu-west-2", otlpEndpoint: "http://otel.observability.svc:4317", ingressClass: "nginx", domain: "example.org", certIssuer: "letsencrypt"}
	}
	sizes: m: {cpuMillicores: 200, memoryMiB: 256}
	defaultSize: "m"
	prices: {cpuCoreMonth: 20, memoryGiBMonth: 3, storageGiBMonth: 0.1}
	teams: web: {owners: ["web@example.org"], sources: ["*"], monthlyBudgetUSD: 1000, costCenter: "cc-1"}
	registries: ["registry.example.org/"]
}
`

// docSchema is a JSON Schema of the values v admits, for the reader: each
// field's type, doc comment and whether it is always there, maps (pattern
// constraints) by their values' schema, closed structs closed. It leaves
// out the value constraints #Platform states (bounds, patterns): those are
// the platform's to check, and are checked when it loads.
func docSchema(v cue.Value) map[string]any {
	s := map[string]any{}
	if d := docOf(v); d != "" {
		s["description"] = d
	}
	k := v.IncompleteKind() &^ cue.NullKind
	switch k {
	case cue.StructKind:
		s["type"] = "object"
		props := map[string]any{}
		required := []string{}
		it, err := v.Fields(cue.Optional(true))
		if err == nil {
			for it.Next() {
				name := it.Selector().Unquoted()
				props[name] = docSchema(it.Value())
				if !it.IsOptional() {
					required = append(required, name)
				}
			}
		}
		if len(props) > 0 {
			s["properties"] = props
			s["required"] = required
		}
		if pv, ok := elemOf(v); ok {
			s["additionalProperties"] = docSchema(pv)
		} else if v.IsClosed() || len(props) > 0 {
			s["additionalProperties"] = false
		}
	case cue.ListKind:
		s["type"] = "array"
		if ev := v.LookupPath(cue.MakePath(cue.AnyIndex)); ev.Exists() {
			s["items"] = docSchema(ev)
		}
	default:
		var types []string
		for _, kt := range []struct {
			k cue.Kind
			n string
		}{{cue.BoolKind, "boolean"}, {cue.IntKind, "integer"}, {cue.FloatKind, "number"}, {cue.StringKind, "string"}} {
			if k&kt.k != 0 {
				types = append(types, kt.n)
			}
		}
		if slices.Contains(types, "integer") && slices.Contains(types, "number") {
			types = slices.DeleteFunc(types, func(t string) bool { return t == "integer" })
		}
		switch len(types) {
		case 0:
		case 1:
			s["type"] = types[0]
		default:
			s["type"] = types
		}
		if vals := enumOf(v); len(vals) > 0 {
			s["enum"] = vals
		}
	}
	return s
}

// elemOf is the value of the fields a map (a struct with a pattern
// constraint) admits: [string], or a pattern a name such as "a" or "1"
// matches ([#DNSLabel], [=~"^[0-9]+$"]).
func elemOf(v cue.Value) (cue.Value, bool) {
	for _, sel := range []cue.Selector{cue.AnyString, cue.Str("a").Optional(), cue.Str("1").Optional()} {
		if ev := v.LookupPath(cue.MakePath(sel)); ev.Exists() {
			return ev, true
		}
	}
	return cue.Value{}, false
}

// enumOf lists the values of a disjunction of string literals ("a" | "b").
func enumOf(v cue.Value) []string {
	op, args := v.Expr()
	if op != cue.OrOp {
		if s, err := v.String(); err == nil && v.IsConcrete() {
			return []string{s}
		}
		return nil
	}
	var out []string
	for _, a := range args {
		s, err := a.String()
		if err != nil || !a.IsConcrete() {
			return nil
		}
		out = append(out, s)
	}
	return out
}

// docOf is the doc comment of the field v is the value of (its first
// comment group: the field's own before the definition's), as one line
// per sentence the way it was written.
func docOf(v cue.Value) string {
	for _, g := range v.Doc() {
		if t := strings.TrimSpace(g.Text()); t != "" {
			return t
		}
	}
	return ""
}
