package terraform

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/pitrguard/pitrguard/internal/iac"
)

func editable(file string) string {
	switch {
	case strings.HasSuffix(file, ".json"):
		return "the setting is in a JSON file, which pitrguard does not rewrite; change it by hand"
	case strings.Contains(filepath.ToSlash(file), "/.terraform/"):
		return "the setting is inside a downloaded module (.terraform/modules); set it through the module's inputs instead"
	}
	return ""
}

// literal reports whether an expression uses no variables or functions.
func literal(e hcl.Expression) bool {
	if len(e.Variables()) > 0 {
		return false
	}
	if _, ok := e.(*hclsyntax.FunctionCallExpr); ok {
		return false
	}
	return true
}

// directVar returns X for an expression that is exactly var.X.
func directVar(e hcl.Expression) string {
	st, ok := e.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(st.Traversal) != 2 || st.Traversal.RootName() != "var" {
		return ""
	}
	return attrName(st.Traversal[1])
}

// tableFix fixes a table's point_in_time_recovery block.
func (w *walker) tableFix(in *instance, r *resource, o iac.Outcome, en, period hcl.Expression, hasBlock bool) func() *iac.Fix {
	return func() *iac.Fix {
		if f := overridden(r); f != nil {
			return f
		}
		if in.rootCall != nil && (!hasBlock || en == nil || directVar(en) == "") {
			return &iac.Fix{File: r.file, Manual: "the table is defined inside module " + strings.TrimSuffix(in.addr, ".") + " without an input that controls PITR; change the module"}
		}
		if why := editable(r.file); why != "" && (en == nil || directVar(en) == "") {
			return &iac.Fix{File: r.file, Manual: why}
		}
		labels := []string{r.typ, r.name}
		if o.Known && o.Enabled && period != nil {
			if !literal(period) {
				return &iac.Fix{File: r.file, Manual: "recovery_period_in_days is an expression; change it by hand"}
			}
			days := w.minDays
			if days <= 0 || days > 35 {
				days = 35
			}
			return &iac.Fix{File: r.file, Desc: fmt.Sprintf("set recovery_period_in_days = %d", days),
				Edit: setAttr(blockPath{typ: "resource", labels: labels, child: "point_in_time_recovery"}, "recovery_period_in_days", fmt.Sprint(days))}
		}
		switch {
		case !hasBlock:
			return &iac.Fix{File: r.file, Desc: "add point_in_time_recovery { enabled = true }",
				Edit: addBlock(blockPath{typ: "resource", labels: labels}, "point_in_time_recovery", "enabled = true")}
		case en == nil:
			return &iac.Fix{File: r.file, Desc: "set point_in_time_recovery.enabled = true",
				Edit: insertAttr(blockPath{typ: "resource", labels: labels, child: "point_in_time_recovery"}, "enabled", "true")}
		case literal(en):
			return &iac.Fix{File: r.file, Desc: "set point_in_time_recovery.enabled = true",
				Edit: setAttr(blockPath{typ: "resource", labels: labels, child: "point_in_time_recovery"}, "enabled", "true")}
		case directVar(en) != "":
			return w.varFix(in, directVar(en))
		}
		return &iac.Fix{File: r.file, Manual: "enabled is an expression; change it (or the inputs it reads) by hand"}
	}
}

// overridden is a manual fix for a resource an override file changes: the
// setting that wins may be in either file, and a person should choose.
func overridden(r *resource) *iac.Fix {
	if len(r.overrides) == 0 {
		return nil
	}
	var files []string
	for _, o := range r.overrides {
		files = append(files, filepath.Base(o.DefRange.Filename))
	}
	return &iac.Fix{File: r.file, Manual: "the resource is changed by override file(s) " + strings.Join(files, ", ") + "; fix the setting where it wins, by hand"}
}

