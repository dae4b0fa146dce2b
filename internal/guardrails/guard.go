package guardrails

import (
	"bytes"
	_ "embed"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed assets/pitrguard.guard
var guardRules string

// GuardOptions say how to write the Guard rules.
type GuardOptions struct {
	// MinRecoveryDays is the tier minimum for RecoveryPeriodInDays (1..35).
	MinRecoveryDays int
	// RulesS3URI is where the rules file will live, for the hook template.
	RulesS3URI string
	// FailureMode of the hook: FAIL (block) or WARN.
	FailureMode string
	// ExecutionRoleName is the role the hook assumes to read the rules.
	ExecutionRoleName string
}

// GuardRules returns the rules file for the tier minimum.
func GuardRules(o GuardOptions) string {
	return strings.ReplaceAll(guardRules, "{{MIN_RECOVERY_DAYS}}", strconv.Itoa(o.MinRecoveryDays))
}

// GuardRuleNames lists the rules the file defines (not the parameterized helpers).
func GuardRuleNames(rules string) []string {
	var out []string
	for line := range strings.SplitSeq(rules, "\n") {
		if !strings.HasPrefix(line, "rule ") {
			continue
		}
		name := strings.Fields(line)[1]
		if strings.Contains(name, "(") {
			continue
		}
		out = append(out, name)
	}
	return out
}

// GuardCase is one case of the Guard unit-test file (cfn-guard test format).
type GuardCase struct {
	Name         string         `yaml:"name"`
	Input        map[string]any `yaml:"input"`
	Expectations struct {
		Rules map[string]string `yaml:"rules"`
	} `yaml:"expectations"`
}

func table(props map[string]any) map[string]any {
	r := map[string]any{"Type": "AWS::DynamoDB::Table"}
	if props != nil {
		r["Properties"] = props
	}
	return r
}

func spec(enabled any, days int) map[string]any {
	s := map[string]any{}
	if enabled != nil {
		s["PointInTimeRecoveryEnabled"] = enabled
	}
	if days != 0 {
		s["RecoveryPeriodInDays"] = days
	}
	return map[string]any{"PointInTimeRecoverySpecification": s}
}

func replica(region string, enabled any) map[string]any {
	r := map[string]any{"Region": region}
	if enabled != nil {
		r["PointInTimeRecoverySpecification"] = map[string]any{"PointInTimeRecoveryEnabled": enabled}
	}
	return r
}

func replicaWindow(region string, days int) map[string]any {
	return map[string]any{"Region": region, "PointInTimeRecoverySpecification": map[string]any{
		"PointInTimeRecoveryEnabled": true, "RecoveryPeriodInDays": days}}
}

// GuardCases are the unit tests shipped next to the rules. Each names the
// expected status of every template rule (PASS, FAIL or SKIP).
func GuardCases(o GuardOptions) []GuardCase {
	min := o.MinRecoveryDays
	window := func(days int) string {
		if days >= min && days <= 35 {
			return "PASS"
		}
		return "FAIL"
	}
	type c struct {
		name  string
		res   map[string]any
		rules map[string]string
	}
	skip := "SKIP"
	all := func(table, tableWin, global, globalWin, simple string) map[string]string {
		return map[string]string{
			"pitrguard_table_pitr_enabled": table, "pitrguard_table_recovery_window": tableWin,
			"pitrguard_global_table_replicas_pitr": global, "pitrguard_global_table_recovery_window": globalWin,
			"pitrguard_no_simple_table": simple,
		}
	}
	cases := []c{
		{"no DynamoDB resources: every rule skips", map[string]any{"Bucket": map[string]any{"Type": "AWS::S3::Bucket"}},
			all(skip, skip, skip, skip, skip)},
		{"table with PITR enabled passes", map[string]any{"T": table(spec(true, 0))},
			all("PASS", skip, skip, skip, skip)},
		{"table without Properties fails", map[string]any{"T": table(nil)},
			all("FAIL", skip, skip, skip, skip)},
		{"table without PointInTimeRecoverySpecification fails", map[string]any{"T": table(map[string]any{"TableName": "t"})},
			all("FAIL", skip, skip, skip, skip)},
		{"table with an empty specification fails", map[string]any{"T": table(map[string]any{"PointInTimeRecoverySpecification": map[string]any{}})},
			all("FAIL", skip, skip, skip, skip)},
		{"table with PITR disabled fails", map[string]any{"T": table(spec(false, 0))},
			all("FAIL", skip, skip, skip, skip)},
		{"table with a 7-day window is judged against the tier minimum", map[string]any{"T": table(spec(true, 7))},
			all("PASS", window(7), skip, skip, skip)},
		{"table with a 35-day window passes", map[string]any{"T": table(spec(true, 35))},
			all("PASS", "PASS", skip, skip, skip)},
		{"table with a window over 35 days fails", map[string]any{"T": table(spec(true, 40))},
			all("PASS", "FAIL", skip, skip, skip)},
		{"one bad table among good ones fails", map[string]any{"A": table(spec(true, 0)), "B": table(spec(false, 0))},
			all("FAIL", skip, skip, skip, skip)},
		{"global table with PITR on every replica passes", map[string]any{"G": map[string]any{"Type": "AWS::DynamoDB::GlobalTable",
			"Properties": map[string]any{"Replicas": []any{replica("us-east-1", true), replica("eu-west-1", true)}}}},
			all(skip, skip, "PASS", skip, skip)},
		{"global table with one replica without PITR fails", map[string]any{"G": map[string]any{"Type": "AWS::DynamoDB::GlobalTable",
			"Properties": map[string]any{"Replicas": []any{replica("us-east-1", true), replica("eu-west-1", nil)}}}},
			all(skip, skip, "FAIL", skip, skip)},
		{"global table whose first replica lacks PITR fails", map[string]any{"G": map[string]any{"Type": "AWS::DynamoDB::GlobalTable",
			"Properties": map[string]any{"Replicas": []any{replica("us-east-1", false), replica("eu-west-1", true)}}}},
			all(skip, skip, "FAIL", skip, skip)},
		{"global table replica with a window over 35 days fails", map[string]any{"G": map[string]any{"Type": "AWS::DynamoDB::GlobalTable",
			"Properties": map[string]any{"Replicas": []any{replica("us-east-1", true), replicaWindow("eu-west-1", 40)}}}},
			all(skip, skip, "PASS", "FAIL", skip)},
		{"global table replica with a 35-day window passes", map[string]any{"G": map[string]any{"Type": "AWS::DynamoDB::GlobalTable",
			"Properties": map[string]any{"Replicas": []any{replicaWindow("us-east-1", 35), replica("eu-west-1", true)}}}},
			all(skip, skip, "PASS", "PASS", skip)},
		{"SAM SimpleTable is flagged", map[string]any{"S": map[string]any{"Type": "AWS::Serverless::SimpleTable",
			"Properties": map[string]any{"PrimaryKey": map[string]any{"Name": "id", "Type": "String"}}}},
			all(skip, skip, skip, skip, "FAIL")},
	}
	out := make([]GuardCase, len(cases))
	for i, x := range cases {
		out[i].Name = x.name
		out[i].Input = map[string]any{"Resources": x.res}
		out[i].Expectations.Rules = x.rules
	}
	return out
}

// GuardTests renders the Guard unit-test file.
func GuardTests(o GuardOptions) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Unit tests for pitrguard.guard (tier minimum %d days): cfn-guard test -r pitrguard.guard -t pitrguard_tests.yaml\n", o.MinRecoveryDays)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(GuardCases(o)); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// GuardHookTemplate is an AWS::CloudFormation::GuardHook that enforces the
// rules on every stack and resource operation of the account.
func GuardHookTemplate(o GuardOptions) string {
	return fmt.Sprintf(`# pitrguard Guard hook: runs pitrguard.guard on every CloudFormation stack and
# DynamoDB resource create/update in this account and region.
#
# What it prevents: stacks that create or update AWS::DynamoDB::Table or
# AWS::DynamoDB::GlobalTable without point-in-time recovery on the table and on
# every replica, or with a recovery window below %d days (FailureMode %s:
# FAIL blocks the operation, WARN only reports). SAM templates are expanded
# before hooks run, so a SimpleTable reaches the hook as AWS::DynamoDB::Table;
# run cfn-guard on the SAM template in the pipeline to flag SimpleTable itself.
# What it cannot prevent: anything not deployed through CloudFormation in this
# account and region (console, API, Terraform, other regions), and PITR turned
# off after deployment. Deploy it with a StackSet to every account and region.
#
# Upload pitrguard.guard to the S3 location first:
#   aws s3 cp pitrguard.guard %s
AWSTemplateFormatVersion: "2010-09-09"
Description: pitrguard Guard hook - DynamoDB point-in-time recovery
Parameters:
  RulesLocation:
    Type: String
    Default: %s
    Description: S3 URI of pitrguard.guard
Resources:
  PitrguardGuardHookRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: %s
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: hooks.cloudformation.amazonaws.com
            Action: sts:AssumeRole
      Policies:
        - PolicyName: read-guard-rules
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: [s3:GetObject, s3:GetObjectVersion]
                Resource: !Sub
                  - "arn:${AWS::Partition}:s3:::${Path}"
                  - Path: !Select [1, !Split ["s3://", !Ref RulesLocation]]
  PitrguardGuardHook:
    Type: AWS::CloudFormation::GuardHook
    Properties:
      Alias: Pitrguard::DynamoDB::PITR
      ExecutionRole: !GetAtt PitrguardGuardHookRole.Arn
      FailureMode: %s
      HookStatus: ENABLED
      RuleLocation:
        Uri: !Ref RulesLocation
      TargetOperations:
        - STACK
        - RESOURCE
      TargetFilters:
        Actions: [CREATE, UPDATE]
        TargetNames:
          - AWS::DynamoDB::Table
          - AWS::DynamoDB::GlobalTable
`, o.MinRecoveryDays, o.FailureMode, o.RulesS3URI, o.RulesS3URI, o.ExecutionRoleName, o.FailureMode)
}
