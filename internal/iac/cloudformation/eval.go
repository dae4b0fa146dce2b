// Package cloudformation scans CloudFormation and SAM templates (YAML with
// short-form tags, or JSON; CDK output is CloudFormation) and the resources
// of serverless.yml for DynamoDB point-in-time recovery, and fixes what it
// can by splicing text at node positions, so comments, order and
// indentation are kept.
package cloudformation

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// val is one possible value of a node after evaluating intrinsics.
type val struct {
	node    *yaml.Node // a concrete node
	str     *string    // a value that came from a parameter
	noValue bool       // AWS::NoValue
	unknown string     // why the value cannot be known
	when    string     // the inputs this alternative holds under
	param   string     // the value came from Ref to this parameter
}

type tmpl struct {
	mappings   *yaml.Node        // the Mappings section
	macro      string            // a Transform that can rewrite any resource
	loop       map[string]string // Fn::ForEach identifiers being expanded
	params     map[string]*param
	conditions map[string]*yaml.Node
	overrides  map[string]string
	serverless bool
	condDepth  int
	// types are the template's resources' types, by logical id.
	types map[string]string
}

type param struct {
	typ     string
	name    string
	def     *yaml.Node
	allowed []string
	node    *yaml.Node
}

const maxAlts = 16

// fn recognises an intrinsic function in short (!Ref x) or long ({Ref: x}) form.
func fn(n *yaml.Node) (string, *yaml.Node, bool) {
	if n == nil {
		return "", nil, false
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		name := n.Tag[1:]
		if name != "Ref" && name != "Condition" {
			name = "Fn::" + name
		}
		arg := *n
		arg.Tag = ""
		switch arg.Kind {
		case yaml.ScalarNode:
			arg.Tag = "!!str"
		case yaml.SequenceNode:
			arg.Tag = "!!seq"
		case yaml.MappingNode:
			arg.Tag = "!!map"
		}
		return name, &arg, true
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		k := n.Content[0].Value
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k, n.Content[1], true
		}
	}
	return "", nil, false
}

func and(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " and " + b
}

// eval returns the possible values of n.
func (t *tmpl) eval(n *yaml.Node, when string) []val {
	if n == nil {
		return []val{{when: when}}
	}
	if n.Kind == yaml.AliasNode {
		return t.eval(n.Alias, when)
	}
	name, arg, ok := fn(n)
	if !ok {
		if t.serverless && n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
			return []val{{unknown: fmt.Sprintf("%q is a serverless variable, resolved at deploy time (stage-dependent)", n.Value), when: when}}
		}
		return []val{{node: n, when: when}}
	}
	switch name {
	case "Ref":
		return t.ref(arg.Value, when)
	case "Fn::If":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			return []val{{unknown: "malformed Fn::If (it takes [condition, value-if-true, value-if-false])", when: when}}
		}
		var out []val
		for _, c := range t.cond(arg.Content[0].Value, when) {
			switch {
			case c.unknown != "":
				out = append(out, val{unknown: c.unknown, when: c.when})
			case c.b:
				out = append(out, t.eval(arg.Content[1], c.when)...)
			default:
				out = append(out, t.eval(arg.Content[2], c.when)...)
			}
		}
		return cap16(out)
	case "Fn::FindInMap":
		return t.findInMap(arg, when)
	case "Fn::Select":
		return t.selectFn(arg, when)
	case "Fn::Split":
		return t.split(arg, when)
	case "Fn::Join":
		return t.join(arg, when)
	case "Fn::Sub":
		return t.sub(arg, when)
	}
	return []val{{unknown: fmt.Sprintf("value computed by %s at deploy time", name), when: when}}
}

func cap16(v []val) []val {
	if len(v) > maxAlts {
		return []val{{unknown: "too many combinations of parameters and conditions to evaluate"}}
	}
	return v
}

func (t *tmpl) ref(name, when string) []val {
	if v, ok := t.loop[name]; ok {
		return []val{{str: &v, when: when}}
	}
	switch {
	case name == "AWS::NoValue":
		return []val{{noValue: true, when: when}}
	case strings.HasPrefix(name, "AWS::"):
		return []val{{unknown: "pseudo parameter " + name + " is known only at deploy time", when: when}}
	}
	p := t.params[name]
	if p == nil {
		return []val{{unknown: "Ref to resource " + name, when: when}}
	}
	if v, ok := t.overrides[name]; ok {
		return []val{{str: &v, when: when, param: name}}
	}
	if p.def != nil {
		return []val{{node: p.def, when: when, param: name}}
	}
	if len(p.allowed) > 0 {
		var out []val
		for _, a := range p.allowed {
			a := a
			out = append(out, val{str: &a, when: and(when, name+"="+a), param: name})
		}
		return cap16(out)
	}
	return []val{{unknown: fmt.Sprintf("depends on parameter %s, which has no Default (pass --param %s=...)", name, name), when: when}}
}

