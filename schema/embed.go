package schema

import "embed"

// files holds the embedded platform schema and default platform (package paved).
//
//go:embed *.cue
var files embed.FS

// exampleFiles holds the example platform (package paved): the platform
// when there is no platform directory, and what one may extend.
//
//go:embed example/*.cue
var exampleFiles embed.FS
