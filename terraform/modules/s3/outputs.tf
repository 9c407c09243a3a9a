output "data_bucket" {
  description = "The data bucket's name (AIRKUBE_DATA_URL is s3://<it>/airkube)."
  value       = aws_s3_bucket.this["data"].id
}

output "data_bucket_arn" {
  description = "The data bucket's ARN."
  value       = aws_s3_bucket.this["data"].arn
}

output "logs_bucket" {
  description = "The remote task logs bucket's name."
  value       = aws_s3_bucket.this["logs"].id
}

output "logs_bucket_arn" {
  description = "The remote task logs bucket's ARN."
  value       = aws_s3_bucket.this["logs"].arn
}
