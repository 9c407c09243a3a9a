output "bucket" {
  description = "The state bucket's name, for backend.tf and backend-<env>.hcl."
  value       = aws_s3_bucket.this.bucket
}

output "bucket_arn" {
  description = "The state bucket's ARN."
  value       = aws_s3_bucket.this.arn
}
