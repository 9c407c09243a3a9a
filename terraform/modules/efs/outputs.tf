output "file_system_id" {
  description = "The EFS file system's ID."
  value       = aws_efs_file_system.this.id
}

output "file_system_arn" {
  description = "The EFS file system's ARN."
  value       = aws_efs_file_system.this.arn
}

output "access_point_id" {
  description = "The access point of the airflow-logs volume (uid 50000, gid 0)."
  value       = aws_efs_access_point.logs.id
}

output "volume_handle" {
  description = "The EFS CSI volume handle of the airflow-logs PersistentVolume: <file system>::<access point>."
  value       = "${aws_efs_file_system.this.id}::${aws_efs_access_point.logs.id}"
}