// condVal is one possible value of a condition.
type condVal struct {
	b       bool
	unknown string
	when    string
}

func (t *tmpl) cond(name, when string) []condVal {
	n := t.conditions[name]
	if n == nil {
		return []condVal{{unknown: "condition " + name + " is not defined", when: when}}
	}
	t.condDepth++
	defer func() { t.condDepth-- }()
	if t.condDepth > 20 {
		return []condVal{{unknown: "conditions refer to each other in a loop", when: when}}
	}
	return t.condExpr(n, when)
}

func (t *tmpl) condExpr(n *yaml.Node, when string) []condVal {
	name, arg, ok := fn(n)
	if !ok {
		if b, ok := boolOf(n.Value); n.Kind == yaml.ScalarNode && ok {
			return []condVal{{b: b, when: when}}
		}
		return []condVal{{unknown: "unsupported condition", when: when}}
	}
	switch name {
	case "Condition":
		return t.cond(arg.Value, when)
	case "Fn::Equals":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return []condVal{{unknown: "malformed Fn::Equals", when: when}}
		}
		return t.condEquals(arg.Content[0], arg.Content[1], when)
	case "Fn::Not":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 1 {
			return []condVal{{unknown: "malformed Fn::Not", when: when}}
		}
		out := t.condExpr(arg.Content[0], when)
		for i := range out {
			out[i].b = !out[i].b
		}
		return out
	case "Fn::And", "Fn::Or":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) < 2 {
			return []condVal{{unknown: "malformed " + name, when: when}}
		}
		return t.condAndOr(name == "Fn::And", arg.Content, when)
	}
	return []condVal{{unknown: "unsupported condition function " + name, when: when}}
}

// condEquals evaluates Fn::Equals [x, y] for each pair of values x and y
// can take.
func (t *tmpl) condEquals(x, y *yaml.Node, when string) []condVal {
	var out []condVal
	for _, a := range t.eval(x, when) {
		for _, b := range t.eval(y, a.when) {
			as, aok := a.scalar()
			bs, bok := b.scalar()
			switch {
			case a.unknown != "":
				out = append(out, condVal{unknown: a.unknown, when: b.when})
			case b.unknown != "":
				out = append(out, condVal{unknown: b.unknown, when: b.when})
			case !aok || !bok:
				out = append(out, condVal{unknown: "Fn::Equals on a non-scalar", when: b.when})
			default:
				out = append(out, condVal{b: as == bs, when: b.when})
			}
		}
	}
	return out
}

// condAndOr evaluates Fn::And (isAnd) or Fn::Or over the conditions conds,
// combining the alternatives of each in turn.
func (t *tmpl) condAndOr(isAnd bool, conds []*yaml.Node, when string) []condVal {
	acc := []condVal{{b: isAnd, when: when}}
	for _, c := range conds {
		var next []condVal
		for _, a := range acc {
			if a.unknown != "" {
				next = append(next, a)
				continue
			}
			for _, b := range t.condExpr(c, a.when) {
				if b.unknown != "" {
					next = append(next, b)
				} else if isAnd {
					next = append(next, condVal{b: a.b && b.b, when: b.when})
				} else {
					next = append(next, condVal{b: a.b || b.b, when: b.when})
				}
			}
		}
		if len(next) > maxAlts {
			return []condVal{{unknown: "too many combinations", when: when}}
		}
		acc = next
	}
	return acc
}

func (v val) scalar() (string, bool) {
	switch {
	case v.str != nil:
		return *v.str, true
	case v.node != nil && v.node.Kind == yaml.ScalarNode:
		return v.node.Value, true
	}
	return "", false
}

// boolOf reads a CloudFormation Boolean: true/false, or the strings "true"/"false" in any case.
func boolOf(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

func intOf(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return n, err == nil
}

// get returns the value node of key in a mapping.
func get(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}
