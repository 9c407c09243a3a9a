# The data bucket (pipeline inputs and outputs, AIRKUBE_DATA_URL) and the logs bucket (Airflow's remote task
# logs, the data bucket's S3 access logs, the VPC's flow logs). Both: no public access, owner-enforced
# objects, versioning, default encryption, TLS only, lifecycle rules.
#
# checkov skips, shared by both buckets:
# - CKV_AWS_144 (cross-region replication): every object here is rebuilt by re-running its DAG's interval
#   (tasks are idempotent and keyed by data interval) or is a log; a second region would double the bill.
# - CKV2_AWS_62 (event notifications): nothing consumes bucket events; Airflow's schedules drive the work.

data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  buckets = {
    data = aws_s3_bucket.data
    logs = aws_s3_bucket.logs
  }
  # Where other services write into the logs bucket (each prefix is allowed to exactly one service below).
  access_log_prefix = "s3-access/"
  flow_log_prefix   = "vpc-flow-logs/"
}

resource "aws_s3_bucket" "data" {
  #checkov:skip=CKV_AWS_144:Objects are rebuilt by re-running their interval; see the header.
  #checkov:skip=CKV2_AWS_62:Nothing consumes bucket events; see the header.
  bucket        = "${var.name_prefix}-data"
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Name = "${var.name_prefix}-data" })
}

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_144:Logs are not worth a second region; see the header.
  #checkov:skip=CKV2_AWS_62:Nothing consumes bucket events; see the header.
  #checkov:skip=CKV_AWS_18:This is the access-log target bucket; logging it into itself would loop.
  #checkov:skip=CKV_AWS_145:S3 delivers server access logs only to a bucket encrypted with SSE-S3 (AES256), not SSE-KMS.
  bucket        = "${var.name_prefix}-logs"
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Name = "${var.name_prefix}-logs" })
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each                = local.buckets
  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets
  bucket   = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced" # no ACLs: access is IAM and bucket policy only
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets
  bucket   = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

# The data: the environment's customer-managed key, with a bucket key so KMS requests stay few.
resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

# The logs: SSE-S3, the one default encryption S3 server access logging can deliver into.
resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_logging" "data" {
  bucket        = aws_s3_bucket.data.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "${local.access_log_prefix}${aws_s3_bucket.data.bucket}/"

  depends_on = [aws_s3_bucket_policy.logs] # S3 refuses a target that does not yet admit the logging service
}

# Every request without TLS is refused, whoever makes it.
locals {
  deny_insecure_transport = {
    for key, bucket in local.buckets : key => {
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [bucket.arn, "${bucket.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }
  }
  from_this_account = { StringEquals = { "aws:SourceAccount" = local.account_id } }
}

resource "aws_s3_bucket_policy" "data" {
  bucket = aws_s3_bucket.data.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [local.deny_insecure_transport["data"]]
  })
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# The services that write into the logs bucket, each under its own prefix and only for this account. (The
# writers come before the TLS rule: moto's check of a logging target reads statements in order and stops
# at a string Principal.)
resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "S3ServerAccessLogs"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs.arn}/${local.access_log_prefix}${aws_s3_bucket.data.bucket}/*"
        Condition = local.from_this_account
      },
      {
        Sid       = "VpcFlowLogsWrite"
        Effect    = "Allow"
        Principal = { Service = "delivery.logs.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs.arn}/${local.flow_log_prefix}*"
        Condition = local.from_this_account
      },
      {
        Sid       = "VpcFlowLogsCheck"
        Effect    = "Allow"
        Principal = { Service = "delivery.logs.amazonaws.com" }
        Action    = ["s3:GetBucketAcl", "s3:ListBucket"]
        Resource  = aws_s3_bucket.logs.arn
        Condition = local.from_this_account
      },
      local.deny_insecure_transport["logs"],
    ]
  })
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    id     = "old-versions"
    status = "Enabled"
    filter {
      prefix = ""
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # The record of every alert sent (plugins/airkube/records.py): the platform page shows recent ones, no
  # one needs them for ever. (Their old versions then go with the rule above.)
  rule {
    id     = "expire-alert-records"
    status = "Enabled"
    filter {
      prefix = var.alert_records_prefix
    }
    expiration {
      days = var.alert_retention_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-old-logs"
    status = "Enabled"
    filter {
      prefix = ""
    }
    expiration {
      days = var.log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}
