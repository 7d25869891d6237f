// Package policy lints a rendered fleet with Rego policies, as conftest
// does, and reports findings placed back in the app specs.
//
// Entry points: Load compiles the built-in bundle (Rego files under
// bundle/, embedded) together with the platform directory's policies/ and
// data/ using conftest's loader (Rego v1, strict, hermetic capabilities)
// and prepares one query per policy namespace. Engine.Lint evaluates them
// over a render.Tree built by render.BuildAll: namespaces are evaluated
// per object, per kustomization directory (packages named *.fleet), once
// over every object (packages named *.all) or once over the cost estimate
// (packages named *.budget). Findings are sorted,
// mapped to the app.cue field that produced them, and waived by the apps'
// exceptions. Write renders a Report as text, json, sarif, github or junit.
package policy
