// Package guardrails generates pitrguard's preventive, detective and
// corrective controls — SCP and RCP documents, an AWS Config rule with
// automatic remediation, CloudFormation Guard rules with a Guard hook, and an
// OPA/Rego policy for Terraform plans — and reads existing policy documents to
// tell whether they really deny what pitrguard's control denies.
//
// Everything here is pure: no AWS calls. The organization-wide audit of which
// controls are in force lives in package guardrails/check.
//
// What IAM can and cannot express (../shared/reference/aws-dynamodb-pitr.md §7):
// DynamoDB has no condition key for PointInTimeRecoveryEnabled or
// RecoveryPeriodInDays and CreateTable has no PITR parameter, so no policy can
// say "deny creating a table without PITR". What a policy can say is who may
// call dynamodb:UpdateContinuousBackups at all, and who may delete protected
// tables and their backups. Every generated control carries a plain statement
// of what it prevents and what it cannot (Explain).
package guardrails
