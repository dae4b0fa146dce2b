package terraform

import (
	"fmt"
	"math/big"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/pitrguard/pitrguard/internal/iac"
)

// varSource says where a variable's value came from (for fixes and reasons).
type varSource struct {
	kind string // default, tfvars, cli, input, unset, enumerated
	file string
	attr *hcl.Attribute
	call *call     // for input: the module call
	in   *instance // the caller instance (for input)
}

type instance struct {
	mod     *module
	addr    string // "" or "module.a.module.b."
	vars    map[string]cty.Value
	src     map[string]varSource
	locals  map[string]cty.Value
	unknown map[string]bool // variables without a value
	// attribution: the outermost module call in the root, for findings inside modules
	rootCall *call
	absent   bool // module count = 0
	// unsure says why the module instance itself is uncertain (its count or
	// for_each cannot be evaluated): its findings are UNKNOWN.
	unsure string
	// defaultTags are the aws providers' default_tags by alias.
	defaultTags map[string]tagSet
}

// result is one resource (or replica) evaluation in one pass.
type result struct {
	key      string
	finding  iac.Finding
	outcome  iac.Outcome
	fix      func() *iac.Fix
	comments []string
}

func (in *instance) ctx(extra map[string]cty.Value) *hcl.EvalContext {
	vars := map[string]cty.Value{
		"var":   cty.ObjectVal(orEmpty(in.vars)),
		"local": cty.ObjectVal(orEmpty(in.locals)),
		"path":  cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(in.mod.dir), "root": cty.StringVal("."), "cwd": cty.StringVal(".")}),
		// The workspace is the one it is applied in: not a guess of "default".
		"terraform": cty.ObjectVal(map[string]cty.Value{"workspace": cty.UnknownVal(cty.String)}),
	}
	for k, v := range extra {
		vars[k] = v
	}
	return &hcl.EvalContext{Variables: vars, Functions: functions}
}

func orEmpty(m map[string]cty.Value) map[string]cty.Value {
	if m == nil {
		return map[string]cty.Value{}
	}
	return m
}

// eval evaluates an expression; any error makes the value unknown.
func (in *instance) eval(e hcl.Expression, extra map[string]cty.Value) cty.Value {
	v, d := e.Value(in.ctx(extra))
	if d.HasErrors() {
		return cty.DynamicVal
	}
	return v
}

// resolveLocals evaluates locals in dependency order; cycles stay unknown.
func (in *instance) resolveLocals() {
	in.locals = map[string]cty.Value{}
	pending := map[string]*hcl.Attribute{}
	for n, a := range in.mod.locals {
		pending[n] = a
	}
	for len(pending) > 0 {
		progress := false
		for n, a := range pending {
			ready := true
			for _, tr := range a.Expr.Variables() {
				if tr.RootName() == "local" && len(tr) > 1 {
					if name := attrName(tr[1]); name != "" {
						if _, waiting := pending[name]; waiting && name != n {
							ready = false
						}
					}
				}
			}
			if ready {
				in.locals[n] = in.eval(a.Expr, nil)
				delete(pending, n)
				progress = true
			}
		}
		if !progress {
			for n := range pending {
				in.locals[n] = cty.DynamicVal
			}
			break
		}
	}
}

func attrName(t hcl.Traverser) string {
	if a, ok := t.(hcl.TraverseAttr); ok {
		return a.Name
	}
	return ""
}

// deciders lists the inputs without a value that an expression depends on
// (through locals too).
func (in *instance) deciders(e hcl.Expression) []string {
	seen := map[string]bool{}
	var out []string
	var walk func(hcl.Expression, int)
	walk = func(e hcl.Expression, depth int) {
		if depth > 10 {
			return
		}
		for _, tr := range e.Variables() {
			if len(tr) < 2 {
				continue
			}
			name := attrName(tr[1])
			switch tr.RootName() {
			case "terraform":
				if name == "workspace" && !seen["\x00workspace"] {
					seen["\x00workspace"] = true
					out = append(out, "terraform.workspace")
				}
			case "var":
				if in.unknown[name] && !seen[name] {
					seen[name] = true
					who := "var." + name
					if in.addr != "" {
						who = "input " + name + " of " + strings.TrimSuffix(in.addr, ".")
					}
					out = append(out, who)
				}
			case "local":
				if a := in.mod.locals[name]; a != nil {
					walk(a.Expr, depth+1)
				}
			}
		}
	}
	walk(e, 0)
	sort.Strings(out)
	return out
}

