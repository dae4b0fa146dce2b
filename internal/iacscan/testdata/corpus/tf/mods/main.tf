module "orders" {
  source = "./modules/table"
  name   = "orders"
}
module "events" {
  source      = "./modules/table"
  name        = "events"
  enable_pitr = var.events_pitr
}
module "registry" {
  source  = "terraform-aws-modules/dynamodb-table/aws"
  version = "5.5.0"
  name    = "reg"
}
module "missing" {
  source = "git::https://example.com/mod.git"
}
variable "events_pitr" {
  type    = bool
  default = false
}
