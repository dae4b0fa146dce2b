package iacscan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pitrguard/pitrguard/internal/iac"
	"github.com/pitrguard/pitrguard/internal/report"
)

// Formats of `iac scan`.
var Formats = []string{"table", "json", "sarif", "junit"}

// WriteText prints one line per finding (PASS included), aligned on a terminal.
func WriteText(w io.Writer, aligned bool, r *Report) error {
	rows := make([][]string, 0, len(r.Findings))
	for _, f := range r.Findings {
		reg := f.ReplicaRegion
		if reg == "" {
			reg = "-"
		}
		reasons := strings.Join(f.Reasons, "; ")
		if reasons == "" {
			reasons = "-"
		}
		tier := f.Tier
		if tier == "" {
			tier = "-"
		}
		rows = append(rows, []string{fmt.Sprintf("%s:%d", f.File, f.Line), f.Resource, reg, tier, string(f.Verdict), reasons})
	}
	return report.Table(w, report.Style{Aligned: aligned}, []string{"LOCATION", "RESOURCE", "REPLICA", "TIER", "VERDICT", "REASONS"}, rows)
}

var ruleText = map[string][2]string{
	iac.RulePITR:            {"DynamoDB point-in-time recovery must be enabled", "Enable PITR on every DynamoDB table and on every global-table replica (a replica does not inherit the primary's setting): point_in_time_recovery { enabled = true } in Terraform, PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled: true in CloudFormation. `pitrguard iac fix` makes the edit."},
	iac.RuleWindow:          {"DynamoDB PITR recovery window below the minimum", "Set recovery_period_in_days / RecoveryPeriodInDays to at least the required number of days (1–35). The price does not depend on the window."},
	iac.RuleSchema:          {"Invalid PITR configuration", "point_in_time_recovery needs enabled; RecoveryPeriodInDays must be 1–35 and needs PointInTimeRecoveryEnabled: true."},
	iac.RuleReplicaI:        {"CDK replicationRegions replica without PITR", "Custom::DynamoDBReplica replicas never get PITR from CloudFormation (aws/aws-cdk#18582): enable it after deployment, or migrate to TableV2."},
	iac.RuleBackupSelection: {"AWS Backup selection names a DynamoDB table by name instead of ARN", "aws_backup_selection resources/not_resources and AWS::Backup::BackupSelection Resources/NotResources take ARNs: a table name selects nothing, so the table is silently not backed up (terraform-provider-aws #29458). Use aws_dynamodb_table.x.arn, !GetAtt Table.Arn, or an ARN pattern such as arn:aws:dynamodb:*:*:table/orders*."},
}

func fingerprint(f iac.Finding) string {
	h := sha256.Sum256([]byte(f.File + "|" + f.Resource + "|" + f.ReplicaRegion))
	return hex.EncodeToString(h[:16])
}

// WriteSARIF writes SARIF 2.1.0 as GitHub code scanning accepts it: every
// result has a repo-relative URI and a 1-based line, and a stable
// fingerprint per resource and replica region. PASS and NOT_APPLICABLE are
// not results; SUPPRESSED ones carry an in-source suppression.
func WriteSARIF(w io.Writer, version string, r *Report) error {
	ids := []string{iac.RulePITR, iac.RuleWindow, iac.RuleSchema, iac.RuleReplicaI, iac.RuleBackupSelection}
	rules := make([]map[string]any, 0, len(ids))
	index := map[string]int{}
	for i, id := range ids {
		index[id] = i
		rules = append(rules, map[string]any{
			"id": id, "name": strings.ReplaceAll(strings.TrimPrefix(id, "pitrguard/"), "-", "_"),
			"shortDescription":     map[string]string{"text": ruleText[id][0]},
			"fullDescription":      map[string]string{"text": ruleText[id][1]},
			"help":                 map[string]string{"text": ruleText[id][1]},
			"defaultConfiguration": map[string]string{"level": "error"},
			"properties":           map[string]any{"tags": []string{"security", "reliability", "dynamodb"}},
		})
	}
	results := []map[string]any{}
	for _, f := range r.Findings {
		level := ""
		switch f.Verdict {
		case iac.Fail:
			level = "error"
		case iac.Unknown, iac.Conditional:
			level = "warning"
		case iac.Info:
			level = "note"
		case iac.Suppressed:
			level = "error"
		default:
			continue
		}
		rule := f.Rule
		if _, ok := index[rule]; !ok {
			rule = iac.RulePITR
		}
		msg := fmt.Sprintf("%s%s: %s — %s", f.Resource, region(&f), f.Verdict, strings.Join(f.Reasons, "; "))
		res := map[string]any{
			"ruleId": rule, "ruleIndex": index[rule], "level": level, "message": map[string]string{"text": msg},
			"locations": []any{map[string]any{"physicalLocation": map[string]any{
				"artifactLocation": map[string]any{"uri": f.File, "uriBaseId": "%SRCROOT%"},
				"region":           map[string]any{"startLine": max(f.Line, 1)},
			}}},
			"partialFingerprints": map[string]string{"pitrguardResource/v1": fingerprint(f)},
			"properties":          map[string]any{"verdict": f.Verdict, "resource": f.Resource, "replica_region": f.ReplicaRegion, "tier": f.Tier},
		}
		if f.Verdict == iac.Unknown {
			res["properties"].(map[string]any)["unknown_reason"] = strings.Join(f.Reasons, "; ")
		}
		if f.Verdict == iac.Suppressed {
			res["suppressions"] = []any{map[string]string{"kind": "inSource", "justification": "suppressed by " + f.SuppressedBy + ": " + strings.Join(f.Reasons, "; ")}}
		}
		results = append(results, res)
	}
	doc := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{"name": "pitrguard", "version": version,
				"informationUri": "https://github.com/pitrguard/pitrguard", "rules": rules}},
			"results": results,
		}},
	}
	return report.WriteJSON(w, doc)
}

type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Class   string    `xml:"classname,attr"`
	Name    string    `xml:"name,attr"`
	Failure *junitMsg `xml:"failure,omitempty"`
	Error   *junitMsg `xml:"error,omitempty"`
	Skipped *junitMsg `xml:"skipped,omitempty"`
}

type junitMsg struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes one test case per finding: FAIL is a failure, a file
// that could not be parsed an error, everything but PASS skipped with the reason.
func WriteJUnit(w io.Writer, r *Report) error {
	s := junitSuite{Name: "pitrguard iac"}
	for _, f := range r.Findings {
		c := junitCase{Class: f.File, Name: fmt.Sprintf("%s%s (line %d)", f.Resource, region(&f), f.Line)}
		msg := strings.Join(f.Reasons, "; ")
		switch f.Verdict {
		case iac.Fail:
			c.Failure = &junitMsg{Message: msg, Type: f.Rule, Body: msg}
			s.Failures++
		case iac.Pass:
		default:
			c.Skipped = &junitMsg{Message: string(f.Verdict) + ": " + msg}
			s.Skipped++
		}
		s.Cases = append(s.Cases, c)
	}
	for _, e := range r.Errors {
		s.Cases = append(s.Cases, junitCase{Class: e.File, Name: fmt.Sprintf("parse (line %d)", e.Line), Error: &junitMsg{Message: e.Message}})
		s.Errors++
	}
	sort.SliceStable(s.Cases, func(i, j int) bool { return s.Cases[i].Class < s.Cases[j].Class })
	s.Tests = len(s.Cases)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
