# Orders service tables.
resource "aws_dynamodb_table" "orders" {
  name         = "orders" # the main table
  billing_mode = "PAY_PER_REQUEST"
  point_in_time_recovery {
    enabled = true
  }
}

resource "aws_dynamodb_table" "events" {
  name = "events"

  # PITR was turned off during the migration
  point_in_time_recovery {
    enabled = true
  }

  replica {
    region_name = "eu-west-1" # DR region
    point_in_time_recovery = true
  }
}

resource "aws_dynamodb_table" "audit" {
  name = "audit"
  point_in_time_recovery {
    enabled = var.audit_pitr
  }
}

resource "aws_dynamodb_table" "conditional" {
  name = "c"
  point_in_time_recovery {
    enabled = var.strict
  }
}

variable "audit_pitr" {
  description = "PITR on the audit table"
  type        = bool
  default     = true
}

variable "strict" {
  type = bool
}
