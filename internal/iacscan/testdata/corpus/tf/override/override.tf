variable "pitr" {
  default = true
}

locals {
  on = true
}

resource "aws_dynamodb_table" "turned_on" {
  point_in_time_recovery {
    enabled = true
  }
}

resource "aws_dynamodb_table" "turned_off_by_dynamic" {
  dynamic "point_in_time_recovery" {
    for_each = []
    content {
      enabled = true
    }
  }
}

resource "aws_dynamodb_table" "replica_added" {
  replica {
    region_name = "eu-west-1"
  }
}

resource "aws_dynamodb_table" "last_wins" {
  point_in_time_recovery {
    enabled = true
  }
}
