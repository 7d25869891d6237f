package lsp

import (
	"strconv"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/token"
)

// Where the cursor is, in terms of the spec: the field path it is in and
// whether it is at a label or a value. It is worked out from the tokens
// before the cursor (and the labels of its struct after it), not from a
// parse: a buffer being typed rarely parses.

// elem is one step of a field path: a label or a list index.
type elem struct {
	name  string
	index int
	isIdx bool
}

func (e elem) selector() cue.Selector {
	if e.isIdx {
		return cue.Index(e.index)
	}
	return cue.Str(e.name)
}

func (e elem) String() string {
	if e.isIdx {
		return "[" + strconv.Itoa(e.index) + "]"
	}
	return cue.Str(e.name).String()
}

type path []elem

func (p path) selectors() []cue.Selector {
	out := make([]cue.Selector, len(p))
	for i, e := range p {
		out[i] = e.selector()
	}
	return out
}

// String writes p as paved's messages do: labels joined by dots, indexes
// in brackets.
func (p path) String() string {
	s := ""
	for i, e := range p {
		if i > 0 && !e.isIdx {
			s += "."
		}
		s += e.String()
	}
	return s
}

// is reports whether p is names: each a label, "*" for any label, "[]"
// for any index.
func (p path) is(names ...string) bool {
	if len(p) != len(names) {
		return false
	}
	for i, n := range names {
		if n == "*" {
			if p[i].isIdx {
				return false
			}
			continue
		}
		if n == "[]" != p[i].isIdx || !p[i].isIdx && p[i].name != n {
			return false
		}
	}
	return true
}

func (p path) with(e elem) path {
	out := make(path, len(p), len(p)+1)
	copy(out, p)
	return append(out, e)
}

// frame is a struct or list being read.
type frame struct {
	list   bool
	path   path
	labels path // a struct's current field: its labels so far (a: b: c:)
	index  int  // a list's current element
	// present are the labels of the struct's fields (first labels only).
	present []string
}

// field is the path of the frame's current field or element.
func (f *frame) field() path {
	if f.list {
		return f.path.with(elem{index: f.index, isIdx: true})
	}
	out := make(path, 0, len(f.path)+len(f.labels))
	return append(append(out, f.path...), f.labels...)
}

// cursor is what the spec says at an offset.
type cursor struct {
	// path is the field whose value the cursor is at (value), or the
	// struct whose field labels it is at (!value).
	path  path
	value bool
	// start and end delimit the word being typed (a label or a value;
	// inside a string, after its opening quote), which a completion
	// replaces.
	start, end int
	prefix     string
	inString   bool
	// present are the labels the struct already has (at a label).
	present []string
	// hasColon: the word being typed is a label already followed by its
	// colon.
	hasColon bool
	// top are the spec's top-level string fields (kind, team).
	top map[string]string
}

// isLabel reports whether token i of toks is a field label: an
// identifier or a string followed by a colon (or by ? or ! and a colon).
func isLabel(toks []tok, i int) bool {
	if t := toks[i].tok; t != token.IDENT && t != token.STRING {
		return false
	}
	for j := i + 1; j < len(toks); j++ {
		switch toks[j].tok {
		case token.COLON:
			return true
		case token.OPTION, token.NOT:
			continue
		}
		return false
	}
	return false
}

func labelName(t tok) string {
	if t.tok == token.STRING {
		if s, err := literal.Unquote(t.lit); err == nil {
			return s
		}
	}
	return t.lit
}

// walk reads toks and calls at(i, frame, last) before token i (and once
// after the last token, with i == len(toks)), with the frame being read
// and the index of the last token before i (-1 at the start), until at
// returns false. It returns the top-level string fields of the spec
// (kind and team are what completion and hover need).
func walk(toks []tok, at func(i int, f *frame, last int) bool) (top map[string]string) {
	top = map[string]string{}
	stack := []*frame{{}}
	last := -1
	for i := 0; i < len(toks); i++ {
		f := stack[len(stack)-1]
		if at != nil && !at(i, f, last) {
			at = nil
		}
		t := toks[i]
		switch {
		case !f.list && isLabel(toks, i):
			if len(f.labels) == 0 {
				f.present = append(f.present, labelName(t))
			}
			f.labels = f.labels.with(elem{name: labelName(t)})
			for i+1 < len(toks) && toks[i+1].tok != token.COLON {
				i++ // a ? or ! before the colon
			}
		case t.tok == token.LBRACE:
			stack = append(stack, &frame{path: f.field()})
		case t.tok == token.LBRACK:
			stack = append(stack, &frame{list: true, path: f.field()})
		case t.tok == token.RBRACE || t.tok == token.RBRACK:
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case t.tok == token.COMMA:
			if f.list {
				f.index++
			} else {
				f.labels = nil
			}
		case t.tok == token.STRING && last >= 0 && toks[last].tok == token.COLON && len(stack) == 1 && len(f.labels) == 1:
			top[f.labels[0].name] = labelName(t)
		}
		last = i
	}
	if at != nil {
		at(len(toks), stack[len(stack)-1], last)
	}
	return top
}

