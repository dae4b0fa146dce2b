package terraform

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/pitrguard/pitrguard/internal/iac"
	"github.com/pitrguard/pitrguard/internal/model"
)

// tagSet is the default_tags of one AWS provider configuration.
type tagSet struct {
	val cty.Value // an object or map; null: none
	why string    // not "" when the default tags cannot be known
}

var providerSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "alias"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "default_tags"}},
}

// providerTags evaluates the default_tags of the module's own aws provider
// blocks, by alias ("" for the default configuration). Terraform adds them to
// every resource the provider manages (tags_all), so tiers see them too.
func providerTags(in *instance) map[string]tagSet {
	if len(in.mod.providers) == 0 {
		return nil
	}
	out := map[string]tagSet{}
	for _, b := range in.mod.providers {
		pc, _, _ := b.Body.PartialContent(providerSchema)
		alias := ""
		if a := pc.Attributes["alias"]; a != nil {
			if v := in.eval(a.Expr, nil); v.IsWhollyKnown() && v.Type() == cty.String {
				alias = v.AsString()
			} else {
				continue
			}
		}
		ts := tagSet{val: cty.NullVal(cty.DynamicPseudoType)}
		for _, dt := range pc.Blocks {
			attrs, _ := dt.Body.JustAttributes()
			if a := attrs["tags"]; a != nil {
				ts.val = in.eval(a.Expr, nil)
				if !ts.val.IsKnown() {
					ts.why = in.why("the provider's default_tags", a.Expr)
				}
			}
		}
		out[alias] = ts
	}
	return out
}

// childProviderTags is the default tags a module call's instance sees: its
// own provider blocks, else the caller's, mapped through `providers`.
func childProviderTags(parent *instance, c *call, ch *instance) map[string]tagSet {
	if own := providerTags(ch); own != nil {
		return own
	}
	a, ok := c.attrs["providers"]
	if !ok {
		return parent.defaultTags
	}
	out := map[string]tagSet{}
	pairs, d := hcl.ExprMap(a.Expr)
	if d.HasErrors() {
		out[""] = tagSet{why: "the module's providers argument could not be read"}
		return out
	}
	for _, p := range pairs {
		k, kd := hcl.AbsTraversalForExpr(p.Key)
		v, vd := hcl.AbsTraversalForExpr(p.Value)
		if kd.HasErrors() || vd.HasErrors() || k.RootName() != "aws" || v.RootName() != "aws" {
			continue
		}
		from, to := "", ""
		if len(v) > 1 {
			from = attrName(v[1])
		}
		if len(k) > 1 {
			to = attrName(k[1])
		}
		if ts, ok := parent.defaultTags[from]; ok {
			out[to] = ts
		}
	}
	return out
}

// providerAlias is the alias of a resource's provider argument (aws.west → west).
func providerAlias(content *hcl.BodyContent) string {
	a := content.Attributes["provider"]
	if a == nil {
		return ""
	}
	tr, d := hcl.AbsTraversalForExpr(a.Expr)
	if d.HasErrors() || len(tr) < 2 {
		return ""
	}
	return attrName(tr[1])
}

// identity is what the policy reads about a table: its name and its tags
// (the provider's default_tags merged under the resource's own, as
// Terraform's tags_all), each as far as they can be evaluated.
func (w *walker) identity(in *instance, r *resource, content *hcl.BodyContent, extra map[string]cty.Value) iac.Identity {
	id := iac.Identity{Tags: map[string]string{}, UnknownTags: map[string]string{}}
	switch r.typ {
	case "aws_dynamodb_table_replica":
		id.NameWhy = "the replica's table name comes from global_table_arn, which is not a literal table ARN"
		if a := content.Attributes["global_table_arn"]; a != nil {
			if v := in.eval(a.Expr, extra); v.IsWhollyKnown() && v.Type() == cty.String {
				if ref, err := model.ParseTableARN(v.AsString()); err == nil {
					id.Name, id.NameWhy = ref.Name, ""
				}
			}
		}
	default:
		a := content.Attributes["name"]
		if a == nil {
			id.NameWhy = "name is not set"
		} else if v := in.eval(a.Expr, extra); v.IsWhollyKnown() && !v.IsNull() && v.Type() == cty.String {
			id.Name = v.AsString()
		} else {
			id.NameWhy = in.why("name", a.Expr)
		}
	}
	ts, ok := in.defaultTags[providerAlias(content)]
	if !ok && providerAlias(content) != "" && len(in.defaultTags) > 0 {
		ts = tagSet{why: "the provider configuration aws." + providerAlias(content) + " is not found"}
	}
	if ts.why != "" {
		id.TagsWhy = ts.why
	} else if ts.val != cty.NilVal {
		addTags(&id, ts.val, "the provider's default_tags")
	}
	if a := content.Attributes["tags"]; a != nil {
		v := in.eval(a.Expr, extra)
		if !v.IsKnown() {
			id.TagsWhy = in.why("tags", a.Expr)
		} else {
			addTags(&id, v, in.why("a value of tags", a.Expr))
		}
	}
	return id
}

// addTags adds a tags object or map to an identity: known values to Tags,
// unknown ones to UnknownTags.
func addTags(id *iac.Identity, v cty.Value, why string) {
	if v.IsNull() || !v.IsKnown() {
		return
	}
	t := v.Type()
	if !t.IsObjectType() && !t.IsMapType() {
		id.TagsWhy = fmt.Sprintf("tags is not a map (%s)", t.FriendlyName())
		return
	}
	for it := v.ElementIterator(); it.Next(); {
		k, val := it.Element()
		key := k.AsString()
		delete(id.Tags, key)
		delete(id.UnknownTags, key)
		switch {
		case !val.IsKnown():
			id.UnknownTags[key] = why
		case val.IsNull():
		case val.Type() == cty.String:
			id.Tags[key] = val.AsString()
		default:
			id.Tags[key] = strings.TrimSpace(val.GoString())
		}
	}
}

// replicaIdentity is a replica block's identity: the table's name, the
// replica's region, and the table's tags only when propagate_tags is true
// (otherwise Terraform does not set the replica's tags).
func (w *walker) replicaIdentity(in *instance, table iac.Identity, rc *hcl.BodyContent, extra map[string]cty.Value, region string) iac.Identity {
	id := table
	id.Region = region
	if strings.HasPrefix(region, "replica[") || region == "dynamic replicas" {
		id.Region = ""
	}
	a := rc.Attributes["propagate_tags"]
	on := false
	if a != nil {
		b, known, ok := toBool(in.eval(a.Expr, extra))
		if !known || !ok {
			id.TagsWhy = in.why("propagate_tags", a.Expr)
			return id
		}
		on = b
	}
	if !on {
		id.Tags, id.UnknownTags = map[string]string{}, nil
		id.TagsWhy = "the replica's tags are not set by Terraform (propagate_tags is not true)"
	}
	return id
}
