variable "name" {}
variable "enable_pitr" {
  type    = bool
  default = false
}
resource "aws_dynamodb_table" "this" {
  name = var.name
  point_in_time_recovery {
    enabled = var.enable_pitr
  }
}
