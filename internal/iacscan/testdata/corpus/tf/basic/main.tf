resource "aws_dynamodb_table" "missing" {
  name = "a"
}
resource "aws_dynamodb_table" "off" {
  point_in_time_recovery {
    enabled = false
  }
}
resource "aws_dynamodb_table" "on" {
  point_in_time_recovery {
    enabled = true
  }
}
resource "aws_dynamodb_table" "empty_block" {
  point_in_time_recovery {}
}
resource "aws_dynamodb_table" "string_false" {
  point_in_time_recovery {
    enabled = "false"
  }
}
resource "aws_dynamodb_table" "string_true" {
  point_in_time_recovery {
    enabled = "true"
  }
}
resource "aws_dynamodb_table" "dynamic_empty" {
  dynamic "point_in_time_recovery" {
    for_each = []
    content {
      enabled = true
    }
  }
}
resource "aws_dynamodb_table" "dynamic_one" {
  dynamic "point_in_time_recovery" {
    for_each = [1]
    content {
      enabled = true
    }
  }
}
resource "aws_dynamodb_table" "count_zero" {
  count = 0
}
resource "aws_dynamodb_table" "global" {
  point_in_time_recovery {
    enabled = true
  }
  replica {
    region_name = "eu-west-1"
  }
  replica {
    region_name            = "us-west-2"
    point_in_time_recovery = true
  }
}
resource "aws_dynamodb_table_replica" "standalone" {
  provider               = aws.euw1
  global_table_arn       = "arn"
}
resource "aws_dynamodb_table" "each" {
  for_each = { a = true, b = false }
  point_in_time_recovery {
    enabled = each.value
  }
}
resource "aws_dax_cluster" "dax" {
  cluster_name = "x"
}
resource "aws_dynamodb_global_table" "legacy" {
  name = "x"
}
# pitrguard:ignore rebuilt nightly from S3
resource "aws_dynamodb_table" "ignored" {
}
resource "aws_dynamodb_table" "checkov_skipped" {
  #checkov:skip=CKV_AWS_28:a cache
}
#trivy:ignore:AVD-AWS-0024
resource "aws_dynamodb_table" "trivy_ignored" {
}
#tfsec:ignore:aws-dynamodb-enable-recovery:exp:2020-01-01
resource "aws_dynamodb_table" "tfsec_expired" {
}
# pitrguard:ignore
resource "aws_dynamodb_table" "ignore_without_reason" {
}
# kics-scan ignore-block
resource "aws_dynamodb_table" "kics_ignored" {
}