// replicaFix sets point_in_time_recovery = true on a replica block (index >= 0)
// or on an aws_dynamodb_table_replica resource (index -1).
func (w *walker) replicaFix(in *instance, r *resource, c *hcl.BodyContent, index int) func() *iac.Fix {
	return func() *iac.Fix {
		if f := overridden(r); f != nil {
			return f
		}
		a := c.Attributes["point_in_time_recovery"]
		if a != nil && directVar(a.Expr) != "" {
			return w.varFix(in, directVar(a.Expr))
		}
		if a != nil && !literal(a.Expr) {
			return &iac.Fix{File: r.file, Manual: "point_in_time_recovery is an expression; change it by hand"}
		}
		if in.rootCall != nil {
			return &iac.Fix{File: r.file, Manual: "the replica is defined inside module " + strings.TrimSuffix(in.addr, ".") + "; set its PITR through the module's inputs"}
		}
		if why := editable(r.file); why != "" {
			return &iac.Fix{File: r.file, Manual: why}
		}
		labels := []string{r.typ, r.name}
		if a == nil {
			bp := blockPath{typ: "resource", labels: labels}
			if index >= 0 {
				bp.child, bp.index = "replica", index
			}
			return &iac.Fix{File: r.file, Desc: "set point_in_time_recovery = true on the replica", Edit: insertAttr(bp, "point_in_time_recovery", "true")}
		}
		bp := blockPath{typ: "resource", labels: labels}
		if index >= 0 {
			bp.child, bp.index = "replica", index
		}
		return &iac.Fix{File: r.file, Desc: "set point_in_time_recovery = true on the replica", Edit: setAttr(bp, "point_in_time_recovery", "true")}
	}
}

// varFix changes where a variable's value comes from: its default, the
// tfvars entry, or the module call's input — never a vendored module.
func (w *walker) varFix(in *instance, name string) *iac.Fix {
	src := in.src[name]
	switch src.kind {
	case "default":
		v := in.mod.variables[name]
		if src.call != nil {
			// A module input left at the module's default: set it on the call.
			c := src.call
			if why := editable(c.file); why != "" {
				return &iac.Fix{File: c.file, Manual: why}
			}
			return &iac.Fix{File: c.file, Desc: fmt.Sprintf("set input %s = true on module %s", name, c.name),
				Edit: insertAttr(blockPath{typ: "module", labels: []string{c.name}}, name, "true")}
		}
		if why := editable(v.file); why != "" {
			return &iac.Fix{File: v.file, Manual: why}
		}
		if !literal(v.def.Expr) {
			return &iac.Fix{File: v.file, Manual: "the default of var." + name + " is an expression"}
		}
		return &iac.Fix{File: v.file, Desc: fmt.Sprintf("set the default of variable %s to true", name),
			Edit: setAttr(blockPath{typ: "variable", labels: []string{name}}, "default", "true")}
	case "tfvars":
		if why := editable(src.file); why != "" {
			return &iac.Fix{File: src.file, Manual: why}
		}
		return &iac.Fix{File: src.file, Desc: fmt.Sprintf("set %s = true in %s", name, filepath.Base(src.file)), Edit: setAttr(blockPath{}, name, "true")}
	case "input":
		c := src.call
		if c.overridden {
			return &iac.Fix{File: c.file, Manual: fmt.Sprintf("module %s is changed by an override file; set input %s = true by hand where it wins", c.name, name)}
		}
		if v := directVar(src.attr.Expr); v != "" && src.in != nil {
			return w.varFix(src.in, v)
		}
		if !literal(src.attr.Expr) {
			return &iac.Fix{File: c.file, Manual: fmt.Sprintf("input %s of module %s is an expression; change it by hand", name, c.name)}
		}
		if why := editable(c.file); why != "" {
			return &iac.Fix{File: c.file, Manual: why}
		}
		return &iac.Fix{File: c.file, Desc: fmt.Sprintf("set input %s = true on module %s", name, c.name),
			Edit: setAttr(blockPath{typ: "module", labels: []string{c.name}}, name, "true")}
	case "cli":
		return &iac.Fix{Manual: "var." + name + " comes from --var; pass --var " + name + "=true"}
	case "env":
		return &iac.Fix{Manual: "var." + name + " comes from the environment variable TF_VAR_" + name + "; set it to true where Terraform runs"}
	}
	return &iac.Fix{Manual: "var." + name + " has no value here; the verdict depends on what it is given"}
}

// blockPath finds a nested block: the resource (or module/variable) by type
// and labels, then optionally the n-th child block of a type.
type blockPath struct {
	typ    string
	labels []string
	child  string
	index  int
}

func (bp blockPath) find(body *hclsyntax.Body) *hclsyntax.Block {
	for _, b := range body.Blocks {
		if b.Type != bp.typ || strings.Join(b.Labels, "\x00") != strings.Join(bp.labels, "\x00") {
			continue
		}
		if bp.child == "" {
			return b
		}
		n := 0
		for _, c := range b.Body.Blocks {
			if c.Type == bp.child {
				if n == bp.index {
					return c
				}
				n++
			}
		}
	}
	return nil
}

