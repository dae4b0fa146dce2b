package cloudformation

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// scalarNode makes a plain string node (for values computed here).
func scalarNode(s string, line int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Line: line}
}

// scalars evaluates n to its possible scalar values; ok is false (with the
// reason) as soon as one alternative is not a known scalar.
func (t *tmpl) scalars(n *yaml.Node, when string) ([]val, string) {
	vs := t.eval(n, when)
	for _, v := range vs {
		if v.unknown != "" {
			return nil, v.unknown
		}
		if _, ok := v.scalar(); !ok || v.noValue {
			return nil, "a value that is not a string"
		}
	}
	return vs, ""
}

// findInMap evaluates Fn::FindInMap [MapName, TopLevelKey, SecondLevelKey]
// (and the AWS::LanguageExtensions DefaultValue form). A key that is not
// known (a pseudo parameter such as AWS::Region, a parameter without a
// Default) is not a guess: the value is known only when every entry of the
// mapping it could select holds the same value.
func (t *tmpl) findInMap(arg *yaml.Node, when string) []val {
	if arg.Kind != yaml.SequenceNode || len(arg.Content) < 3 || len(arg.Content) > 4 {
		return []val{{unknown: "malformed Fn::FindInMap (it takes [MapName, TopLevelKey, SecondLevelKey])", when: when}}
	}
	var def *yaml.Node
	if len(arg.Content) == 4 {
		_, def = get(arg.Content[3], "DefaultValue")
	}
	names, why := t.scalars(arg.Content[0], when)
	if why != "" {
		return []val{{unknown: "Fn::FindInMap map name: " + why, when: when}}
	}
	var out []val
	for _, nv := range names {
		name, _ := nv.scalar()
		_, m := get(t.mappings, name)
		if m == nil || m.Kind != yaml.MappingNode {
			out = append(out, val{unknown: fmt.Sprintf("Fn::FindInMap: no mapping %q in Mappings (the stack would not deploy)", name), when: nv.when})
			continue
		}
		for _, top := range t.mapKeys(m, arg.Content[1], nv.when) {
			if top.unknown != "" {
				out = append(out, val{unknown: top.unknown, when: top.when})
				continue
			}
			for _, second := range t.mapKeys(top.node, arg.Content[2], top.when) {
				if strings.HasPrefix(top.param, "\x00") && !strings.HasPrefix(second.param, "\x00") {
					second.param = top.param // the top-level key was not known
				}
				out = append(out, t.mapValue(second, def, name)...)
			}
		}
	}
	return cap16(t.sameAcross(out))
}

// mapKeys selects entries of a mapping level by a key expression. An
// unknown key selects every entry, each marked with the key's reason (so
// that sameAcross can tell whether the choice matters).
func (t *tmpl) mapKeys(level, key *yaml.Node, when string) []val {
	if level == nil || level.Kind != yaml.MappingNode {
		return []val{{unknown: "Fn::FindInMap: the mapping level is not a map", when: when}}
	}
	keys := t.eval(key, when)
	var out []val
	for _, k := range keys {
		s, ok := k.scalar()
		switch {
		case k.unknown != "":
			for i := 0; i+1 < len(level.Content); i += 2 {
				out = append(out, val{node: level.Content[i+1], when: k.when, param: "\x00" + k.unknown})
			}
		case !ok:
			out = append(out, val{unknown: "Fn::FindInMap key is not a string", when: k.when})
		default:
			_, v := get(level, s)
			if v == nil {
				out = append(out, val{node: nil, when: k.when, param: "\x01" + s})
				continue
			}
			out = append(out, val{node: v, when: k.when, param: k.param})
		}
	}
	return out
}

func (t *tmpl) mapValue(v val, def *yaml.Node, name string) []val {
	switch {
	case v.unknown != "":
		return []val{v}
	case v.node == nil && def != nil:
		return t.eval(def, v.when)
	case v.node == nil:
		return []val{{unknown: fmt.Sprintf("Fn::FindInMap: key %q is not in mapping %s (the stack would not deploy)", strings.TrimPrefix(v.param, "\x01"), name), when: v.when}}
	}
	out := t.eval(v.node, v.when)
	if strings.HasPrefix(v.param, "\x00") {
		for i := range out {
			out[i].param = v.param
		}
	}
	return out
}

// sameAcross folds the entries an unknown key selected: one value when they
// all agree, else the key's reason.
func (t *tmpl) sameAcross(vs []val) []val {
	var out []val
	var spread []val
	for _, v := range vs {
		if strings.HasPrefix(v.param, "\x00") {
			spread = append(spread, v)
			continue
		}
		out = append(out, v)
	}
	if len(spread) == 0 {
		return out
	}
	first, ok := spread[0].scalar()
	for _, v := range spread[1:] {
		s, ok2 := v.scalar()
		if !ok || !ok2 || s != first || v.unknown != "" {
			return append(out, val{unknown: "Fn::FindInMap with a key that " + strings.TrimPrefix(spread[0].param, "\x00") + ", and the entries it could select differ", when: spread[0].when})
		}
	}
	if spread[0].unknown != "" || !ok {
		return append(out, val{unknown: "Fn::FindInMap with a key that is not known", when: spread[0].when})
	}
	return append(out, val{str: &first, when: spread[0].when})
}

