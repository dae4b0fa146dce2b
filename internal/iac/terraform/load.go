// Package terraform scans Terraform configurations (.tf, .tf.json, tfvars,
// local modules and registry modules installed in .terraform/modules) and
// plan JSON for DynamoDB point-in-time recovery. It evaluates variables,
// locals, expressions, count, for_each and dynamic blocks the way Terraform
// does, keeps "could not be known" apart from false, and fixes failing
// settings with hclwrite, which keeps the rest of the file as it was.
package terraform

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"

	"github.com/pitrguard/pitrguard/internal/iac"
)

// Diag is a file that could not be read.
type Diag struct {
	File string
	Line int
	Msg  string
}

type module struct {
	dir       string
	src       map[string][]byte
	variables map[string]*variable
	locals    map[string]*hcl.Attribute
	resources []*resource
	calls     []*call
	providers []*hcl.Block // provider "aws" blocks
}

type variable struct {
	name   string
	typ    cty.Type
	def    *hcl.Attribute
	block  *hcl.Block
	file   string
	hasTyp bool
	// overridden is set when an override file changes the variable.
	overridden bool
}

type resource struct {
	typ, name string
	block     *hcl.Block
	file      string
	// overrides are the same resource's blocks in override files, in the
	// order Terraform merges them.
	overrides []*hcl.Block
}

// body is the resource's configuration with its override files merged in.
func (r *resource) body() hcl.Body {
	b := r.block.Body
	for _, o := range r.overrides {
		b = overrideBody{base: b, over: o.Body}
	}
	return b
}

type call struct {
	name   string
	block  *hcl.Block
	file   string
	attrs  hcl.Attributes
	source string
	// overridden is set when an override file changes the call.
	overridden bool
}

var fileSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "variable", LabelNames: []string{"name"}}, {Type: "locals"},
	{Type: "resource", LabelNames: []string{"type", "name"}}, {Type: "module", LabelNames: []string{"name"}},
	{Type: "provider", LabelNames: []string{"name"}},
}}

var variableSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "default"}, {Name: "type"}}}

// loadModule parses the .tf and .tf.json files of one directory.
func loadModule(p *hclparse.Parser, dir string, lim iac.Limits) (*module, []Diag) {
	m := &module{dir: dir, src: map[string][]byte{}, variables: map[string]*variable{}, locals: map[string]*hcl.Attribute{}}
	var diags []Diag
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, []Diag{{File: dir, Msg: err.Error()}}
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".tf") || strings.HasSuffix(e.Name(), ".tf.json")) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	// Override files are merged after every other file, in lexical order.
	sort.SliceStable(names, func(i, j int) bool { return !isOverride(names[i]) && isOverride(names[j]) })
	for _, name := range names {
		path := filepath.Join(dir, name)
		src, err := iac.ReadFile(path, lim)
		if err != nil {
			diags = append(diags, Diag{File: path, Msg: fileMsg(err)})
			continue
		}
		f, hd := parse(p, path, src)
		if hd.HasErrors() {
			diags = append(diags, fromHCL(path, hd)...)
			continue
		}
		m.src[path] = src
		content, _, _ := f.Body.PartialContent(fileSchema)
		if isOverride(name) {
			diags = append(diags, m.override(path, content)...)
			continue
		}
		for _, b := range content.Blocks {
			switch b.Type {
			case "variable":
				v := &variable{name: b.Labels[0], block: b, file: path, typ: cty.DynamicPseudoType}
				v.set(b.Body)
				m.variables[v.name] = v
			case "locals":
				attrs, _ := b.Body.JustAttributes()
				for n, a := range attrs {
					if n != "//" {
						m.locals[n] = a
					}
				}
			case "resource":
				m.resources = append(m.resources, &resource{typ: b.Labels[0], name: b.Labels[1], block: b, file: path})
			case "module":
				c := &call{name: b.Labels[0], block: b, file: path}
				c.set(b.Body)
				m.calls = append(m.calls, c)
			case "provider":
				if b.Labels[0] == "aws" {
					m.providers = append(m.providers, b)
				}
			}
		}
	}
	return m, diags
}

