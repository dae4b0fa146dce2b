# terraform.workspace is the workspace it is applied in: not assumed "default".
resource "aws_dynamodb_table" "by_workspace" {
  name = "orders-${terraform.workspace}"
  point_in_time_recovery {
    enabled = terraform.workspace == "prod"
  }
}
