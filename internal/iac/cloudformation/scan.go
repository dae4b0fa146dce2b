package cloudformation

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pitrguard/pitrguard/internal/iac"
)

// Kind says whether a file is a template this package reads.
func Kind(name string, src []byte) string {
	base := strings.ToLower(filepath.Base(name))
	if base == "serverless.yml" || base == "serverless.yaml" {
		return "serverless"
	}
	if !bytes.Contains(src, []byte("Resources")) {
		return ""
	}
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil || len(doc.Content) == 0 {
		return ""
	}
	root := doc.Content[0]
	if _, v := get(root, "AWSTemplateFormatVersion"); v != nil {
		return "cloudformation"
	}
	if _, res := get(root, "Resources"); res != nil && res.Kind == yaml.MappingNode {
		for i := 1; i < len(res.Content); i += 2 {
			if _, ty := get(res.Content[i], "Type"); ty != nil && (strings.HasPrefix(ty.Value, "AWS::") || strings.HasPrefix(ty.Value, "Custom::")) {
				return "cloudformation"
			}
		}
	}
	return ""
}

// ParseError is a template that could not be read.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Scan evaluates one template. params override parameter Defaults.
func Scan(file string, src []byte, params map[string]string, opt iac.Options, now time.Time) ([]iac.Finding, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		line := 0
		fmt.Sscanf(strings.TrimPrefix(err.Error(), "yaml: "), "line %d", &line)
		return nil, &ParseError{File: file, Line: line, Msg: "cannot parse: " + err.Error()}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &ParseError{File: file, Line: 1, Msg: "not a template: the top level must be a mapping"}
	}
	root := doc.Content[0]
	t := &tmpl{params: map[string]*param{}, conditions: map[string]*yaml.Node{}, overrides: params}
	resources := root
	if Kind(file, src) == "serverless" {
		t.serverless = true
		_, r := get(root, "resources")
		if _, rr := get(r, "Resources"); rr != nil {
			resources = r
		} else {
			return nil, nil
		}
	}
	if _, ps := get(root, "Parameters"); ps != nil && ps.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(ps.Content); i += 2 {
			p := &param{name: ps.Content[i].Value, node: ps.Content[i+1]}
			_, p.def = get(p.node, "Default")
			if _, ty := get(p.node, "Type"); ty != nil {
				p.typ = ty.Value
			}
			if _, av := get(p.node, "AllowedValues"); av != nil && av.Kind == yaml.SequenceNode {
				for _, a := range av.Content {
					p.allowed = append(p.allowed, a.Value)
				}
			}
			t.params[p.name] = p
		}
	}
	_, t.mappings = get(root, "Mappings")
	t.macro = macro(root)
	if _, cs := get(root, "Conditions"); cs != nil && cs.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(cs.Content); i += 2 {
			t.conditions[cs.Content[i].Value] = cs.Content[i+1]
		}
	}
	_, res := get(resources, "Resources")
	if res == nil || res.Kind != yaml.MappingNode {
		return nil, nil
	}
	t.types = map[string]string{}
	for i := 0; i+1 < len(res.Content); i += 2 {
		if _, ty := get(res.Content[i+1], "Type"); ty != nil {
			t.types[res.Content[i].Value] = ty.Value
		}
	}
	lines := strings.Split(string(src), "\n")
	var out []iac.Finding
	for i := 0; i+1 < len(res.Content); i += 2 {
		key, r := res.Content[i], res.Content[i+1]
		end := len(lines)
		if i+2 < len(res.Content) {
			end = res.Content[i+2].Line - 1
		}
		if strings.HasPrefix(key.Value, "Fn::ForEach::") {
			dirs, problems := directives(r, lines, key.Line, end)
			fs := t.forEach(file, src, key, r, opt)
			for j := range fs {
				fs[j].Reasons = append(fs[j].Reasons, problems...)
				iac.Apply(&fs[j], dirs, now)
			}
			out = append(out, fs...)
			continue
		}
		_, ty := get(r, "Type")
		if ty == nil {
			continue
		}
		dirs, problems := directives(r, lines, key.Line, end)
		fs := t.resource(file, src, key, r, ty.Value, opt)
		for j := range fs {
			fs[j].Reasons = append(fs[j].Reasons, problems...)
			iac.Apply(&fs[j], dirs, now)
		}
		out = append(out, fs...)
	}
	return out, nil
}

