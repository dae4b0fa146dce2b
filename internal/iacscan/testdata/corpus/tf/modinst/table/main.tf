variable "name" {
  type = string
}

variable "pitr" {
  type    = bool
  default = false
}

resource "aws_dynamodb_table" "this" {
  name = var.name
  point_in_time_recovery {
    enabled = var.pitr
  }
}
