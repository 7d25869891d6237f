// Package blueprints embeds the CUE templates that map a validated app and a
// cluster to Kubernetes objects (web, worker, cron and the per-team tenant),
// and the starters `paved init` scaffolds from.
package blueprints

import "embed"

// Files holds the blueprint CUE files (package paved).
//
//go:embed *.cue
var Files embed.FS

// Starters holds the `paved init` templates, one directory per kind.
//
//go:embed all:starters
var Starters embed.FS
