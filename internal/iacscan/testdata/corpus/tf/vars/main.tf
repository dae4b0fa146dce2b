variable "pitr_true" {
  default = true
}
variable "pitr_false" {
  type    = bool
  default = false
}
variable "env" {
  type    = string
  default = "prod"
}
variable "no_default" {
  type = string
}
variable "toggle" {
  type = bool
}
variable "from_tfvars" {
  type    = bool
  default = false
}
locals {
  is_prod = var.env == "prod"
}
resource "aws_dynamodb_table" "by_var_true" {
  point_in_time_recovery {
    enabled = var.pitr_true
  }
}
resource "aws_dynamodb_table" "by_var_false" {
  point_in_time_recovery {
    enabled = var.pitr_false
  }
}
resource "aws_dynamodb_table" "by_local" {
  point_in_time_recovery {
    enabled = local.is_prod
  }
}
resource "aws_dynamodb_table" "by_unknown" {
  point_in_time_recovery {
    enabled = var.no_default == "prod"
  }
}
resource "aws_dynamodb_table" "by_toggle" {
  point_in_time_recovery {
    enabled = var.toggle
  }
}
resource "aws_dynamodb_table" "by_tfvars" {
  point_in_time_recovery {
    enabled = var.from_tfvars
  }
}
resource "aws_dynamodb_table" "by_count" {
  count = var.toggle ? 1 : 0
  point_in_time_recovery {
    enabled = true
  }
}
variable "replica_regions" {
  type = list(string)
}
resource "aws_dynamodb_table" "dynamic_replicas" {
  point_in_time_recovery {
    enabled = true
  }
  dynamic "replica" {
    for_each = var.replica_regions
    content {
      region_name = replica.value
    }
  }
}
