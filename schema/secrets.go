package schema

import (
	"fmt"
	"regexp"

	"cuelang.org/go/cue"

	"github.com/paved-dev/paved/internal/diag"
)

// secretValue matches values in a known token format: a handful of
// gitleaks' rules (GitHub, GitLab, AWS access key ID, Slack, Stripe, a PEM
// private key, a JWT).
var secretValue = regexp.MustCompile(`` +
	`gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|` +
	`glpat-[A-Za-z0-9_-]{20,}|` +
	`\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b|` +
	`xox[baprs]-[A-Za-z0-9-]{10,}|` +
	`\b[sr]k_live_[A-Za-z0-9]{16,}|` +
	`-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|` +
	`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`)

// secretName matches variable names that name a secret: one of these
// words as a part of the name, parts separated by _ - or . (DB_PASSWORD,
// stripe-api-key, APIKEY), in any case; a name ending in _FILE or _PATH
// points to a mounted file, not a value (fileName). The same rule as the
// built-in policy deny_secret_in_env (policy/bundle/k8s/env.rego), which
// catches what patches add; this one stops the spec at vet.
var (
	secretName = regexp.MustCompile(`(?i)(^|[_.-])(passwd|password|secrets?|tokens?|api[_.-]?key|private[_.-]?key|credentials?)($|[_.-])`)
	fileName   = regexp.MustCompile(`(?i)[_.-](file|path)$`)
)

// literalSecrets reports every env entry of the app's own value (base and
// per environment) that holds a secret value: one in a known token format,
// or a non-empty value under a name that names a secret. The message never
// repeats the value.
func literalSecrets(raw cue.Value) diag.List {
	var out diag.List
	check := func(prefix string, env cue.Value) {
		it, err := env.Fields()
		if err != nil {
			return
		}
		for it.Next() {
			v, err := it.Value().String()
			if err != nil || v == "" {
				continue
			}
			name := it.Selector().Unquoted()
			var why string
			switch {
			case secretValue.MatchString(v):
				why = "holds a literal secret (a known token or key format)"
			case secretName.MatchString(name) && !fileName.MatchString(name):
				why = fmt.Sprintf("%s names a secret and holds a literal value", name)
			default:
				continue
			}
			out = append(out, diag.Diagnostic{
				Path:      prefix + "env." + it.Selector().String(),
				Message:   why + ": secret values never belong in a spec; put it in the secret store and reference it under secrets: {" + name + `: "team/app#key"}`,
				Positions: []diag.Position{position(it.Value().Pos())},
			})
		}
	}
	check("", raw.LookupPath(cue.ParsePath("env")))
	if envs, err := raw.LookupPath(cue.ParsePath("environments")).Fields(); err == nil {
		for envs.Next() {
			check("environments."+envs.Selector().String()+".", envs.Value().LookupPath(cue.ParsePath("env")))
		}
	}
	return out
}
