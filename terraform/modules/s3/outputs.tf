output "data_bucket" {
  description = "The data bucket's name (AIRKUBE_DATA_URL is s3://<it>/airkube)."
  value       = aws_s3_bucket.data.id
}

output "data_bucket_arn" {
  description = "The data bucket's ARN."
  value       = aws_s3_bucket.data.arn
}

output "logs_bucket" {
  description = "The logs bucket's name (Airflow's remote task logs, S3 access logs, VPC flow logs)."
  value       = aws_s3_bucket.logs.id
}

output "logs_bucket_arn" {
  description = "The logs bucket's ARN."
  value       = aws_s3_bucket.logs.arn
}

output "flow_logs_destination" {
  description = "Where the VPC's flow logs go: the logs bucket's prefix that delivery.logs.amazonaws.com may write."
  value       = "${aws_s3_bucket.logs.arn}/${local.flow_log_prefix}"
  # A flow log made before the policy would have AWS add a policy of its own, which the next apply removes.
  depends_on = [aws_s3_bucket_policy.logs]
}
