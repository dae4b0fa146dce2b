package backupplan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"
	"go.yaml.in/yaml/v3"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/report"
)

const policyYAML = `
tiers:
  - name: critical
    match: { tags: { env: [prod, "prod-*"] } }
    backup: { min_retention_days: 400, max_age_hours: 14, copy_to_region: eu-west-1 }
  - name: ephemeral
    match: { names: ["tmp-*"] }
    require_pitr: false
  - name: eu
    match: { regions: [eu-west-1], tags: { team: data } }
default_tier: standard
`

func mustConfig(t *testing.T, src string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestSchedule(t *testing.T) {
	for age, want := range map[int]string{26: "cron(0 5 ? * * *)", 170: "cron(0 5 ? * SUN *)", 14: "cron(0 0/12 ? * * *)", 8: "cron(0 0/6 ? * * *)",
		3: "cron(0 * ? * * *)", 100: "cron(0 5 ? * * *)"} {
		if got, err := schedule(age); err != nil || got != want {
			t.Errorf("schedule(%d) = %q, %v; want %q", age, got, err, want)
		}
	}
	if _, err := schedule(2); err == nil || !strings.Contains(err.Error(), "at least 3") {
		t.Errorf("2 hours: %v", err)
	}
}

func TestBuild(t *testing.T) {
	cfg := mustConfig(t, policyYAML)
	p, err := Build(cfg, Options{Tier: "CRITICAL", VaultLock: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "pitrguard-critical" || p.Rule.Schedule != "cron(0 0/12 ? * * *)" || p.Rule.DeleteAfterDays != 400 || p.Vault.LockMinDays != 400 ||
		p.Rule.Copy == nil || p.Rule.Copy.Region != "eu-west-1" || p.Role == nil || p.RoleARN != "arn:aws:iam::ACCOUNT_ID:role/pitrguard-backup-critical" {
		t.Fatalf("plan %+v", p)
	}
	if len(p.Selected) != 2 {
		t.Fatalf("one selection per tag alternative, got %+v", p.Selected)
	}
	s0, s1 := p.Selected[0], p.Selected[1]
	if s0.Resources[0] != "arn:aws:dynamodb:*:*:table/*" || len(s0.Conditions.StringEquals) != 1 || s0.Conditions.StringEquals[0].Value != "prod" ||
		len(s1.Conditions.StringLike) != 1 || s1.Conditions.StringLike[0].Value != "prod-*" || s0.Name != "pitrguard-critical-1" {
		t.Errorf("selections %+v", p.Selected)
	}
	// The default tier excludes the earlier tiers: tags by conditions,
	// names by NotResources; a tier mixing tags and regions is a gap.
	std, err := Build(cfg, Options{Tier: "standard", RoleARN: "arn:aws:iam::111111111111:role/backup"})
	if err != nil {
		t.Fatal(err)
	}
	s := std.Selected[0]
	if len(std.Selected) != 1 || len(s.Conditions.StringNotEquals) != 1 || len(s.Conditions.StringNotLike) != 1 ||
		len(s.NotResources) != 1 || s.NotResources[0] != "arn:aws:dynamodb:*:*:table/tmp-*" || std.Role != nil {
		t.Errorf("standard: %+v", std.Selected)
	}
	if !strings.Contains(strings.Join(std.Gaps, "\n"), "tier eu, before this one, matches by tags together with") {
		t.Errorf("gaps %v", std.Gaps)
	}
	if _, err := Build(cfg, Options{Tier: "nope"}); err == nil || !strings.Contains(err.Error(), "critical, ephemeral, eu, standard") {
		t.Errorf("unknown tier: %v", err)
	}
	if _, err := Build(mustConfig(t, "tiers:\n  - name: all\n  - name: never\n"), Options{Tier: "never"}); err == nil || !strings.Contains(err.Error(), "matches every table") {
		t.Errorf("unreachable tier: %v", err)
	}
}

func row(name, tier string, tags map[string]string, notes ...string) report.TableResult {
	return report.TableResult{Account: "111111111111", Region: "us-east-1", Name: name, ARN: "arn:aws:dynamodb:us-east-1:111111111111:table/" + name,
		Tier: tier, Tags: tags, Notes: append([]string{}, notes...)}
}

func TestProve(t *testing.T) {
	cfg := mustConfig(t, policyYAML)
	a := &report.Audit{Run: report.RunInfo{ID: 7}, Tables: []report.TableResult{
		row("ledger", "critical", map[string]string{"env": "prod"}),
		row("orders", "critical", map[string]string{"env": "prod-eu"}),
		row("tmp-1", "ephemeral", map[string]string{}),
		row("plain", "standard", map[string]string{}),
		row("unread", "unknown", map[string]string{}, "tags_unreadable"),
	}}
	p, _ := Build(cfg, Options{Tier: "critical"})
	c := p.Prove(a)
	if !c.Exact || c.TablesInTier != 2 || c.Covered != 2 || len(c.Unknown) != 0 {
		// "unread" has tier unknown: it is unknown for every tier's proof
		if len(c.Unknown) != 1 || c.Unknown[0].Name != "unread" {
			t.Errorf("coverage %+v", c)
		}
	}
	a.Tables = a.Tables[:4]
	if c = p.Prove(a); !c.Exact || c.Audit.RunID != 7 || c.Audit.Tables != 4 {
		t.Errorf("exact coverage %+v", c)
	}
	// A policy written in another case than the tags: missed, with why.
	upper, _ := Build(mustConfig(t, "tiers:\n  - name: critical\n    match: { tags: { env: PROD } }\n    backup: {}\n"), Options{Tier: "critical"})
	c = upper.Prove(&report.Audit{Tables: []report.TableResult{a.Tables[0], a.Tables[3]}})
	if c.Exact || len(c.Missed) != 1 || c.Missed[0].Name != "ledger" || !strings.Contains(strings.Join(c.Missed[0].Why, " "), "case-sensitively") {
		t.Errorf("case mismatch: %+v", c)
	}
	// The standard tier's selection must not take critical or ephemeral tables.
	std, _ := Build(cfg, Options{Tier: "standard"})
	if c = std.Prove(a); !c.Exact || c.Covered != 1 {
		t.Errorf("standard: %+v", c)
	}
}

func TestRender(t *testing.T) {
	p, err := Build(mustConfig(t, policyYAML), Options{Tier: "critical", VaultLock: true})
	if err != nil {
		t.Fatal(err)
	}
	d := p.Document(nil)
	b, _ := json.Marshal(d)
	for _, w := range []string{`"BackupPlanName":"pitrguard-critical"`, `"ScheduleExpression":"cron(0 0/12 ? * * *)"`, `"DeleteAfterDays":400`,
		`"DestinationBackupVaultArn":"arn:aws:backup:eu-west-1:ACCOUNT_ID:backup-vault:pitrguard-critical"`, `"Lock":{"MinRetentionDays":400}`,
		`"dynamodb:StartAwsBackupJob"`, `"dynamodb:ListTagsOfResource"`, `service-role/AWSBackupServiceRolePolicyForBackup"`, `"coverage":null`,
		`"placeholders":["ACCOUNT_ID"]`, `"selection":{"SelectionName":"pitrguard-critical-1"`} {
		if !strings.Contains(string(b), w) {
			t.Errorf("JSON lacks %s:\n%s", w, b)
		}
	}
	cfn, err := p.CloudFormation([]string{"generated"})
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(cfn, &doc); err != nil {
		t.Fatalf("template is not YAML: %v\n%s", err, cfn)
	}
	for _, w := range []string{"AWS::Backup::BackupSelection", "!GetAtt BackupRole.Arn", "LockConfiguration", "BackupSelection2", "StringLike", "!Ref BackupVault"} {
		if !strings.Contains(string(cfn), w) {
			t.Errorf("template lacks %s:\n%s", w, cfn)
		}
	}
	tf := p.Terraform([]string{"generated"})
	if _, diags := hclparse.NewParser().ParseHCL(tf, "main.tf"); diags.HasErrors() {
		t.Fatalf("Terraform does not parse: %v\n%s", diags, tf)
	}
	for _, w := range []string{`resource "aws_backup_selection" "pitrguard_critical_2"`, "string_like {", "aws_backup_vault_lock_configuration",
		"dynamodb:StartAwsBackupJob", "${data.aws_partition.current.partition}", `iam_role_arn = aws_iam_role.pitrguard_backup_critical.arn`} {
		if !strings.Contains(string(tf), w) {
			t.Errorf("Terraform lacks %s:\n%s", w, tf)
		}
	}
	if strings.Contains(string(tf), "data \"aws_region\"") {
		t.Error("the copy's region is known: no aws_region data source")
	}
}
