//go:build !linux

package memtune

import "io/fs"

// rootFS is nil off Linux: Room is unknown there (Start assumes
// defaultRoom).
func rootFS() fs.FS { return nil }
