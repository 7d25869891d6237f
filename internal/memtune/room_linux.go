package memtune

import (
	"io/fs"
	"os"
)

func rootFS() fs.FS { return os.DirFS("/") }