func (t *tmpl) resource(file string, src []byte, key, r *yaml.Node, typ string, opt iac.Options) []iac.Finding {
	base := iac.Finding{File: file, Line: key.Line, Resource: key.Value, Reasons: []string{}}
	_, props := get(r, "Properties")
	exists := []condVal{{b: true}}
	if _, c := get(r, "Condition"); c != nil {
		exists = t.cond(c.Value, "")
	}
	judge := func(f iac.Finding, container *yaml.Node, fixable bool, id iac.Identity) iac.Finding {
		var outs []iac.Outcome
		var s *site
		for _, e := range exists {
			switch {
			case t.macro != "" && e.unknown == "":
				outs = append(outs, iac.Outcome{Why: t.macro, When: e.when})
			case hasKey(container, "Fn::Transform") && e.unknown == "":
				outs = append(outs, iac.Outcome{Why: "Fn::Transform in its properties runs a macro at deploy time, which can change any property", When: e.when})
			case e.unknown != "":
				outs = append(outs, iac.Outcome{Why: e.unknown, When: e.when})
			case !e.b:
				outs = append(outs, iac.Outcome{Absent: true, When: and(e.when, "its Condition is false")})
			default:
				o, st := t.spec(container, e.when)
				outs = append(outs, o...)
				s = st
			}
		}
		for i := range outs {
			outs[i].ID = id
		}
		iac.Judge(outs, opt).Set(&f)
		if (f.Verdict == iac.Fail || f.Verdict == iac.Conditional) && s != nil && fixable {
			f.Fix = s.fix(file, src, t, opt)
		}
		return f
	}
	switch typ {
	case "AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable":
		_, tags := get(props, "Tags")
		return []iac.Finding{judge(base, props, props != nil, t.identity(props, tags, ""))}
	case "AWS::DynamoDB::GlobalTable":
		return t.globalTableReplicas(base, props, judge)
	case "AWS::Backup::BackupSelection":
		return t.backupSelection(base, props)
	case "Custom::DynamoDBReplica":
		f := base
		f.Verdict, f.Rule = iac.Info, iac.RuleReplicaI
		if _, rg := get(props, "Region"); rg != nil {
			f.ReplicaRegion = rg.Value
		}
		f.Reasons = []string{"a CDK replicationRegions replica: CloudFormation never sets PITR on it (aws/aws-cdk#18582); enable PITR on it after deploying, or move to TableV2, whose replicas take pointInTimeRecoverySpecification"}
		return []iac.Finding{f}
	}
	return nil
}

// globalTableReplicas judges each replica of a GlobalTable (props, whose
// finding is base) with judge; a Replicas that is not a list is unknown.
func (t *tmpl) globalTableReplicas(base iac.Finding, props *yaml.Node, judge func(f iac.Finding, container *yaml.Node, fixable bool, id iac.Identity) iac.Finding) []iac.Finding {
	_, reps := get(props, "Replicas")
	if reps == nil || reps.Kind != yaml.SequenceNode {
		f := base
		f.Verdict, f.Rule, f.Reasons = iac.Unknown, iac.RulePITR, []string{"Replicas is not a list pitrguard can read"}
		return []iac.Finding{f}
	}
	var out []iac.Finding
	for i, rep := range reps.Content {
		f := base
		f.Line = rep.Line
		f.ReplicaRegion = fmt.Sprintf("replica[%d]", i)
		if _, rg := get(rep, "Region"); rg != nil {
			if vs := t.eval(rg, ""); len(vs) == 1 {
				if s, ok := vs[0].scalar(); ok {
					f.ReplicaRegion = s
				}
			}
		}
		region := f.ReplicaRegion
		if _, rg := get(rep, "Region"); rg == nil || region == fmt.Sprintf("replica[%d]", i) {
			region = ""
		}
		_, tags := get(rep, "Tags")
		out = append(out, judge(f, rep, rep.Kind == yaml.MappingNode, t.identity(props, tags, region)))
	}
	return out
}

// site remembers where a PITR setting lives, for fixes.
type site struct {
	container *yaml.Node // Properties, or a GlobalTable replica
	specKey   *yaml.Node
	spec      *yaml.Node
	enabled   *yaml.Node
	periodVal *yaml.Node
	param     string // Enabled comes from Ref to this parameter
	dynamic   bool   // a condition or intrinsic decides: a person must fix it
}

