# AWS Backup selections that name DynamoDB tables by name select nothing
# (terraform-provider-aws #29458): pitrguard/backup-selection-arn.

variable "orders_table" {
  default = "orders"
}

variable "table_names" {
  type    = list(string)
  default = ["users", "events"]
}

variable "table_arn" {
  default = "arn:aws:dynamodb:us-east-1:111111111111:table/orders"
}

resource "aws_dynamodb_table" "orders" {
  name     = "orders"
  hash_key = "pk"
  attribute {
    name = "pk"
    type = "S"
  }
  point_in_time_recovery {
    enabled = true
  }
}

resource "aws_dynamodb_table" "many" {
  for_each = toset(["a", "b"])
  name     = each.key
  hash_key = "pk"
  attribute {
    name = "pk"
    type = "S"
  }
  point_in_time_recovery {
    enabled = true
  }
}

resource "aws_backup_selection" "literal_name" {
  name         = "literal"
  plan_id      = "p"
  iam_role_arn = "arn:aws:iam::111111111111:role/backup"
  resources    = ["orders"]
}

resource "aws_backup_selection" "name_ref" {
  name         = "name-ref"
  plan_id      = "p"
  iam_role_arn = "arn:aws:iam::111111111111:role/backup"
  resources    = [aws_dynamodb_table.orders.name]
}

resource "aws_backup_selection" "id_ref" {
  name         = "id-ref"
  plan_id      = "p"
  iam_role_arn = "arn:aws:iam::111111111111:role/backup"
  resources    = [aws_dynamodb_table.orders.id]
}

resource "aws_backup_selection" "for_names" {
  name         = "for"
  plan_id      = "p"
  iam_role_arn = "arn:aws:iam::111111111111:role/backup"
  resources    = [for t in aws_dynamodb_table.many : t.name]
}

resource "aws_backup_selection" "splat_ids" {
  name         = "splat"
  plan_id      = "p"
  iam_role_arn = "arn:aws:iam::111111111111:role/backup"
  resources    = values(aws_dynamodb_table.many)[*].id
}

resource "aws_backup_selection" "var_names" {
  name         = "var"
  plan_id      = "p"
  iam_role_arn = "arn:aws:iam::111111111111:role/backup"
  resources    = var.table_names
}

resource "aws_backup_selection" "not_resources_name" {
  name          = "exclude"
  plan_id       = "p"
  iam_role_arn  = "arn:aws:iam::111111111111:role/backup"
  resources     = ["arn:aws:dynamodb:*:*:table/*"]
  not_resources = ["${var.orders_table}"]
}

# pitrguard:ignore kept to document the old layout; nothing relies on it
resource "aws_backup_selection" "suppressed" {
  name         = "legacy"
  plan_id      = "p"
  iam_role_arn = "arn:aws:iam::111111111111:role/backup"
  resources    = ["legacy"]
}

# Correct selections: no finding.
resource "aws_backup_selection" "arns" {
  name         = "arns"
  plan_id      = "p"
  iam_role_arn = "arn:aws:iam::111111111111:role/backup"
  resources    = [aws_dynamodb_table.orders.arn, "arn:aws:dynamodb:*:*:table/x-*", var.table_arn, "*"]
}

resource "aws_backup_selection" "for_arns" {
  name         = "for-arns"
  plan_id      = "p"
  iam_role_arn = "arn:aws:iam::111111111111:role/backup"
  resources    = [for t in aws_dynamodb_table.many : t.arn]
}
