provider "aws" {
  default_tags {
    tags = { env = "prod" }
  }
}

provider "aws" {
  alias = "dev"
  default_tags {
    tags = { env = "dev" }
  }
}

# env = prod comes from the provider's default_tags: critical, 35 days.
resource "aws_dynamodb_table" "by_default_tags" {
  name = "orders"
  point_in_time_recovery {
    enabled                 = true
    recovery_period_in_days = 7
  }
}

# The resource's own tags win over default_tags (tags_all).
resource "aws_dynamodb_table" "own_tag_wins" {
  name = "orders-2"
  tags = { env = "dev" }
  point_in_time_recovery {
    enabled                 = true
    recovery_period_in_days = 7
  }
}

resource "aws_dynamodb_table" "aliased" {
  provider = aws.dev
  name     = "orders-3"
  point_in_time_recovery {
    enabled                 = true
    recovery_period_in_days = 7
  }
}