// set reads a variable's type and default from a body (its block, or an
// override block, whose settings replace the ones before).
func (v *variable) set(body hcl.Body) {
	vc, _, _ := body.PartialContent(variableSchema)
	if a, ok := vc.Attributes["type"]; ok {
		if t, d := typeexpr.TypeConstraint(a.Expr); !d.HasErrors() {
			v.typ, v.hasTyp = t, true
		}
	}
	if a, ok := vc.Attributes["default"]; ok {
		v.def = a
		if v.block != nil && a.Range.Filename != v.block.DefRange.Filename {
			v.file = a.Range.Filename
		}
	}
}

// set reads a module call's arguments (an override's replace the ones before).
func (c *call) set(body hcl.Body) {
	attrs, _ := body.JustAttributes()
	if c.attrs == nil {
		c.attrs = hcl.Attributes{}
	}
	for n, a := range attrs {
		if n != "//" {
			c.attrs[n] = a
		}
	}
	if a, ok := c.attrs["source"]; ok {
		if v, d := a.Expr.Value(nil); !d.HasErrors() && v.Type() == cty.String && v.IsKnown() {
			c.source = v.AsString()
		}
	}
}

// override merges the blocks of an override file into the module. A block
// that overrides nothing is an error in Terraform too.
func (m *module) override(path string, content *hcl.BodyContent) []Diag {
	var diags []Diag
	missing := func(b *hcl.Block, what string) {
		diags = append(diags, Diag{File: path, Line: b.DefRange.Start.Line,
			Msg: "override file: " + what + " is not defined in the module's other files, so there is nothing to override (Terraform refuses this too)"})
	}
	for _, b := range content.Blocks {
		switch b.Type {
		case "variable":
			v := m.variables[b.Labels[0]]
			if v == nil {
				missing(b, "variable \""+b.Labels[0]+"\"")
				continue
			}
			v.set(b.Body)
			v.overridden = true
		case "locals":
			attrs, _ := b.Body.JustAttributes()
			for n, a := range attrs {
				if n != "//" {
					m.locals[n] = a
				}
			}
		case "resource":
			var r *resource
			for _, x := range m.resources {
				if x.typ == b.Labels[0] && x.name == b.Labels[1] {
					r = x
				}
			}
			if r == nil {
				missing(b, "resource \""+b.Labels[0]+"\" \""+b.Labels[1]+"\"")
				continue
			}
			r.overrides = append(r.overrides, b)
		case "module":
			var c *call
			for _, x := range m.calls {
				if x.name == b.Labels[0] {
					c = x
				}
			}
			if c == nil {
				missing(b, "module \""+b.Labels[0]+"\"")
				continue
			}
			c.set(b.Body)
			c.overridden = true
		}
	}
	return diags
}

func fromHCL(path string, hd hcl.Diagnostics) []Diag {
	var out []Diag
	for _, d := range hd {
		if d.Severity != hcl.DiagError {
			continue
		}
		line := 0
		if d.Subject != nil {
			line = d.Subject.Start.Line
		}
		out = append(out, Diag{File: path, Line: line, Msg: strings.TrimSpace(d.Summary + ": " + d.Detail)})
	}
	return out
}

// localSource reports whether a module source is a local path.
func localSource(s string) bool {
	return strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || s == "." || s == ".."
}

// installed reads .terraform/modules/modules.json under root: module key → directory.
func installed(root string, lim iac.Limits) map[string]string {
	out := map[string]string{}
	data, err := iac.ReadFile(filepath.Join(root, ".terraform", "modules", "modules.json"), lim)
	if err != nil {
		return out
	}
	var mj struct {
		Modules []struct{ Key, Source, Dir string }
	}
	if json.Unmarshal(data, &mj) != nil {
		return out
	}
	for _, m := range mj.Modules {
		if m.Key != "" {
			dir := m.Dir
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(root, dir)
			}
			out[m.Key] = dir
		}
	}
	return out
}

// fileMsg is the message of a read error without the path (a Diag has it).
func fileMsg(err error) string {
	if fe, ok := err.(*iac.FileError); ok {
		return fe.Msg
	}
	return err.Error()
}

func (d Diag) String() string { return fmt.Sprintf("%s:%d: %s", d.File, d.Line, d.Msg) }

// parse reads HCL, or its JSON form for names ending in .json.
func parse(p *hclparse.Parser, path string, src []byte) (*hcl.File, hcl.Diagnostics) {
	if strings.HasSuffix(path, ".json") {
		return p.ParseJSON(src, path)
	}
	return p.ParseHCL(src, path)
}
