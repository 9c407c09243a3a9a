output "airflow_worker_role_arn" {
  description = "The worker pods' role: workers.serviceAccount.annotations in helm/values-<env>.yaml."
  value       = aws_iam_role.irsa["airflow-worker"].arn
}

output "task_role_arn" {
  description = "The task pods' role, annotated on the airkube-task service account (platform layer)."
  value       = aws_iam_role.irsa["airkube-task"].arn
}

output "cluster_autoscaler_role_arn" {
  description = "The Cluster Autoscaler's role (platform layer's helm_release)."
  value       = aws_iam_role.irsa["cluster-autoscaler"].arn
}

output "efs_csi_role_arn" {
  description = "The EFS CSI driver controller's role (eks module's aws-efs-csi-driver addon)."
  value       = aws_iam_role.irsa["efs-csi"].arn
}