// spec evaluates PointInTimeRecoverySpecification in container.
func (t *tmpl) spec(container *yaml.Node, when string) ([]iac.Outcome, *site) {
	if _, _, ok := fn(container); ok {
		return t.intrinsicSpec(container, when)
	}
	s := &site{container: container}
	var specNode *yaml.Node
	s.specKey, specNode = get(container, "PointInTimeRecoverySpecification")
	if specNode == nil {
		return []iac.Outcome{{Known: true, When: when}}, s // absent: PITR off
	}
	var outs []iac.Outcome
	for _, sv := range t.eval(specNode, when) {
		outs = append(outs, t.specValue(s, specNode, sv)...)
	}
	return outs, s
}

// intrinsicSpec judges a container (Properties, or a replica) that is
// itself an intrinsic, e.g. Fn::If: each alternative is judged; a person
// fixes it.
func (t *tmpl) intrinsicSpec(container *yaml.Node, when string) ([]iac.Outcome, *site) {
	var outs []iac.Outcome
	for _, alt := range t.eval(container, when) {
		switch {
		case alt.unknown != "":
			outs = append(outs, iac.Outcome{Why: alt.unknown, When: alt.when})
		case alt.noValue || alt.node == nil:
			outs = append(outs, iac.Outcome{Known: true, When: alt.when})
		case alt.node == container:
			outs = append(outs, iac.Outcome{Why: "the properties are an intrinsic function pitrguard cannot evaluate", When: alt.when})
		default:
			o, _ := t.spec(alt.node, alt.when)
			outs = append(outs, o...)
		}
	}
	return outs, &site{container: container, dynamic: true}
}

// specValue judges one value sv that PointInTimeRecoverySpecification
// (specNode) can take, recording in s where its settings live: one outcome
// per combination of the values of PointInTimeRecoveryEnabled and
// RecoveryPeriodInDays.
func (t *tmpl) specValue(s *site, specNode *yaml.Node, sv val) []iac.Outcome {
	switch {
	case sv.unknown != "":
		s.dynamic = true
		return []iac.Outcome{{Why: "PointInTimeRecoverySpecification: " + sv.unknown, When: sv.when}}
	case sv.noValue:
		s.dynamic = true
		return []iac.Outcome{{Known: true, When: sv.when}}
	case sv.node == nil || sv.node.Kind != yaml.MappingNode:
		return []iac.Outcome{{Known: true, When: sv.when, Schema: []string{"PointInTimeRecoverySpecification must be a mapping"}}}
	}
	if sv.node != specNode {
		s.dynamic = true
	} else {
		s.spec = specNode
	}
	_, en := get(sv.node, "PointInTimeRecoveryEnabled")
	_, per := get(sv.node, "RecoveryPeriodInDays")
	if sv.node == specNode {
		s.enabled, s.periodVal = en, per
	}
	if name, _, ok := fn(en); ok && name != "Ref" {
		s.dynamic = true // Fn::If and friends: a person chooses
	}
	periods := []val{{when: sv.when}}
	if per != nil {
		periods = t.eval(per, sv.when)
	}
	enabledVals := []val{{when: sv.when}}
	if en != nil {
		enabledVals = t.eval(en, sv.when)
	}
	var outs []iac.Outcome
	for _, ev := range enabledVals {
		for _, pv := range periods {
			o := iac.Outcome{Known: true, When: pv.when}
			if ev.when != sv.when && pv.when == sv.when {
				o.When = ev.when
			}
			t.judgeEnabled(&o, s, sv, en, per, ev)
			if per != nil {
				judgePeriod(&o, pv)
			}
			outs = append(outs, o)
		}
	}
	return outs
}

// judgeEnabled sets in o what the value ev of PointInTimeRecoveryEnabled
// (en, nil if absent) says, beside RecoveryPeriodInDays (per, nil if absent).
func (t *tmpl) judgeEnabled(o *iac.Outcome, s *site, sv val, en, per *yaml.Node, ev val) {
	switch {
	case en == nil:
		if per != nil {
			o.Schema = append(o.Schema, "RecoveryPeriodInDays is set but PointInTimeRecoveryEnabled is not (it needs PointInTimeRecoveryEnabled: true)")
		}
	case ev.unknown != "":
		o.Known, o.Why = false, "PointInTimeRecoveryEnabled: "+ev.unknown
		s.dynamic = true
	case ev.noValue:
	default:
		str, ok := ev.scalar()
		b, isBool := boolOf(str)
		if !ok || !isBool {
			o.Schema = append(o.Schema, fmt.Sprintf("PointInTimeRecoveryEnabled must be true or false, not %q", str))
		}
		o.Enabled = b
		if ev.param != "" {
			s.param = ev.param
		}
		if ev.when != sv.when && ev.param != "" && t.params[ev.param].def == nil {
			s.dynamic = true
		}
	}
}

