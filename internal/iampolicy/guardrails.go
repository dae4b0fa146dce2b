package iampolicy

// GuardrailsCheck returns the statements `pitrguard guardrails check` needs:
// Organizations reads in the account it runs from (the management account or
// a delegated administrator), and Config, EventBridge and CloudTrail reads in
// every account (through roleName in members). The coordinator wires it into
// Commands/statements; until then it is exported on its own.
func GuardrailsCheck(roleName string) []Statement {
	return []Statement{
		{Sid: "PitrguardDiscover", Effect: "Allow", Resource: "*", Action: []string{"ec2:DescribeRegions", "organizations:ListAccounts"}},
		{Sid: "PitrguardAssumeMemberRole", Effect: "Allow", Resource: "arn:aws:iam::*:role/" + roleName, Action: []string{"sts:AssumeRole"}},
		{Sid: "PitrguardReadOrganizationPolicies", Effect: "Allow", Resource: "*", Action: []string{
			"organizations:DescribeOrganization", "organizations:DescribePolicy", "organizations:ListParents",
			"organizations:ListPoliciesForTarget", "organizations:ListRoots"}},
		{Sid: "PitrguardReadDetectiveControls", Effect: "Allow", Resource: "*", Action: []string{
			"cloudtrail:DescribeTrails", "cloudtrail:GetEventSelectors", "cloudtrail:GetTrailStatus",
			"config:DescribeConfigRules", "config:DescribeConfigurationRecorderStatus", "config:DescribeRemediationConfigurations",
			"events:ListRules", "events:ListTargetsByRule", "lambda:GetFunction"}},
	}
}
