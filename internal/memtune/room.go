package memtune

import (
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Room is the memory this process may use, in bytes: the machine's memory
// or its cgroup's limit, whichever is smaller. It is read from /proc and
// /sys/fs/cgroup: 0 (unknown) off Linux.
func Room() int64 { return roomIn(os.DirFS("/")) }

// roomIn reads Room from a file system rooted at /.
func roomIn(fsys fs.FS) int64 {
	total := memTotal(fsys)
	if l := cgroupLimit(fsys); l > 0 && (total == 0 || l < total) {
		return l
	}
	return total
}

// memTotal is MemTotal of /proc/meminfo.
func memTotal(fsys fs.FS) int64 {
	data, err := fs.ReadFile(fsys, "proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "MemTotal:" && f[2] == "kB" {
			if n, err := strconv.ParseInt(f[1], 10, 64); err == nil && n > 0 && n < 1<<50 {
				return n << 10
			}
		}
	}
	return 0
}

// cgroupLimit is the memory limit of the process's cgroup (v2 memory.max,
// v1 memory.limit_in_bytes), 0 if none is set.
func cgroupLimit(fsys fs.FS) int64 {
	data, err := fs.ReadFile(fsys, "proc/self/cgroup")
	if err != nil {
		return 0
	}
	var files []string
	for line := range strings.Lines(string(data)) {
		// hierarchy-ID:controllers:path
		id, rest, ok := strings.Cut(strings.TrimSuffix(line, "\n"), ":")
		if !ok {
			continue
		}
		controllers, p, ok := strings.Cut(rest, ":")
		if !ok || !strings.HasPrefix(p, "/") {
			continue
		}
		switch {
		case id == "0" && controllers == "":
			files = append(files, path.Join("sys/fs/cgroup", p, "memory.max"), "sys/fs/cgroup/memory.max")
		case slices.Contains(strings.Split(controllers, ","), "memory"):
			files = append(files, path.Join("sys/fs/cgroup/memory", p, "memory.limit_in_bytes"), "sys/fs/cgroup/memory/memory.limit_in_bytes")
		}
	}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(data))
		if s == "max" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n >= 1<<62 { // v1 writes "no limit" as about 2^63
			return 0
		}
		return n
	}
	return 0
}
