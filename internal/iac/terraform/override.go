package terraform

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// isOverride reports whether a file is an override file: override.tf,
// override.tf.json, or a name ending in _override.tf or _override.tf.json.
// Terraform loads these after the other files of the module, in lexical
// order, and merges each of their top-level blocks into the block with the
// same header (language reference, "Override Files").
func isOverride(name string) bool {
	base := strings.TrimSuffix(strings.TrimSuffix(name, ".json"), ".tf")
	return base == "override" || strings.HasSuffix(base, "_override")
}

// overrideBody is a block body with an override block merged in the way
// Terraform merges them: an attribute of the override replaces the
// original's; a nested block type present in the override (as a block or a
// dynamic block) replaces every nested block of that type of the original;
// nested blocks' contents are not merged.
type overrideBody struct {
	base, over hcl.Body
}

var _ hcl.Body = overrideBody{}

func relaxed(s *hcl.BodySchema) *hcl.BodySchema {
	out := &hcl.BodySchema{Blocks: s.Blocks}
	for _, a := range s.Attributes {
		out.Attributes = append(out.Attributes, hcl.AttributeSchema{Name: a.Name})
	}
	return out
}

func (b overrideBody) Content(s *hcl.BodySchema) (*hcl.BodyContent, hcl.Diagnostics) {
	c, _, d := b.PartialContent(s)
	return c, d
}

func (b overrideBody) PartialContent(s *hcl.BodySchema) (*hcl.BodyContent, hcl.Body, hcl.Diagnostics) {
	bc, _, d := b.base.PartialContent(relaxed(s))
	oc, _, od := b.over.PartialContent(relaxed(s))
	d = append(d, od...)
	out := &hcl.BodyContent{Attributes: hcl.Attributes{}, MissingItemRange: bc.MissingItemRange}
	for n, a := range bc.Attributes {
		out.Attributes[n] = a
	}
	for n, a := range oc.Attributes {
		out.Attributes[n] = a
	}
	replaced := map[string]bool{}
	for _, blk := range oc.Blocks {
		if blk.Type == "dynamic" && len(blk.Labels) > 0 {
			replaced[blk.Labels[0]] = true
		} else {
			replaced[blk.Type] = true
		}
	}
	for _, blk := range bc.Blocks {
		t := blk.Type
		if t == "dynamic" && len(blk.Labels) > 0 {
			t = blk.Labels[0]
		}
		if !replaced[t] {
			out.Blocks = append(out.Blocks, blk)
		}
	}
	out.Blocks = append(out.Blocks, oc.Blocks...)
	return out, hcl.EmptyBody(), d
}

func (b overrideBody) JustAttributes() (hcl.Attributes, hcl.Diagnostics) {
	ba, d := b.base.JustAttributes()
	oa, od := b.over.JustAttributes()
	out := hcl.Attributes{}
	for n, a := range ba {
		out[n] = a
	}
	for n, a := range oa {
		out[n] = a
	}
	return out, append(d, od...)
}

func (b overrideBody) MissingItemRange() hcl.Range { return b.base.MissingItemRange() }
