package schema

import "embed"

// files holds the embedded platform schema and default platform (package paved).
//
//go:embed *.cue
var files embed.FS
