package policy

import (
	"fmt"
	"io"
	"strings"
)

// FormatGitHub writes GitHub Actions workflow commands: one ::error (deny),
// ::warning (warn) or ::notice (waived) annotation per finding, at the
// app.cue line, with a finding that is identical in several clusters
// annotated once. A summary line closes the output.
func FormatGitHub(w io.Writer, r *Report, o FormatOptions) error {
	type ann struct {
		cmd, file, title, msg string
		line, col             int
		clusters              []string
	}
	var anns []*ann
	for _, f := range r.Findings {
		cmd := "warning"
		switch {
		case f.Waived():
			cmd = "notice"
		case f.Severity == Deny:
			cmd = "error"
		}
		a := &ann{cmd: cmd, title: f.Policy, msg: f.Message}
		if f.Object != nil {
			a.msg += " [" + f.Object.String() + "]"
		}
		if f.Waived() {
			a.msg += fmt.Sprintf(" (waived until %s by %s: %s)", f.Waiver.Expires, f.Waiver.Owner, f.Waiver.Reason)
		}
		if pos := f.anchor(); pos != nil {
			a.file, a.line, a.col = relPath(o.Cwd, pos.Filename), max(pos.Line, 1), pos.Column
		}
		var same *ann
		for _, x := range anns {
			if x.cmd == a.cmd && x.file == a.file && x.line == a.line && x.title == a.title && x.msg == a.msg {
				same = x
				break
			}
		}
		if same == nil {
			anns = append(anns, a)
			same = a
		}
		if f.Cluster != "" {
			same.clusters = append(same.clusters, f.Cluster)
		}
	}
	for _, a := range anns {
		var props []string
		if a.file != "" {
			props = append(props, "file="+escapeProperty(a.file), fmt.Sprintf("line=%d", a.line))
			if a.col > 0 {
				props = append(props, fmt.Sprintf("col=%d", a.col))
			}
		}
		props = append(props, "title="+escapeProperty("paved "+a.title))
		msg := a.msg
		if len(a.clusters) > 0 {
			msg += " in " + strings.Join(a.clusters, ", ")
		}
		fmt.Fprintf(w, "::%s %s::%s\n", a.cmd, strings.Join(props, ","), escapeData(msg))
	}
	deny, warn, waived := r.Count()
	fmt.Fprintf(w, "paved lint: %d denied, %d warned, %d waived (%d objects, %d policies)\n", deny, warn, waived, r.Objects, len(r.Checks))
	return nil
}

// escapeData escapes a workflow command's message.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command property value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
