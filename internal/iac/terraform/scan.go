package terraform

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/pitrguard/pitrguard/internal/iac"
)

// Options for a Terraform scan.
type Options struct {
	VarFiles []string          // --var-file, in order
	Vars     map[string]string // --var k=v
	Rules    iac.Options
	Now      time.Time
	Limits   iac.Limits // size cap and symlink policy for every file read
	// Env are TF_VAR_name environment variables (name → value), which
	// Terraform reads before any tfvars file.
	Env map[string]string
}

type tfvar struct {
	set  bool
	val  cty.Value
	kind string // tfvars, cli
	file string
	attr *hcl.Attribute
}

// loadTFVars reads terraform.tfvars, *.auto.tfvars (and .json forms) in
// Terraform's order, then --var-file, then --var.
func loadTFVars(p *hclparse.Parser, dir string, o Options) (map[string]tfvar, []Diag) {
	out := map[string]tfvar{}
	var diags []Diag
	var files []string
	for _, n := range []string{"terraform.tfvars", "terraform.tfvars.json"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			files = append(files, filepath.Join(dir, n))
		}
	}
	auto, _ := filepath.Glob(filepath.Join(dir, "*.auto.tfvars"))
	autoJSON, _ := filepath.Glob(filepath.Join(dir, "*.auto.tfvars.json"))
	auto = append(auto, autoJSON...)
	sort.Strings(auto)
	files = append(append(files, auto...), o.VarFiles...)
	for _, k := range sortedStrKeys(o.Env) {
		out[k] = tfvar{set: true, val: cliValue(o.Env[k], "TF_VAR_"+k), kind: "env"}
	}
	for _, path := range files {
		src, err := iac.ReadFile(path, o.Limits)
		if err != nil {
			diags = append(diags, Diag{File: path, Msg: "var file: " + fileMsg(err)})
			continue
		}
		f, hd := parse(p, path, src)
		if hd.HasErrors() {
			diags = append(diags, fromHCL(path, hd)...)
			continue
		}
		attrs, hd := f.Body.JustAttributes()
		if hd.HasErrors() {
			diags = append(diags, fromHCL(path, hd)...)
		}
		for name, a := range attrs {
			v, _ := a.Expr.Value(nil)
			out[name] = tfvar{set: true, val: v, kind: "tfvars", file: path, attr: a}
		}
	}
	names := make([]string, 0, len(o.Vars))
	for k := range o.Vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		out[k] = tfvar{set: true, val: cliValue(o.Vars[k], "--var"), kind: "cli"}
	}
	return out, diags
}

// cliValue reads a value given on the command line or in TF_VAR_: an HCL
// literal for non-string types, else the raw string.
func cliValue(raw, from string) cty.Value {
	v := cty.StringVal(raw)
	if e, d := hclsyntax.ParseExpression([]byte(raw), from, hcl.InitialPos); !d.HasErrors() {
		if pv, d := e.Value(nil); !d.HasErrors() && pv.Type() != cty.String {
			v = pv
		}
	}
	return v
}

func sortedStrKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// LocalModuleDirs returns the directories dir calls as local modules (so a
// scan does not also report them as roots).
func LocalModuleDirs(dir string, lim iac.Limits) []string {
	m, _ := loadModule(hclparse.NewParser(), dir, lim)
	if m == nil {
		return nil
	}
	var out []string
	for _, c := range m.calls {
		if localSource(c.source) {
			out = append(out, filepath.Clean(filepath.Join(dir, c.source)))
		}
	}
	return out
}

// Scan evaluates the root module in dir and the modules it calls.
func Scan(dir string, o Options) ([]iac.Finding, []Diag) {
	p := hclparse.NewParser()
	w := &walker{parser: p, modules: map[string]*module{}, installed: installed(dir, o.Limits), root: dir, limits: o.Limits, minDays: o.Rules.MinRecoveryDays,
		split: map[string][]string{}}
	root := w.load(dir)
	if root == nil {
		return nil, w.diags
	}
	tfvars, d := loadTFVars(p, dir, o)
	w.diags = append(w.diags, d...)
	base := newRoot(root, tfvars, nil)
	base.defaultTags = providerTags(base)
	w.extrasOn = true
	w.walk(base, "", 0)
	w.extrasOn = false
	results := w.results

	// Inputs with no value: enumerate bool ones (up to 4) to tell CONDITIONAL
	// (true under some values, false under others) from truly UNKNOWN.
	var bools []string
	for _, name := range sortedKeys(base.unknown) {
		if v := root.variables[name]; v != nil && v.hasTyp && v.typ == cty.Bool {
			bools = append(bools, name)
		}
	}
	enumerated := map[string][]iac.Outcome{}
	needs := false
	for _, r := range results {
		needs = needs || (!r.outcome.Known && !r.outcome.Absent)
	}
	if needs && len(bools) > 0 && len(bools) <= 4 {
		for mask := 0; mask < 1<<len(bools); mask++ {
			assign := map[string]bool{}
			var when []string
			for i, b := range bools {
				assign[b] = mask&(1<<i) != 0
				when = append(when, fmt.Sprintf("var.%s = %v", b, assign[b]))
			}
			w.results = nil
			in := newRoot(root, tfvars, assign)
			in.defaultTags = providerTags(in)
			w.walk(in, "", 0)
			for _, r := range w.results {
				o := r.outcome
				o.When = strings.Join(when, ", ")
				enumerated[r.key] = append(enumerated[r.key], o)
			}
		}
	}

	var out []iac.Finding
	seen := map[string]bool{}
	for _, r := range results {
		if seen[r.key] {
			continue
		}
		seen[r.key] = true
		f := r.finding
		outs := []iac.Outcome{r.outcome}
		if !r.outcome.Known && !r.outcome.Absent && len(enumerated[r.key]) > 0 {
			outs = enumerated[r.key]
		}
		iac.Judge(outs, o.Rules).Set(&f)
		ds, problems := iac.CommentDirectives(r.comments)
		f.Reasons = append(f.Reasons, problems...)
		iac.Apply(&f, ds, o.Now)
		switch {
		case f.Verdict == iac.Fail && r.fix != nil:
			f.Fix = r.fix()
		case f.Verdict == iac.Conditional:
			f.Fix = &iac.Fix{File: f.File, Manual: "the result depends on input values; a person has to decide"}
		}
		out = append(out, f)
	}
	for _, r := range w.extras {
		f := r.finding
		ds, problems := iac.CommentDirectives(r.comments)
		f.Reasons = append(f.Reasons, problems...)
		iac.Apply(&f, ds, o.Now)
		out = append(out, f)
	}
	return out, w.diags
}
