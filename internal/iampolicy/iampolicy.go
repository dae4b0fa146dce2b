// Package iampolicy knows the least-privilege IAM policy each pitrguard
// command needs, and the trust policy of the role assumed in member accounts.
// A test records every AWS operation the commands make against the emulator
// and fails if one is missing here.
package iampolicy

import (
	"fmt"
	"slices"
	"sort"
)

// Commands that have a policy.
var Commands = []string{"audit", "enable", "restore", "drill", "all"}

// Statement is one IAM policy statement.
type Statement struct {
	Sid       string         `json:"Sid"`
	Effect    string         `json:"Effect"`
	Action    []string       `json:"Action"`
	Resource  any            `json:"Resource"`
	Condition map[string]any `json:"Condition,omitempty"`
}

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Partitions are the AWS partitions a policy can be printed for.
var Partitions = []string{"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}

// ScratchPattern is the table name pattern of the drill's scratch tables
// (drill.Prefix + "*"; kept here so that iampolicy imports no AWS code).
const ScratchPattern = "pitrguard-drill-*"

// dataOnTarget are the data actions AWS requires on a restore's target table
// (DynamoDB developer guide, backuprestore_IAM).
var dataOnTarget = []string{"dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem",
	"dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"}

// BackupReadActions are the reads of an audit whose policy requires AWS
// Backup (inventory/backup.go). They act on plans, vaults and recovery
// points of any name, so they are allowed on every resource.
var BackupReadActions = []string{"backup:DescribeBackupVault", "backup:DescribeRegionSettings", "backup:GetBackupPlan",
	"backup:GetBackupSelection", "backup:ListBackupPlans", "backup:ListBackupSelections", "backup:ListProtectedResources",
	"backup:ListRecoveryPointsByResource", "dynamodb:ListBackups"}

// arns builds the ARNs of one partition.
type arns struct{ partition string }

func (a arns) table(pattern string) string {
	return "arn:" + a.partition + ":dynamodb:*:*:table/" + pattern
}

func statements(command, roleName, partition string) ([]Statement, error) {
	a := arns{partition}
	tables := a.table("*")
	scratch := a.table(ScratchPattern)
	audit := []Statement{
		{Sid: "PitrguardDiscover", Effect: "Allow", Resource: "*", Action: []string{
			"dynamodb:ListTables", "ec2:DescribeRegions", "organizations:ListAccounts", "tag:GetResources"}},
		{Sid: "PitrguardAssumeMemberRole", Effect: "Allow", Resource: "arn:" + partition + ":iam::*:role/" + roleName, Action: []string{"sts:AssumeRole"}},
		{Sid: "PitrguardReadTables", Effect: "Allow", Resource: tables, Action: []string{
			"dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTable", "dynamodb:ListTagsOfResource"}},
	}
	switch command {
	case "audit":
		// audit --source config:AGGREGATOR reads the aggregator (one query,
		// from the account that owns it); only audit has that flag. A policy
		// whose tiers require AWS Backup (issue 12) reads AWS Backup and the
		// on-demand backups of each account-region it audits. audit
		// --cost-explorer reads last month's spend (Cost Explorer has no
		// resource-level permissions: Resource must be "*").
		return append(audit, Statement{Sid: "PitrguardConfigInventory", Effect: "Allow",
			Resource: "arn:" + partition + ":config:*:*:config-aggregator/*", Action: []string{"config:SelectAggregateResourceConfig"}},
			Statement{Sid: "PitrguardReadAWSBackup", Effect: "Allow", Resource: "*", Action: BackupReadActions},
			Statement{Sid: "PitrguardCostExplorer", Effect: "Allow", Resource: "*", Action: []string{"ce:GetCostAndUsage"}}), nil
	case "enable":
		return append(audit, Statement{Sid: "PitrguardEnablePITR", Effect: "Allow", Resource: tables,
			Action: []string{"dynamodb:UpdateContinuousBackups"}}), nil
	case "restore":
		return append(audit,
			Statement{Sid: "PitrguardRestore", Effect: "Allow", Resource: []string{tables, a.table("*/backup/*")}, Action: []string{
				"dynamodb:DescribeBackup", "dynamodb:ListBackups", "dynamodb:RestoreTableFromBackup", "dynamodb:RestoreTableToPointInTime"}},
			Statement{Sid: "PitrguardListBackups", Effect: "Allow", Resource: "*", Action: []string{"dynamodb:ListBackups"}},
			Statement{Sid: "PitrguardWriteRestoredTable", Effect: "Allow", Resource: tables, Action: dataOnTarget},
			Statement{Sid: "PitrguardReconcileSettings", Effect: "Allow", Resource: tables, Action: []string{
				"dynamodb:DescribeContributorInsights", "dynamodb:DescribeTimeToLive", "dynamodb:GetResourcePolicy",
				"dynamodb:PutResourcePolicy", "dynamodb:TagResource", "dynamodb:UpdateContinuousBackups",
				"dynamodb:UpdateContributorInsights", "dynamodb:UpdateTable", "dynamodb:UpdateTimeToLive"}},
			Statement{Sid: "PitrguardReconcileAutoScaling", Effect: "Allow", Resource: "*", Action: []string{
				"application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
				"application-autoscaling:PutScalingPolicy", "application-autoscaling:RegisterScalableTarget"}},
		), nil
	case "drill":
		// The drill changes only its scratch tables: every write is scoped
		// to them. On other tables it only reads: RestoreTableToPointInTime
		// reads the source (AWS authorises it on the source table), and
		// GetItem reads the source's copy of each sampled item.
		return append(audit,
			Statement{Sid: "PitrguardDrillRestoreFromSource", Effect: "Allow", Resource: tables, Action: []string{
				"dynamodb:GetItem", "dynamodb:RestoreTableToPointInTime"}},
			Statement{Sid: "PitrguardDrillScratchTables", Effect: "Allow", Resource: scratch, Action: append([]string{
				"dynamodb:TagResource"}, dataOnTarget...)},
			Statement{Sid: "PitrguardDrillCleanup", Effect: "Allow", Resource: scratch,
				Action:    []string{"dynamodb:DeleteTable"},
				Condition: map[string]any{"StringEquals": map[string]string{"aws:ResourceTag/pitrguard:drill": "true"}}},
		), nil
	case "all":
		var all []Statement
		for _, c := range []string{"audit", "enable", "restore", "drill"} {
			s, _ := statements(c, roleName, partition)
			all = append(all, s...)
		}
		return dedupe(all), nil
	}
	return nil, fmt.Errorf("unknown command %q; use one of %v", command, Commands)
}

// dedupe keeps the first statement of each Sid.
func dedupe(ss []Statement) []Statement {
	var out []Statement
	for _, s := range ss {
		if !slices.ContainsFunc(out, func(o Statement) bool { return o.Sid == s.Sid }) {
			out = append(out, s)
		}
	}
	return out
}

// Policy returns the permissions policy command needs, both in the account
// pitrguard runs from and in the role it assumes in member accounts.
func Policy(command, roleName, partition string) (*Document, error) {
	if err := CheckPartition(partition); err != nil {
		return nil, err
	}
	ss, err := statements(command, roleName, partition)
	if err != nil {
		return nil, err
	}
	for i := range ss {
		a := slices.Clone(ss[i].Action)
		sort.Strings(a)
		ss[i].Action = slices.Compact(a)
	}
	return &Document{Version: "2012-10-17", Statement: ss}, nil
}

// CheckPartition refuses a partition pitrguard does not know.
func CheckPartition(partition string) error {
	if !slices.Contains(Partitions, partition) {
		return fmt.Errorf("unknown partition %q; use one of %v", partition, Partitions)
	}
	return nil
}

// Actions lists every action of a policy document, sorted.
func (d *Document) Actions() []string {
	var out []string
	for _, s := range d.Statement {
		out = append(out, s.Action...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// TrustStatement is a statement of a role's trust policy.
type TrustStatement struct {
	Sid       string            `json:"Sid"`
	Effect    string            `json:"Effect"`
	Principal map[string]string `json:"Principal"`
	Action    string            `json:"Action"`
	Condition map[string]any    `json:"Condition,omitempty"`
}

// TrustDocument is a role's trust policy.
type TrustDocument struct {
	Version   string           `json:"Version"`
	Statement []TrustStatement `json:"Statement"`
}

// Trust returns the trust policy for the member-account role: principals of
// the account pitrguard runs from may assume it, with an external id if given.
func Trust(partition, callerAccount, externalID string) *TrustDocument {
	s := TrustStatement{Sid: "PitrguardAssume", Effect: "Allow", Action: "sts:AssumeRole",
		Principal: map[string]string{"AWS": fmt.Sprintf("arn:%s:iam::%s:root", partition, callerAccount)}}
	if externalID != "" {
		s.Condition = map[string]any{"StringEquals": map[string]string{"sts:ExternalId": externalID}}
	}
	return &TrustDocument{Version: "2012-10-17", Statement: []TrustStatement{s}}
}