// selectFn evaluates Fn::Select [index, list].
func (t *tmpl) selectFn(arg *yaml.Node, when string) []val {
	if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
		return []val{{unknown: "malformed Fn::Select (it takes [index, list])", when: when}}
	}
	idx, why := t.scalars(arg.Content[0], when)
	if why != "" {
		return []val{{unknown: "Fn::Select index: " + why, when: when}}
	}
	var out []val
	for _, iv := range idx {
		s, _ := iv.scalar()
		i, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || i < 0 {
			out = append(out, val{unknown: fmt.Sprintf("Fn::Select index %q is not a number", s), when: iv.when})
			continue
		}
		for _, lv := range t.list(arg.Content[1], iv.when) {
			switch {
			case lv.unknown != "":
				out = append(out, lv)
			case i >= len(lv.node.Content):
				out = append(out, val{unknown: fmt.Sprintf("Fn::Select index %d is past the end of the list (the stack would not deploy)", i), when: lv.when})
			default:
				out = append(out, t.eval(lv.node.Content[i], lv.when)...)
			}
		}
	}
	return cap16(out)
}

// list evaluates a node that must be a list: a sequence, Fn::Split, or a
// Ref to a CommaDelimitedList parameter.
func (t *tmpl) list(n *yaml.Node, when string) []val {
	var out []val
	for _, v := range t.eval(n, when) {
		switch {
		case v.unknown != "":
			out = append(out, v)
		case v.node != nil && v.node.Kind == yaml.SequenceNode:
			out = append(out, v)
		case v.param != "" && t.params[v.param] != nil && t.params[v.param].typ == "CommaDelimitedList":
			s, _ := v.scalar()
			seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			for _, part := range strings.Split(s, ",") {
				seq.Content = append(seq.Content, scalarNode(strings.TrimSpace(part), n.Line))
			}
			out = append(out, val{node: seq, when: v.when})
		default:
			out = append(out, val{unknown: "Fn::Select on a value that is not a list", when: v.when})
		}
	}
	return out
}

// split evaluates Fn::Split [delimiter, string] to a list.
func (t *tmpl) split(arg *yaml.Node, when string) []val {
	if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
		return []val{{unknown: "malformed Fn::Split (it takes [delimiter, string])", when: when}}
	}
	delim, why := t.single(arg.Content[0])
	if why != "" {
		return []val{{unknown: "Fn::Split delimiter " + why, when: when}}
	}
	srcs, why := t.scalars(arg.Content[1], when)
	if why != "" {
		return []val{{unknown: "Fn::Split: " + why, when: when}}
	}
	var out []val
	for _, sv := range srcs {
		s, _ := sv.scalar()
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, part := range strings.Split(s, delim) {
			seq.Content = append(seq.Content, scalarNode(part, arg.Line))
		}
		out = append(out, val{node: seq, when: sv.when})
	}
	return out
}

// join evaluates Fn::Join [delimiter, [values]] when every value is known.
func (t *tmpl) join(arg *yaml.Node, when string) []val {
	if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
		return []val{{unknown: "malformed Fn::Join (it takes [delimiter, [values]])", when: when}}
	}
	delim, why := t.single(arg.Content[0])
	if why != "" {
		return []val{{unknown: "Fn::Join delimiter " + why, when: when}}
	}
	var out []val
	for _, lv := range t.list(arg.Content[1], when) {
		if lv.unknown != "" {
			out = append(out, val{unknown: "Fn::Join: " + strings.TrimPrefix(lv.unknown, "Fn::Select on "), when: lv.when})
			continue
		}
		var parts []string
		for _, item := range lv.node.Content {
			s, why := t.single(item)
			if why != "" {
				return append(out, val{unknown: "Fn::Join: a value " + why, when: lv.when})
			}
			parts = append(parts, s)
		}
		j := strings.Join(parts, delim)
		out = append(out, val{str: &j, when: lv.when})
	}
	return out
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// sub evaluates Fn::Sub "text ${Param}" or [text, {Var: value}]: parameters
// and given variables are substituted; a pseudo parameter, a resource
// attribute or a value with alternatives makes the result unknown.
func (t *tmpl) sub(arg *yaml.Node, when string) []val {
	text := arg
	vars := map[string]*yaml.Node{}
	if arg.Kind == yaml.SequenceNode {
		if len(arg.Content) != 2 || arg.Content[1].Kind != yaml.MappingNode {
			return []val{{unknown: "malformed Fn::Sub (it takes a string or [string, {variables}])", when: when}}
		}
		text = arg.Content[0]
		for i := 0; i+1 < len(arg.Content[1].Content); i += 2 {
			vars[arg.Content[1].Content[i].Value] = arg.Content[1].Content[i+1]
		}
	}
	if text.Kind != yaml.ScalarNode {
		return []val{{unknown: "malformed Fn::Sub", when: when}}
	}
	why := ""
	s := subVar.ReplaceAllStringFunc(text.Value, func(m string) string {
		name := strings.TrimSpace(m[2 : len(m)-1])
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}" // ${!Literal}
		}
		var vs []val
		switch n := vars[name]; {
		case n != nil:
			vs = t.eval(n, when)
		case strings.Contains(name, "."):
			vs = []val{{unknown: "Fn::Sub uses the attribute " + name + ", known only at deploy time"}}
		default:
			vs = t.ref(name, when)
		}
		if len(vs) != 1 {
			why = "Fn::Sub uses " + name + ", which depends on parameters or conditions"
			return ""
		}
		if vs[0].unknown != "" {
			why = "Fn::Sub uses " + name + ": " + vs[0].unknown
			return ""
		}
		v, ok := vs[0].scalar()
		if !ok {
			why = "Fn::Sub uses " + name + ", which is not a string"
		}
		return v
	})
	if why != "" {
		return []val{{unknown: why, when: when}}
	}
	return []val{{str: &s, when: when}}
}
