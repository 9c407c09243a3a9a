output "repository_urls" {
  description = "Each repository's URL, by name."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.repository_url }
}

output "repository_arns" {
  description = "Each repository's ARN, by name."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.arn }
}

output "registry" {
  description = "<account>.dkr.ecr.<region>.amazonaws.com/airkube: IMAGE_REGISTRY for `make push`, AIRKUBE_IMAGE_REGISTRY in helm/values-<env>.yaml."
  value       = "${split("/", values(aws_ecr_repository.this)[0].repository_url)[0]}/airkube"
}
