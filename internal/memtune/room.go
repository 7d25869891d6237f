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
// v1 memory.limit_in_bytes), 0 if none is set. A cgroup's limit bounds
// every cgroup below it, so the limit is the smallest one set on the
// process's cgroup or any of its ancestors: a CI job's container often
// leaves its own cgroup unlimited ("max") inside a limited parent. Where
// the process's cgroup is not under the mount (a cgroup namespace shows
// it as the root), the mount's root is one of the ancestors read.
func cgroupLimit(fsys fs.FS) int64 {
	data, err := fs.ReadFile(fsys, "proc/self/cgroup")
	if err != nil {
		return 0
	}
	var limit int64
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
			limit = smaller(limit, hierarchyLimit(fsys, "sys/fs/cgroup", p, "memory.max"))
		case slices.Contains(strings.Split(controllers, ","), "memory"):
			limit = smaller(limit, hierarchyLimit(fsys, "sys/fs/cgroup/memory", p, "memory.limit_in_bytes"))
		}
	}
	return limit
}

// hierarchyLimit is the smallest limit in the file name of the cgroup p,
// under the mount root, and of each of its ancestors; 0 if none is set.
func hierarchyLimit(fsys fs.FS, root, p, name string) int64 {
	var limit int64
	for p = path.Clean(p); ; p = path.Dir(p) {
		limit = smaller(limit, readLimit(fsys, path.Join(root, p, name)))
		if p == "/" {
			return limit
		}
	}
}

// readLimit reads one limit file: 0 when it is missing, unreadable or says
// there is no limit ("max" in v2, about 2^63 in v1).
func readLimit(fsys fs.FS, f string) int64 {
	data, err := fs.ReadFile(fsys, f)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0
	}
	return n
}

// smaller is the smaller of two limits, 0 meaning none.
func smaller(a, b int64) int64 {
	if a == 0 || (b > 0 && b < a) {
		return b
	}
	return a
}
