package terraform

import (
	"bytes"
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/pitrguard/pitrguard/internal/iac"
	"github.com/pitrguard/pitrguard/internal/model"
)

// IsPlan reports whether a JSON file is `terraform show -json` output.
func IsPlan(src []byte) bool {
	return bytes.Contains(src, []byte(`"planned_values"`)) && bytes.Contains(src, []byte(`"format_version"`))
}

func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// ScanPlan judges the planned values of DynamoDB tables and replicas. Values
// Terraform only knows after apply are UNKNOWN.
func ScanPlan(file string, src []byte, o Options) ([]iac.Finding, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: not valid JSON: %v", file, err)
	}
	root := doc.Content[0]
	ps := &planScanner{file: file, o: o, unknown: map[string]*yaml.Node{}}
	if rc := get(root, "resource_changes"); rc != nil {
		for _, c := range rc.Content {
			if a := get(c, "address"); a != nil {
				ps.unknown[a.Value] = get(get(c, "change"), "after_unknown")
			}
		}
	}
	ps.module(get(get(root, "planned_values"), "root_module"))
	return ps.out, nil
}

// planScanner judges the resources of one plan's modules.
type planScanner struct {
	file    string
	o       Options
	unknown map[string]*yaml.Node // resource address → its change's after_unknown
	out     []iac.Finding
}

// module judges the managed resources of a planned module, then its child
// modules.
func (ps *planScanner) module(m *yaml.Node) {
	if m == nil {
		return
	}
	if rs := get(m, "resources"); rs != nil {
		for _, r := range rs.Content {
			ps.resource(r)
		}
	}
	if cms := get(m, "child_modules"); cms != nil {
		for _, c := range cms.Content {
			ps.module(c)
		}
	}
}

// resource judges one planned resource if it is a managed table or table
// replica.
func (ps *planScanner) resource(r *yaml.Node) {
	typ, addr := get(r, "type"), get(r, "address")
	if typ == nil || addr == nil || get(r, "mode") != nil && get(r, "mode").Value != "managed" {
		return
	}
	vals := get(r, "values")
	au := ps.unknown[addr.Value]
	base := iac.Finding{File: ps.file, Line: addr.Line, Resource: addr.Value, Reasons: []string{}}
	id := planIdentity(vals, au)
	switch typ.Value {
	case "aws_dynamodb_table":
		ps.out = append(ps.out, judged(base, []iac.Outcome{planTableOutcome(vals, au, id)}, ps.o))
		if reps := get(vals, "replica"); reps != nil && reps.Kind == yaml.SequenceNode {
			for i, rep := range reps.Content {
				ps.out = append(ps.out, ps.inlineReplica(base, id, i, rep))
			}
		}
	case "aws_dynamodb_table_replica":
		pr := get(vals, "point_in_time_recovery")
		id.Name, id.NameWhy = "", "the replica's table name comes from global_table_arn"
		if ga := get(vals, "global_table_arn"); ga != nil {
			if ref, err := model.ParseTableARN(ga.Value); err == nil {
				id.Name, id.NameWhy = ref.Name, ""
			}
		}
		ps.out = append(ps.out, judged(base, []iac.Outcome{{Known: true, Enabled: pr != nil && pr.Value == "true", ID: id}}, ps.o))
	}
}

// planTableOutcome reads a planned table's point_in_time_recovery block;
// one known only after apply is unknown.
func planTableOutcome(vals, au *yaml.Node, id iac.Identity) iac.Outcome {
	oc := iac.Outcome{Known: true, ID: id}
	p := get(vals, "point_in_time_recovery")
	switch {
	case get(au, "point_in_time_recovery") != nil && get(au, "point_in_time_recovery").Kind == yaml.ScalarNode && get(au, "point_in_time_recovery").Value == "true":
		oc = iac.Outcome{Why: "point_in_time_recovery is known only after apply", ID: id}
	case p != nil && p.Kind == yaml.SequenceNode && len(p.Content) > 0:
		e := get(p.Content[0], "enabled")
		oc.Enabled = e != nil && e.Value == "true"
		if d := get(p.Content[0], "recovery_period_in_days"); d != nil {
			oc.Days, _ = strconv.Atoi(d.Value)
		}
	}
	return oc
}

// inlineReplica judges the i-th replica block rep of a planned table whose
// finding is base and identity id.
func (ps *planScanner) inlineReplica(base iac.Finding, id iac.Identity, i int, rep *yaml.Node) iac.Finding {
	f := base
	f.ReplicaRegion = fmt.Sprintf("replica[%d]", i)
	if rn := get(rep, "region_name"); rn != nil {
		f.ReplicaRegion = rn.Value
	}
	pr := get(rep, "point_in_time_recovery")
	rid := id
	rid.Region = ""
	if rn := get(rep, "region_name"); rn != nil {
		rid.Region = rn.Value
	}
	if pt := get(rep, "propagate_tags"); pt == nil || pt.Value != "true" {
		rid.Tags, rid.UnknownTags = map[string]string{}, nil
		rid.TagsWhy = "the replica's tags are not set by Terraform (propagate_tags is not true)"
	}
	return judged(f, []iac.Outcome{{Known: true, Enabled: pr != nil && pr.Value == "true", ID: rid}}, ps.o)
}

// planIdentity reads a planned table's name and tags_all (which includes
// the provider's default_tags); values known only after apply are unknown.
func planIdentity(vals, au *yaml.Node) iac.Identity {
	id := iac.Identity{Tags: map[string]string{}, UnknownTags: map[string]string{}}
	if n := get(vals, "name"); n != nil && n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		id.Name = n.Value
	} else {
		id.NameWhy = "the name is known only after apply"
	}
	tags := get(vals, "tags_all")
	unk := get(au, "tags_all")
	if tags == nil || tags.Tag == "!!null" {
		tags, unk = get(vals, "tags"), get(au, "tags")
	}
	if unk != nil && unk.Kind == yaml.ScalarNode && unk.Value == "true" {
		id.TagsWhy = "the tags are known only after apply"
		return id
	}
	if tags != nil && tags.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(tags.Content); i += 2 {
			id.Tags[tags.Content[i].Value] = tags.Content[i+1].Value
		}
	}
	if unk != nil && unk.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(unk.Content); i += 2 {
			if unk.Content[i+1].Value == "true" {
				id.UnknownTags[unk.Content[i].Value] = "its value is known only after apply"
			}
		}
	}
	return id
}

func judged(f iac.Finding, outs []iac.Outcome, o Options) iac.Finding {
	iac.Judge(outs, o.Rules).Set(&f)
	if f.Verdict == iac.Fail {
		f.Fix = &iac.Fix{File: f.File, Manual: "a plan is generated: fix the Terraform configuration, then plan again"}
	}
	return f
}
