mock_provider "aws" {}

variables {
  name_prefix = "airkube-test"
}

run "private_versioned_encrypted_buckets" {
  command = plan

  assert {
    condition     = aws_s3_bucket.this["data"].bucket == "airkube-test-data" && aws_s3_bucket.this["logs"].bucket == "airkube-test-logs"
    error_message = "buckets are <name_prefix>-data and <name_prefix>-logs (AIRKUBE_DATA_URL in helm/values-<env>.yaml)"
  }
  assert {
    condition = alltrue([for b in values(aws_s3_bucket_public_access_block.this) :
    b.block_public_acls && b.block_public_policy && b.ignore_public_acls && b.restrict_public_buckets])
    error_message = "every bucket must block all public access"
  }
  assert {
    condition     = alltrue([for v in values(aws_s3_bucket_versioning.this) : v.versioning_configuration[0].status == "Enabled"])
    error_message = "every bucket must be versioned"
  }
  assert {
    condition = alltrue([for e in values(aws_s3_bucket_server_side_encryption_configuration.this) :
    one(e.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms"])
    error_message = "every bucket must be encrypted with KMS"
  }
  assert {
    condition     = length(aws_s3_bucket_policy.tls_only) == 2
    error_message = "every bucket must deny requests without TLS"
  }
}

run "old_logs_expire" {
  command = plan
  variables {
    log_retention_days = 30
  }
  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.logs.rule[0].expiration[0].days == 30
    error_message = "remote logs must expire after log_retention_days"
  }
}

run "rejects_short_log_retention" {
  command = plan
  variables {
    log_retention_days = 1
  }
  expect_failures = [var.log_retention_days]
}

run "rejects_bad_bucket_prefix" {
  command = plan
  variables {
    name_prefix = "Airkube_Test"
  }
  expect_failures = [var.name_prefix]
}
