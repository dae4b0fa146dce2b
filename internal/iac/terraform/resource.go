package terraform

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/pitrguard/pitrguard/internal/iac"
)

// One schema per resource type: point_in_time_recovery is a block of
// aws_dynamodb_table but an attribute of aws_dynamodb_table_replica, and an
// HCL JSON body matches a name listed as both as an attribute, so a shared
// schema never saw the block in .tf.json (issue 9 #15).
var (
	tableSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "count"}, {Name: "for_each"}, {Name: "provider"}, {Name: "name"}, {Name: "tags"}},
		Blocks: []hcl.BlockHeaderSchema{{Type: "point_in_time_recovery"}, {Type: "replica"},
			{Type: "dynamic", LabelNames: []string{"type"}}},
	}
	replicaResourceSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "count"}, {Name: "for_each"}, {Name: "provider"}, {Name: "point_in_time_recovery"},
			{Name: "tags"}, {Name: "global_table_arn"}},
	}
)

// schemaOf is the schema of a resource type pitrguard reads.
func schemaOf(typ string) *hcl.BodySchema {
	if typ == "aws_dynamodb_table_replica" {
		return replicaResourceSchema
	}
	return tableSchema
}

var dynamicSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "for_each", Required: true}, {Name: "iterator"}, {Name: "labels"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "content"}},
}

// maxInstances bounds the expansion of count and for_each (an untrusted
// configuration must not make the scan unbounded).
const maxInstances = 1000

// nested is one (possibly dynamic) nested block with the variables it sees.
type nested struct {
	body    hcl.Body
	extra   map[string]cty.Value
	dynamic bool
	index   int // position among the static blocks of its type
}

type instKey struct {
	suffix string
	extra  map[string]cty.Value
	unsure string // count/for_each could not be evaluated
	absent bool   // count = 0 or an empty for_each (module calls)
}

func (w *walker) resource(in *instance, r *resource) {
	content, _, _ := r.body().PartialContent(schemaOf(r.typ))
	addr := in.addr + r.typ + "." + r.name
	insts, ok := w.instances(in, r, content, addr)
	if !ok {
		return
	}
	for _, ik := range insts {
		a := addr + ik.suffix
		id := w.identity(in, r, content, ik.extra)
		if r.typ == "aws_dynamodb_table_replica" {
			w.replicaResource(in, r, content, a, ik, id)
			continue
		}
		o, fix := w.pitr(in, r, content, ik.extra)
		if ik.unsure != "" && !o.Known {
			o.Why = ik.unsure
		}
		o.ID = id
		w.emit(in, r, a, o, fix, "")
		for i, rep := range w.blocks(in, content, "replica", ik.extra) {
			w.inlineReplica(in, r, a, id, i, rep)
		}
	}
}

// instances lists the instances count or for_each gives a resource (one
// when neither is set, one unsure instance when they cannot be evaluated).
// When a resource has no instance, or too many to expand, it is judged
// here and ok is false.
func (w *walker) instances(in *instance, r *resource, content *hcl.BodyContent, addr string) (insts []instKey, ok bool) {
	switch {
	case content.Attributes["count"] != nil:
		return w.countInstances(in, r, content.Attributes["count"].Expr, addr)
	case content.Attributes["for_each"] != nil:
		return w.forEachInstances(in, r, content.Attributes["for_each"].Expr, addr)
	}
	return []instKey{{}}, true
}

func (w *walker) countInstances(in *instance, r *resource, e hcl.Expression, addr string) ([]instKey, bool) {
	n, known := toInt(in.eval(e, nil))
	if !known {
		return []instKey{{suffix: "", extra: map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.UnknownVal(cty.Number)})},
			unsure: in.why("count", e)}}, true
	}
	if n == 0 {
		w.emit(in, r, addr, iac.Outcome{Absent: true, When: ""}, nil, "")
		return nil, false
	}
	if n > maxInstances {
		w.emit(in, r, addr+"[*]", iac.Outcome{Why: fmt.Sprintf("count is %d, more instances than pitrguard expands (%d)", n, maxInstances)}, nil, "")
		return nil, false
	}
	var insts []instKey
	for i := range n {
		insts = append(insts, instKey{suffix: fmt.Sprintf("[%d]", i), extra: map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(i))})}})
	}
	return insts, true
}

