package terraform

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/pitrguard/pitrguard/internal/backupsel"
	"github.com/pitrguard/pitrguard/internal/iac"
)

// backupSelectionSchema is what the backup-selection-arn rule reads of an
// aws_backup_selection.
var backupSelectionSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "resources"}, {Name: "not_resources"}}}

// backupSelection checks an aws_backup_selection for DynamoDB tables named
// by name where AWS Backup takes ARNs (iac.RuleBackupSelection): a literal
// name, aws_dynamodb_table.x.name or .id (also through a for expression or
// a splat), or a variable or local whose value is a name. A correct
// selection gives no finding. It runs on the first pass over the module
// tree only (the enumeration passes would repeat it).
func (w *walker) backupSelection(in *instance, r *resource) {
	if !w.extrasOn {
		return
	}
	content, _, _ := r.body().PartialContent(backupSelectionSchema)
	var reasons []string
	for _, name := range []string{"resources", "not_resources"} {
		if a := content.Attributes[name]; a != nil {
			for _, why := range in.tableNames(a.Expr) {
				reasons = append(reasons, name+": "+why)
			}
		}
	}
	if len(reasons) == 0 {
		return
	}
	f := iac.Finding{File: r.file, Line: r.block.DefRange.Start.Line, Resource: in.addr + r.typ + "." + r.name, Verdict: iac.Fail,
		Rule: iac.RuleBackupSelection, Reasons: append(reasons, iac.BackupSelectionAdvice)}
	end := r.block.DefRange.Start.Line
	if sb, ok := r.block.Body.(*hclsyntax.Body); ok {
		end = sb.SrcRange.End.Line
	}
	comments := block(w.lines(r.file), r.block.DefRange.Start.Line, end)
	if in.rootCall != nil {
		f.File, f.Line = in.rootCall.file, in.rootCall.block.DefRange.Start.Line
	}
	w.extras = append(w.extras, result{key: f.Resource, finding: f, comments: comments})
}

// tableNames lists the entries of a resources/not_resources expression that
// are table names, each with why.
func (in *instance) tableNames(e hcl.Expression) []string {
	if tup, ok := e.(*hclsyntax.TupleConsExpr); ok {
		var out []string
		for _, el := range tup.Exprs {
			out = append(out, in.tableNames(el)...)
		}
		return out
	}
	if why := in.nameReference(e); why != "" {
		return []string{why}
	}
	v := in.eval(e, nil)
	if !v.IsWhollyKnown() || v.IsNull() {
		return nil
	}
	from := ""
	if _, literal := e.(*hclsyntax.TemplateExpr); !literal || len(e.Variables()) > 0 {
		from = " (the value of " + in.text(e) + ")"
	}
	var out []string
	for _, s := range stringsOf(v) {
		if backupsel.IsName(s) {
			out = append(out, fmt.Sprintf("%q%s is a table name, not an ARN", s, from))
		}
	}
	return out
}

// stringsOf are the string values of v: v itself, or the elements of a
// list, set or tuple.
func stringsOf(v cty.Value) []string {
	t := v.Type()
	switch {
	case t == cty.String:
		return []string{v.AsString()}
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		var out []string
		for it := v.ElementIterator(); it.Next(); {
			_, el := it.Element()
			if el.IsKnown() && !el.IsNull() && el.Type() == cty.String {
				out = append(out, el.AsString())
			}
		}
		return out
	}
	return nil
}

// nameReference recognises the name or id of an aws_dynamodb_table (both
// are its table name): aws_dynamodb_table.x.name, aws_dynamodb_table.x[0].id,
// aws_dynamodb_table.x[*].name, values(aws_dynamodb_table.x)[*].id, and
// [for t in aws_dynamodb_table.x : t.name].
func (in *instance) nameReference(e hcl.Expression) string {
	switch x := e.(type) {
	case *hclsyntax.ScopeTraversalExpr:
		if x.Traversal.RootName() == "aws_dynamodb_table" && len(x.Traversal) >= 3 && nameAttr(x.Traversal) {
			return in.text(e) + " is the table's name, not its ARN (use .arn)"
		}
	case *hclsyntax.SplatExpr:
		if mentionsTables(x.Source) {
			if rt, ok := x.Each.(*hclsyntax.RelativeTraversalExpr); ok && nameAttr(rt.Traversal) {
				return in.text(e) + " are the tables' names, not their ARNs (use .arn)"
			}
		}
	case *hclsyntax.ForExpr:
		if mentionsTables(x.CollExpr) {
			if st, ok := x.ValExpr.(*hclsyntax.ScopeTraversalExpr); ok && (st.Traversal.RootName() == x.ValVar || st.Traversal.RootName() == x.KeyVar) && nameAttr(st.Traversal) {
				return "the for expression over " + in.text(x.CollExpr) + " yields the tables' names, not their ARNs (use .arn)"
			}
		}
	}
	return ""
}

// nameAttr reports whether a traversal ends with .name or .id.
func nameAttr(tr hcl.Traversal) bool {
	if len(tr) == 0 {
		return false
	}
	a, ok := tr[len(tr)-1].(hcl.TraverseAttr)
	return ok && (a.Name == "name" || a.Name == "id")
}

// mentionsTables reports whether e refers to an aws_dynamodb_table.
func mentionsTables(e hcl.Expression) bool {
	for _, tr := range e.Variables() {
		if tr.RootName() == "aws_dynamodb_table" {
			return true
		}
	}
	return false
}

// text is the source text of e (its range in the module's files).
func (in *instance) text(e hcl.Expression) string {
	r := e.Range()
	if src := in.mod.src[r.Filename]; r.Start.Byte >= 0 && r.End.Byte <= len(src) && r.Start.Byte < r.End.Byte {
		return string(src[r.Start.Byte:r.End.Byte])
	}
	return r.String()
}
