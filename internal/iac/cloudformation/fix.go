package cloudformation

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pitrguard/pitrguard/internal/iac"
)

// directives reads suppressions from a resource's Metadata and from comments
// in or directly above it.
func directives(r *yaml.Node, lines []string, start, end int) ([]iac.Directive, []string) {
	var ds []iac.Directive
	var problems []string
	_, md := get(r, "Metadata")
	if _, own := get(md, "pitrguard"); own != nil {
		if _, ig := get(own, "ignore"); ig != nil {
			d := iac.Directive{By: "pitrguard"}
			if ig.Kind == yaml.ScalarNode {
				d.Reason = ig.Value
			} else {
				_, rs := get(ig, "reason")
				_, un := get(ig, "until")
				if rs != nil {
					d.Reason = rs.Value
				}
				if un != nil {
					if t, err := time.Parse(time.DateOnly, un.Value); err == nil {
						t = t.AddDate(0, 0, 1)
						d.Until = &t
					} else {
						problems = append(problems, fmt.Sprintf("Metadata.pitrguard.ignore.until %q is not YYYY-MM-DD", un.Value))
					}
				}
			}
			if strings.TrimSpace(d.Reason) == "" {
				problems = append(problems, "Metadata.pitrguard.ignore needs a reason")
			} else {
				ds = append(ds, d)
			}
		}
	}
	listHas := func(tool, list, idKey string, ids ...string) {
		_, t := get(md, tool)
		_, l := get(t, list)
		if l == nil || l.Kind != yaml.SequenceNode {
			return
		}
		for _, item := range l.Content {
			id, reason := item.Value, ""
			if item.Kind == yaml.MappingNode {
				_, idn := get(item, idKey)
				if idn != nil {
					id = idn.Value
				}
				for _, rk := range []string{"reason", "comment"} {
					if _, rn := get(item, rk); rn != nil {
						reason = rn.Value
					}
				}
			}
			for _, want := range ids {
				if strings.EqualFold(id, want) {
					ds = append(ds, iac.Directive{By: tool, Reason: strings.TrimSpace(id + " " + reason)})
				}
			}
		}
	}
	listHas("checkov", "skip", "id", "CKV_AWS_28", "CKV_AWS_165")
	listHas("cfn_nag", "rules_to_suppress", "id", "W78")
	listHas("guard", "SuppressedRules", "", "DYNAMODB_PITR_ENABLED")
	listHas("cdk_nag", "rules_to_suppress", "id", "AwsSolutions-DDB3", "HIPAA.Security-DynamoDBPITREnabled", "NIST.800.53.R5-DynamoDBPITREnabled")
	var block []string
	for i := start - 2; i >= 0 && i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "#"); i-- {
		block = append(block, lines[i])
	}
	for i := start - 1; i < end && i < len(lines); i++ {
		block = append(block, lines[i])
	}
	cds, cp := iac.CommentDirectives(block)
	return append(ds, cds...), append(problems, cp...)
}

// fix returns the minimal edit that makes the setting pass, or a manual note.
func (s *site) fix(file string, src []byte, t *tmpl, opt iac.Options) *iac.Fix {
	json := isJSON(src)
	switch {
	case s.dynamic:
		return &iac.Fix{File: file, Manual: "the value is decided by a condition or an intrinsic function; a person has to choose"}
	case s.param != "":
		p := t.params[s.param]
		if p == nil || p.def == nil || p.def.Kind != yaml.ScalarNode {
			return &iac.Fix{File: file, Manual: "the value comes from parameter " + s.param + ", which has no Default to change"}
		}
		if len(p.allowed) > 0 && !containsFold(p.allowed, "true") {
			return &iac.Fix{File: file, Manual: "parameter " + s.param + "'s AllowedValues do not include true"}
		}
		def := p.def
		return &iac.Fix{File: file, Desc: "set the Default of parameter " + s.param + " to true",
			Edit: func(b []byte) ([]byte, error) { return replaceScalar(b, def, "true") }}
	case s.spec == nil:
		c := s.container
		if json {
			return &iac.Fix{File: file, Desc: "add PointInTimeRecoverySpecification",
				Edit: func(b []byte) ([]byte, error) {
					return insertMember(b, c, `"PointInTimeRecoverySpecification": {`, `"PointInTimeRecoveryEnabled": true`, `}`, true)
				}}
		}
		return &iac.Fix{File: file, Desc: "add PointInTimeRecoverySpecification",
			Edit: func(b []byte) ([]byte, error) {
				return insertMember(b, c, "PointInTimeRecoverySpecification:", "PointInTimeRecoveryEnabled: true", "", false)
			}}
	case s.enabled == nil:
		sp := s.spec
		if json {
			return &iac.Fix{File: file, Desc: "add PointInTimeRecoveryEnabled: true",
				Edit: func(b []byte) ([]byte, error) {
					return insertMember(b, sp, `"PointInTimeRecoveryEnabled": true`, "", "", true)
				}}
		}
		return &iac.Fix{File: file, Desc: "add PointInTimeRecoveryEnabled: true",
			Edit: func(b []byte) ([]byte, error) {
				return insertMember(b, sp, "PointInTimeRecoveryEnabled: true", "", "", false)
			}}
	}
	if b, ok := boolOf(s.enabled.Value); s.enabled.Kind == yaml.ScalarNode && (!ok || !b) {
		en := s.enabled
		return &iac.Fix{File: file, Desc: "set PointInTimeRecoveryEnabled to true",
			Edit: func(b []byte) ([]byte, error) { return replaceScalar(b, en, "true") }}
	}
	if s.periodVal != nil && s.periodVal.Kind == yaml.ScalarNode {
		d, ok := intOf(s.periodVal.Value)
		want := 0
		switch {
		case !ok || d > 35:
			want = 35
		case d < 1:
			want = max(1, opt.MinRecoveryDays)
		case opt.MinRecoveryDays > 0 && d < opt.MinRecoveryDays:
			want = opt.MinRecoveryDays
		}
		if want > 0 {
			pv := s.periodVal
			return &iac.Fix{File: file, Desc: fmt.Sprintf("set RecoveryPeriodInDays to %d", want),
				Edit: func(b []byte) ([]byte, error) { return replaceScalar(b, pv, fmt.Sprint(want)) }}
		}
	}
	return &iac.Fix{File: file, Manual: "no automatic fix for this case"}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func isJSON(src []byte) bool {
	t := strings.TrimSpace(string(src))
	return strings.HasPrefix(t, "{")
}

// offset converts a 1-based line and column to a byte offset.
func offset(src []byte, line, col int) (int, error) {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(string(src[off:]), '\n')
		if i < 0 {
			return 0, fmt.Errorf("line %d is past the end of the file", line)
		}
		off += i + 1
	}
	// Columns count characters; convert to bytes on this line.
	rest := []rune(string(src[off:]))
	if col-1 > len(rest) {
		return 0, fmt.Errorf("column %d is past the end of line %d", col, line)
	}
	return off + len(string(rest[:col-1])), nil
}

