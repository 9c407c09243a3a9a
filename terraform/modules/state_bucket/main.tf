# The bucket that holds an account's Terraform state (terraform/envs/<env>/backend.tf and the platform
# layer's backend-<env>.hcl; locking is an S3 lock object, use_lockfile). Made once per account by
# terraform/bootstrap, before anything else. Versioned, so every state ever written can be restored; never
# force-destroyed, so S3 itself refuses to delete it while it holds a state.
#
# checkov skips, with their reasons beside the resource:
# - CKV_AWS_144 (cross-region replication), CKV2_AWS_62 (event notifications), CKV_AWS_18 (access logs).

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Versioning keeps every state; the state can also be rebuilt by import, so a second region is not worth its cost.
  #checkov:skip=CKV2_AWS_62:Nothing consumes bucket events; Terraform alone reads and writes this bucket.
  #checkov:skip=CKV_AWS_18:Only Terraform runs touch this bucket, and its object versions record every change they made.
  bucket        = var.bucket
  force_destroy = false
  tags          = merge(var.tags, { Name = var.bucket })
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
}

# State holds secrets (the platform layer's generated keys): KMS, with a bucket key so requests stay few.
resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "old-states"
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

  depends_on = [aws_s3_bucket_versioning.this]
}
