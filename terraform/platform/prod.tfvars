environment    = "prod"
aws_account_id = "210987654321"
region         = "eu-west-1"
state_bucket   = "airkube-terraform-state-210987654321"