func tokens(text []byte) []tok {
	var out []tok
	scan(text, func(t tok) bool {
		out = append(out, t)
		return true
	})
	return out
}

// isWord: a token a completion may be typing or a hover may point at.
func isWord(t token.Token) bool {
	switch t {
	case token.IDENT, token.STRING, token.INT, token.FLOAT, token.TRUE, token.FALSE, token.NULL:
		return true
	}
	return false
}

// closed reports whether a string token has its closing quote.
func closed(t tok) bool {
	if t.tok != token.STRING || len(t.lit) < 2 {
		return false
	}
	q := t.lit[0]
	return t.lit[len(t.lit)-1] == q && !(len(t.lit) == 3 && t.lit == `"""`)
}

// cursorAt works out the cursor at offset off of text, for completion.
// ok is false where nothing can be completed (after a finished value,
// inside an operator).
func cursorAt(text []byte, off int) (c cursor, ok bool) {
	toks := tokens(text)
	c.start, c.end = off, off
	var target *frame
	context := func(f *frame, last int) {
		lt := token.ILLEGAL
		if last >= 0 {
			lt = toks[last].tok
		}
		switch {
		case !f.list && lt == token.COLON:
			c.path, c.value, ok = f.field(), true, true
		case f.list && (lt == token.LBRACK || lt == token.COMMA):
			c.path, c.value, ok = f.field(), true, true
		case !f.list && len(f.labels) == 0 && (last < 0 || lt == token.LBRACE || lt == token.COMMA):
			c.path, ok, target = f.path, true, f
		}
	}
	c.top = walk(toks, func(i int, f *frame, last int) bool {
		if i < len(toks) {
			t := toks[i]
			if isWord(t.tok) && t.start < off && (off < t.end || off == t.end && !closed(t)) {
				// The word being typed.
				c.start, c.end, c.prefix = t.start, t.end, string(text[t.start:off])
				if t.tok == token.STRING {
					c.inString = true
					c.start, c.end = t.start+1, t.end
					if closed(t) {
						c.end--
					}
					c.prefix = string(text[c.start:off])
				}
				c.hasColon = isLabel(toks, i)
				context(f, last)
				return false
			}
			if t.end <= off && t.start < off {
				return true // before the cursor
			}
			if t.start < off {
				return false // inside an operator
			}
		}
		context(f, last)
		return false
	})
	if target != nil {
		c.present = target.present
	}
	return c, ok
}

// hoverAt finds the field of the token at offset off: a label's own
// field, a value's field, a list element. start and end delimit the
// token.
func hoverAt(text []byte, off int) (p path, top map[string]string, start, end int, ok bool) {
	toks := tokens(text)
	// The token under the cursor; a word that ends at the cursor when no
	// word is under it (the cursor just after a label, on its colon).
	h := -1
	for i, t := range toks {
		if t.tok != token.COMMA && t.start <= off && off < t.end {
			h = i
			break
		}
	}
	if h < 0 || !isWord(toks[h].tok) {
		for i, t := range toks {
			if isWord(t.tok) && t.end == off {
				h = i
			}
		}
	}
	if h < 0 {
		return nil, nil, 0, 0, false
	}
	start, end = toks[h].start, toks[h].end
	top = walk(toks, func(i int, f *frame, last int) bool {
		if i < h {
			return true
		}
		t := toks[i]
		switch {
		case !f.list && isLabel(toks, i):
			p, ok = f.field().with(elem{name: labelName(t)}), true
		case t.tok == token.LBRACE || t.tok == token.LBRACK || t.tok == token.RBRACE || t.tok == token.RBRACK || t.tok == token.COLON:
		case f.list:
			p, ok = f.field(), true
		case len(f.labels) > 0:
			p, ok = f.field(), true
		}
		return false
	})
	return p, top, start, end, ok
}