func (w *walker) forEachInstances(in *instance, r *resource, e hcl.Expression, addr string) ([]instKey, bool) {
	v := in.eval(e, nil)
	if !v.IsWhollyKnown() || v.IsNull() || !(v.Type().IsMapType() || v.Type().IsSetType() || v.Type().IsObjectType()) {
		return []instKey{{extra: map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": cty.UnknownVal(cty.String), "value": cty.DynamicVal})},
			unsure: in.why("for_each", e)}}, true
	}
	if v.LengthInt() == 0 {
		w.emit(in, r, addr, iac.Outcome{Absent: true}, nil, "")
		return nil, false
	}
	if v.LengthInt() > maxInstances {
		w.emit(in, r, addr+"[*]", iac.Outcome{Why: fmt.Sprintf("for_each has %d elements, more instances than pitrguard expands (%d)", v.LengthInt(), maxInstances)}, nil, "")
		return nil, false
	}
	var insts []instKey
	for it := v.ElementIterator(); it.Next(); {
		k, val := it.Element()
		if v.Type().IsSetType() {
			k = val
		}
		ks := k.AsString()
		insts = append(insts, instKey{suffix: fmt.Sprintf("[%q]", ks),
			extra: map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(ks), "value": val})}})
	}
	return insts, true
}

// replicaResource judges one instance (address a) of an
// aws_dynamodb_table_replica; its region is named by its provider.
func (w *walker) replicaResource(in *instance, r *resource, content *hcl.BodyContent, a string, ik instKey, id iac.Identity) {
	o := w.replicaAttr(in, content, ik.extra, "point_in_time_recovery")
	o.ID = id
	region := ""
	if p := content.Attributes["provider"]; p != nil {
		region = strings.TrimSpace(string(hcl.RangeBetween(p.Expr.StartRange(), p.Expr.Range()).SliceBytes(in.mod.src[r.file])))
	}
	w.emit(in, r, a, o, w.replicaFix(in, r, content, -1), region)
}

// inlineReplica judges the i-th replica block rep of the table instance at
// address a, whose identity is id.
func (w *walker) inlineReplica(in *instance, r *resource, a string, id iac.Identity, i int, rep nested) {
	region := fmt.Sprintf("replica[%d]", i)
	if rep.body == nil {
		// A dynamic replica block whose for_each cannot be evaluated:
		// which replicas exist is not known.
		w.emit(in, r, a, iac.Outcome{Why: rep.extra["__unknown"].AsString(), ID: w.replicaIdentity(in, id, &hcl.BodyContent{}, nil, "")},
			manual(r.file, "the replicas come from a dynamic block whose for_each is not known"), "dynamic replicas")
		return
	}
	rc, _, _ := rep.body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "region_name"}, {Name: "point_in_time_recovery"}, {Name: "propagate_tags"}}})
	if rn := rc.Attributes["region_name"]; rn != nil {
		if v := in.eval(rn.Expr, rep.extra); v.IsWhollyKnown() && v.Type() == cty.String {
			region = v.AsString()
		}
	}
	ro := w.replicaAttr(in, rc, rep.extra, "point_in_time_recovery")
	ro.ID = w.replicaIdentity(in, id, rc, rep.extra, region)
	var rfix func() *iac.Fix
	if !rep.dynamic {
		rfix = w.replicaFix(in, r, rc, rep.index)
	} else {
		rfix = manual(r.file, "the replica comes from a dynamic block; set point_in_time_recovery = true in its content by hand")
	}
	line := 0
	if sb, ok := rep.body.(*hclsyntax.Body); ok {
		line = sb.SrcRange.Start.Line
	}
	w.emitAt(in, r, a, ro, rfix, region, line)
}

