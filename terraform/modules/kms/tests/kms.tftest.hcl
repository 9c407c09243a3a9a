mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
}

variables {
  name = "airkube-test"
}

run "rotated_key_with_an_account_policy" {
  command = plan

  assert {
    condition     = aws_kms_key.this.enable_key_rotation && aws_kms_key.this.deletion_window_in_days == 30
    error_message = "the key must rotate, and keep the longest deletion window by default"
  }
  assert {
    condition     = jsondecode(aws_kms_key.this.policy).Statement[0].Principal.AWS == "arn:aws:iam::123456789012:root"
    error_message = "the key policy must hand the key's use to IAM in the environment's own account, and no one else"
  }
  assert {
    condition     = aws_kms_alias.this.name == "alias/airkube-test"
    error_message = "the alias is alias/<name>"
  }
}

run "rejects_short_deletion_window" {
  command = plan
  variables {
    deletion_window_days = 3
  }
  expect_failures = [var.deletion_window_days]
}

run "rejects_reserved_alias" {
  command = plan
  variables {
    name = "aws-airkube"
  }
  expect_failures = [var.name]
}
