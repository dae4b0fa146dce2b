variable "name" {
  type = string
}

variable "tags" {
  type = map(string)
}

variable "env" {
  type = string
}

# The audit calls a tmp-* table COMPLIANT (ephemeral tier): so does the scan.
resource "aws_dynamodb_table" "tmp" {
  name = "tmp-orders"
}

resource "aws_dynamodb_table" "prod_short" {
  name = "orders"
  tags = { env = "prod" }
  point_in_time_recovery {
    enabled                 = true
    recovery_period_in_days = 7
  }
}

resource "aws_dynamodb_table" "standard_short" {
  name = "orders-dev"
  tags = { env = "dev" }
  point_in_time_recovery {
    enabled                 = true
    recovery_period_in_days = 7
  }
}

resource "aws_dynamodb_table" "name_unknown_off" {
  name = var.name
}

resource "aws_dynamodb_table" "tags_unknown_short" {
  name = "payments"
  tags = var.tags
  point_in_time_recovery {
    enabled                 = true
    recovery_period_in_days = 7
  }
}

resource "aws_dynamodb_table" "tags_unknown_off" {
  name = "payments-2"
  tags = var.tags
}

resource "aws_dynamodb_table" "tmp_env_unknown" {
  name = "tmp-build"
  tags = { env = var.env, team = "ci" }
}

resource "aws_dynamodb_table" "scratch" {
  name = "scratch-1"
}

resource "aws_dynamodb_table" "legacy" {
  name = "legacy-1"
}

resource "aws_dynamodb_table" "expired" {
  name = "old-1"
}

resource "aws_dynamodb_table" "global" {
  name = "global"
  tags = { env = "prod" }
  point_in_time_recovery {
    enabled = true
  }
  replica {
    region_name            = "eu-west-1"
    point_in_time_recovery = true
    propagate_tags         = true
  }
  replica {
    region_name            = "us-west-2"
    point_in_time_recovery = false
  }
}
