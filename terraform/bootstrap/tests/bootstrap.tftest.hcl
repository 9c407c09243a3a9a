mock_provider "aws" {}

variables {
  environment    = "staging"
  aws_account_id = "123456789012"
  region         = "eu-west-1"
}

run "names_the_bucket_the_backends_expect" {
  command = plan

  assert {
    condition     = module.state_bucket.bucket == "airkube-terraform-state-123456789012"
    error_message = "the state bucket is airkube-terraform-state-<account id>, the bucket of envs/<env>/backend.tf"
  }
}

run "rejects_unknown_environment" {
  command = plan
  variables {
    environment = "dev"
  }
  expect_failures = [var.environment]
}

run "rejects_a_short_account_id" {
  command = plan
  variables {
    aws_account_id = "12345"
  }
  expect_failures = [var.aws_account_id]
}