// replaceScalar replaces a scalar's text, keeping its quoting style.
func replaceScalar(src []byte, n *yaml.Node, v string) ([]byte, error) {
	start, err := offset(src, n.Line, n.Column)
	if err != nil {
		return nil, err
	}
	end := start
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0 || (start < len(src) && src[start] == '"'):
		j := strings.IndexByte(string(src[start+1:]), '"')
		if j < 0 {
			return nil, fmt.Errorf("unterminated string at line %d", n.Line)
		}
		end = start + j + 2
		v = `"` + v + `"`
	case n.Style&yaml.SingleQuotedStyle != 0:
		j := strings.IndexByte(string(src[start+1:]), '\'')
		if j < 0 {
			return nil, fmt.Errorf("unterminated string at line %d", n.Line)
		}
		end = start + j + 2
		v = "'" + v + "'"
	default:
		end = start + len(n.Value)
		if string(src[start:end]) != n.Value {
			return nil, fmt.Errorf("line %d: the text at the node is not %q", n.Line, n.Value)
		}
	}
	return append(append(append([]byte{}, src[:start]...), v...), src[end:]...), nil
}

// insertMember adds a member to a mapping as its first entry, in the
// mapping's own style and indentation: "key:" plus an optional nested line
// (YAML block), or "key {" nested "}" (JSON / flow).
func insertMember(src []byte, m *yaml.Node, key, nested, closer string, json bool) ([]byte, error) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a mapping")
	}
	lines := strings.Split(string(src), "\n")
	if m.Style&yaml.FlowStyle != 0 {
		open, err := offset(src, m.Line, m.Column)
		if err != nil || open >= len(src) || src[open] != '{' {
			return nil, fmt.Errorf("line %d: expected '{'", m.Line)
		}
		member := key
		if nested != "" {
			member = key + " " + nested + " " + closer
			if !json {
				member = key + " {" + nested + "}"
			}
		}
		if len(m.Content) == 0 {
			return splice(src, open, open+1, "{"+member), nil
		}
		first := m.Content[0]
		if first.Line == m.Line {
			return splice(src, open, open+1, "{"+member+", "), nil
		}
		indent := strings.Repeat(" ", first.Column-1)
		if json && first.Column > 1 {
			indent = leadingWS(lines[first.Line-1])
		}
		return splice(src, open, open+1, "{\n"+indent+member+","), nil
	}
	if len(m.Content) == 0 {
		return nil, fmt.Errorf("line %d: an empty block mapping", m.Line)
	}
	first := m.Content[0]
	indent := strings.Repeat(" ", first.Column-1)
	step := "  "
	text := indent + key + "\n"
	if nested != "" {
		text += indent + step + nested + "\n"
	}
	line := lines[first.Line-1]
	prefix := []rune(line)
	if first.Column-1 <= len(prefix) && strings.TrimSpace(string(prefix[:first.Column-1])) == "-" {
		// The mapping is a list item ("- Region: x"): add after its first entry.
		v := m.Content[1]
		if v.Kind != yaml.ScalarNode || v.Line != first.Line {
			return nil, fmt.Errorf("line %d: cannot place a new entry in this list item", first.Line)
		}
		off, _ := offset(src, first.Line+1, 1)
		if first.Line >= len(lines) {
			off = len(src)
		}
		return splice(src, off, off, text), nil
	}
	off, err := offset(src, first.Line, 1)
	if err != nil {
		return nil, err
	}
	return splice(src, off, off, text), nil
}

func leadingWS(s string) string { return s[:len(s)-len(strings.TrimLeft(s, " \t"))] }

func splice(src []byte, start, end int, text string) []byte {
	return append(append(append([]byte{}, src[:start]...), text...), src[end:]...)
}
