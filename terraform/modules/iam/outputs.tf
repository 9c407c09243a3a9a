output "airflow_worker_role_arn" {
  description = "The worker pods' role: workers.serviceAccount.annotations in helm/values-<env>.yaml."
  value       = aws_iam_role.irsa["airflow-worker"].arn
}

output "platform_role_arn" {
  description = "The scheduler's, triggerer's, dag-processor's and api-server's role: their serviceAccount.annotations in helm/values-<env>.yaml."
  value       = aws_iam_role.irsa["airflow-platform"].arn
}

output "records_prefix" {
  description = "The data bucket's key prefix of airkube's records (<AIRKUBE_DATA_URL>/_airkube/), with its trailing slash."
  value       = local.records_prefix
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
