package cloudformation

import (
	"go.yaml.in/yaml/v3"

	"github.com/pitrguard/pitrguard/internal/iac"
)

// identity is what the policy reads about a table: its TableName and its
// Tags (a list of Key/Value, or a map for SAM SimpleTable), as far as the
// template resolves them, and the region of a replica. Stack-level tags
// given at deploy time are not in the template and are not seen.
func (t *tmpl) identity(props, tags *yaml.Node, region string) iac.Identity {
	id := iac.Identity{Region: region, Tags: map[string]string{}, UnknownTags: map[string]string{}}
	_, name := get(props, "TableName")
	if name == nil {
		id.NameWhy = "TableName is not set: CloudFormation generates the name at deploy time"
	} else if s, why := t.single(name); why != "" {
		id.NameWhy = "TableName " + why
	} else {
		id.Name = s
	}
	if tags == nil {
		return id
	}
	vs := t.eval(tags, "")
	if len(vs) != 1 || vs[0].unknown != "" || vs[0].node == nil {
		id.TagsWhy = "Tags depends on parameters, conditions or values known only at deploy time"
		if len(vs) == 1 && vs[0].unknown != "" {
			id.TagsWhy = "Tags: " + vs[0].unknown
		}
		return id
	}
	n := vs[0].node
	switch n.Kind {
	case yaml.SequenceNode:
		for _, item := range n.Content {
			_, k := get(item, "Key")
			_, v := get(item, "Value")
			key, why := t.single(k)
			if k == nil || why != "" {
				id.TagsWhy = "a tag Key is not a literal"
				continue
			}
			val, why := t.single(v)
			if why != "" {
				id.UnknownTags[key] = "tag " + key + " " + why
				continue
			}
			id.Tags[key] = val
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			val, why := t.single(n.Content[i+1])
			if why != "" {
				id.UnknownTags[key] = "tag " + key + " " + why
				continue
			}
			id.Tags[key] = val
		}
	default:
		id.TagsWhy = "Tags is neither a list nor a map"
	}
	return id
}

// single evaluates a node that must have one scalar value; otherwise it
// says why it has not.
func (t *tmpl) single(n *yaml.Node) (string, string) {
	if n == nil {
		return "", "is not set"
	}
	vs := t.eval(n, "")
	if len(vs) != 1 {
		return "", "depends on parameters or conditions"
	}
	if vs[0].unknown != "" {
		return "", "is not known: " + vs[0].unknown
	}
	s, ok := vs[0].scalar()
	if !ok || vs[0].noValue {
		return "", "is not a single value"
	}
	return s, ""
}
