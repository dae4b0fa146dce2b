variable "name" {}
variable "pitr" {
  default = false
}
resource "aws_dynamodb_table" "this" {
  name = var.name
  point_in_time_recovery {
    enabled = var.pitr
  }
}
