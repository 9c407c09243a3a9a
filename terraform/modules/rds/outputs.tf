output "address" {
  description = "The database's host name (PgBouncer's [databases] host)."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "The database's port."
  value       = aws_db_instance.this.port
}

output "db_name" {
  description = "The database Airflow uses."
  value       = aws_db_instance.this.db_name
}

output "username" {
  description = "The master user's name."
  value       = aws_db_instance.this.username
}

output "master_user_secret_arn" {
  description = "The Secrets Manager secret holding the master user's credentials (JSON with username and password)."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "security_group_id" {
  description = "The database's security group."
  value       = aws_security_group.this.id
}

output "airflow_role" {
  description = "The role Airflow and PgBouncer log in as (terraform/platform/sql/airflow_role.sql makes it)."
  value       = var.airflow_role
}

output "airflow_secret_arn" {
  description = "The Secrets Manager secret with the Airflow role's credentials (JSON with username and password)."
  value       = aws_secretsmanager_secret_version.airflow.arn
}