// blocks expands static and dynamic nested blocks of one type.
func (w *walker) blocks(in *instance, content *hcl.BodyContent, typ string, extra map[string]cty.Value) []nested {
	var out []nested
	static := 0
	for _, b := range content.Blocks {
		switch {
		case b.Type == typ:
			out = append(out, nested{body: b.Body, extra: extra, index: static})
			static++
		case b.Type == "dynamic" && b.Labels[0] == typ:
			dc, _, d := b.Body.PartialContent(dynamicSchema)
			if d.HasErrors() || len(dc.Blocks) == 0 {
				continue
			}
			it := typ
			if a := dc.Attributes["iterator"]; a != nil {
				if tr, d := hcl.AbsTraversalForExpr(a.Expr); !d.HasErrors() {
					it = tr.RootName()
				}
			}
			coll := in.eval(dc.Attributes["for_each"].Expr, extra)
			if !coll.IsWhollyKnown() || coll.IsNull() || !coll.CanIterateElements() {
				out = append(out, nested{body: nil, extra: map[string]cty.Value{"__unknown": cty.StringVal(in.why("the dynamic "+typ+" block's for_each", dc.Attributes["for_each"].Expr))}, dynamic: true})
				continue
			}
			if coll.LengthInt() > maxInstances {
				out = append(out, nested{body: nil, extra: map[string]cty.Value{"__unknown": cty.StringVal(fmt.Sprintf("the dynamic %s block's for_each has more elements than pitrguard expands (%d)", typ, maxInstances))}, dynamic: true})
				continue
			}
			for ei := coll.ElementIterator(); ei.Next(); {
				k, v := ei.Element()
				x := map[string]cty.Value{}
				for kk, vv := range extra {
					x[kk] = vv
				}
				x[it] = cty.ObjectVal(map[string]cty.Value{"key": k, "value": v})
				out = append(out, nested{body: dc.Blocks[0].Body, extra: x, dynamic: true})
			}
		}
	}
	return out
}

// pitr evaluates the point_in_time_recovery block of a table.
func (w *walker) pitr(in *instance, r *resource, content *hcl.BodyContent, extra map[string]cty.Value) (iac.Outcome, func() *iac.Fix) {
	bs := w.blocks(in, content, "point_in_time_recovery", extra)
	if len(bs) == 0 {
		for _, b := range content.Blocks {
			if b.Type == "dynamic" && b.Labels[0] == "point_in_time_recovery" {
				return iac.Outcome{Known: true}, manual(r.file, "the dynamic point_in_time_recovery block produces no block (its for_each is empty); change its for_each by hand")
			}
		}
		return iac.Outcome{Known: true}, w.tableFix(in, r, iac.Outcome{Known: true}, nil, nil, false)
	}
	b := bs[0]
	if b.body == nil {
		return iac.Outcome{Why: b.extra["__unknown"].AsString()}, manual(r.file, "point_in_time_recovery comes from a dynamic block whose for_each is not known")
	}
	bc, _, _ := b.body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "enabled"}, {Name: "recovery_period_in_days"}}})
	o := iac.Outcome{Known: true}
	en := bc.Attributes["enabled"]
	if en == nil {
		o.Schema = append(o.Schema, "point_in_time_recovery {} without enabled: Terraform rejects it (enabled is required)")
	} else {
		v := in.eval(en.Expr, b.extra)
		val, known, ok := toBool(v)
		switch {
		case !known:
			o.Known, o.Why = false, in.why("point_in_time_recovery.enabled", en.Expr)
		case !ok:
			o.Schema = append(o.Schema, fmt.Sprintf("point_in_time_recovery.enabled is not a bool (%s)", v.GoString()))
		default:
			o.Enabled = val
		}
	}
	if pd := bc.Attributes["recovery_period_in_days"]; pd != nil {
		if d, ok := toInt(in.eval(pd.Expr, b.extra)); ok {
			if d < 1 || d > 35 {
				o.Schema = append(o.Schema, fmt.Sprintf("recovery_period_in_days must be 1 to 35, not %d", d))
			} else {
				o.Days = d
			}
			if en == nil && o.Known {
				o.Schema = append(o.Schema, "recovery_period_in_days without enabled = true")
			}
		}
	}
	var enExpr, pdExpr hcl.Expression
	if en != nil {
		enExpr = en.Expr
	}
	if pd := bc.Attributes["recovery_period_in_days"]; pd != nil {
		pdExpr = pd.Expr
	}
	fix := w.tableFix(in, r, o, enExpr, pdExpr, true)
	if b.dynamic {
		fix = manual(r.file, "point_in_time_recovery comes from a dynamic block; change its content or for_each by hand")
	}
	return o, fix
}