// setAttr sets an attribute of a block (or of the file, for tfvars, when
// bp.typ is ""): an existing value's text is replaced, a missing attribute
// is inserted. Nothing else in the file changes.
func setAttr(bp blockPath, name, value string) func([]byte) ([]byte, error) {
	return func(src []byte) ([]byte, error) {
		f, d := hclsyntax.ParseConfig(src, "", hcl.InitialPos)
		if d.HasErrors() {
			return nil, fmt.Errorf("parse: %s", d.Error())
		}
		body := f.Body.(*hclsyntax.Body)
		if bp.typ != "" {
			b := bp.find(body)
			if b == nil {
				return nil, fmt.Errorf("block %s %v not found", bp.typ, bp.labels)
			}
			body = b.Body
		}
		if a, ok := body.Attributes[name]; ok {
			r := a.Expr.Range()
			return splice(src, r.Start.Byte, r.End.Byte, value), nil
		}
		if bp.typ == "" {
			sep := ""
			if len(src) > 0 && src[len(src)-1] != '\n' {
				sep = "\n"
			}
			return append(append([]byte{}, src...), sep+name+" = "+value+"\n"...), nil
		}
		return insertAttr(bp, name, value)(src)
	}
}

// addBlock inserts a nested block as the last item of a block.
func addBlock(bp blockPath, typ string, attrs ...string) func([]byte) ([]byte, error) {
	return func(src []byte) ([]byte, error) {
		b, err := bp.locate(src)
		if err != nil {
			return nil, err
		}
		indent := leading(src[lineStart(src, b.OpenBraceRange.Start.Byte):])
		inner := indent + "  "
		text := inner + typ + " {\n"
		for _, a := range attrs {
			text += inner + "  " + a + "\n"
		}
		text += inner + "}\n"
		if b.OpenBraceRange.Start.Line == b.CloseBraceRange.Start.Line {
			return splice(src, b.OpenBraceRange.Start.Byte, b.CloseBraceRange.End.Byte, "{\n"+text+indent+"}"), nil
		}
		at := lineStart(src, b.CloseBraceRange.Start.Byte)
		return splice(src, at, at, text), nil
	}
}

// insertAttr adds "name = value" as the last line of a block, as text, so
// no other line changes (hclwrite would realign neighbouring attributes).
// A one-line block ("x {}") is opened up.
func insertAttr(bp blockPath, name, value string) func([]byte) ([]byte, error) {
	return func(src []byte) ([]byte, error) {
		b, err := bp.locate(src)
		if err != nil {
			return nil, err
		}
		open, closeB := b.OpenBraceRange, b.CloseBraceRange
		indent := leading(src[lineStart(src, open.Start.Byte):])
		attr := name + " = " + value
		if open.Start.Line == closeB.Start.Line {
			text := "{\n" + indent + "  " + attr + "\n" + indent + "}"
			return splice(src, open.Start.Byte, closeB.End.Byte, text), nil
		}
		inner := indent + "  "
		for _, a := range b.Body.Attributes {
			inner = leading(src[lineStart(src, a.SrcRange.Start.Byte):])
			break
		}
		at := lineStart(src, closeB.Start.Byte)
		return splice(src, at, at, inner+attr+"\n"), nil
	}
}

// locate parses src and finds the block.
func (bp blockPath) locate(src []byte) (*hclsyntax.Block, error) {
	f, d := hclsyntax.ParseConfig(src, "", hcl.InitialPos)
	if d.HasErrors() {
		return nil, fmt.Errorf("parse: %s", d.Error())
	}
	b := bp.find(f.Body.(*hclsyntax.Body))
	if b == nil {
		return nil, fmt.Errorf("block %s %v not found", bp.typ, bp.labels)
	}
	return b, nil
}

// lineStart is the offset of the start of the line holding off.
func lineStart(src []byte, off int) int {
	for off > 0 && src[off-1] != '\n' {
		off--
	}
	return off
}

func leading(b []byte) string {
	n := 0
	for n < len(b) && (b[n] == ' ' || b[n] == '\t') {
		n++
	}
	return string(b[:n])
}

func splice(src []byte, start, end int, text string) []byte {
	return append(append(append([]byte{}, src[:start]...), text...), src[end:]...)
}
