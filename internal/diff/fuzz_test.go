package diff

import (
	"bytes"
	"strings"
	"testing"

	"github.com/paved-dev/paved/render"
)

// FuzzMarkdown: whatever an object's content holds, each change is one
// <details> block whose code fence is longer than any backtick run inside
// it, so content can never close the block or the fence early.
func FuzzMarkdown(f *testing.F) {
	f.Add("plain", "x")
	f.Add("```\n</details>\n<details>", "| a | b |")
	f.Add("````` `` `", "<!-- paved:diff v1 -->")
	f.Fuzz(func(t *testing.T, before, after string) {
		cm := func(v string) render.Object {
			return obj("v1", "ConfigMap", "t", "a", map[string]any{"data": map[string]any{"v": v}})
		}
		rep, err := Compute([]render.Unit{unit("c", "t", "a", cm(before))}, []render.Unit{unit("c", "t", "a", cm(after))})
		if err != nil {
			t.Skip(err)
		}
		var buf bytes.Buffer
		if err := Markdown(&buf, rep, MarkdownInput{Meta: Meta{Fleet: "f", Ref: "main"}, Source: "s", Budget: DefaultBudget}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if _, ok := HeadOf(out); !ok {
			t.Fatal("no marker on the first line")
		}
		if len(rep.Changes) == 0 {
			return
		}
		i := strings.Index(out, "<details><summary>")
		if i < 0 {
			t.Fatalf("no details block:\n%s", out)
		}
		block := out[i:]
		open := strings.Index(block, "diff\n")
		fence := block[strings.LastIndex(block[:open], "\n")+1 : open]
		body := block[open+len("diff\n"):]
		end := strings.Index(body, "\n"+fence+"\n")
		if end < 0 {
			t.Fatalf("fence %q never closes:\n%s", fence, out)
		}
		if strings.Contains(body[:end], fence) {
			t.Fatalf("content holds the fence %q:\n%s", fence, body[:end])
		}
		if !strings.HasPrefix(body[end+len(fence)+2:], "\n</details>") {
			t.Fatalf("the block does not end after its fence:\n%s", out)
		}
	})
}
