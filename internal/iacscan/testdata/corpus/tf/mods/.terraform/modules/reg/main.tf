variable "name" {}
variable "point_in_time_recovery_enabled" {
  type    = bool
  default = false
}
resource "aws_dynamodb_table" "this" {
  name = var.name
  point_in_time_recovery {
    enabled = var.point_in_time_recovery_enabled
  }
}