// replicaAttr evaluates a replica's point_in_time_recovery attribute (default false).
func (w *walker) replicaAttr(in *instance, c *hcl.BodyContent, extra map[string]cty.Value, name string) iac.Outcome {
	a := c.Attributes[name]
	if a == nil {
		return iac.Outcome{Known: true} // a replica does not inherit the primary's PITR
	}
	v := in.eval(a.Expr, extra)
	b, known, ok := toBool(v)
	switch {
	case !known:
		return iac.Outcome{Why: in.why(name, a.Expr)}
	case !ok:
		return iac.Outcome{Known: true, Schema: []string{name + " is not a bool"}}
	}
	return iac.Outcome{Known: true, Enabled: b}
}

func (w *walker) emit(in *instance, r *resource, addr string, o iac.Outcome, fix func() *iac.Fix, region string) {
	w.emitAt(in, r, addr, o, fix, region, 0)
}

// emitAt records a result; line, if > 0, is where a replica block starts.
func (w *walker) emitAt(in *instance, r *resource, addr string, o iac.Outcome, fix func() *iac.Fix, region string, line int) {
	switch {
	case in.absent:
		o = iac.Outcome{Absent: true, When: "the module's count is 0 or its for_each is empty", ID: o.ID}
	case in.unsure != "" && !o.Absent:
		o = iac.Outcome{Why: in.unsure + "; which instances exist is not known", ID: o.ID}
	}
	f := iac.Finding{File: r.file, Line: r.block.DefRange.Start.Line, Resource: addr, ReplicaRegion: region, Reasons: []string{}}
	if line > 0 {
		f.Line = line
	}
	var comments []string
	src := w.lines(r.file)
	end := r.block.DefRange.Start.Line
	if sb, ok := r.block.Body.(*hclsyntax.Body); ok {
		end = sb.SrcRange.End.Line
	}
	comments = append(comments, block(src, r.block.DefRange.Start.Line, end)...)
	if in.rootCall != nil {
		f.File, f.Line = in.rootCall.file, in.rootCall.block.DefRange.Start.Line
		csrc := w.lines(in.rootCall.file)
		comments = append(comments, block(csrc, in.rootCall.block.DefRange.Start.Line, in.rootCall.block.DefRange.Start.Line)...)
		if ctrl := w.controllingInput(in, r); ctrl != "" {
			f.Reasons = append(f.Reasons, ctrl)
		}
	}
	w.results = append(w.results, result{key: addr + "|" + region, finding: f, outcome: o, fix: fix, comments: comments})
}

// lines returns a loaded file's lines, split once per scan.
func (w *walker) lines(file string) []string {
	if l, ok := w.split[file]; ok {
		return l
	}
	var l []string
	for _, m := range w.modules {
		if s, ok := m.src[file]; ok {
			l = strings.Split(string(s), "\n")
			break
		}
	}
	w.split[file] = l
	return l
}

// controllingInput names the module input that decides PITR, when the
// table's enabled attribute is a direct var reference.
func (w *walker) controllingInput(in *instance, r *resource) string {
	content, _, _ := r.body().PartialContent(schemaOf(r.typ))
	for _, b := range content.Blocks {
		if b.Type != "point_in_time_recovery" {
			continue
		}
		attrs, _ := b.Body.JustAttributes()
		if en := attrs["enabled"]; en != nil {
			for _, tr := range en.Expr.Variables() {
				if tr.RootName() == "var" && len(tr) > 1 {
					return fmt.Sprintf("controlled by input %s of %s", attrName(tr[1]), strings.TrimSuffix(in.addr, "."))
				}
			}
		}
	}
	return ""
}

// block returns the lines of a block plus the comment lines right above it.
func block(lines []string, start, end int) []string {
	var out []string
	for i := start - 2; i >= 0 && i < len(lines); i-- {
		t := strings.TrimSpace(lines[i])
		if !(strings.HasPrefix(t, "#") || strings.HasPrefix(t, "//") || strings.HasPrefix(t, "/*") || strings.HasPrefix(t, "*")) {
			break
		}
		out = append(out, lines[i])
	}
	for i := start - 1; i < end && i < len(lines); i++ {
		out = append(out, lines[i])
	}
	return out
}

func manual(file, why string) func() *iac.Fix {
	return func() *iac.Fix { return &iac.Fix{File: file, Manual: why} }
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
