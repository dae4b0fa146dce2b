package deploy

import (
	"fmt"
	"sort"
	"strings"
)

// heredoc renders JSON in a Terraform heredoc (its ${...} are Terraform
// interpolations).
func heredoc(v any) string {
	return "<<-EOT\n  " + jsonString(v) + "\n  EOT"
}

// tfEscape protects CloudFormation ${...} from Terraform's interpolation.
func tfEscape(s string) string { return strings.ReplaceAll(s, "${", "$${") }

// Terraform returns the HCL configuration.
func Terraform(o Options) (string, error) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# pitrguard deploy events --format terraform%s\n", orgSuffix(o))
	w("# PREREQUISITE: %s\n\n", Prerequisite)
	w(`terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.80" }
  }
}

variable "lambda_zip" {
  type        = string
  description = "path of the function package: a zip with the pitrguard linux/arm64 binary named bootstrap"
}

variable "policy_parameter_name" {
  type        = string
  default     = "/pitrguard/policy"
  description = "SSM parameter holding pitrguard.yaml"
}

variable "handler_role_name" {
  type        = string
  default     = %q
  description = "name of the function's role; its own calls are excluded from the rules"
}

variable "notify_topic_arn" {
  type        = string
  default     = "arn:aws:sns:*:*:pitrguard-*"
  description = "SNS topic(s) the notify: sns channels publish to"
}
`, o.HandlerRole)
	if o.Org {
		w(`
variable "organizational_unit_ids" {
  type        = list(string)
  description = "OUs (or the root r-xxxx) whose accounts get the forwarding rules"
}

variable "regions" {
  type        = list(string)
  description = "regions to forward events from"
}

variable "member_role_name" {
  type        = string
  default     = %q
  description = "role the handler assumes in member accounts"
}

data "aws_organizations_organization" "current" {}
`, o.MemberRole)
	}
	w(`
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

resource "aws_sqs_queue" "dlq" {
  name                      = "pitrguard-events-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "retry" {
  name                       = "pitrguard-events-retry"
  visibility_timeout_seconds = 5400
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = 5
  })
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EventBridgeDeadLetters"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.dlq.arn
    }]
  })
}

resource "aws_iam_role" "handler" {
  name = var.handler_role_name
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "lambda.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.handler.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_iam_role_policy" "handler" {
  name = "pitrguard-events"
  role = aws_iam_role.handler.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "PitrguardTables", Effect = "Allow", Action = %s, Resource = "arn:${data.aws_partition.current.partition}:dynamodb:*:${data.aws_caller_identity.current.account_id}:table/*" },
      { Sid = "PitrguardRetryQueue", Effect = "Allow", Action = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:SendMessage"], Resource = aws_sqs_queue.retry.arn },
      { Sid = "PitrguardDeadLetter", Effect = "Allow", Action = ["sqs:SendMessage"], Resource = aws_sqs_queue.dlq.arn },
      { Sid = "PitrguardPolicyAndSecrets", Effect = "Allow", Action = ["ssm:GetParameter"], Resource = "arn:${data.aws_partition.current.partition}:ssm:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:parameter/pitrguard/*" },
      { Sid = "PitrguardSecretsManager", Effect = "Allow", Action = ["secretsmanager:GetSecretValue"], Resource = "arn:${data.aws_partition.current.partition}:secretsmanager:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:secret:pitrguard/*" },
      { Sid = "PitrguardNotifySNS", Effect = "Allow", Action = ["sns:Publish"], Resource = var.notify_topic_arn },%s
    ]
  })
}
`, hclList(HandlerActions), assumeStatement(o))
	roleEnv := ""
	if o.Org {
		roleEnv = "\n      PITRGUARD_ROLE_NAME    = var.member_role_name"
	}
	w(`
resource "aws_lambda_function" "handler" {
  function_name    = "pitrguard-events"
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = var.lambda_zip
  source_code_hash = filebase64sha256(var.lambda_zip)
  role             = aws_iam_role.handler.arn
  timeout          = 900
  memory_size      = 256
  environment {
    variables = {
      PITRGUARD_CONFIG       = "ssm:${var.policy_parameter_name}"
      PITRGUARD_QUEUE_URL    = aws_sqs_queue.retry.url
      PITRGUARD_IGNORE_ROLES = var.handler_role_name%s
    }
  }
  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }
}

resource "aws_lambda_function_event_invoke_config" "handler" {
  function_name          = aws_lambda_function.handler.function_name
  maximum_retry_attempts = 2
}

resource "aws_lambda_event_source_mapping" "retry" {
  event_source_arn        = aws_sqs_queue.retry.arn
  function_name           = aws_lambda_function.handler.arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]
}
`, roleEnv)
	bus := ""
	if o.Org {
		w(`
resource "aws_cloudwatch_event_bus" "central" {
  name = "pitrguard-events"
}

resource "aws_cloudwatch_event_bus_policy" "central" {
  event_bus_name = aws_cloudwatch_event_bus.central.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "PitrguardOrganizationPutEvents"
      Effect    = "Allow"
      Principal = "*"
      Action    = "events:PutEvents"
      Resource  = aws_cloudwatch_event_bus.central.arn
      Condition = { StringEquals = { "aws:PrincipalOrgID" = data.aws_organizations_organization.current.id } }
    }]
  })
}
`)
		bus = "\n  event_bus_name = aws_cloudwatch_event_bus.central.name"
	}
	ignored := "arn:${data.aws_partition.current.partition}:sts::${data.aws_caller_identity.current.account_id}:assumed-role/${var.handler_role_name}/"
	pats := Patterns(ignored)
	names := make([]string, 0, len(pats))
	for n := range pats {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		id := snake(n)
		rules := []struct{ suffix, bus string }{{"", bus}}
		if o.Org {
			rules = append(rules, struct{ suffix, bus string }{"_local", ""})
		}
		for _, r := range rules {
			w(`
resource "aws_cloudwatch_event_rule" "%[1]s%[2]s" {
  name          = "pitrguard-%[3]s%[4]s"
  description   = "pitrguard: %[5]s (CloudTrail via EventBridge)"%[6]s
  event_pattern = %[7]s
}

resource "aws_cloudwatch_event_target" "%[1]s%[2]s" {
  rule      = aws_cloudwatch_event_rule.%[1]s%[2]s.name%[6]s
  target_id = "pitrguard-handler"
  arn       = aws_lambda_function.handler.arn
  retry_policy {
    maximum_retry_attempts       = 8
    maximum_event_age_in_seconds = 86400
  }
  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

resource "aws_lambda_permission" "%[1]s%[2]s" {
  statement_id  = "pitrguard-%[3]s%[4]s"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.handler.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.%[1]s%[2]s.arn
}
`, id, r.suffix, strings.ReplaceAll(id, "_", "-"), strings.ReplaceAll(r.suffix, "_", "-"), n, r.bus, heredoc(pats[n]))
		}
	}
	if o.Org {
		member, err := memberTemplate()
		if err != nil {
			return "", err
		}
		w(`
resource "aws_cloudformation_stack_set" "forwarding" {
  name             = "pitrguard-events-forwarding"
  permission_model = "SERVICE_MANAGED"
  capabilities     = ["CAPABILITY_NAMED_IAM"]
  auto_deployment {
    enabled                          = true
    retain_stacks_on_account_removal = false
  }
  managed_execution {
    active = true
  }
  parameters = {
    CentralBusArn  = aws_cloudwatch_event_bus.central.arn
    HandlerRoleArn = aws_iam_role.handler.arn
    MemberRoleName = var.member_role_name
    HomeRegion     = data.aws_region.current.name
  }
  template_body = <<-EOT
  %s
  EOT
  lifecycle {
    ignore_changes = [administration_role_arn]
  }
}

resource "aws_cloudformation_stack_set_instance" "forwarding" {
  for_each       = toset(var.regions)
  stack_set_name = aws_cloudformation_stack_set.forwarding.name
  region         = each.value
  deployment_targets {
    organizational_unit_ids = var.organizational_unit_ids
  }
}
`, tfEscape(member))
	}
	w(`
output "function_arn" {
  value = aws_lambda_function.handler.arn
}

output "retry_queue_url" {
  value = aws_sqs_queue.retry.url
}

output "dead_letter_queue_url" {
  value = aws_sqs_queue.dlq.url
}
`)
	return b.String(), nil
}

func assumeStatement(o Options) string {
	if !o.Org {
		return ""
	}
	return "\n      { Sid = \"PitrguardAssumeMemberRole\", Effect = \"Allow\", Action = [\"sts:AssumeRole\"], Resource = \"arn:${data.aws_partition.current.partition}:iam::*:role/${var.member_role_name}\" },"
}

func hclList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// snake turns TableEvents into table_events.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return strings.ReplaceAll(b.String(), "p_i_t_r", "pitr")
}
