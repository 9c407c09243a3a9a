mock_provider "aws" {}

variables {
  bucket = "airkube-terraform-state-123456789012"
}

run "private_versioned_encrypted_and_kept" {
  command = plan

  assert {
    condition     = aws_s3_bucket.this.bucket == var.bucket && !aws_s3_bucket.this.force_destroy
    error_message = "the state bucket must never be force-destroyed"
  }
  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "the state bucket must be versioned: every state ever written stays restorable"
  }
  assert {
    condition = (aws_s3_bucket_public_access_block.this.block_public_acls && aws_s3_bucket_public_access_block.this.block_public_policy
    && aws_s3_bucket_public_access_block.this.ignore_public_acls && aws_s3_bucket_public_access_block.this.restrict_public_buckets)
    error_message = "the state bucket must block all public access"
  }
  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms"
    error_message = "state holds secrets: the bucket must be KMS-encrypted"
  }
  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.this.rule[0].noncurrent_version_expiration[0].noncurrent_days == 90
    error_message = "old states are kept 90 days by default"
  }
}

run "rejects_invalid_bucket_name" {
  command = plan
  variables {
    bucket = "Airkube_State"
  }
  expect_failures = [var.bucket]
}

run "rejects_short_state_history" {
  command = plan
  variables {
    noncurrent_version_retention_days = 7
  }
  expect_failures = [var.noncurrent_version_retention_days]
}
