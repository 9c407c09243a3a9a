mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
}

variables {
  name_prefix          = "airkube-test"
  alert_records_prefix = "airkube/_airkube/alerts/"
  kms_key_arn          = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "private_versioned_encrypted_buckets" {
  command = apply # the policies name the buckets' ARNs, known after apply (mocked)

  assert {
    condition     = aws_s3_bucket.data.bucket == "airkube-test-data" && aws_s3_bucket.logs.bucket == "airkube-test-logs"
    error_message = "buckets are <name_prefix>-data and <name_prefix>-logs (AIRKUBE_DATA_URL in helm/values-<env>.yaml)"
  }
  assert {
    condition = length(aws_s3_bucket_public_access_block.this) == 2 && alltrue([for b in values(aws_s3_bucket_public_access_block.this) :
    b.block_public_acls && b.block_public_policy && b.ignore_public_acls && b.restrict_public_buckets])
    error_message = "every bucket must block all public access"
  }
  assert {
    condition = length(aws_s3_bucket_versioning.this) == 2 && alltrue([for v in values(aws_s3_bucket_versioning.this) :
    v.versioning_configuration[0].status == "Enabled"])
    error_message = "every bucket must be versioned"
  }
  assert {
    condition = (one(aws_s3_bucket_server_side_encryption_configuration.data.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms"
    && one(aws_s3_bucket_server_side_encryption_configuration.data.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == var.kms_key_arn)
    error_message = "the data bucket must be encrypted with the environment's customer-managed key"
  }
  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.logs.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"
    error_message = "the logs bucket must be encrypted, with SSE-S3 (the only kind server access logs are delivered into)"
  }
  assert {
    condition = alltrue([for p in [aws_s3_bucket_policy.data.policy, aws_s3_bucket_policy.logs.policy] :
      anytrue([for st in jsondecode(p).Statement : st.Effect == "Deny" && st.Principal == "*" && st.Action == "s3:*"
    && try(st.Condition.Bool["aws:SecureTransport"], "") == "false"])])
    error_message = "every bucket must deny requests without TLS"
  }
}

run "access_and_flow_logs_land_in_the_logs_bucket" {
  command = apply # the policies name the buckets' ARNs, known after apply (mocked)

  assert {
    condition = (aws_s3_bucket_logging.data.target_prefix == "s3-access/airkube-test-data/"
    && endswith(jsondecode(aws_s3_bucket_policy.logs.policy).Statement[0].Resource, "/s3-access/airkube-test-data/*"))
    error_message = "the data bucket's access logs go to the logs bucket under s3-access/<bucket>/, which S3 logging may write"
  }
  assert {
    condition = toset([for s in jsondecode(aws_s3_bucket_policy.logs.policy).Statement : s.Principal.Service if s.Effect == "Allow"]) == toset([
    "logging.s3.amazonaws.com", "delivery.logs.amazonaws.com"])
    error_message = "only S3 logging and VPC flow log delivery may write into the logs bucket"
  }
  assert {
    condition = alltrue([for s in jsondecode(aws_s3_bucket_policy.logs.policy).Statement :
    s.Condition.StringEquals["aws:SourceAccount"] == "123456789012" if s.Effect == "Allow"]) && length(jsondecode(aws_s3_bucket_policy.logs.policy).Statement) == 4
    error_message = "log delivery must be allowed for this account's resources only"
  }
}

run "alert_records_expire_and_nothing_else_of_the_data" {
  command = plan

  assert {
    condition = [for r in aws_s3_bucket_lifecycle_configuration.data.rule : [r.filter[0].prefix, r.expiration[0].days] if length(r.expiration) > 0] == [
    ["airkube/_airkube/alerts/", 90]]
    error_message = "the data bucket expires alert records (airkube/_airkube/alerts/) after 90 days, and no other current object"
  }
}

run "rejects_an_alert_prefix_outside_the_records" {
  command = plan
  variables {
    alert_records_prefix = "airkube/"
  }
  expect_failures = [var.alert_records_prefix]
}

run "rejects_short_alert_retention" {
  command = plan
  variables {
    alert_retention_days = 1
  }
  expect_failures = [var.alert_retention_days]
}

run "old_logs_expire" {
  command = plan
  variables {
    log_retention_days = 30
  }
  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.logs.rule[0].expiration[0].days == 30
    error_message = "logs must expire after log_retention_days"
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

run "rejects_a_key_alias_for_a_key_arn" {
  command = plan
  variables {
    kms_key_arn = "alias/airkube-test"
  }
  expect_failures = [var.kms_key_arn]
}
