// Package discover finds app directories below the paths a command is given
// and reads their CUE files safely: no symlink out of the tree, no huge or
// binary file, every problem reported with its position.
package discover

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/paved-dev/paved/internal/diag"
	"github.com/paved-dev/paved/internal/workpool"
)

// MaxFileSize is the largest CUE file paved reads.
const MaxFileSize = 1 << 20

// AppFile is the name whose presence makes a directory an app directory.
const AppFile = "app.cue"

// PlatformDirName is the directory found by walking up from an app when no
// --platform is given.
const PlatformDirName = "paved.platform"

// skipDirs are never walked into.
var skipDirs = map[string]bool{".git": true, "vendor": true, "node_modules": true, "cue.mod": true, PlatformDirName: true}

// File is one CUE file of an app, read in full.
type File struct {
	Path string // absolute
	Data []byte
}

// App is one app directory and its CUE files, sorted by name.
type App struct {
	Dir   string // absolute
	Files []File
}

// Apps walks roots (files or directories) and returns the app directories
// below them, sorted by path. Problems (missing paths, symlinks leaving a
// root, huge or binary files) are returned as diagnostics; apps with a
// problem in one of their files are left out of the result.
func Apps(roots []string) ([]App, diag.List) {
	var diags diag.List
	seen := map[string]bool{}
	var dirs []string
	for _, root := range roots {
		abs, err := filepath.Abs(root)
		if err != nil {
			diags.Add("", err.Error())
			continue
		}
		fi, err := os.Stat(abs)
		if err != nil {
			diags.Add("", fmt.Sprintf("cannot read: %v", unwrapPathError(err)), diag.Position{Filename: abs})
			continue
		}
		if !fi.IsDir() {
			d := filepath.Dir(abs)
			if filepath.Base(abs) != AppFile && filepath.Ext(abs) != ".cue" {
				diags.Add("", fmt.Sprintf("%s is not a CUE file or a directory", root), diag.Position{Filename: abs})
				continue
			}
			if !seen[d] {
				seen[d] = true
				dirs = append(dirs, d)
			}
			continue
		}
		realRoot, err := filepath.EvalSymlinks(abs)
		if err != nil {
			diags.Add("", err.Error(), diag.Position{Filename: abs})
			continue
		}
		// The walk runs below the root's real directory, so that a root
		// reached through a symbolic link (a symlinked checkout, or a
		// working directory inside one) is walked; paths keep the form
		// the root was given in. Links below the root are still never
		// followed.
		err = filepath.WalkDir(realRoot, func(rp string, d fs.DirEntry, err error) error {
			p := abs
			if rel, rerr := filepath.Rel(realRoot, rp); rerr == nil && rel != "." {
				p = filepath.Join(abs, rel)
			}
			if err != nil {
				diags.Add("", fmt.Sprintf("cannot read: %v", unwrapPathError(err)), diag.Position{Filename: p})
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				if msg := checkLink(realRoot, rp); msg != "" {
					diags.Add("", msg, diag.Position{Filename: p})
				}
				return nil
			}
			if d.IsDir() {
				if rp != realRoot && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Name() == AppFile && !seen[filepath.Dir(p)] {
				seen[filepath.Dir(p)] = true
				dirs = append(dirs, filepath.Dir(p))
			}
			return nil
		})
		if err != nil {
			diags.Add("", err.Error(), diag.Position{Filename: abs})
		}
	}
	// Symlinks are never followed: a linked app.cue or directory does not
	// make an app (a link leaving the tree is reported above).
	slices.Sort(dirs)
	// Reading is I/O bound: a few readers per core, results in order.
	read := make([]App, len(dirs))
	readDiags := make([]diag.List, len(dirs))
	workpool.Run(len(dirs), 4*runtime.GOMAXPROCS(0), func(_, i int) {
		read[i], readDiags[i] = ReadApp(dirs[i])
	})
	var apps []App
	for i := range dirs {
		diags = append(diags, readDiags[i]...)
		if len(readDiags[i]) == 0 && len(read[i].Files) > 0 {
			apps = append(apps, read[i])
		}
	}
	return apps, diags
}

// checkLink reports a symlink whose target leaves root (or cannot be
// resolved); links inside the tree are not followed.
func checkLink(realRoot, p string) string {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return fmt.Sprintf("broken symbolic link: %v", unwrapPathError(err))
	}
	if !Within(realRoot, target) {
		link, _ := os.Readlink(p)
		return fmt.Sprintf("symbolic link leaves the tree (points to %s)", link)
	}
	return ""
}

