output "cluster_name" {
  description = "The EKS cluster's name."
  value       = aws_eks_cluster.this.name
}

output "kubernetes_version" {
  description = "The cluster's Kubernetes minor version, e.g. 1.33 (the Cluster Autoscaler's must match it)."
  value       = aws_eks_cluster.this.version
}

output "cluster_endpoint" {
  description = "The Kubernetes API server's URL."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority" {
  description = "The cluster CA certificate, base64-encoded."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "cluster_security_group_id" {
  description = "The security group EKS puts on the control plane and the managed nodes; RDS and EFS admit it."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "oidc_provider_arn" {
  description = "The cluster's IAM OIDC provider, trusted by the IRSA roles."
  value       = aws_iam_openid_connect_provider.this.arn
}

output "oidc_issuer" {
  description = "The OIDC issuer without https://, the prefix of the IRSA trust conditions' keys."
  value       = replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")
}

output "worker_node_group_autoscaler_tags" {
  description = "The Cluster Autoscaler discovery tags on the worker node group."
  value       = local.autoscaler_tags
}
