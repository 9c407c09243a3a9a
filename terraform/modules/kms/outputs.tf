output "key_arn" {
  description = "The key's ARN: what S3, EFS and RDS are told to encrypt with, and what IAM policies grant."
  value       = aws_kms_key.this.arn
}

output "alias" {
  description = "The key's alias, alias/<name>."
  value       = aws_kms_alias.this.name
}
