package lsp

import (
	"bytes"
	"net/url"
	"path/filepath"
	"slices"
	"unicode/utf16"
	"unicode/utf8"

	"cuelang.org/go/cue/scanner"
	"cuelang.org/go/cue/token"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// Positions: CUE (and so paved vet) counts lines from 1 and columns in
// bytes from 1; LSP counts both from 0 and columns in UTF-16 code units
// (the protocol's default encoding, the only one protocol 3.16 has). Every
// conversion goes through the text the position refers to.

// lineStart returns the byte offset where line (0-based) starts in text,
// clamped to the text.
func lineStart(text []byte, line int) int {
	off := 0
	for ; line > 0; line-- {
		i := bytes.IndexByte(text[off:], '\n')
		if i < 0 {
			return len(text)
		}
		off += i + 1
	}
	return off
}

// lspPosition converts a byte offset in text to an LSP position.
func lspPosition(text []byte, off int) protocol.Position {
	off = max(0, min(off, len(text)))
	line := bytes.Count(text[:off], []byte{'\n'})
	start := bytes.LastIndexByte(text[:off], '\n') + 1
	return protocol.Position{Line: uint32(line), Character: uint32(utf16Len(text[start:off]))}
}

// offsetOf converts an LSP position to a byte offset in text, clamped to
// the end of its line (a position past the end of a line means its end).
func offsetOf(text []byte, p protocol.Position) int {
	off := lineStart(text, int(p.Line))
	end := bytes.IndexByte(text[off:], '\n')
	if end < 0 {
		end = len(text)
	} else {
		end += off
	}
	for n := uint32(0); off < end && n < p.Character; {
		r, size := utf8.DecodeRune(text[off:])
		n += uint32(utf16.RuneLen(r))
		if r == utf8.RuneError && size <= 1 {
			n = uint32(len(text)) // stop: not UTF-8 (discover refuses such files)
		}
		off += size
	}
	return off
}

// byteOffset converts a CUE line and byte column (1-based) to an offset.
func byteOffset(text []byte, line, col int) int {
	if line < 1 {
		return 0
	}
	return min(lineStart(text, line-1)+max(col-1, 0), len(text))
}

func utf16Len(b []byte) int {
	n := 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			n++
		} else {
			n += utf16.RuneLen(r)
		}
		b = b[size:]
	}
	return n
}

// tokenEnd is the end of the CUE token that starts at or spans off, or
// off when none does: the range of a diagnostic is the token its position
// names (a label, a value).
func tokenEnd(text []byte, off int) int {
	end := off
	scan(text, func(t tok) bool {
		if t.start > off {
			return false
		}
		if t.start == off || t.end > off {
			if t.tok != token.COMMA || t.lit != "\n" {
				end = t.end
			}
			return false
		}
		return true
	})
	return end
}

// tok is one CUE token and where it lies in the text.
type tok struct {
	start, end int
	tok        token.Token
	lit        string
}

// scan calls f for each token of text until f returns false. Errors are
// not reported: a buffer being typed is rarely valid CUE.
func scan(text []byte, f func(tok) bool) {
	var s scanner.Scanner
	file := token.NewFile("", -1, len(text))
	s.Init(file, text, func(token.Pos, string, []any) {}, 0)
	for {
		pos, t, lit := s.Scan()
		if t == token.EOF {
			return
		}
		start := pos.Offset()
		n := len(lit)
		if n == 0 {
			n = len(t.String())
		}
		if !f(tok{start: start, end: min(start+n, len(text)), tok: t, lit: lit}) {
			return
		}
	}
}

// lspRange is the range of the token at CUE position line:col in text
// (a whole-file position, line 0, is the file's start).
func lspRange(text []byte, line, col int) protocol.Range {
	if line < 1 {
		return protocol.Range{}
	}
	// The start keeps CUE's line even past the line's end (an EOF error
	// after the last newline is on the last line, as vet prints it).
	ls := lineStart(text, line-1)
	off := min(ls+max(col-1, 0), len(text))
	start := protocol.Position{Line: uint32(line - 1), Character: uint32(utf16Len(text[ls:off]))}
	end := tokenEnd(text, off)
	if end == off {
		return protocol.Range{Start: start, End: start}
	}
	return protocol.Range{Start: start, End: lspPosition(text, end)}
}

// fileURI is the file: URI of an absolute path.
func fileURI(path string) protocol.DocumentURI { return uri.File(path) }

// uriPath is the absolute, cleaned path a file: URI names; ok is false
// for any other URI (an untitled buffer, a remote file).
func uriPath(u protocol.DocumentURI) (string, bool) {
	p, err := url.Parse(string(u))
	if err != nil || p.Scheme != "file" || p.Path == "" {
		return "", false
	}
	path := filepath.FromSlash(p.Path)
	if !filepath.IsAbs(path) {
		return "", false
	}
	return filepath.Clean(path), true
}

// lineEdit is the smallest edit, by whole lines, that turns old into new:
// what formatting returns, so that an editor keeps its cursor and marks
// on the lines the formatter left alone.
func lineEdit(old, new []byte) (protocol.TextEdit, bool) {
	if bytes.Equal(old, new) {
		return protocol.TextEdit{}, false
	}
	ol, nl := bytes.SplitAfter(old, []byte("\n")), bytes.SplitAfter(new, []byte("\n"))
	p := 0
	for p < len(ol) && p < len(nl) && bytes.Equal(ol[p], nl[p]) {
		p++
	}
	s := 0
	for s < len(ol)-p && s < len(nl)-p && bytes.Equal(ol[len(ol)-1-s], nl[len(nl)-1-s]) {
		s++
	}
	start := 0
	for _, l := range ol[:p] {
		start += len(l)
	}
	end := len(old)
	for _, l := range ol[len(ol)-s:] {
		end -= len(l)
	}
	return protocol.TextEdit{
		Range:   protocol.Range{Start: lspPosition(old, start), End: lspPosition(old, end)},
		NewText: string(bytes.Join(nl[p:len(nl)-s], nil)),
	}, true
}

// applyEdits applies non-overlapping edits to text (to check that a fix
// leaves a file that parses, and in tests).
func applyEdits(text []byte, edits []protocol.TextEdit) []byte {
	type span struct {
		start, end int
		text       string
	}
	var spans []span
	for _, e := range edits {
		spans = append(spans, span{offsetOf(text, e.Range.Start), offsetOf(text, e.Range.End), e.NewText})
	}
	slices.SortStableFunc(spans, func(a, b span) int { return a.start - b.start })
	out := bytes.Clone(text)
	// From the end, so that earlier offsets stay valid.
	for i := len(spans) - 1; i >= 0; i-- {
		sp := spans[i]
		out = append(out[:sp.start:sp.start], append([]byte(sp.text), out[sp.end:]...)...)
	}
	return out
}
