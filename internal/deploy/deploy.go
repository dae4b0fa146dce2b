// Package deploy writes the templates that deploy pitrguard's event handler:
// the Lambda function (arm64, provided.al2023), its least-privilege role, the
// narrow EventBridge rules, the SQS retry queue and its dead-letter queue,
// and — for an organization — per-region forwarding rules in every member
// account through a service-managed StackSet.
package deploy

import (
	"encoding/json"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pitrguard/pitrguard/internal/events"
)

// Options shape the templates.
type Options struct {
	// Org adds the central event bus and the member-account StackSet.
	Org bool
	// HandlerRole is the function's role name (its calls are ignored).
	HandlerRole string
	// MemberRole is the role the handler assumes in member accounts (--org).
	MemberRole string
}

// Prerequisite is stated in every template and checked by `handle-event --check`.
const Prerequisite = "An organization CloudTrail trail (or a trail in each account) logging management events in every region: without one, EventBridge receives no \"AWS API Call via CloudTrail\" events and the handler never runs. Check with: pitrguard handle-event --check"

// tableEvents are the events about a table's existence and tier.
var tableEvents = []string{events.CreateTable, events.DeleteTable, events.ImportTable, events.RestoreTableFromBackup,
	events.RestoreTableToPointInTime, events.TagResource, events.UntagResource}

// Patterns returns the EventBridge patterns: table events, and
// UpdateContinuousBackups that disabled PITR or set a window below 35 days.
// Failed calls (errorCode present) and calls by ignoredPrefix are excluded.
func Patterns(ignoredPrefix any) map[string]map[string]any {
	base := func(names []string) map[string]any {
		return map[string]any{
			"eventSource":  []string{"dynamodb.amazonaws.com"},
			"eventName":    names,
			"errorCode":    []any{map[string]any{"exists": false}},
			"userIdentity": map[string]any{"arn": []any{map[string]any{"anything-but": map[string]any{"prefix": ignoredPrefix}}}},
		}
	}
	wrap := func(d map[string]any) map[string]any {
		return map[string]any{"source": []string{events.SourceDynamoDB}, "detail-type": []string{events.DetailTypeCloudTrail}, "detail": d}
	}
	disable := base([]string{events.UpdateContinuousBackups})
	disable["requestParameters"] = map[string]any{"pointInTimeRecoverySpecification": map[string]any{"pointInTimeRecoveryEnabled": []any{false}}}
	lower := base([]string{events.UpdateContinuousBackups})
	lower["requestParameters"] = map[string]any{"pointInTimeRecoverySpecification": map[string]any{"recoveryPeriodInDays": []any{map[string]any{"numeric": []any{"<", 35}}}}}
	return map[string]map[string]any{
		"TableEvents":   wrap(base(tableEvents)),
		"PITRDisabled":  wrap(disable),
		"WindowLowered": wrap(lower),
	}
}

