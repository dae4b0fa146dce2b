package guardrails

import (
	"bytes"
	"fmt"
	"strings"
)

// Config rule and remediation facts (../shared/reference/controls-events-backup.md §2).
const (
	ConfigRuleIdentifier = "DYNAMODB_PITR_ENABLED"
	ConfigRuleName       = "dynamodb-pitr-enabled"
	RemediationDocument  = "AWSConfigRemediation-EnablePITRForDynamoDbTable"
)

// ConfigOptions say how to write the Config control.
type ConfigOptions struct {
	// RemediationRoleName is the role SSM Automation assumes in every account
	// (AutomationAssumeRole) to call UpdateContinuousBackups.
	RemediationRoleName string
	// MaxAttempts and RetrySeconds are the remediation's automatic retries.
	MaxAttempts  int
	RetrySeconds int
	// ExcludedAccounts are left out of the organization conformance pack.
	ExcludedAccounts []string
}

// ExplainConfig is the honest note that goes with the Config control.
func ExplainConfig(o ConfigOptions) Explanation {
	return Explanation{
		Title: "pitrguard AWS Config control: DYNAMODB_PITR_ENABLED with automatic remediation, organization-wide",
		Prevents: []string{
			"Nothing up front: this is a detective and corrective control. Every account's AWS Config evaluates each AWS::DynamoDB::Table when it changes and marks tables without PITR NON_COMPLIANT (Security Hub DynamoDB.2 reads the same rule).",
			fmt.Sprintf("NON_COMPLIANT tables are then fixed by %s (TableName ← RESOURCE_ID) running as role %s, retried up to %d times within %d seconds.", RemediationDocument, o.RemediationRoleName, o.MaxAttempts, o.RetrySeconds),
		},
		Cannot: []string{
			"Choose the recovery window: the runbook calls UpdateContinuousBackups with PointInTimeRecoveryEnabled only, so PITR is always set to 35 days; the rule has no parameter and does not check RecoveryPeriodInDays either. A table at 7 days counts as COMPLIANT.",
			"Wait out a new table: the runbook does not retry ContinuousBackupsUnavailableException, which a table can return for minutes after CreateTable. If every automatic attempt falls inside that period the table stays NON_COMPLIANT until its next change.",
			"Honour pitrguard's tiers and exemptions: it enables PITR on every table in scope, scratch and cache tables included, and records nothing in pitrguard's journal.",
			"Work without a configuration recorder: an account-region that does not record AWS::DynamoDB::Table evaluates nothing, and absence of findings is not compliance (pitrguard guardrails check reports it).",
			"Pass an SCP/RCP that reserves UpdateContinuousBackups: add the remediation role to the SCP's allowed principals, or every remediation fails with AccessDenied.",
			"Use pitrguard's event handler instead when tiers need a window other than 35 days, when exemptions must hold, when new tables must be retried until ready, or when each change must be journaled; keep this rule as the independent detective control.",
		},
	}
}

// conformancePack is the pack body (a CloudFormation-style template that AWS
// Config deploys as a stack in every account, so intrinsic functions work).
func conformancePack(o ConfigOptions, indent string) string {
	body := fmt.Sprintf(`Resources:
  DynamodbPitrEnabled:
    Type: AWS::Config::ConfigRule
    Properties:
      ConfigRuleName: %s
      Description: Checks that point-in-time recovery is enabled on every DynamoDB table (pitrguard).
      Scope:
        ComplianceResourceTypes:
          - AWS::DynamoDB::Table
      Source:
        Owner: AWS
        SourceIdentifier: %s
  DynamodbPitrEnabledRemediation:
    Type: AWS::Config::RemediationConfiguration
    DependsOn: DynamodbPitrEnabled
    Properties:
      ConfigRuleName: %s
      TargetType: SSM_DOCUMENT
      TargetId: %s
      Automatic: true
      MaximumAutomaticAttempts: %d
      RetryAttemptSeconds: %d
      Parameters:
        TableName:
          ResourceValue:
            Value: RESOURCE_ID
        AutomationAssumeRole:
          StaticValue:
            Values:
              - !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/%s"
`, ConfigRuleName, ConfigRuleIdentifier, ConfigRuleName, RemediationDocument, o.MaxAttempts, o.RetrySeconds, o.RemediationRoleName)
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimRight(body, "\n"), "\n") {
		b.WriteString(indent + line + "\n")
	}
	return b.String()
}