// Within reports whether path p lies in root (or is root); an empty root
// contains nothing.
func Within(root, p string) bool {
	if root == "" {
		return false
	}
	r, err := filepath.Rel(root, p)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r)
}

// ReadApp reads the .cue files directly in dir (an app directory), with
// the checks Apps makes.
func ReadApp(dir string) (App, diag.List) {
	var diags diag.List
	app := App{Dir: dir}
	entries, err := os.ReadDir(dir)
	if err != nil {
		diags.Add("", fmt.Sprintf("cannot read app directory: %v", unwrapPathError(err)), diag.Position{Filename: dir})
		return app, diags
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		diags.Add("", err.Error(), diag.Position{Filename: dir})
		return app, diags
	}
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".cue" || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if e.Type()&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(p)
			if err != nil {
				diags.Add("", fmt.Sprintf("broken symbolic link: %v", unwrapPathError(err)), diag.Position{Filename: p})
				continue
			}
			if !Within(realDir, target) {
				link, _ := os.Readlink(p)
				diags.Add("", fmt.Sprintf("symbolic link leaves the app directory (points to %s)", link), diag.Position{Filename: p})
				continue
			}
		}
		data, d := ReadFile(p)
		if d != nil {
			diags = append(diags, *d)
			continue
		}
		app.Files = append(app.Files, File{Path: p, Data: data})
	}
	return app, diags
}

// ReadFile reads a CUE source file, refusing non-regular files, files over
// MaxFileSize and binary content (NUL bytes or invalid UTF-8).
func ReadFile(p string) ([]byte, *diag.Diagnostic) {
	bad := func(msg string, pos diag.Position) ([]byte, *diag.Diagnostic) {
		if pos.Filename == "" {
			pos.Filename = p
		}
		return nil, &diag.Diagnostic{Message: msg, Positions: []diag.Position{pos}}
	}
	fi, err := os.Stat(p)
	if err != nil {
		return bad(fmt.Sprintf("cannot read: %v", unwrapPathError(err)), diag.Position{})
	}
	if !fi.Mode().IsRegular() {
		return bad("not a regular file", diag.Position{})
	}
	if fi.Size() > MaxFileSize {
		return bad(fmt.Sprintf("file too large: %d bytes (the limit is %d)", fi.Size(), MaxFileSize), diag.Position{})
	}
	f, err := os.Open(p)
	if err != nil {
		return bad(fmt.Sprintf("cannot read: %v", unwrapPathError(err)), diag.Position{})
	}
	defer f.Close()
	var buf bytes.Buffer
	// Read at most one byte over the limit: the file may grow after Stat.
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxFileSize+1)); err != nil {
		return bad(fmt.Sprintf("cannot read: %v", unwrapPathError(err)), diag.Position{})
	}
	data := buf.Bytes()
	if len(data) > MaxFileSize {
		return bad(fmt.Sprintf("file too large: more than %d bytes", MaxFileSize), diag.Position{})
	}
	if d := CheckContent(p, data); d != nil {
		return nil, d
	}
	return data, nil
}

// CheckContent refuses what ReadFile refuses in the content of file p
// (read elsewhere, such as an editor's buffer): more than MaxFileSize
// bytes, or binary content.
func CheckContent(p string, data []byte) *diag.Diagnostic {
	if len(data) > MaxFileSize {
		return &diag.Diagnostic{Message: fmt.Sprintf("file too large: %d bytes (the limit is %d)", len(data), MaxFileSize), Positions: []diag.Position{{Filename: p}}}
	}
	if off := binaryOffset(data); off >= 0 {
		line, col := lineCol(data, off)
		return &diag.Diagnostic{Message: "binary content: not a CUE text file (NUL byte or invalid UTF-8)", Positions: []diag.Position{{Filename: p, Line: line, Column: col}}}
	}
	return nil
}

// binaryOffset returns the offset of the first NUL byte or invalid UTF-8
// sequence, or -1.
func binaryOffset(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] == 0 {
			return i
		}
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

func lineCol(b []byte, off int) (int, int) {
	line := 1 + bytes.Count(b[:off], []byte{'\n'})
	start := bytes.LastIndexByte(b[:off], '\n') + 1
	return line, utf8.RuneCount(b[start:off]) + 1
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// FindPlatform walks up from dir looking for a paved.platform directory and
// returns it, or "" when there is none.
func FindPlatform(dir string) string {
	for {
		p := filepath.Join(dir, PlatformDirName)
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