// PatternNames are the keys of Patterns, sorted.
func PatternNames() []string {
	n := []string{}
	for k := range Patterns("") {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// HandlerActions are the handler's permissions on DynamoDB tables: the
// audit's reads plus UpdateContinuousBackups (as `iam-policy enable`).
var HandlerActions = []string{"dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTable", "dynamodb:ListTagsOfResource", "dynamodb:UpdateContinuousBackups"}

func sub(s string) map[string]any       { return map[string]any{"Fn::Sub": s} }
func ref(s string) map[string]any       { return map[string]any{"Ref": s} }
func getAtt(r, a string) map[string]any { return map[string]any{"Fn::GetAtt": []string{r, a}} }

func header(comment string) string {
	var b strings.Builder
	for _, l := range strings.Split(comment, "\n") {
		b.WriteString("# " + l + "\n")
	}
	return b.String()
}

// CloudFormation returns the template as YAML.
func CloudFormation(o Options) (string, error) {
	ignored := sub("arn:${AWS::Partition}:sts::${AWS::AccountId}:assumed-role/${HandlerRoleName}/")
	params := map[string]any{
		"CodeS3Bucket":        map[string]any{"Type": "String", "Description": "S3 bucket holding the function package (a zip with the pitrguard linux/arm64 binary named bootstrap)"},
		"CodeS3Key":           map[string]any{"Type": "String", "Description": "S3 key of the function package"},
		"PolicyParameterName": map[string]any{"Type": "String", "Default": "/pitrguard/policy", "Description": "SSM parameter holding pitrguard.yaml (String or SecureString)"},
		"HandlerRoleName":     map[string]any{"Type": "String", "Default": o.HandlerRole, "Description": "name of the function's role; its own calls are excluded from the rules"},
		"NotifyTopicArn":      map[string]any{"Type": "String", "Default": "arn:aws:sns:*:*:pitrguard-*", "Description": "SNS topic(s) the notify: sns channels publish to"},
	}
	policy := []any{
		map[string]any{"Sid": "PitrguardTables", "Effect": "Allow", "Action": HandlerActions, "Resource": sub("arn:${AWS::Partition}:dynamodb:*:${AWS::AccountId}:table/*")},
		map[string]any{"Sid": "PitrguardRetryQueue", "Effect": "Allow", "Resource": getAtt("RetryQueue", "Arn"),
			"Action": []string{"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:SendMessage"}},
		map[string]any{"Sid": "PitrguardDeadLetter", "Effect": "Allow", "Resource": getAtt("DeadLetterQueue", "Arn"), "Action": []string{"sqs:SendMessage"}},
		map[string]any{"Sid": "PitrguardPolicyAndSecrets", "Effect": "Allow", "Action": []string{"ssm:GetParameter"},
			"Resource": sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/pitrguard/*")},
		map[string]any{"Sid": "PitrguardSecretsManager", "Effect": "Allow", "Action": []string{"secretsmanager:GetSecretValue"},
			"Resource": sub("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:pitrguard/*")},
		map[string]any{"Sid": "PitrguardNotifySNS", "Effect": "Allow", "Action": []string{"sns:Publish"}, "Resource": ref("NotifyTopicArn")},
	}
	env := map[string]any{
		"PITRGUARD_CONFIG":       sub("ssm:${PolicyParameterName}"),
		"PITRGUARD_QUEUE_URL":    ref("RetryQueue"),
		"PITRGUARD_IGNORE_ROLES": ref("HandlerRoleName"),
	}
	busName := "default"
	res := map[string]any{
		"DeadLetterQueue": map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]any{
			"QueueName": "pitrguard-events-dlq", "MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": true}},
		"RetryQueue": map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]any{
			"QueueName": "pitrguard-events-retry", "VisibilityTimeout": 5400, "SqsManagedSseEnabled": true,
			"RedrivePolicy": map[string]any{"deadLetterTargetArn": getAtt("DeadLetterQueue", "Arn"), "maxReceiveCount": 5}}},
		"DeadLetterQueuePolicy": map[string]any{"Type": "AWS::SQS::QueuePolicy", "Properties": map[string]any{
			"Queues": []any{ref("DeadLetterQueue")},
			"PolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Sid": "EventBridgeDeadLetters", "Effect": "Allow", "Principal": map[string]any{"Service": "events.amazonaws.com"},
				"Action": "sqs:SendMessage", "Resource": getAtt("DeadLetterQueue", "Arn")}}}}},
		"HandlerRole": map[string]any{"Type": "AWS::IAM::Role", "Properties": map[string]any{
			"RoleName": ref("HandlerRoleName"),
			"AssumeRolePolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Effect": "Allow", "Principal": map[string]any{"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}}},
			"ManagedPolicyArns": []any{sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")},
			"Policies":          []any{map[string]any{"PolicyName": "pitrguard-events", "PolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": policy}}},
		}},
		"Function": map[string]any{"Type": "AWS::Lambda::Function", "Properties": map[string]any{
			"FunctionName": "pitrguard-events", "Runtime": "provided.al2023", "Architectures": []string{"arm64"}, "Handler": "bootstrap",
			"Code": map[string]any{"S3Bucket": ref("CodeS3Bucket"), "S3Key": ref("CodeS3Key")},
			"Role": getAtt("HandlerRole", "Arn"), "Timeout": 900, "MemorySize": 256,
			"Environment":      map[string]any{"Variables": env},
			"DeadLetterConfig": map[string]any{"TargetArn": getAtt("DeadLetterQueue", "Arn")},
		}},
		"FunctionRetries": map[string]any{"Type": "AWS::Lambda::EventInvokeConfig", "Properties": map[string]any{
			"FunctionName": ref("Function"), "Qualifier": "$LATEST", "MaximumRetryAttempts": 2}},
		"RetryQueueMapping": map[string]any{"Type": "AWS::Lambda::EventSourceMapping", "Properties": map[string]any{
			"EventSourceArn": getAtt("RetryQueue", "Arn"), "FunctionName": ref("Function"), "BatchSize": 10,
			"FunctionResponseTypes": []string{"ReportBatchItemFailures"}}},
	}
	if o.Org {
		busName = "pitrguard-events"
		params["OrganizationId"] = map[string]any{"Type": "String", "AllowedPattern": "^o-[a-z0-9]{10,32}$", "Description": "the organization whose accounts forward events"}
		params["OrganizationalUnitIds"] = map[string]any{"Type": "CommaDelimitedList", "Description": "OUs (or the root r-xxxx) whose accounts get the forwarding rules"}
		params["Regions"] = map[string]any{"Type": "CommaDelimitedList", "Description": "regions to forward events from"}
		params["MemberRoleName"] = map[string]any{"Type": "String", "Default": o.MemberRole, "Description": "role the handler assumes in member accounts"}
		env["PITRGUARD_ROLE_NAME"] = ref("MemberRoleName")
		policy = append(policy, map[string]any{"Sid": "PitrguardAssumeMemberRole", "Effect": "Allow", "Action": []string{"sts:AssumeRole"},
			"Resource": sub("arn:${AWS::Partition}:iam::*:role/${MemberRoleName}")})
		res["HandlerRole"].(map[string]any)["Properties"].(map[string]any)["Policies"] = []any{map[string]any{"PolicyName": "pitrguard-events",
			"PolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": policy}}}
		res["CentralBus"] = map[string]any{"Type": "AWS::Events::EventBus", "Properties": map[string]any{"Name": busName}}
		res["CentralBusPolicy"] = map[string]any{"Type": "AWS::Events::EventBusPolicy", "Properties": map[string]any{
			"EventBusName": ref("CentralBus"), "StatementId": "PitrguardOrganizationPutEvents",
			"Statement": map[string]any{"Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": getAtt("CentralBus", "Arn"),
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": ref("OrganizationId")}}}}}
		member, err := memberTemplate()
		if err != nil {
			return "", err
		}
		res["MemberForwarding"] = map[string]any{"Type": "AWS::CloudFormation::StackSet", "Properties": map[string]any{
			"StackSetName": "pitrguard-events-forwarding", "PermissionModel": "SERVICE_MANAGED",
			"AutoDeployment":   map[string]any{"Enabled": true, "RetainStacksOnAccountRemoval": false},
			"Capabilities":     []string{"CAPABILITY_NAMED_IAM"},
			"ManagedExecution": map[string]any{"Active": true},
			"Parameters": []any{
				map[string]any{"ParameterKey": "CentralBusArn", "ParameterValue": getAtt("CentralBus", "Arn")},
				map[string]any{"ParameterKey": "HandlerRoleArn", "ParameterValue": getAtt("HandlerRole", "Arn")},
				map[string]any{"ParameterKey": "MemberRoleName", "ParameterValue": ref("MemberRoleName")},
				map[string]any{"ParameterKey": "HomeRegion", "ParameterValue": ref("AWS::Region")},
			},
			"StackInstancesGroup": []any{map[string]any{"DeploymentTargets": map[string]any{"OrganizationalUnitIds": ref("OrganizationalUnitIds")}, "Regions": ref("Regions")}},
			"TemplateBody":        member,
		}}
	}
	for name, pat := range Patterns(ignored) {
		props := map[string]any{"Description": "pitrguard: " + name + " (CloudTrail via EventBridge)", "State": "ENABLED", "EventPattern": pat,
			"Targets": []any{map[string]any{"Id": "pitrguard-handler", "Arn": getAtt("Function", "Arn"),
				"RetryPolicy":      map[string]any{"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 86400},
				"DeadLetterConfig": map[string]any{"Arn": getAtt("DeadLetterQueue", "Arn")}}}}
		if o.Org {
			props["EventBusName"] = ref("CentralBus")
			// Events of the central account itself come from its default bus.
			res["Local"+name+"Rule"] = map[string]any{"Type": "AWS::Events::Rule", "Properties": map[string]any{
				"Description": "pitrguard: " + name + " of this account", "State": "ENABLED", "EventPattern": pat,
				"Targets": []any{map[string]any{"Id": "pitrguard-handler", "Arn": getAtt("Function", "Arn")}}}}
			res["Local"+name+"Permission"] = permission("Local" + name + "Rule")
		}
		res[name+"Rule"] = map[string]any{"Type": "AWS::Events::Rule", "Properties": props}
		res[name+"Permission"] = permission(name + "Rule")
	}
	doc := map[string]any{
		"AWSTemplateFormatVersion": "2010-09-09",
		"Description":              "pitrguard event handler: closes DynamoDB PITR gaps from CloudTrail events and alerts owners. Prerequisite: " + Prerequisite,
		"Parameters":               params,
		"Resources":                res,
		"Outputs": map[string]any{
			"FunctionArn":        map[string]any{"Value": getAtt("Function", "Arn")},
			"RetryQueueUrl":      map[string]any{"Value": ref("RetryQueue")},
			"DeadLetterQueueUrl": map[string]any{"Value": ref("DeadLetterQueue")},
		},
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return "", err
	}
	return header("pitrguard deploy events --format cloudformation"+orgSuffix(o)+"\nPREREQUISITE: "+Prerequisite) + string(out), nil
}

func orgSuffix(o Options) string {
	if o.Org {
		return " --org"
	}
	return ""
}

func permission(rule string) map[string]any {
	return map[string]any{"Type": "AWS::Lambda::Permission", "Properties": map[string]any{
		"Action": "lambda:InvokeFunction", "FunctionName": ref("Function"), "Principal": "events.amazonaws.com",
		"SourceArn": getAtt(rule, "Arn")}}
}

// memberTemplate is what the StackSet deploys in each member account and
// region: rules forwarding the same narrow events to the central bus, and
// (in the home region only, IAM being global) the role the handler assumes.
func memberTemplate() (string, error) {
	ignored := sub("arn:${AWS::Partition}:sts::${AWS::AccountId}:assumed-role/${MemberRoleName}/")
	res := map[string]any{
		"ForwardRole": map[string]any{"Type": "AWS::IAM::Role", "Condition": "HomeRegion", "Properties": map[string]any{
			"RoleName": "pitrguard-events-forward",
			"AssumeRolePolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Effect": "Allow", "Principal": map[string]any{"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}}},
			"Policies": []any{map[string]any{"PolicyName": "forward", "PolicyDocument": map[string]any{"Version": "2012-10-17",
				"Statement": []any{map[string]any{"Effect": "Allow", "Action": "events:PutEvents", "Resource": ref("CentralBusArn")}}}}},
		}},
		"MemberRole": map[string]any{"Type": "AWS::IAM::Role", "Condition": "HomeRegion", "Properties": map[string]any{
			"RoleName": ref("MemberRoleName"),
			"AssumeRolePolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Effect": "Allow", "Principal": map[string]any{"AWS": ref("HandlerRoleArn")}, "Action": "sts:AssumeRole"}}},
			"Policies": []any{map[string]any{"PolicyName": "pitrguard-events", "PolicyDocument": map[string]any{"Version": "2012-10-17",
				"Statement": []any{map[string]any{"Effect": "Allow", "Action": HandlerActions, "Resource": sub("arn:${AWS::Partition}:dynamodb:*:${AWS::AccountId}:table/*")}}}}},
		}},
	}
	for name, pat := range Patterns(ignored) {
		res[name+"Forward"] = map[string]any{"Type": "AWS::Events::Rule", "Properties": map[string]any{
			"Description": "pitrguard: forward " + name + " to the central bus", "State": "ENABLED", "EventPattern": pat,
			"Targets": []any{map[string]any{"Id": "pitrguard-central", "Arn": ref("CentralBusArn"),
				"RoleArn": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/pitrguard-events-forward")}}}}
	}
	doc := map[string]any{
		"AWSTemplateFormatVersion": "2010-09-09",
		"Description":              "pitrguard: forward DynamoDB CloudTrail events to the central bus",
		"Parameters": map[string]any{
			"CentralBusArn": map[string]any{"Type": "String"}, "HandlerRoleArn": map[string]any{"Type": "String"},
			"MemberRoleName": map[string]any{"Type": "String"}, "HomeRegion": map[string]any{"Type": "String"},
		},
		"Conditions": map[string]any{"HomeRegion": map[string]any{"Fn::Equals": []any{ref("AWS::Region"), ref("HomeRegion")}}},
		"Resources":  res,
	}
	b, err := json.Marshal(doc)
	return string(b), err
}

// MemberTemplate exposes the member-account template (JSON) for tests and Terraform.
func MemberTemplate() (string, error) { return memberTemplate() }

// jsonString renders v as indented JSON (for Terraform heredocs).
func jsonString(v any) string {
	b, _ := json.MarshalIndent(v, "  ", "  ")
	return string(b)
}
