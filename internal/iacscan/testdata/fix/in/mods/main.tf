module "t" {
  source = "./modules/t"
  name   = "x"
}
