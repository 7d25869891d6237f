// Package policy will lint rendered trees with Rego policies through
// conftest (issue #3): policies compiled once, evaluated in-process over the
// objects render.BuildAll produces, findings sorted and mapped back to the
// app.cue line. It holds no code yet; the directory exists because the
// top-level layout is fixed by the design card.
package policy
