package cli

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// guideBlock is a fenced code block of PLATFORM.md.
type guideBlock struct {
	lang, text, section string
	line                int
}

// guideBlocks reads the fenced code blocks of a Markdown file, each with
// the ## section it is in.
func guideBlocks(t *testing.T, name string) (blocks []guideBlock, sections []string) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	var cur *guideBlock
	var body []string
	section := ""
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &guideBlock{lang: strings.TrimPrefix(line, "```"), section: section, line: n}
			body = nil
		case cur != nil && line == "```":
			cur.text = strings.Join(body, "\n")
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			body = append(body, line)
		case strings.HasPrefix(line, "## "):
			section = strings.TrimPrefix(line, "## ")
			sections = append(sections, section)
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: unterminated code block", name, cur.line)
	}
	return blocks, sections
}

// scriptCommand matches a testscript line that runs paved, and captures
// the paved command line.
var scriptCommand = regexp.MustCompile(`^(?:!\s+)?(?:exec\s+|exits\s+\d+\s+)(paved\s.*)$`)

// TestPlatformGuide: PLATFORM.md says only what its test does. Every CUE,
// Rego and text block of the guide is in a file of
// testdata/script/platform_guide*.txtar verbatim (a file the script copies
// into the platform directory, an app, or output it compares), every paved
// command of a sh block is a command the script runs, and every task (##
// section) has at least one of them.
func TestPlatformGuide(t *testing.T) {
	const guide = "../../PLATFORM.md"
	blocks, sections := guideBlocks(t, guide)
	scripts, err := filepath.Glob("../../testdata/script/platform_guide*.txtar")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no platform_guide scripts: %v", err)
	}
	var files []string
	commands := map[string]bool{}
	for _, s := range scripts {
		a, err := txtar.ParseFile(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range a.Files {
			files = append(files, string(f.Data))
		}
		for _, l := range strings.Split(string(a.Comment), "\n") {
			if m := scriptCommand.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
				commands[strings.Join(strings.Fields(m[1]), " ")] = true
			}
		}
	}
	tried := map[string]int{}
	for _, b := range blocks {
		switch b.lang {
		case "cue", "rego", "text":
			found := false
			for _, f := range files {
				if strings.Contains(f, b.text+"\n") {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s:%d: this %s block is in no file of testdata/script/platform_guide*.txtar: the guide says what no test tries", guide, b.line, b.lang)
				continue
			}
		case "sh":
			n := 0
			for i, l := range strings.Split(b.text, "\n") {
				if j := strings.Index(l, " #"); j >= 0 {
					l = l[:j]
				}
				l = strings.Join(strings.Fields(l), " ")
				if l == "" {
					continue
				}
				if !strings.HasPrefix(l, "paved ") {
					t.Errorf("%s:%d: %q: a guide's sh block holds paved commands only", guide, b.line+1+i, l)
					continue
				}
				if !commands[l] {
					t.Errorf("%s:%d: %q is run by no testdata/script/platform_guide*.txtar", guide, b.line+1+i, l)
					continue
				}
				n++
			}
			if n == 0 {
				continue
			}
		default:
			t.Errorf("%s:%d: code block of language %q: the guide's blocks are cue, rego, text or sh, each tried", guide, b.line, b.lang)
			continue
		}
		tried[b.section]++
	}
	for _, s := range sections {
		if tried[s] == 0 {
			t.Errorf("%s: task %q has no snippet or command a test tries", guide, s)
		}
	}
	if len(sections) < 10 {
		t.Errorf("%s has %d tasks: the guide, or this test's reading of it, is broken", guide, len(sections))
	}
}
