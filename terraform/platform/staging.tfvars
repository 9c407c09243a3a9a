environment    = "staging"
aws_account_id = "123456789012"
region         = "eu-west-1"
state_bucket   = "airkube-terraform-state-123456789012"