// judgePeriod sets in o the days of a known value pv of RecoveryPeriodInDays,
// or says why it is not valid.
func judgePeriod(o *iac.Outcome, pv val) {
	if pv.unknown != "" || pv.noValue {
		return
	}
	str, ok := pv.scalar()
	if !ok {
		return
	}
	d, isInt := intOf(str)
	if !isInt || d < 1 || d > 35 {
		o.Schema = append(o.Schema, fmt.Sprintf("RecoveryPeriodInDays must be 1 to 35, not %q", str))
		return
	}
	o.Days = d
}

// macro returns why the template's Transform makes every resource unknown:
// a macro other than AWS::Serverless-2016-10-31 (SAM, modelled) and
// AWS::LanguageExtensions (modelled: Fn::ForEach, FindInMap DefaultValue)
// can rewrite any resource at deploy time.
func macro(root *yaml.Node) string {
	_, tr := get(root, "Transform")
	if tr == nil {
		return ""
	}
	names := []*yaml.Node{tr}
	if tr.Kind == yaml.SequenceNode {
		names = tr.Content
	}
	for _, n := range names {
		switch {
		case n.Kind != yaml.ScalarNode:
			return "the template's Transform is not a name pitrguard can read; a macro can change any resource at deploy time"
		case n.Value == "AWS::Serverless-2016-10-31" || n.Value == "AWS::LanguageExtensions":
		default:
			return fmt.Sprintf("the template is processed by the macro %s at deploy time, which can change any resource; scan its output (aws cloudformation get-template --template-stage Processed)", n.Value)
		}
	}
	return ""
}

func hasKey(m *yaml.Node, key string) bool {
	k, _ := get(m, key)
	return k != nil
}

// forEach expands Fn::ForEach::Name: [Identifier, Collection, {OutputKey:
// resource}] (AWS::LanguageExtensions): one resource per collection value,
// with ${Identifier} and &{Identifier} replaced in its logical id and Ref
// Identifier / ${Identifier} in its properties. A collection that is not
// known gives one UNKNOWN finding per DynamoDB resource it would generate.
func (t *tmpl) forEach(file string, src []byte, key, r *yaml.Node, opt iac.Options) []iac.Finding {
	if r.Kind != yaml.SequenceNode || len(r.Content) != 3 || r.Content[0].Kind != yaml.ScalarNode || r.Content[2].Kind != yaml.MappingNode {
		return nil
	}
	ident, outMap := r.Content[0].Value, r.Content[2]
	lists := t.list(r.Content[1], "")
	var values []string
	why := ""
	if len(lists) != 1 || lists[0].unknown != "" {
		why = "the collection of " + key.Value + " depends on parameters or values known only at deploy time"
		if len(lists) == 1 {
			why = "the collection of " + key.Value + ": " + lists[0].unknown
		}
	} else {
		for _, item := range lists[0].node.Content {
			s, w := t.single(item)
			if w != "" {
				why = "a value of the collection of " + key.Value + " " + w
				break
			}
			values = append(values, s)
		}
	}
	var out []iac.Finding
	for i := 0; i+1 < len(outMap.Content); i += 2 {
		okey, res := outMap.Content[i], outMap.Content[i+1]
		_, ty := get(res, "Type")
		if ty == nil || !strings.HasPrefix(ty.Value, "AWS::DynamoDB::") && ty.Value != "AWS::Serverless::SimpleTable" {
			continue
		}
		if why != "" {
			f := iac.Finding{File: file, Line: okey.Line, Resource: key.Value + "/" + okey.Value, Reasons: []string{}}
			iac.Judge([]iac.Outcome{{Why: why + "; which tables it creates is not known"}}, opt).Set(&f)
			out = append(out, f)
			continue
		}
		for _, v := range values {
			id := strings.ReplaceAll(okey.Value, "${"+ident+"}", v)
			id = strings.ReplaceAll(id, "&{"+ident+"}", alnum(v))
			k := *okey
			k.Value = id
			if t.loop == nil {
				t.loop = map[string]string{}
			}
			t.loop[ident] = v
			out = append(out, t.resource(file, src, &k, res, ty.Value, opt)...)
			delete(t.loop, ident)
		}
	}
	return out
}

// alnum keeps the letters and digits of s (&{Identifier} in Fn::ForEach).
func alnum(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
