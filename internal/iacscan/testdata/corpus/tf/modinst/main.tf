# Module calls with count and for_each: one instance per index or key, each
# judged with its own inputs.
variable "tables" {
  type = map(bool)
}

module "by_key" {
  source   = "./table"
  for_each = { orders = true, events = false }
  name     = each.key
  pitr     = each.value
}

module "by_index" {
  source = "./table"
  count  = 2
  name   = "t-${count.index}"
  pitr   = count.index == 0
}

module "by_set" {
  source   = "./table"
  for_each = toset(["a", "b"])
  name     = each.value
  pitr     = true
}

module "by_unknown" {
  source   = "./table"
  for_each = var.tables
  name     = each.key
  pitr     = each.value
}

module "none" {
  source = "./table"
  count  = 0
  name   = "never"
  pitr   = false
}
