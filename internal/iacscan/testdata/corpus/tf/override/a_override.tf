resource "aws_dynamodb_table" "last_wins" {
  point_in_time_recovery {
    enabled = false
  }
}
