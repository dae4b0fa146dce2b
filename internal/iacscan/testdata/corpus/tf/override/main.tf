# Override files (override.tf, *_override.tf, *_override.tf.json) are merged
# into these blocks after every other file, in lexical order.
variable "pitr" {
  default = false
}

locals {
  on = false
}

resource "aws_dynamodb_table" "turned_on" {
  name = "turned-on"
  point_in_time_recovery {
    enabled = false
  }
}

resource "aws_dynamodb_table" "turned_off_by_dynamic" {
  name = "turned-off"
  point_in_time_recovery {
    enabled = true
  }
}

resource "aws_dynamodb_table" "replica_added" {
  name = "replica-added"
  point_in_time_recovery {
    enabled = true
  }
}

resource "aws_dynamodb_table" "by_variable" {
  name = "by-variable"
  point_in_time_recovery {
    enabled = var.pitr
  }
}

resource "aws_dynamodb_table" "by_local" {
  name = "by-local"
  point_in_time_recovery {
    enabled = local.on
  }
}

resource "aws_dynamodb_table" "json_off" {
  name = "json-off"
  point_in_time_recovery {
    enabled = true
  }
}

resource "aws_dynamodb_table" "last_wins" {
  name = "last-wins"
}