// remediationRole is the role SSM Automation assumes in each account.
func remediationRole(o ConfigOptions, indent string) string {
	body := fmt.Sprintf(`PitrguardConfigRemediationRole:
  Type: AWS::IAM::Role
  Properties:
    RoleName: %s
    AssumeRolePolicyDocument:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: {Service: ssm.amazonaws.com}
          Action: sts:AssumeRole
    Policies:
      - PolicyName: enable-pitr
        PolicyDocument:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: [dynamodb:UpdateContinuousBackups, dynamodb:DescribeContinuousBackups]
              Resource: !Sub "arn:${AWS::Partition}:dynamodb:*:${AWS::AccountId}:table/*"
`, o.RemediationRoleName)
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimRight(body, "\n"), "\n") {
		b.WriteString(indent + line + "\n")
	}
	return b.String()
}

// RenderConfig writes the organization conformance pack (rule +
// remediation) as CloudFormation or Terraform, and the remediation role each
// member account needs, with the honest note as a header comment.
func RenderConfig(format string, o ConfigOptions) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(ExplainConfig(o).Text("# "))
	switch format {
	case "cloudformation":
		b.WriteString("#\n# Deploy in the management account (or the Config delegated administrator).\n")
		b.WriteString("# Deploy PitrguardConfigRemediationRole (below, as a separate StackSet to every\n# account) first: the remediation assumes it.\n")
		b.WriteString("AWSTemplateFormatVersion: \"2010-09-09\"\nDescription: pitrguard organization conformance pack - DYNAMODB_PITR_ENABLED with automatic remediation\nResources:\n")
		b.WriteString("  PitrguardConformancePack:\n    Type: AWS::Config::OrganizationConformancePack\n    Properties:\n")
		b.WriteString("      OrganizationConformancePackName: pitrguard-dynamodb-pitr\n")
		if len(o.ExcludedAccounts) > 0 {
			fmt.Fprintf(&b, "      ExcludedAccounts: [%s]\n", strings.Join(o.ExcludedAccounts, ", "))
		}
		b.WriteString("      TemplateBody: |\n")
		b.WriteString(conformancePack(o, "        "))
		b.WriteString("\n# --- StackSet template for every member account (separate file) ---\n")
		for line := range strings.SplitSeq(strings.TrimRight("Resources:\n"+remediationRole(o, "  "), "\n"), "\n") {
			b.WriteString("# " + line + "\n")
		}
	case "terraform":
		b.WriteString("#\n# Apply in the management account (or the Config delegated administrator). Each\n# member account needs the remediation role (aws_iam_role.pitrguard_config_remediation,\n# e.g. through your account baseline module).\n\n")
		b.WriteString("resource \"aws_config_organization_conformance_pack\" \"pitrguard\" {\n  name = \"pitrguard-dynamodb-pitr\"\n")
		if len(o.ExcludedAccounts) > 0 {
			fmt.Fprintf(&b, "  excluded_accounts = [%s]\n", quoteList(o.ExcludedAccounts))
		}
		// The pack body is a template: ${...} must reach AWS Config unexpanded.
		pack := strings.ReplaceAll(conformancePack(o, "    "), "${", "$${")
		b.WriteString("  template_body = <<-EOT\n" + pack + "  EOT\n}\n\n")
		fmt.Fprintf(&b, `resource "aws_iam_role" "pitrguard_config_remediation" {
  name = %q
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ssm.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy" "pitrguard_config_remediation" {
  role = aws_iam_role.pitrguard_config_remediation.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["dynamodb:UpdateContinuousBackups", "dynamodb:DescribeContinuousBackups"]
      Resource = "*"
    }]
  })
}
`, o.RemediationRoleName)
	default:
		return nil, fmt.Errorf("unknown format %q", format)
	}
	return b.Bytes(), nil
}