func (in *instance) why(what string, exprs ...hcl.Expression) string {
	var ds []string
	for _, e := range exprs {
		if e != nil {
			ds = append(ds, in.deciders(e)...)
		}
	}
	if len(ds) == 0 {
		return what + " cannot be evaluated without running Terraform (a resource attribute, data source or unsupported function)"
	}
	sort.Strings(ds)
	ds = dedupe(ds)
	var vars []string
	ws := ""
	for _, d := range ds {
		if d == "terraform.workspace" {
			ws = "terraform.workspace, which is the workspace it is applied in"
		} else {
			vars = append(vars, d)
		}
	}
	if len(vars) == 0 {
		return what + " depends on " + ws
	}
	msg := what + " depends on " + strings.Join(vars, ", ") + ", which has no value (give it a default, a tfvars entry or --var)"
	if ws != "" {
		msg += ", and on " + ws
	}
	return msg
}

func dedupe(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// toBool converts the way Terraform does ("true"/"false" strings included).
func toBool(v cty.Value) (b, known, ok bool) {
	if !v.IsWhollyKnown() {
		return false, false, true
	}
	if v.IsNull() {
		return false, true, true
	}
	c, err := convert.Convert(v, cty.Bool)
	if err != nil {
		return false, true, false
	}
	return c.True(), true, true
}

func toInt(v cty.Value) (int, bool) {
	if !v.IsWhollyKnown() || v.IsNull() {
		return 0, false
	}
	c, err := convert.Convert(v, cty.Number)
	if err != nil {
		return 0, false
	}
	i, acc := c.AsBigFloat().Int64()
	if acc != big.Exact {
		return 0, false
	}
	return int(i), true
}

// newRoot builds the root instance with tfvars, -var values and an
// assignment of enumerated unknown bool variables.
func newRoot(m *module, tfvars map[string]tfvar, assign map[string]bool) *instance {
	in := &instance{mod: m, vars: map[string]cty.Value{}, src: map[string]varSource{}, unknown: map[string]bool{}}
	for name, v := range m.variables {
		switch {
		case assign != nil && hasKey(assign, name):
			in.vars[name] = cty.BoolVal(assign[name])
			in.src[name] = varSource{kind: "enumerated"}
		case tfvars[name].set:
			in.vars[name] = convertTo(tfvars[name].val, v.typ)
			in.src[name] = varSource{kind: tfvars[name].kind, file: tfvars[name].file, attr: tfvars[name].attr}
		case v.def != nil:
			in.vars[name] = convertTo(in.eval(v.def.Expr, nil), v.typ)
			in.src[name] = varSource{kind: "default", file: v.file, attr: v.def}
		default:
			in.vars[name] = cty.UnknownVal(v.typ)
			in.src[name] = varSource{kind: "unset"}
			in.unknown[name] = true
		}
	}
	in.resolveLocals()
	return in
}

func hasKey(m map[string]bool, k string) bool { _, ok := m[k]; return ok }

func convertTo(v cty.Value, t cty.Type) cty.Value {
	if t == cty.DynamicPseudoType || !v.IsKnown() || v.IsNull() {
		return v
	}
	c, err := convert.Convert(v, t)
	if err != nil {
		return cty.UnknownVal(t)
	}
	return c
}

// child builds the instance of a module call.
func (in *instance) child(c *call, m *module, extra map[string]cty.Value) *instance {
	ch := &instance{mod: m, addr: in.addr + "module." + c.name + ".", vars: map[string]cty.Value{}, src: map[string]varSource{},
		unknown: map[string]bool{}, rootCall: in.rootCall, absent: in.absent, unsure: in.unsure}
	if ch.rootCall == nil {
		ch.rootCall = c
	}
	for name, v := range m.variables {
		if a, ok := c.attrs[name]; ok {
			val := convertTo(in.eval(a.Expr, extra), v.typ)
			ch.vars[name] = val
			ch.src[name] = varSource{kind: "input", file: c.file, attr: a, call: c, in: in}
			if !val.IsWhollyKnown() {
				ch.unknown[name] = true
			}
			continue
		}
		if v.def != nil {
			ch.vars[name] = convertTo(ch.eval(v.def.Expr, nil), v.typ)
			ch.src[name] = varSource{kind: "default", file: v.file, attr: v.def, call: c, in: in}
			continue
		}
		ch.vars[name] = cty.UnknownVal(v.typ)
		ch.src[name] = varSource{kind: "unset", call: c, in: in}
		ch.unknown[name] = true
	}
	ch.resolveLocals()
	return ch
}

// walker evaluates a module tree in one pass.
type walker struct {
	parser    *hclparse.Parser
	modules   map[string]*module // by dir
	installed map[string]string
	root      string
	diags     []Diag
	results   []result
	minDays   int
	limits    iac.Limits
	split     map[string][]string // file → lines, for comment directives
	// extras are findings of rules on other resources than tables (the
	// backup-selection-arn rule), made on the first pass only (extrasOn).
	extras   []result
	extrasOn bool
}

func (w *walker) load(dir string) *module {
	dir = filepath.Clean(dir)
	if m, ok := w.modules[dir]; ok {
		return m
	}
	m, d := loadModule(w.parser, dir, w.limits)
	w.diags = append(w.diags, d...)
	w.modules[dir] = m
	return m
}

// walk evaluates the resources of in and of the modules it calls.
func (w *walker) walk(in *instance, key string, depth int) {
	for _, r := range in.mod.resources {
		switch r.typ {
		case "aws_dynamodb_table", "aws_dynamodb_table_replica":
			w.resource(in, r)
		case "aws_backup_selection":
			w.backupSelection(in, r)
		}
	}
	if depth > 8 {
		return
	}
	for _, c := range in.mod.calls {
		ckey := c.name
		if key != "" {
			ckey = key + "." + c.name
		}
		var dir string
		switch {
		case localSource(c.source):
			dir = filepath.Join(in.mod.dir, c.source)
		case w.installed[ckey] != "":
			dir = w.installed[ckey]
		default:
			f := iac.Finding{File: attributionFile(in, c), Line: attributionLine(in, c), Resource: in.addr + "module." + c.name, Reasons: []string{}}
			w.results = append(w.results, result{key: f.Resource, finding: f, outcome: iac.Outcome{
				Why: fmt.Sprintf("module source %q is not available locally: run `terraform init` so that .terraform/modules holds it, then scan again", c.source)}})
			continue
		}
		m := w.load(dir)
		if m == nil {
			continue
		}
		// count and for_each on a module call make one instance per index or
		// key, each with its own inputs (count.index, each.key, each.value).
		for _, mi := range w.moduleInstances(in, c) {
			ch := in.child(c, m, mi.extra)
			ch.defaultTags = childProviderTags(in, c, ch)
			ch.addr = in.addr + "module." + c.name + mi.suffix + "."
			ch.absent = ch.absent || mi.absent
			if mi.unsure != "" && ch.unsure == "" {
				ch.unsure = mi.unsure
			}
			w.walk(ch, ckey, depth+1)
		}
	}
}

// moduleInstances expands a module call's count or for_each.
func (w *walker) moduleInstances(in *instance, c *call) []instKey {
	if a, ok := c.attrs["count"]; ok {
		n, known := toInt(in.eval(a.Expr, nil))
		switch {
		case !known:
			return []instKey{{suffix: "[*]", extra: map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.UnknownVal(cty.Number)})},
				unsure: in.why("the module's count", a.Expr)}}
		case n <= 0:
			return []instKey{{absent: true}}
		}
		var out []instKey
		if n > maxInstances {
			return []instKey{{suffix: "[*]", unsure: fmt.Sprintf("the module's count is %d, more instances than pitrguard expands (%d)", n, maxInstances)}}
		}
		for i := range n {
			out = append(out, instKey{suffix: fmt.Sprintf("[%d]", i), extra: map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(i))})}})
		}
		return out
	}
	if a, ok := c.attrs["for_each"]; ok {
		v := in.eval(a.Expr, nil)
		if !v.IsWhollyKnown() || v.IsNull() || !(v.Type().IsMapType() || v.Type().IsSetType() || v.Type().IsObjectType()) {
			return []instKey{{suffix: "[*]", extra: map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": cty.UnknownVal(cty.String), "value": cty.DynamicVal})},
				unsure: in.why("the module's for_each", a.Expr)}}
		}
		if v.LengthInt() == 0 {
			return []instKey{{absent: true}}
		}
		if v.LengthInt() > maxInstances {
			return []instKey{{suffix: "[*]", unsure: fmt.Sprintf("the module's for_each has %d elements, more instances than pitrguard expands (%d)", v.LengthInt(), maxInstances)}}
		}
		var out []instKey
		for it := v.ElementIterator(); it.Next(); {
			k, val := it.Element()
			if v.Type().IsSetType() {
				k = val
			}
			if !k.Type().Equals(cty.String) {
				continue
			}
			ks := k.AsString()
			out = append(out, instKey{suffix: fmt.Sprintf("[%q]", ks),
				extra: map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(ks), "value": val})}})
		}
		return out
	}
	return []instKey{{}}
}

func attributionFile(in *instance, c *call) string {
	if in.rootCall != nil {
		return in.rootCall.file
	}
	return c.file
}

func attributionLine(in *instance, c *call) int {
	if in.rootCall != nil {
		return in.rootCall.block.DefRange.Start.Line
	}
	return c.block.DefRange.Start.Line
}
